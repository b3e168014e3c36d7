// Finds added and special tokens (e.g. "<s>", "<|im_start|>") written in a
// text, so that they become their own ids instead of being split by the
// model. Matching is leftmost-longest, as the Hugging Face `tokenizers`
// library does, and honours each token's lstrip / rstrip / single_word flags.
//
// Threading: immutable after construction; Split is thread-safe.
#ifndef LLM2VEC_MODEL_TOKENIZER_ADDED_TOKENS_H_
#define LLM2VEC_MODEL_TOKENIZER_ADDED_TOKENS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace llm2vec {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false;       // absorb white space before the token
  bool rstrip = false;       // absorb white space after the token
  bool single_word = false;  // match only when not inside a word
  bool normalized = false;   // match in the normalized (not the raw) text
};

class AddedTokenMatcher {
 public:
  // One piece of a split text: a run of plain text (id == -1) or a token.
  struct Piece {
    size_t begin = 0;
    size_t end = 0;
    int32_t id = -1;
  };

  AddedTokenMatcher() = default;
  // Tokens with empty content are ignored.
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);

  bool empty() const { return tokens_.empty(); }

  // Splits `text` into text runs and token matches, in order, covering all
  // of it except the white space that lstrip/rstrip tokens absorb. Text runs
  // are never empty.
  void Split(absl::string_view text, std::vector<Piece>* pieces) const;

  // Implementation details follow.
 private:
  struct Entry {
    std::string content;
    int32_t id;
    bool lstrip, rstrip, single_word;
  };
  // The longest token that occurs at `pos`, or nullptr.
  const Entry* LongestAt(absl::string_view text, size_t pos) const;

  std::vector<Entry> tokens_;  // sorted by first byte, then longest first
  // Per first byte: [first_[b], first_[b + 1]) indexes tokens_.
  std::array<uint32_t, 257> first_{};
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_ADDED_TOKENS_H_
