// Conversions between mapped file bytes and tensors on a device.
#ifndef LLM2VEC_MODEL_TENSOR_IO_H_
#define LLM2VEC_MODEL_TENSOR_IO_H_

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

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

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TENSOR_IO_H_
