// GGUF v2/v3 reader: metadata key/values and tensor descriptors of a
// memory-mapped GGUF file (the llama.cpp model format).
//
// Threading: a GgufFile is immutable after Open() and may be read from any
// thread. Tensor data pointers stay valid for the life of the GgufFile.
#ifndef LLM2VEC_MODEL_FORMATS_GGUF_H_
#define LLM2VEC_MODEL_FORMATS_GGUF_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mapped_file.h"

namespace llm2vec {

// ggml tensor types that this project reads; anything else is "quantized".
enum class GgmlType : uint32_t { kF32 = 0, kF16 = 1, kBF16 = 30 };

// Name of a ggml type id ("F32", "Q4_K", ...), for error messages.
std::string GgmlTypeName(uint32_t type);

// One metadata value. Arrays hold their elements in `array`.
struct GgufValue {
  enum class Kind { kUint, kInt, kFloat, kBool, kString, kArray };
  Kind kind = Kind::kUint;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string s;
  std::vector<GgufValue> array;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ggml dims, fastest-varying first ([in, out])
  uint32_t type = 0;        // ggml type id
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;
};

class GgufFile {
 public:
  // Maps and parses `path`. Errors name the file and what is wrong
  // (bad magic, unsupported version, truncated header, data past the end).
  static absl::StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Parses `bytes` held in memory (`name` stands for the path in errors).
  static absl::StatusOr<std::unique_ptr<GgufFile>> FromBytes(std::string bytes,
                                                             const std::string& name);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  // Null when absent.
  const GgufValue* Find(const std::string& key) const;
  const GgufTensorInfo* FindTensor(const std::string& name) const;

  // Drops the mapped pages of `tensor` from memory once it has been copied
  // out (they are read back from the file if touched again).
  void ReleaseTensorPages(const GgufTensorInfo& tensor) const;

  // Typed accessors: NotFound when absent, InvalidArgument on a type mismatch.
  absl::StatusOr<std::string> GetString(const std::string& key) const;
  absl::StatusOr<int64_t> GetInt(const std::string& key) const;
  absl::StatusOr<double> GetFloat(const std::string& key) const;
  absl::StatusOr<bool> GetBool(const std::string& key) const;
  // Returns `fallback` when absent; an error only on a type mismatch.
  absl::StatusOr<int64_t> GetIntOr(const std::string& key, int64_t fallback) const;
  absl::StatusOr<double> GetFloatOr(const std::string& key, double fallback) const;
  absl::StatusOr<bool> GetBoolOr(const std::string& key, bool fallback) const;

  // Implementation details follow.
 private:
  GgufFile() = default;
  absl::Status Parse();

  std::string path_;
  std::unique_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// The tokenizer part of a GGUF file (`tokenizer.ggml.*` keys), with
// llama.cpp's defaults applied where keys are absent.
struct GgufVocab {
  std::string model;                // "llama" (SentencePiece) or "gpt2" (BPE)
  std::string pre;                  // tokenizer.ggml.pre ("default", "llama-bpe", "qwen2", ...)
  std::vector<std::string> tokens;  // piece per id
  std::vector<float> scores;        // per id; empty when absent
  std::vector<int32_t> token_types; // per id (1 normal, 2 unknown, 3 control,
                                    // 4 user defined, 5 unused, 6 byte); empty when absent
  std::vector<std::string> merges;  // "left right", gpt2 only
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;
  bool add_bos = true;              // llama.cpp default for SPM: true; BPE: per pre
  bool add_eos = false;
  bool add_space_prefix = true;
};

absl::StatusOr<GgufVocab> ReadGgufVocab(const GgufFile& file);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_FORMATS_GGUF_H_
