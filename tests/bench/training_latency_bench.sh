#!/usr/bin/env bash
# Serving latency while a training job runs on the same device worker
# (figures for BENCHMARKS.md; not a test). Run on an idle machine after
# ./setup.sh:
#   tests/bench/training_latency_bench.sh [MODEL]
# MODEL defaults to the demo model. Four closed-loop clients embed one short
# text each for 20 s: first with no job, then while an MNTP job runs with
# the method's batch (32 x 512 in one micro-batch), then with the same
# effective batch as 8 micro-batches of 4 (grad_accum 8). Inference waits
# at most one unit of training work (a micro-batch), so p99 follows the
# unit time, which the server exports as
# llm2vec_training_unit_duration_seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build
TD=${LLM2VEC_TESTDATA:-../shared/testdata}
MODEL=${1:-$TD/models/stories260k-gguf/stories260K.gguf}
WORK=/tmp/llm2vec-train-bench
rm -rf "$WORK" && mkdir -p "$WORK/state/data"
cp "$TD/data/tinystories/tinystories_val_slice.txt" "$WORK/state/data/stories.txt"
TEXTS=$WORK/texts.txt
awk 'NF && c < 2000 { c++; n = NF < 12 ? NF : 12; s = $1; for (i = 2; i <= n; i++) s = s " " $i; print s }' \
  "$TD/data/tinystories/tinystories_val_slice.txt" > "$TEXTS"
$B/llm2vec-server --model "$MODEL" --port 0 --http-port -1 --metrics-port 0 \
  --port-file "$WORK/ports.json" --state-dir "$WORK/state" 2>"$WORK/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do [ -f "$WORK/ports.json" ] && break; sleep 0.1; done
GRPC=127.0.0.1:$(sed 's/.*"grpc": \([0-9]*\).*/\1/' "$WORK/ports.json")
METRICS=$(sed 's/.*"metrics": \([0-9]*\).*/\1/' "$WORK/ports.json")
unit() {  # mean training unit time so far, ms
  curl -s "127.0.0.1:$METRICS/metrics" | awk '
    /^llm2vec_training_unit_duration_seconds_sum/ {s=$2} /^llm2vec_training_unit_duration_seconds_count/ {c=$2}
    END { if (c > 0) printf "%.0f ms over %d units", 1000*s/c, c; else print "none" }'
}
bench() { $B/llm2vec bench --server "$GRPC" --input "$TEXTS" --concurrency 4 --duration-s 20 | grep -E "^server|^errors"; }
echo "== machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2); model $MODEL"
echo "== 1. no training job"
bench
for accum in 1 8; do
  batch=$((32 / accum))
  echo "== 2. MNTP job running: batch $batch x grad_accum $accum, 512 tokens"
  $B/llm2vec train --server "$GRPC" --objective mntp --data stories.txt --output "mntp-$accum" \
    --steps 1000 --batch-size $batch --grad-accum $accum --detach >/dev/null
  sleep 3  # the job loads its model copy and starts
  before=$(unit)
  bench
  echo "training unit: $(unit) (before the bench: $before)"
  JOB=$($B/llm2vec jobs list --server "$GRPC" --state running --json | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | head -1)
  $B/llm2vec jobs cancel "$JOB" --server "$GRPC" >/dev/null
  sleep 2
done
