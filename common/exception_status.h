// An exception caught at the edge of a thread, as a Status, named by the
// work that threw. Torch-free: model/nn's ExceptionStatus (tensor_io.h)
// adds libtorch's own errors and falls back to this.
//
// Threading: pure function.
#ifndef LLM2VEC_COMMON_EXCEPTION_STATUS_H_
#define LLM2VEC_COMMON_EXCEPTION_STATUS_H_

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace llm2vec {

// std::bad_alloc: RESOURCE_EXHAUSTED "<what>: out of host memory"; any
// other exception: INTERNAL "<what> failed: <what()>".
absl::Status StdExceptionStatus(const std::exception& e, absl::string_view what);

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_EXCEPTION_STATUS_H_
