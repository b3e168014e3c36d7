#include "common/exception_status.h"

#include <new>

#include "absl/strings/str_cat.h"

namespace llm2vec {

absl::Status StdExceptionStatus(const std::exception& e, absl::string_view what) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": out of host memory"));
  }
  return absl::InternalError(absl::StrCat(what, " failed: ", e.what()));
}

}  // namespace llm2vec
