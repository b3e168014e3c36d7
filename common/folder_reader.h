// Reading the files of one folder, either by path (a folder the operator
// named: links are followed, as in the Hugging Face cache) or confined
// (a folder a client named: opened once beneath a root, each file opened
// beneath that descriptor without following links, checked to be a
// regular file, and all files together held to a byte budget).
//
// Usage:
//   auto folder = FolderReader::Beneath(adapter_root, request.path(), max_bytes);
//   if (!folder.ok()) ...
//   auto config = (*folder)->ReadFile("adapter_config.json");
//
// Threading: immutable after creation except the confined reader's byte
// count, which is atomic; safe to use from any thread.
#ifndef LLM2VEC_COMMON_FOLDER_READER_H_
#define LLM2VEC_COMMON_FOLDER_READER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/confined_path.h"
#include "common/mapped_file.h"

namespace llm2vec {

class FolderReader {
 public:
  // The folder at `dir`, read by path.
  static std::shared_ptr<const FolderReader> AtPath(std::string dir);
  // `relative` (a folder) beneath `root`, confined as OpenBeneath; the
  // files read through it may total at most `max_bytes`.
  // `budget_name` (a flag) is named when the budget is exceeded.
  static absl::StatusOr<std::shared_ptr<const FolderReader>> Beneath(
      const std::string& root, const std::string& relative, int64_t max_bytes,
      BeneathMode mode = BeneathMode::kAuto, const std::string& budget_name = "");

  virtual ~FolderReader() = default;

  // The folder's path as given (AtPath) or root/relative (Beneath): for
  // messages and for finding the folder again.
  const std::string& path() const { return path_; }
  // path()/name.
  std::string FilePath(const std::string& name) const;
  // Whether `name` is a regular file in the folder (a link counts as none
  // when confined).
  virtual bool HasFile(const std::string& name) const = 0;
  // The whole file, at most `max_bytes` (and within the budget).
  virtual absl::StatusOr<std::string> ReadFile(const std::string& name,
                                               int64_t max_bytes = kMaxSmallFileBytes) const = 0;
  // The file mapped read-only (within the budget).
  virtual absl::StatusOr<std::unique_ptr<MappedFile>> MapFile(const std::string& name) const = 0;

 protected:
  explicit FolderReader(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_FOLDER_READER_H_
