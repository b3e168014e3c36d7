#include "common/confined_path.h"

#include <climits>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace llm2vec {
namespace {

absl::StatusOr<std::string> RealPath(const std::string& path, const std::string& what) {
  char buffer[PATH_MAX];
  if (realpath(path.c_str(), buffer) == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat(what, " ", path, " does not exist"));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("cannot resolve ", what, " ", path, ": ", std::strerror(errno)));
  }
  return std::string(buffer);
}

}  // namespace

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty() || a.back() == '/') return a + b;
  return absl::StrCat(a, "/", b);
}

absl::StatusOr<std::string> ConfinedPath(const std::string& root, const std::string& relative,
                                         const std::string& what) {
  if (relative.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (relative.front() == '/') {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", relative,
                                                   "' must be relative to ", root));
  }
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " '", relative, "' must not contain '..'"));
    }
  }
  auto real_root = RealPath(root, "root folder");
  if (!real_root.ok()) return real_root.status();
  auto real = RealPath(JoinPath(root, relative), what);
  if (!real.ok()) return real.status();
  if (real->compare(0, real_root->size(), *real_root) != 0 ||
      (real->size() > real_root->size() && (*real)[real_root->size()] != '/' &&
       real_root->back() != '/')) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", relative, "' resolves to ", *real, ", outside ", *real_root));
  }
  return *real;
}

}  // namespace llm2vec
