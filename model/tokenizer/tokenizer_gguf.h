// Tokenizer over the vocabulary embedded in a GGUF file, encoding as
// llama.cpp does:
//   - "llama": SentencePiece-style score merges (SpmModel); ' ' is written
//     U+2581 and a leading one is added to text at the start and after each
//     special token when add_space_prefix is set (like HF's legacy Llama).
//   - "gpt2": byte-level BPE with ranked merges; the split pattern follows
//     tokenizer.ggml.pre (GPT-2, Llama-3 or Qwen2 families).
// Control, unknown and user-defined token strings in the text are matched as
// their ids (leftmost-longest).
//
// Threading: immutable after Create(); all methods are thread-safe.
#ifndef LLM2VEC_MODEL_TOKENIZER_TOKENIZER_GGUF_H_
#define LLM2VEC_MODEL_TOKENIZER_TOKENIZER_GGUF_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/formats/gguf.h"
#include "model/tokenizer/added_tokens.h"
#include "model/tokenizer/bpe_model.h"
#include "model/tokenizer/hf_pre_tokenizers.h"
#include "model/tokenizer/spm_model.h"
#include "model/tokenizer/tokenizer.h"

namespace llm2vec {

class GgufTokenizer : public Tokenizer {
 public:
  // Errors name the unsupported tokenizer.ggml.model or .pre.
  static absl::StatusOr<std::unique_ptr<GgufTokenizer>> Create(const GgufVocab& vocab);

  // `add_special_tokens` adds BOS/EOS as the vocabulary's add_bos/add_eos say.
  std::vector<int32_t> Encode(absl::string_view text, bool add_special_tokens) const override;
  // llama_tokenize(text, add_special, parse_special): without parse_special
  // only user-defined tokens are matched in the text (llama.cpp's
  // test-tokenizer-0 mode).
  std::vector<int32_t> EncodeWithOptions(absl::string_view text, bool add_special, bool parse_special) const;
  std::string Decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const override;

  int32_t vocab_size() const override { return static_cast<int32_t>(tokens_.size()); }
  int32_t bos_id() const override { return bos_id_; }
  int32_t eos_id() const override { return eos_id_; }
  int32_t pad_id() const override { return pad_id_; }
  int32_t TokenToId(absl::string_view piece) const override;
  std::string IdToPiece(int32_t id) const override;
  bool IsSpecial(int32_t id) const override;

  // Implementation details follow.
 private:
  GgufTokenizer() = default;
  int32_t TypeOf(int32_t id) const;
  void EncodeRun(absl::string_view run, bool after_special, BpeModel::Scratch* scratch,
                 std::vector<int32_t>* ids) const;

  bool spm_ = true;  // else byte-level BPE
  std::vector<std::string> tokens_;
  std::vector<int32_t> types_;  // may be empty (all normal)
  std::unique_ptr<SpmModel> spm_model_;
  std::unique_ptr<BpeModel> bpe_model_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;  // BPE only
  AddedTokenMatcher parse_special_matcher_;      // control, unknown, user-defined
  AddedTokenMatcher user_defined_matcher_;       // user-defined only
  int32_t bos_id_ = -1, eos_id_ = -1, unk_id_ = -1, pad_id_ = -1;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_TOKENIZER_GGUF_H_
