#include "common/atomic_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/mapped_file.h"

namespace llm2vec {

bool WriteAll(int fd, absl::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t w = ::write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
  return true;
}

std::string ParentOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) {
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(tmp, ": cannot create: ", std::strerror(errno)));
  }
  const bool ok = WriteAll(fd, contents) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : err);
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat(path, ": cannot write: ", why));
  }
  FsyncDir(ParentOf(path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> MakeStagingDir(const std::string& final_dir) {
  std::string dir = final_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) return absl::InvalidArgumentError("output folder path is empty");
  if (auto s = MakeDirs(ParentOf(dir)); !s.ok()) return s;
  std::string templ = dir + ".tmp-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat(templ, ": cannot create staging folder: ", std::strerror(errno)));
  }
  ::chmod(templ.c_str(), 0755);  // mkdtemp's 0700 would hide the result from other readers
  return templ;
}

absl::Status WriteFileSynced(const std::string& path, absl::string_view contents) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot create: ", std::strerror(errno)));
  }
  const bool ok = WriteAll(fd, contents) && ::fsync(fd) == 0;
  const std::string err = ok ? "" : std::strerror(errno);
  ::close(fd);
  if (!ok) return absl::InternalError(absl::StrCat(path, ": write failed: ", err));
  return absl::OkStatus();
}

absl::Status CommitStagingDir(const std::string& staging_dir, const std::string& final_dir) {
  std::string dest = final_dir;
  while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
  FsyncDir(staging_dir);
  if (PathExists(dest)) {
    if (!IsDirectory(dest)) {
      RemoveTree(staging_dir).IgnoreError();
      return absl::FailedPreconditionError(
          absl::StrCat(dest, ": exists and is not a folder; not replacing it"));
    }
    // One atomic step: the new folder takes dest's name and the old one the
    // staging name (renameat2 RENAME_EXCHANGE), so at no moment is there no
    // folder at dest, nor two renames a crash could come between.
    if (::renameat2(AT_FDCWD, staging_dir.c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) == 0) {
      FsyncDir(ParentOf(dest));
      RemoveTree(staging_dir).IgnoreError();  // the old folder now
      return absl::OkStatus();
    }
    if (errno != EINVAL && errno != ENOSYS) {
      const std::string err = std::strerror(errno);
      RemoveTree(staging_dir).IgnoreError();
      return absl::InternalError(
          absl::StrCat(dest, ": cannot exchange ", staging_dir, " into place: ", err));
    }
    // A file system without the exchange: the old folder aside, the new one
    // in (a crash in between leaves "<dest>.old-<pid>", which
    // RemoveStaleStagingDirs cleans, and no folder at dest).
    const std::string aside = absl::StrCat(dest, ".old-", ::getpid());
    RemoveTree(aside).IgnoreError();
    if (::rename(dest.c_str(), aside.c_str()) != 0) {
      const std::string err = std::strerror(errno);
      RemoveTree(staging_dir).IgnoreError();
      return absl::InternalError(absl::StrCat(dest, ": cannot move the old folder aside: ", err));
    }
    if (::rename(staging_dir.c_str(), dest.c_str()) != 0) {
      const std::string err = std::strerror(errno);
      ::rename(aside.c_str(), dest.c_str());  // put the old one back
      RemoveTree(staging_dir).IgnoreError();
      return absl::InternalError(
          absl::StrCat(dest, ": cannot rename ", staging_dir, " into place: ", err));
    }
    FsyncDir(ParentOf(dest));
    RemoveTree(aside).IgnoreError();
    return absl::OkStatus();
  }
  if (::rename(staging_dir.c_str(), dest.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    RemoveTree(staging_dir).IgnoreError();
    return absl::InternalError(absl::StrCat(dest, ": cannot rename ", staging_dir, " into place: ", err));
  }
  FsyncDir(ParentOf(dest));
  return absl::OkStatus();
}

int RemoveStaleStagingDirs(const std::string& parent) {
  DIR* d = ::opendir(parent.c_str());
  if (d == nullptr) return 0;
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    // "<name>.tmp-XXXXXX" (mkdtemp's six characters), as MakeStagingDir
    // names them; the folders of older versions' two-rename replacement
    // were "<name>.old-<pid>".
    const size_t tmp = name.rfind(".tmp-");
    const bool staging = tmp != std::string::npos && tmp > 0 && name.size() == tmp + 11;
    const bool aside = name.find(".old-") != std::string::npos;
    if ((staging || aside) && IsDirectory(parent + "/" + name)) stale.push_back(name);
  }
  ::closedir(d);
  int removed = 0;
  for (const std::string& name : stale) removed += RemoveTree(parent + "/" + name).ok() ? 1 : 0;
  return removed;
}

// POSIX nftw rather than std::filesystem::remove_all: PyTorch's libtorch.so
// (the GPU build) exports its own std::filesystem symbols, and remove_all
// resolved there crashed (null call) under libtorch 2.11.
absl::Status RemoveTree(const std::string& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    return errno == ENOENT ? absl::OkStatus()
                           : absl::InternalError(absl::StrCat(dir, ": cannot remove: ",
                                                              std::strerror(errno)));
  }
  auto remove_one = [](const char* path, const struct stat*, int, struct FTW*) {
    return ::remove(path) == 0 || errno == ENOENT ? 0 : -1;
  };
  if (::nftw(dir.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    return absl::InternalError(absl::StrCat(dir, ": cannot remove: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace llm2vec
