// The `normalizer` section of a Hugging Face tokenizer.json: text rewrites
// applied to each run of plain text before pre-tokenization.
// Supported types: Sequence, NFC, NFD, Prepend, Replace (String or Regex
// pattern), Strip.
//
// Threading: immutable after parsing; Normalize is thread-safe.
#ifndef LLM2VEC_MODEL_TOKENIZER_HF_NORMALIZERS_H_
#define LLM2VEC_MODEL_TOKENIZER_HF_NORMALIZERS_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace llm2vec {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites `text` (valid UTF-8) in place.
  virtual void Normalize(std::string* text) const = 0;
};

// Builds the normalizer described by `config` (a JSON object; a null
// config means "no normalizer" and is the caller's business). Unsupported
// types are an InvalidArgument error naming the type. Fields of the wrong
// JSON type throw nlohmann::json::exception.
absl::StatusOr<std::unique_ptr<Normalizer>> ParseNormalizer(const nlohmann::json& config);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_HF_NORMALIZERS_H_
