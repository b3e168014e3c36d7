// Reader for the safetensors format (a JSON header followed by raw
// little-endian tensor bytes), memory-mapped. Also the sharded layout of
// Hugging Face (`model.safetensors.index.json` + `model-0000x-of-0000y`).
//
// Threading: immutable after Open(); safe to read from any thread.
#ifndef LLM2VEC_MODEL_FORMATS_SAFETENSORS_H_
#define LLM2VEC_MODEL_FORMATS_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mapped_file.h"

namespace llm2vec {

struct SafetensorsView {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", ...
  std::vector<int64_t> shape;  // row-major, as PyTorch
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;
  const MappedFile* file = nullptr;  // owner of `data`
  uint64_t offset = 0;               // of `data` inside `file`
};

// One or more safetensors files seen as one name -> tensor table.
class FolderReader;

class SafetensorsArchive {
 public:
  // Opens a single .safetensors file.
  static absl::StatusOr<std::unique_ptr<SafetensorsArchive>> OpenFile(const std::string& path);
  // Parses one safetensors file's `bytes` held in memory (`name` stands
  // for the path in errors).
  static absl::StatusOr<std::unique_ptr<SafetensorsArchive>> FromBytes(std::string bytes,
                                                                       const std::string& name);
  // Opens a folder's `model.safetensors`, or the shards listed in its
  // `model.safetensors.index.json`. `stem` names other files of the same
  // layout (e.g. "adapter_model").
  static absl::StatusOr<std::unique_ptr<SafetensorsArchive>> OpenFolder(
      const std::string& dir, const std::string& stem = "model");
  // The same through `folder` (a confined folder reads only beneath its
  // root, without links, within its byte budget).
  static absl::StatusOr<std::unique_ptr<SafetensorsArchive>> OpenFolder(
      const FolderReader& folder, const std::string& stem);

  const SafetensorsView* Find(const std::string& name) const;
  const std::map<std::string, SafetensorsView>& tensors() const { return tensors_; }
  // "dir/model.safetensors" or "dir/model-00001-of-00002.safetensors, ..."
  const std::string& description() const { return description_; }

  // Implementation details follow.
 private:
  SafetensorsArchive() = default;
  absl::Status AddFile(const std::string& path);
  absl::Status AddMapped(std::unique_ptr<MappedFile> file);

  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, SafetensorsView> tensors_;
  std::string description_;
};

// Bytes per element of a safetensors dtype; 0 when unknown.
int SafetensorsDtypeSize(const std::string& dtype);

// Writes `tensors` (name -> (dtype, shape, bytes)) as a safetensors file,
// atomically (temp file + fsync + rename), streaming each tensor's bytes
// from where they are (no copy). Used for adapters, tools and tests.
struct SafetensorsEntry {
  std::string dtype;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // must stay valid during the write
  uint64_t nbytes = 0;
};
absl::Status WriteSafetensors(const std::string& path,
                              const std::map<std::string, SafetensorsEntry>& tensors);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_FORMATS_SAFETENSORS_H_
