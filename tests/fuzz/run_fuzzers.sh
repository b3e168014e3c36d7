#!/usr/bin/env bash
# Long fuzz runs with libFuzzer (clang; Debian's clang ships it): builds the
# fuzz targets in build-fuzz/ with coverage, ASan and UBSan, then runs each
# for SECONDS (default 600) from a copy of its seed corpus, one after the
# other, and prints one line per target: executions, time, corpus growth,
# crashes (their inputs are left in build-fuzz/fuzz-runs/<target>/).
#   tests/fuzz/run_fuzzers.sh [SECONDS] [TARGET...]
# $FUZZ_TIMEOUT (default 60) is libFuzzer's per-input limit in wall-clock
# seconds: on a busy machine (a niced run beside a build) 10 s reported
# inputs that run in 0.3 s alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(fuzz_gguf fuzz_safetensors fuzz_configs fuzz_tokenizer_json fuzz_tokenize
           fuzz_api_keys fuzz_http_body fuzz_embed_request fuzz_train_request)
fi
CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLM2VEC_FUZZ=ON \
  -DLLM2VEC_WERROR=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}" >/dev/null
export LLM2VEC_TESTDATA=${LLM2VEC_TESTDATA:-$(cd .. && pwd)/shared/testdata}
for t in "${targets[@]}"; do
  out=build-fuzz/fuzz-runs/$t
  rm -rf "$out" && mkdir -p "$out/corpus"
  cp tests/fuzz/corpus/"$t"/* "$out/corpus/"
  seeds=$(ls "$out/corpus" | wc -l)
  set +e
  (cd "$out" && ../../tests/fuzz/"$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
     -timeout="${FUZZ_TIMEOUT:-60}" -print_final_stats=1 corpus >log.txt 2>&1)
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/log.txt" | grep -o '[0-9]*$' || echo 0)
  crashes=$(ls "$out" | grep -c -E '^(crash|leak|timeout|oom)-' || true)
  echo "$t: ${runs} executions in ${seconds} s, corpus ${seeds} -> $(ls "$out/corpus" | wc -l), exit ${rc}, crash/leak/timeout/oom inputs: ${crashes}"
done
