// Paths a client names, confined to a root folder (training data under
// --training-data-root, adapters under --adapter-root).
//
// ConfinedPath checks a path before use: it resolves symlinks (realpath),
// so a link inside the root that points outside is refused, and it gives
// the messages Train answers with. OpenBeneath is what reads: it opens the
// path beneath an open descriptor of the root, so a path swapped for a
// link between check and use is still confined. It uses openat2 with
// RESOLVE_BENEATH (Linux 5.6+: links that stay inside the root are
// followed), or where the kernel lacks it walks the path one component at
// a time with O_NOFOLLOW (then every link is refused).
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
// Messages (here and in OpenBeneath) name `what` and `relative` as given,
// never the root or where a link leads.
absl::StatusOr<std::string> ConfinedPath(const std::string& root, const std::string& relative,
                                         const std::string& what);

// An owned file descriptor, closed when destroyed.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

// How OpenBeneath resolves: kAuto uses openat2 when the kernel has it;
// kWalk forces the component walk (tests of the fallback).
enum class BeneathMode { kAuto, kWalk };

// Opens `relative` beneath `root` with `flags` (O_RDONLY, or O_DIRECTORY
// for a folder; O_CLOEXEC, O_NOFOLLOW for the last component and
// O_NONBLOCK are added). INVALID_ARGUMENT for an absolute path, a ".."
// component or a path that would leave the root; NOT_FOUND when it does
// not exist. Messages name `what` and `relative`, never what lies outside.
absl::StatusOr<UniqueFd> OpenBeneath(const std::string& root, const std::string& relative,
                                     int flags, const std::string& what,
                                     BeneathMode mode = BeneathMode::kAuto);

// `a`/`b` with one slash between.
std::string JoinPath(const std::string& a, const std::string& b);

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_CONFINED_PATH_H_
