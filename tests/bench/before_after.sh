#!/usr/bin/env bash
# Before/after figures for a change (BENCHMARKS.md): the binaries of a
# baseline build in BASE_DIR (encoder_bench, llm2vec-server) against this
# tree's build/, run alternately so that the machine's drift hits both.
#   tests/bench/before_after.sh BASE_DIR
# Build the baseline first, e.g. git worktree add /tmp/base-src REV and
# cmake there, then copy its build/encoder_bench and build/llm2vec-server.
set -u
BASE=${1:?usage: before_after.sh BASE_DIR}
cd "$(dirname "$0")/../.."
TD=${LLM2VEC_TESTDATA:-../shared/testdata}
MODEL=/tmp/llm2vec-bench-small
[ -d "$MODEL" ] || build/encoder_bench --shape small --save-hf "$MODEL" --testdata "$TD" >/dev/null
TEXTS=/tmp/llm2vec-bench-texts.txt
awk 'NF && c < 2000 { c++; n = NF < 12 ? NF : 12; s = $1; for (i = 2; i <= n; i++) s = s " " $i; print s }' \
  "$TD/data/tinystories/tinystories_val_slice.txt" > "$TEXTS"
echo "== encoder_bench --shape small (tokens/s), alternating"
for r in 1 2 3; do
  for side in base new; do
    bin=$BASE/encoder_bench; [ $side = new ] && bin=build/encoder_bench
    echo "-- $side round $r"; $bin --shape small --testdata "$TD" 2>&1 | grep -iE 'tokens/s' | head -3
  done
done
echo "== service: 64 clients x 10 s vs offline, 3 rounds, alternating servers (client: new build)"
for r in 1 2; do
  for side in base new; do
    srv=$BASE/llm2vec-server; [ $side = new ] && srv=build/llm2vec-server
    PORTS=/tmp/ab-ports.json; rm -f $PORTS
    $srv --model "$MODEL" --port 0 --http-port -1 --metrics-port -1 --port-file $PORTS --max-queue-requests 512 2>/tmp/ab-server.log &
    S=$!
    for _ in $(seq 600); do [ -f $PORTS ] && break; sleep 0.1; done
    G=$(sed 's/.*"grpc": \([0-9]*\).*/\1/' $PORTS)
    echo "-- $side server, pass $r"
    build/llm2vec bench --server 127.0.0.1:$G --input $TEXTS --concurrency 64 --duration-s 10 --rounds 3 --model "$MODEL" 2>&1 | tail -4
    kill $S; wait $S 2>/dev/null
  done
done
