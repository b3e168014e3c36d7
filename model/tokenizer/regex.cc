#define PCRE2_CODE_UNIT_WIDTH 8
#include "model/tokenizer/regex.h"

#include <pcre2.h>

#include "absl/strings/str_cat.h"

namespace llm2vec {
namespace {

// Frees match data on scope exit.
struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
using MatchDataPtr = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;

MatchDataPtr NewMatchData(const pcre2_code* code) {
  return MatchDataPtr(pcre2_match_data_create_from_pattern(code, nullptr));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Regex>> Regex::Compile(absl::string_view pattern, bool literal) {
  // PCRE2_UCP only affects escapes and classes, which a literal has none of.
  const uint32_t options = literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                                   &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    return absl::InvalidArgumentError(absl::StrCat("cannot compile regex '", pattern,
                                                   "': ", reinterpret_cast<const char*>(message),
                                                   " at offset ", error_offset));
  }
  std::unique_ptr<Regex> regex(new Regex());
  regex->pattern_ = std::string(pattern);
  regex->code_ = code;
  regex->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return regex;
}

Regex::~Regex() { pcre2_code_free(code_); }

bool Regex::MatchAt(absl::string_view text, size_t offset, uint32_t options, pcre2_match_data* match_data,
                    Span* span) const {
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int rc = pcre2_match(code_, subject, text.size(), offset, options, match_data, nullptr);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
    // Very long runs can exhaust the JIT stack; the interpreter has no such limit.
    rc = pcre2_match(code_, subject, text.size(), offset, options | PCRE2_NO_JIT, match_data, nullptr);
  }
  if (rc < 0) return false;
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data);
  span->first = ovector[0];
  span->second = ovector[1];
  return true;
}

void Regex::FindAll(absl::string_view text, std::vector<Span>* matches) const {
  MatchDataPtr match_data = NewMatchData(code_);
  size_t offset = 0;
  uint32_t options = 0;  // the first call checks UTF-8 validity
  bool after_empty = false;
  while (offset <= text.size()) {
    Span span;
    uint32_t flags = options | (after_empty ? PCRE2_NOTEMPTY_ATSTART : 0);
    if (!MatchAt(text, offset, flags, match_data.get(), &span)) break;
    options = PCRE2_NO_UTF_CHECK;
    matches->push_back(span);
    after_empty = span.first == span.second;
    offset = span.second;
  }
}

bool Regex::FullMatch(absl::string_view text) const {
  MatchDataPtr match_data = NewMatchData(code_);
  Span span;
  return MatchAt(text, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, match_data.get(), &span);
}

}  // namespace llm2vec
