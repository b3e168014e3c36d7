// A compiled PCRE2 pattern over UTF-8 text, for the tokenizers' splitting
// rules (GPT-2 / Llama-3 / Qwen2 pre-tokenizer patterns, Split, Replace).
// Compiled with PCRE2_UTF | PCRE2_UCP (so \s, \w, \d and \p{..} follow
// Unicode) and JIT-compiled where PCRE2 supports it.
//
// Threading: immutable after Compile(); FindAll may run concurrently from
// any number of threads (each call uses its own match data).
#ifndef LLM2VEC_MODEL_TOKENIZER_REGEX_H_
#define LLM2VEC_MODEL_TOKENIZER_REGEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;

namespace llm2vec {

class Regex {
 public:
  // A match as byte offsets [begin, end) into the searched text.
  using Span = std::pair<size_t, size_t>;

  // `literal`: match `pattern` as plain text. Errors quote the pattern and
  // PCRE2's message with its offset.
  static absl::StatusOr<std::unique_ptr<Regex>> Compile(absl::string_view pattern, bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends every non-overlapping match in `text` (valid UTF-8), left to
  // right, to `matches`. After an empty match the search resumes one
  // character further on. A match that PCRE2 cannot finish (resource limits)
  // ends the search.
  void FindAll(absl::string_view text, std::vector<Span>* matches) const;

  // True when the whole of `text` matches.
  bool FullMatch(absl::string_view text) const;

  const std::string& pattern() const { return pattern_; }

  // Implementation details follow.
 private:
  Regex() = default;
  // Runs one match at `offset`; returns false when there is none.
  bool MatchAt(absl::string_view text, size_t offset, uint32_t options, pcre2_real_match_data_8* match_data,
               Span* span) const;

  std::string pattern_;
  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_REGEX_H_
