// The `decoder` section of a Hugging Face tokenizer.json: turns the pieces
// of decoded ids back into text. Each step maps a list of strings to a
// list of strings, as in `tokenizers`; the result is their concatenation.
// Supported types: Sequence, ByteLevel, Metaspace, Replace, ByteFallback,
// Fuse, Strip.
//
// Threading: immutable after parsing; Decode is thread-safe.
#ifndef LLM2VEC_MODEL_TOKENIZER_HF_DECODERS_H_
#define LLM2VEC_MODEL_TOKENIZER_HF_DECODERS_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace llm2vec {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void Decode(std::vector<std::string>* tokens) const = 0;
};

// Builds the decoder described by `config` (a JSON object). Unsupported
// types are an InvalidArgument error naming the type; fields of the wrong
// JSON type throw nlohmann::json::exception.
absl::StatusOr<std::unique_ptr<Decoder>> ParseDecoder(const nlohmann::json& config);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_HF_DECODERS_H_
