#!/usr/bin/env bash
# Training throughput on the CPU (figures for BENCHMARKS.md; not a test).
# Run on an idle machine after ./setup.sh:
#   tests/bench/training_bench.sh [BIG_MODEL_DIR]
# A few MNTP and SimCSE steps with build/llm2vec-train on the demo model
# and on the 1.3B-shape random model (written by encoder_bench --save-hf
# into BIG_MODEL_DIR, default /tmp/big-hf, when missing; 5.1 GB). Prints the
# trainer's own tokens/s at the last step (tokens through the model, both
# SimCSE views included) and the wall time per step.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build
TD=${LLM2VEC_TESTDATA:-../shared/testdata}
BIG=${1:-/tmp/big-hf}
[ -d "$BIG" ] || $B/encoder_bench --shape sheared-llama-1.3b --save-hf "$BIG" --testdata "$TD"
DEMO=$TD/models/stories260k-hf
TEXT=$TD/data/tinystories/tinystories_val_slice.txt
OUT=/tmp/llm2vec-train-bench
rm -rf "$OUT" && mkdir -p "$OUT"
echo "== machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), threads: all"
run() {  # name model objective steps batch length
  local start end
  start=$(date +%s.%N)
  $B/llm2vec-train --objective "$3" --model "$2" --data "$TEXT" --output "$OUT/$1" \
    --steps "$4" --batch-size "$5" --max-length "$6" --log-every 1 2>"$OUT/$1.log" >/dev/null
  end=$(date +%s.%N)
  printf '%-28s %-7s %3s x %-4s %2s steps: %s; %.1f s per step (wall, load included)\n' \
    "$1" "$3" "$5" "$6" "$4" "$(grep -o '[0-9.]* tok/s' "$OUT/$1.log" | tail -1)" \
    "$(awk -v a="$start" -v b="$end" -v n="$4" 'BEGIN { print (b - a) / n }')"
}
run demo-mntp "$DEMO" mntp 10 32 128
run demo-simcse "$DEMO" simcse 10 64 64
run big-mntp "$BIG" mntp 3 2 128
run big-simcse "$BIG" simcse 3 4 64
