#include "model/tokenizer/added_tokens.h"

#include <algorithm>
#include <memory>

#include "model/tokenizer/regex.h"
#include "model/tokenizer/unicode.h"

namespace llm2vec {
namespace {

// A word character for single_word tokens: letter, digit or '_'.
bool IsWordChar(absl::string_view ch) {
  static const Regex* const kWordChar = Regex::Compile("\\w").value().release();
  return kWordChar->FullMatch(ch);
}

// The code point that ends at `end` (end > 0), as a string.
absl::string_view LastChar(absl::string_view text, size_t end) {
  size_t begin = end - 1;
  while (begin > 0 && (static_cast<uint8_t>(text[begin]) & 0xC0) == 0x80) --begin;
  return text.substr(begin, end - begin);
}

absl::string_view FirstChar(absl::string_view text, size_t begin) {
  char32_t cp;
  return text.substr(begin, unicode::DecodeUtf8(text, begin, &cp));
}

bool IsSpaceChar(absl::string_view ch) {
  char32_t cp;
  unicode::DecodeUtf8(ch, 0, &cp);
  return unicode::IsWhiteSpace(cp);
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) {
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) continue;
    tokens_.push_back({t.content, t.id, t.lstrip, t.rstrip, t.single_word});
  }
  std::stable_sort(tokens_.begin(), tokens_.end(), [](const Entry& a, const Entry& b) {
    const auto fa = static_cast<uint8_t>(a.content[0]), fb = static_cast<uint8_t>(b.content[0]);
    if (fa != fb) return fa < fb;
    return a.content.size() > b.content.size();
  });
  size_t i = 0;
  for (int b = 0; b < 256; ++b) {
    first_[b] = static_cast<uint32_t>(i);
    while (i < tokens_.size() && static_cast<uint8_t>(tokens_[i].content[0]) == b) ++i;
  }
  first_[256] = static_cast<uint32_t>(tokens_.size());
}

const AddedTokenMatcher::Entry* AddedTokenMatcher::LongestAt(absl::string_view text, size_t pos) const {
  const auto b = static_cast<uint8_t>(text[pos]);
  for (uint32_t i = first_[b]; i < first_[b + 1]; ++i) {
    const std::string& c = tokens_[i].content;
    if (c.size() <= text.size() - pos && text.compare(pos, c.size(), c) == 0) return &tokens_[i];
  }
  return nullptr;
}

void AddedTokenMatcher::Split(absl::string_view text, std::vector<Piece>* pieces) const {
  size_t text_begin = 0;  // start of the pending text run
  size_t pos = 0;
  while (pos < text.size()) {
    const auto b = static_cast<uint8_t>(text[pos]);
    if (first_[b] == first_[b + 1]) {
      ++pos;
      continue;
    }
    const Entry* token = LongestAt(text, pos);
    if (token == nullptr) {
      ++pos;
      continue;
    }
    size_t begin = pos;
    size_t end = pos + token->content.size();
    if (token->single_word) {
      const bool word_before = begin > 0 && IsWordChar(LastChar(text, begin));
      const bool word_after = end < text.size() && IsWordChar(FirstChar(text, end));
      if (word_before || word_after) {
        // Not a word of its own: the matched text stays plain text.
        pos = end;
        continue;
      }
    }
    if (token->lstrip) {
      while (begin > text_begin && IsSpaceChar(LastChar(text, begin))) {
        begin -= LastChar(text, begin).size();
      }
    }
    if (token->rstrip) {
      while (end < text.size() && IsSpaceChar(FirstChar(text, end))) end += FirstChar(text, end).size();
    }
    if (begin > text_begin) pieces->push_back({text_begin, begin, -1});
    pieces->push_back({begin, end, token->id});
    text_begin = end;
    pos = end;
  }
  if (text.size() > text_begin) pieces->push_back({text_begin, text.size(), -1});
}

}  // namespace llm2vec
