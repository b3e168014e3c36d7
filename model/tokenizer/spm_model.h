// SentencePiece-style BPE driven by piece scores, as llama.cpp tokenizes
// GGUF "llama" vocabularies: the text starts as its UTF-8 characters; the
// adjacent pair whose concatenation is a vocabulary piece with the highest
// score is merged (ties: leftmost) until no such pair is left; a character
// without a piece becomes its <0xXX> byte tokens (unk if those are missing).
// The caller does the white-space escaping (' ' -> U+2581) and prefixing.
//
// Threading: immutable after construction; Encode is thread-safe.
#ifndef LLM2VEC_MODEL_TOKENIZER_SPM_MODEL_H_
#define LLM2VEC_MODEL_TOKENIZER_SPM_MODEL_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace llm2vec {

class SpmModel {
 public:
  // `scores` may be empty (all 0) or have one entry per token.
  SpmModel(std::vector<std::string> tokens, std::vector<float> scores, int32_t unk_id);

  // Appends the ids of `text` to `ids`.
  void Encode(absl::string_view text, std::vector<int32_t>* ids) const;

  // -1 when absent.
  int32_t TokenToId(absl::string_view token) const;

  // Implementation details follow.
 private:
  // Appends the byte tokens of `bytes` (unk for a missing one).
  void AppendBytes(absl::string_view bytes, std::vector<int32_t>* ids) const;

  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  int32_t unk_id_;
  absl::flat_hash_map<std::string, int32_t> token_to_id_;
  std::array<int32_t, 256> byte_ids_{};
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_SPM_MODEL_H_
