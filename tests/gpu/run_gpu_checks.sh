#!/usr/bin/env bash
# GPU checks, run on a CUDA machine with PyTorch (libtorch 2.x) installed:
# builds the model library, tests and benchmark against that libtorch, runs
# the golden tests on cuda in float32 (TF32 off) and bfloat16, and the
# encoder benchmark. Dependencies that such a machine may lack (abseil,
# nlohmann-json, pcre2, GoogleTest) come as Debian .deb files in $DEPS_DEBS,
# unpacked into a private prefix.
#
#   DEPS_DEBS=.gpu-deps LLM2VEC_TESTDATA=.gpu-testdata tests/gpu/run_gpu_checks.sh OUTDIR
set -uo pipefail
OUT=${1:-/tmp/gpu-out}
mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
PREFIX=/tmp/llm2vec-deps
mkdir -p "$PREFIX"
for d in "${DEPS_DEBS:-.gpu-deps}"/*.deb; do dpkg -x "$d" "$PREFIX"; done
LIBDIR=$PREFIX/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig:$PREFIX/usr/share/pkgconfig
# Debian's curl headers with the machine's own libcurl (same soname, newer).
for c in /usr/lib/x86_64-linux-gnu/libcurl.so.4 /usr/lib64/libcurl.so.4; do
  [ -e "$c" ] && ln -sf "$c" "$LIBDIR/libcurl.so" && break
done
# Debian's .pc files name /usr; point them at the private prefix.
sed -i "s|^prefix=/usr|prefix=$PREFIX/usr|" "$LIBDIR"/pkgconfig/*.pc 2>/dev/null
TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' | tee "$OUT/env.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee -a "$OUT/env.txt"
time cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$PREFIX/usr;$LIBDIR/cmake" \
  -DPCRE2_INCLUDE_DIR="$PREFIX/usr/include" -DPCRE2_LIBRARY="$LIBDIR/libpcre2-8.so" \
  -DLLM2VEC_WERROR=OFF -DLLM2VEC_WITH_GRPC=OFF -DCURL_INCLUDE_DIR="$PREFIX/usr/include/x86_64-linux-gnu" \
  -DCURL_LIBRARY="$LIBDIR/libcurl.so" >"$OUT/cmake.log" 2>&1 || { tail -40 "$OUT/cmake.log"; exit 1; }
time cmake --build build-gpu --target model_test encoder_bench llm2vec-train -j16 >"$OUT/build.log" 2>&1 \
  || { grep -E "error" -A3 "$OUT/build.log" | head -60; exit 1; }
grep -c "warning" "$OUT/build.log" | sed 's/^/compiler warnings with this toolchain: /' 
echo "== golden tests on cuda, float32 =="
LLM2VEC_TEST_DEVICE=cuda LLM2VEC_TEST_DTYPE=float32 ./build-gpu/tests/model/model_test \
  --gtest_filter='*Golden*:*Greedy*:*DeviceMemory*' 2>&1 | tee "$OUT/golden_cuda_fp32.txt" | grep -E "^\[  (PASSED|FAILED)|Failure|rel|OK \]" | head -40
echo "== golden tests on cuda, bfloat16 =="
LLM2VEC_TEST_DEVICE=cuda LLM2VEC_TEST_DTYPE=bfloat16 ./build-gpu/tests/model/model_test \
  --gtest_filter='*Golden*:*Greedy*' 2>&1 | tee "$OUT/golden_cuda_bf16.txt" | grep -E "^\[  (PASSED|FAILED)|Failure|OK \]|SKIPPED" | head -40
echo "== all CPU tests with this libtorch =="
./build-gpu/tests/model/model_test 2>&1 | tail -3
echo "== encoder benchmark =="
for dt in float32 bfloat16; do
  ./build-gpu/encoder_bench --shape sheared-llama-1.3b --device cuda --dtype $dt \
    --testdata "${LLM2VEC_TESTDATA}" --texts 1024 --batch-tokens 32768 2>&1 | tee "$OUT/bench_cuda_$dt.txt" | head -4
done
echo "== padding skipped in inference, server-shaped batches (A/B) =="
./build-gpu/encoder_bench --shape sheared-llama-1.3b --device cuda --dtype bfloat16 \
  --testdata "${LLM2VEC_TESTDATA}" --texts 512 --tokens 64 --padding-ab 2>&1 | grep "^padding:" \
  | tee "$OUT/bench_cuda_padding.txt"
echo "== training on cuda: stories260k (MNTP, SimCSE) and the 1.3B shape (a few steps) =="
TD=${LLM2VEC_TESTDATA}
for dt in float32 bfloat16; do
  ./build-gpu/llm2vec-train --objective mntp --model "$TD/models/stories260k-hf" \
    --data "$TD/data/tinystories/tinystories_val_slice.txt" --output /tmp/mntp-$dt --steps 30 \
    --batch-size 32 --max-length 256 --device cuda --dtype $dt --log-every 10 2>&1 | tail -3 | tee "$OUT/train_mntp_small_$dt.txt"
done
./build-gpu/llm2vec-train --objective simcse --model "$TD/models/stories260k-hf" --adapter /tmp/mntp-float32 \
  --data "$TD/data/tinystories/tinystories_val_slice.txt" --output /tmp/simcse --steps 30 \
  --batch-size 64 --max-length 64 --device cuda --log-every 10 2>&1 | tail -3 | tee "$OUT/train_simcse_small.txt"
# Gradient checkpointing on cuda (the CUDA generator's state is replayed):
# the loss of each logged step must equal the float32 run above.
./build-gpu/llm2vec-train --objective mntp --model "$TD/models/stories260k-hf" \
  --data "$TD/data/tinystories/tinystories_val_slice.txt" --output /tmp/mntp-gc --steps 30 \
  --batch-size 32 --max-length 256 --device cuda --log-every 10 --gradient-checkpointing 2>&1 \
  | tail -3 | tee "$OUT/train_mntp_small_float32_checkpointed.txt"
./build-gpu/encoder_bench --shape sheared-llama-1.3b --save-hf /tmp/big-hf --testdata "$TD" | tail -1
for obj in mntp simcse; do
  ./build-gpu/llm2vec-train --objective $obj --model /tmp/big-hf \
    --data "$TD/data/tinystories/tinystories_val_slice.txt" --output /tmp/big-$obj --steps 6 \
    --batch-size 8 --max-length 512 --device cuda --dtype bfloat16 --log-every 2 2>&1 | tail -3 | tee "$OUT/train_${obj}_1.3b_bf16.txt"
done
