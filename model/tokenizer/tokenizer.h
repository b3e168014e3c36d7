// Text <-> token ids, from a Hugging Face `tokenizer.json` or from the
// vocabulary embedded in a GGUF file. Our own implementation: the project
// never links libsentencepiece (its bundled protobuf crashes processes that
// also load gRPC or libtorch).
//
// Supported:
//   - tokenizer.json model BPE with a byte-level pre-tokenizer (GPT-2,
//     Llama-3, Qwen2 regex families) and SentencePiece-style BPE
//     (Prepend/Replace normalizers or Metaspace, byte_fallback), added and
//     special tokens, the TemplateProcessing post-processor, decoding.
//   - GGUF vocabularies: tokenizer.ggml.model "llama" (score-based
//     SentencePiece merges, as llama.cpp) and "gpt2" (ranked merges).
//
// Threading: immutable after construction; Encode/Decode are thread-safe.
#ifndef LLM2VEC_MODEL_TOKENIZER_TOKENIZER_H_
#define LLM2VEC_MODEL_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/formats/gguf.h"

namespace llm2vec {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Loads a Hugging Face tokenizer.json. Errors name the file and the
  // unsupported or malformed part.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJsonFile(const std::string& path);
  // The same from the file's text (`origin` names it in errors).
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJson(const std::string& text,
                                                             const std::string& origin);
  // Builds a tokenizer from a GGUF vocabulary.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromGgufVocab(const GgufVocab& vocab);
  // Opens `path` (a .gguf or a tokenizer.json) and dispatches on the content.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::string& path);

  // Token ids of `text`. With `add_special_tokens` the post-processor's
  // template is applied (e.g. BOS first for Llama-2). Special-token strings
  // in the text (e.g. "<s>") are matched as those tokens in both modes.
  virtual std::vector<int32_t> Encode(absl::string_view text, bool add_special_tokens) const = 0;
  // Text of `ids`; special tokens are dropped when `skip_special_tokens`.
  virtual std::string Decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const = 0;

  virtual int32_t vocab_size() const = 0;
  // -1 when the tokenizer has no such token.
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
  virtual int32_t pad_id() const = 0;
  // Id of an exact vocabulary piece or added token; -1 if absent.
  virtual int32_t TokenToId(absl::string_view piece) const = 0;
  // The vocabulary piece of `id` ("" when out of range).
  virtual std::string IdToPiece(int32_t id) const = 0;
  // True for special/control tokens (never masked, never pooled as text).
  virtual bool IsSpecial(int32_t id) const = 0;
};

// The special tokens Encode(text, /*add_special_tokens=*/true) puts around
// a text's own ids (Llama: BOS before, nothing after; Qwen2: nothing), for
// inputs that arrive as token ids without them. Found by encoding one plain
// letter both ways; where the plain ids do not appear whole in the framed
// ones, the leading and trailing special tokens of the framed ids.
struct SpecialTokenFrame {
  std::vector<int32_t> before;
  std::vector<int32_t> after;
};
SpecialTokenFrame FindSpecialTokenFrame(const Tokenizer& tokenizer);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_TOKENIZER_H_
