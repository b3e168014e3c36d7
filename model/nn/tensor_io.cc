#include "model/nn/tensor_io.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/exception_status.h"

namespace llm2vec {

at::Tensor CopyToTensor(const void* data, at::ScalarType src, const std::vector<int64_t>& shape,
                        at::Device device, at::ScalarType dtype) {
  at::Tensor view = at::from_blob(const_cast<void*>(data), shape,
                                  at::TensorOptions().dtype(src).device(at::kCPU));
  return view.to(at::TensorOptions().dtype(dtype).device(device), /*non_blocking=*/false,
                 /*copy=*/true);
}

absl::StatusOr<at::ScalarType> ParseDtype(const std::string& name) {
  const std::string n = absl::AsciiStrToLower(name);
  if (n == "float32" || n == "fp32" || n == "f32" || n == "float") return at::kFloat;
  if (n == "bfloat16" || n == "bf16") return at::kBFloat16;
  if (n == "float16" || n == "fp16" || n == "f16" || n == "half") return at::kHalf;
  return absl::InvalidArgumentError(
      absl::StrCat("dtype '", name, "' is not one of float32, bfloat16, float16"));
}

std::string DtypeName(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return "float32";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    default: return std::string(c10::toString(dtype));
  }
}

absl::StatusOr<at::Device> ParseDevice(const std::string& name) {
  const std::string n = absl::AsciiStrToLower(name);
  if (n == "cpu") return at::Device(at::kCPU);
  if (n == "cuda" || n.rfind("cuda:", 0) == 0) {
    if (!at::hasCUDA()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "device '", name, "' requested but this build of libtorch has no usable CUDA device"));
    }
    try {
      return at::Device(n);
    } catch (const c10::Error& e) {
      return absl::InvalidArgumentError(absl::StrCat("device '", name, "' is not valid"));
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("device '", name, "' is not one of cpu, cuda, cuda:N"));
}

absl::Status ExceptionStatus(const std::exception& e, absl::string_view what) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr) {
    const auto& oom = static_cast<const c10::Error&>(e);
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": out of memory: ", oom.what_without_backtrace()));
  }
  if (const auto* torch = dynamic_cast<const c10::Error*>(&e)) {
    return absl::InternalError(
        absl::StrCat(what, " failed in libtorch: ", torch->what_without_backtrace()));
  }
  return StdExceptionStatus(e, what);
}

absl::Status CheckDeviceDtype(at::Device device, at::ScalarType dtype) {
  if (device.is_cpu() && dtype == at::kHalf) {
    return absl::InvalidArgumentError(
        "dtype 'float16' is not supported on device 'cpu' (libtorch has no CPU float16 "
        "matmul); use float32 or bfloat16");
  }
  return absl::OkStatus();
}

void UsePassiveOpenMpWaits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc?): carry on with libgomp's defaults.
}

void TuneHostMalloc() {
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kHostHeapBlockBytes));
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

std::optional<int64_t> DeviceMemoryInUse(const at::Device& device) {
  if (!device.is_cuda()) return std::nullopt;
  // cudaError_t is an int enum; 0 is cudaSuccess.
  using MemGetInfo = int (*)(size_t*, size_t*);
  using GetDevice = int (*)(int*);
  using SetDevice = int (*)(int);
  static const auto mem_get_info =
      reinterpret_cast<MemGetInfo>(::dlsym(RTLD_DEFAULT, "cudaMemGetInfo"));
  static const auto get_device = reinterpret_cast<GetDevice>(::dlsym(RTLD_DEFAULT, "cudaGetDevice"));
  static const auto set_device = reinterpret_cast<SetDevice>(::dlsym(RTLD_DEFAULT, "cudaSetDevice"));
  if (mem_get_info == nullptr || get_device == nullptr || set_device == nullptr) {
    return std::nullopt;
  }
  int current = 0;
  if (get_device(&current) != 0) return std::nullopt;
  const int wanted = device.has_index() ? device.index() : current;
  if (wanted != current && set_device(wanted) != 0) return std::nullopt;
  size_t free_bytes = 0, total_bytes = 0;
  const int rc = mem_get_info(&free_bytes, &total_bytes);
  if (wanted != current) set_device(current);
  if (rc != 0) return std::nullopt;
  return static_cast<int64_t>(total_bytes - free_bytes);
}

}  // namespace llm2vec
