#include "common/confined_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

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

// openat2(2) through syscall(2): glibc 2.36 has no wrapper. ENOSYS where
// the kernel (or a sandbox) lacks it.
int OpenAt2(int dirfd, const char* path, uint64_t flags, uint64_t resolve) {
#ifdef SYS_openat2
  struct open_how how;
  std::memset(&how, 0, sizeof(how));
  how.flags = flags;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof(how)));
#else
  (void)dirfd, (void)path, (void)flags, (void)resolve;
  errno = ENOSYS;
  return -1;
#endif
}

// Messages name the path as the client gave it, never the root or what
// lies outside it.
absl::Status OpenError(int err, const std::string& what, const std::string& relative) {
  if (err == ENOENT) {
    return absl::NotFoundError(absl::StrCat(what, " '", relative, "' does not exist"));
  }
  if (err == EXDEV || err == ELOOP || err == ENOTDIR || err == EMLINK) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", relative,
        "' is not a path beneath its root folder (it leaves the folder, goes through a link, "
        "or a part of it is not a folder)"));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("cannot open ", what, " '", relative, "': ", std::strerror(err)));
}

// The components of `relative` without "" and ".": INVALID_ARGUMENT for
// an empty or absolute path or a ".." component (the one check both
// ConfinedPath and OpenBeneath make first).
absl::StatusOr<std::vector<std::string>> RelativeParts(const std::string& relative,
                                                       const std::string& what) {
  if (relative.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (relative.front() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", relative, "' must be relative to its root folder"));
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " '", relative, "' must not contain '..'"));
    }
    if (!part.empty() && part != ".") parts.emplace_back(part);
  }
  return parts;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

absl::StatusOr<UniqueFd> OpenBeneath(const std::string& root, const std::string& relative,
                                     int flags, const std::string& what, BeneathMode mode) {
  auto checked = RelativeParts(relative, what);
  if (!checked.ok()) return checked.status();
  const std::vector<std::string>& parts = *checked;
  if (parts.empty() && (flags & O_DIRECTORY) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", relative, "' names no file"));
  }
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the root folder ", root, " cannot be opened: ", std::strerror(errno)));
  }
  if (parts.empty()) return dir;  // "." : the root itself
  const int final_flags = flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  if (mode == BeneathMode::kAuto) {
    const int fd = OpenAt2(dir.get(), relative.c_str(), static_cast<uint64_t>(final_flags),
                           RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0) return UniqueFd(fd);
    // ENOSYS: an old kernel; EPERM: a seccomp filter that does not know
    // it. Anything else is the answer.
    if (errno != ENOSYS && errno != EPERM) return OpenError(errno, what, relative);
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    UniqueFd next(::openat(dir.get(), parts[i].c_str(),
                           O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) return OpenError(errno, what, relative);
    dir = std::move(next);
  }
  const int fd = ::openat(dir.get(), parts.back().c_str(), final_flags);
  if (fd < 0) return OpenError(errno, what, relative);
  return UniqueFd(fd);
}

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty() || a.back() == '/') return a + b;
  return absl::StrCat(a, "/", b);
}

absl::StatusOr<std::string> ConfinedPath(const std::string& root, const std::string& relative,
                                         const std::string& what) {
  if (auto parts = RelativeParts(relative, what); !parts.ok()) return parts.status();
  auto real_root = RealPath(root, "root folder");
  if (!real_root.ok()) return real_root.status();
  auto real = RealPath(JoinPath(root, relative), what);
  if (absl::IsNotFound(real.status())) {
    return absl::NotFoundError(absl::StrCat(what, " '", relative, "' does not exist"));
  }
  if (!real.ok()) return OpenError(EACCES, what, relative);
  if (real->compare(0, real_root->size(), *real_root) != 0 ||
      (real->size() > real_root->size() && (*real)[real_root->size()] != '/' &&
       real_root->back() != '/')) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", relative, "' leads outside its root folder (through a link)"));
  }
  return *real;
}

}  // namespace llm2vec
