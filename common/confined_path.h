// Paths a client names, confined to a root folder (training data under
// --training-data-root, adapters under --adapter-root). The check resolves
// symlinks (realpath), so a link inside the root that points outside is
// refused; it is a check before use, not an open beneath the root
// (openat2 RESOLVE_BENEATH), so a path swapped between the two is not
// caught.
//
// Threading: pure functions (they read the file system).
#ifndef LLM2VEC_COMMON_CONFINED_PATH_H_
#define LLM2VEC_COMMON_CONFINED_PATH_H_

#include <string>

#include "absl/status/statusor.h"

namespace llm2vec {

// `relative` inside `root`: INVALID_ARGUMENT for an empty or absolute
// path, a ".." component, or one that resolves (symlinks followed) outside
// root; NOT_FOUND when it does not exist. Returns the resolved path.
absl::StatusOr<std::string> ConfinedPath(const std::string& root, const std::string& relative,
                                         const std::string& what);

// `a`/`b` with one slash between.
std::string JoinPath(const std::string& a, const std::string& b);

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_CONFINED_PATH_H_
