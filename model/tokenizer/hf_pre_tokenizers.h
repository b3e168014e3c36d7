// The `pre_tokenizer` section of a Hugging Face tokenizer.json: splits a
// normalized run of text into the pieces ("words") that the model encodes
// one by one, and rewrites them (byte-level alphabet, metaspace).
// Supported types: Sequence, Split (String/Regex pattern, every delimiter
// behavior, invert), ByteLevel (add_prefix_space, use_regex), Metaspace
// (replacement, prepend_scheme or legacy add_prefix_space, split), Digits,
// Whitespace, WhitespaceSplit.
//
// Threading: immutable after parsing; PreTokenize is thread-safe.
#ifndef LLM2VEC_MODEL_TOKENIZER_HF_PRE_TOKENIZERS_H_
#define LLM2VEC_MODEL_TOKENIZER_HF_PRE_TOKENIZERS_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace llm2vec {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` (valid UTF-8, in text order) by their pre-tokens.
  // `at_text_start`: pieces[0] starts at the very beginning of the input
  // (Metaspace's prepend_scheme "first" uses it).
  virtual void PreTokenize(std::vector<std::string>* pieces, bool at_text_start) const = 0;
};

// The GPT-2 pre-tokenization pattern (ByteLevel's use_regex).
extern const char kGpt2SplitPattern[];

// Builds the pre-tokenizer described by `config` (a JSON object). Unsupported
// types are an InvalidArgument error naming the type; fields of the wrong
// JSON type throw nlohmann::json::exception.
absl::StatusOr<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const nlohmann::json& config);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_HF_PRE_TOKENIZERS_H_
