#!/usr/bin/env bash
# Service benchmarks (figures for BENCHMARKS.md; not a test). Run on an idle
# machine after ./setup.sh:
#   tests/bench/server_bench.sh [MODEL_DIR]
# MODEL_DIR defaults to a random-weight "small" Llama (hidden 512, 4 layers)
# written by encoder_bench --save-hf, so that forward passes dominate the
# per-request overhead as they do on real models (the 260K demo model is so
# small that gRPC itself is the cost).
#  1. throughput: 64 concurrent clients, one short text each, vs the offline
#     encoder on the same texts in large batches (target ratio >= 0.85);
#  2. low load: one client, p50 vs the encoder's own time for one text
#     (target <= +1 ms);
#     both side by side: `llm2vec bench --model` alternates offline passes
#     and server windows (--rounds), as this VM's speed drifts by 10% or
#     more within minutes;
#  3. overload: open loop at 10x the request rate measured in 1, for 30 s,
#     with 1 s deadlines: no crash, bounded server memory, rejections fast,
#     accepted requests within their deadline.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build
TD=${LLM2VEC_TESTDATA:-../shared/testdata}
MODEL=${1:-/tmp/llm2vec-bench-small}
[ -d "$MODEL" ] || $B/encoder_bench --shape small --save-hf "$MODEL" --testdata "$TD"
TEXTS=/tmp/llm2vec-bench-texts.txt
# Short texts: the first 12 words of TinyStories lines.
awk 'NF && c < 2000 { c++; n = NF < 12 ? NF : 12; s = $1; for (i = 2; i <= n; i++) s = s " " $i; print s }' \
  "$TD/data/tinystories/tinystories_val_slice.txt" > "$TEXTS"
PORTS=/tmp/llm2vec-bench-ports.json
rm -f "$PORTS"
$B/llm2vec-server --model "$MODEL" --port 0 --http-port -1 --metrics-port 0 --port-file "$PORTS" \
  --max-queue-requests 512 "${@:2}" 2>/tmp/llm2vec-bench-server.log &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do [ -f "$PORTS" ] && break; sleep 0.1; done
METRICS=$(sed 's/.*"metrics": \([0-9]*\).*/\1/' "$PORTS")
GRPC=127.0.0.1:$(python3 -c "import json;print(json.load(open('$PORTS'))['grpc'])" 2>/dev/null \
  || sed 's/.*"grpc": \([0-9]*\).*/\1/' "$PORTS")
rss() { awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$SERVER/status; }
echo "== machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2); model $MODEL"
echo "== 1. throughput, 64 clients x 1 short text, vs offline (server RSS $(rss))"
$B/llm2vec bench --server "$GRPC" --input "$TEXTS" --concurrency 64 --duration-s 30 --rounds 5 --model "$MODEL" \
  | tee /tmp/llm2vec-bench-1.txt
CAPACITY=$(sed -n 's/^server: .*(\([0-9.]*\) req\/s).*/\1/p' /tmp/llm2vec-bench-1.txt)
# Sum and count of the Embed call and batch inference histograms so far.
sums() {
  curl -s "127.0.0.1:$METRICS/metrics" | awk '
    /^llm2vec_request_duration_seconds_sum\{method="Embed"\}/ {rs=$2} /^llm2vec_request_duration_seconds_count\{method="Embed"\}/ {rc=$2}
    /^llm2vec_inference_duration_seconds_sum/ {is=$2} /^llm2vec_inference_duration_seconds_count/ {ic=$2}
    END { print rs, rc, is, ic }'
}
echo "== 2. low load, 1 client (the offline encoder's own time for one text, alternating)"
BEFORE=$(sums)
$B/llm2vec bench --server "$GRPC" --input "$TEXTS" --concurrency 1 --duration-s 20 --rounds 10 --model "$MODEL"
echo "$BEFORE $(sums)" | awk '{ printf "server side, this run: Embed call %.2f ms mean, batch inference %.2f ms mean\n",
  1000*($5-$1)/($6-$2), 1000*($7-$3)/($8-$4) }'
RATE=$(awk -v c="$CAPACITY" 'BEGIN { printf "%.0f", 10 * c }')
echo "== 3. overload, open loop at $RATE req/s (10x $CAPACITY) for 30 s, 1 s deadlines (server RSS before $(rss))"
# Where the CPU goes during the overload: the server's threads by name
# (the unnamed ones, "exe"/"llm2vec-server", are the device worker and its
# OpenMP threads) and the load generator, in clock ticks.
thread_ticks() {
  for t in /proc/$SERVER/task/*; do
    echo "$(basename "$t") $(tr ' ' _ <"$t/comm") $(awk '{print $14 + $15}' "$t/stat")"
  done | sort
}
thread_ticks >/tmp/llm2vec-bench-ticks0.txt
/usr/bin/time -f "load generator CPU: user %U s, system %S s, wall %e s" \
  $B/llm2vec bench --server "$GRPC" --input "$TEXTS" --rate "$RATE" --concurrency 4000 --duration-s 30 \
  --deadline-ms 1000
echo "server CPU during the overload, ticks of 1/$(getconf CLK_TCK) s, by thread name (threads, ticks):"
join -a1 <(thread_ticks) /tmp/llm2vec-bench-ticks0.txt |
  awk '{ d = $3 - ($5 == "" ? 0 : $5); ticks[$2] += d; n[$2]++ } END { for (k in ticks) print "  " k, n[k], ticks[k] }' |
  sort -k3 -n -r
echo "== server RSS after overload: $(rss); still serving: $($B/llm2vec info --server "$GRPC" | grep -c '"serving": true')"
