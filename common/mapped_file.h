// A read-only memory map of a whole file. The weights of a model are read
// through such maps, so loading does not keep a second copy in RAM.
//
// Threading: immutable after Open(); safe to read from any thread.
#ifndef LLM2VEC_COMMON_MAPPED_FILE_H_
#define LLM2VEC_COMMON_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace llm2vec {

class MappedFile {
 public:
  // Maps `path` read-only. An empty file maps to size() == 0.
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);
  // Maps the file open at `fd` (which stays the caller's): a regular file
  // of at most `max_bytes`; `path` names it in errors and path().
  static absl::StatusOr<std::unique_ptr<MappedFile>> FromFd(int fd, const std::string& path,
                                                            int64_t max_bytes = INT64_MAX);
  // `bytes` held in memory as if mapped from a file named `name` (parsers
  // read it the same way; fuzz targets and tests use it).
  static std::unique_ptr<MappedFile> FromBytes(std::string bytes, std::string name);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Tells the kernel the pages in [offset, offset+length) are no longer
  // needed, so RSS can drop once a tensor was copied out of the map.
  void DontNeed(size_t offset, size_t length) const;

  // Implementation details follow.
 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  // FromBytes: the bytes (data_ points into it; nothing is mapped).
  std::string owned_;
};

// Filesystem checks (following symbolic links).
bool PathExists(const std::string& path);
bool IsRegularFile(const std::string& path);
bool IsDirectory(const std::string& path);
// mkdir -p (POSIX, mode 0755): PermissionDenied naming the folder that
// could not be created.
absl::Status MakeDirs(const std::string& dir);

// Reads a whole (small) file into a string; errors name the path. Only a
// regular file of at most `max_bytes` (a FIFO, device or folder is refused,
// never waited on), so a path a client names cannot hang or exhaust the
// process. 256 MiB by default: the largest tokenizer.json files are ~20 MB.
inline constexpr int64_t kMaxSmallFileBytes = int64_t{256} << 20;
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             int64_t max_bytes = kMaxSmallFileBytes);
// The same for a file already open at `fd` (which stays the caller's).
absl::StatusOr<std::string> ReadFdToString(int fd, const std::string& path,
                                           int64_t max_bytes = kMaxSmallFileBytes);

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_MAPPED_FILE_H_
