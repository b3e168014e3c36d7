// Conversions between mapped file bytes and tensors on a device.
#ifndef LLM2VEC_MODEL_NN_TENSOR_IO_H_
#define LLM2VEC_MODEL_NN_TENSOR_IO_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llm2vec {

// A copy of `data` (dense, row-major, of element type `src`) as a tensor of
// `shape` on `device` in `dtype`. Never aliases `data`.
at::Tensor CopyToTensor(const void* data, at::ScalarType src, const std::vector<int64_t>& shape,
                        at::Device device, at::ScalarType dtype);

// "float32" | "bfloat16" | "float16" (also "fp32", "bf16", "fp16", "f32" ...).
absl::StatusOr<at::ScalarType> ParseDtype(const std::string& name);
std::string DtypeName(at::ScalarType dtype);
// "cpu" | "cuda" | "cuda:N"; checks CUDA is available for "cuda".
absl::StatusOr<at::Device> ParseDevice(const std::string& name);
// Checks the device/dtype pair can run a forward pass here (CPU has no
// float16 matmul).
absl::Status CheckDeviceDtype(at::Device device, at::ScalarType dtype);

// Tunes glibc malloc for tensor work on the host, once per process (call it
// early in main). libtorch's CPU allocator takes every activation from
// malloc; by default glibc serves large blocks with fresh mmaps and gives
// freed memory back at once, so each layer's activations page-fault anew
// (measured: ~40% of CPU encode time in the kernel). This keeps blocks up
// to 32 MiB in the heap and keeps up to 1 GiB of freed heap for reuse.
void TuneHostMalloc();

// Makes OpenMP threads sleep rather than spin between parallel regions:
// unless $OMP_WAIT_POLICY is set, sets it to PASSIVE and re-executes the
// program (libgomp reads it once, when it loads, before main). Call it
// first thing in main. Spinning workers steal the cores from everything
// else in the process (RPC threads, tokenization) and from neighbours:
// measured on the 2-vCPU dev machine under load, one short text took 142 ms
// with spinning and 39 ms with passive waits. Returns only if it did not
// re-execute.
void UsePassiveOpenMpWaits(char** argv);

// Bytes in use on CUDA device `device` as the CUDA runtime reports them
// (total minus free: libtorch's cached blocks and other processes' memory
// included, what the device really has left), or nullopt on the CPU or
// when no CUDA runtime is loaded in the process. Found at run time
// (dlsym), so CPU builds need no CUDA library. Cheap; call it from the
// thread that runs the model.
std::optional<int64_t> DeviceMemoryInUse(const at::Device& device);

// The Status for an exception thrown by work named `what` ("encoding",
// "loading adapter X"): libtorch's out-of-memory is RESOURCE_EXHAUSTED, a
// c10::Error INTERNAL "<what> failed in libtorch: <message without
// backtrace>", anything else as StdExceptionStatus (common/). Threads that run tensor work catch std::exception at
// their edge and turn it into a Status here, once.
absl::Status ExceptionStatus(const std::exception& e, absl::string_view what);

// The largest block glibc keeps in its heap after TuneHostMalloc(); the
// encoder sizes CPU forward passes so activations stay below it.
inline constexpr int64_t kHostHeapBlockBytes = int64_t{32} << 20;

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_NN_TENSOR_IO_H_
