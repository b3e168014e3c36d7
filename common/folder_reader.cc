#include "common/folder_reader.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace llm2vec {
namespace {

class PathFolder final : public FolderReader {
 public:
  explicit PathFolder(std::string dir) : FolderReader(std::move(dir)) {}

  bool HasFile(const std::string& name) const override { return IsRegularFile(FilePath(name)); }
  absl::StatusOr<std::string> ReadFile(const std::string& name,
                                       int64_t max_bytes) const override {
    return ReadFileToString(FilePath(name), max_bytes);
  }
  absl::StatusOr<std::unique_ptr<MappedFile>> MapFile(const std::string& name) const override {
    return MappedFile::Open(FilePath(name));
  }
};

class ConfinedFolder final : public FolderReader {
 public:
  ConfinedFolder(std::string path, UniqueFd dir, int64_t max_bytes, std::string budget_name)
      : FolderReader(std::move(path)), dir_(std::move(dir)), max_bytes_(max_bytes),
        budget_name_(std::move(budget_name)) {}

  bool HasFile(const std::string& name) const override {
    struct stat st;
    return IsPlainName(name) && ::fstatat(dir_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(st.st_mode);
  }

  absl::StatusOr<std::string> ReadFile(const std::string& name,
                                       int64_t max_bytes) const override {
    auto fd = Open(name);
    if (!fd.ok()) return fd.status();
    auto budget = Take(fd->get(), name);
    if (!budget.ok()) return budget.status();
    return ReadFdToString(fd->get(), FilePath(name), std::min(max_bytes, *budget));
  }

  absl::StatusOr<std::unique_ptr<MappedFile>> MapFile(const std::string& name) const override {
    auto fd = Open(name);
    if (!fd.ok()) return fd.status();
    auto budget = Take(fd->get(), name);
    if (!budget.ok()) return budget.status();
    return MappedFile::FromFd(fd->get(), FilePath(name), *budget);
  }

 private:
  // One name in this folder: no slash, not "." or "..".
  static bool IsPlainName(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
  }

  absl::StatusOr<UniqueFd> Open(const std::string& name) const {
    if (!IsPlainName(name)) {
      return absl::InvalidArgumentError(absl::StrCat("'", name, "' is not a file name"));
    }
    const int fd = ::openat(dir_.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
      const int err = errno;
      const std::string msg = absl::StrCat(FilePath(name), ": cannot open: ",
                                           err == ELOOP ? "it is a link" : std::strerror(err));
      return err == ENOENT ? absl::NotFoundError(msg) : absl::InvalidArgumentError(msg);
    }
    return UniqueFd(fd);
  }

  // Counts the file's size against the budget; returns what the read may
  // take (the file's size, which the read checks again on the descriptor).
  absl::StatusOr<int64_t> Take(int fd, const std::string& name) const {
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(FilePath(name), ": not a regular file"));
    }
    const int64_t size = static_cast<int64_t>(st.st_size);
    const int64_t before = used_.fetch_add(size);
    if (size > max_bytes_ - before) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path(), ": its files are larger than the ", max_bytes_, " bytes allowed",
                       budget_name_.empty() ? "" : absl::StrCat(" (", budget_name_, ")")));
    }
    return size;
  }

  UniqueFd dir_;
  int64_t max_bytes_;
  std::string budget_name_;
  mutable std::atomic<int64_t> used_{0};
};

}  // namespace

std::string FolderReader::FilePath(const std::string& name) const {
  return JoinPath(path_, name);
}

std::shared_ptr<const FolderReader> FolderReader::AtPath(std::string dir) {
  return std::make_shared<PathFolder>(std::move(dir));
}

absl::StatusOr<std::shared_ptr<const FolderReader>> FolderReader::Beneath(
    const std::string& root, const std::string& relative, int64_t max_bytes, BeneathMode mode,
    const std::string& budget_name) {
  auto dir = OpenBeneath(root, relative, O_RDONLY | O_DIRECTORY, "folder", mode);
  if (!dir.ok()) return dir.status();
  return std::shared_ptr<const FolderReader>(std::make_shared<ConfinedFolder>(
      JoinPath(root, relative), std::move(*dir), max_bytes, budget_name));
}

}  // namespace llm2vec
