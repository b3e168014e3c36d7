// Unicode helpers for the tokenizers: UTF-8 decoding and repair, the GPT-2
// byte-level alphabet, white-space classes and canonical normalization
// (NFC/NFD, unicode_nfc.cc).
//
// Threading: stateless functions over immutable tables; thread-safe.
#ifndef LLM2VEC_MODEL_TOKENIZER_UNICODE_H_
#define LLM2VEC_MODEL_TOKENIZER_UNICODE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace llm2vec::unicode {

constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point at `s[pos]` (pos < s.size()). Returns the number of
// bytes it occupies; an ill-formed sequence yields U+FFFD, *valid = false
// (when given) and the length of its maximal subpart (at least 1), as
// Unicode recommends for repair.
size_t DecodeUtf8(absl::string_view s, size_t pos, char32_t* cp, bool* valid = nullptr);

// Number of bytes of the UTF-8 sequence that `lead` starts, judged by the lead
// byte alone (1 for a continuation or invalid byte), as llama.cpp does.
inline size_t Utf8LengthFromLead(uint8_t lead) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[lead >> 4];
}

void AppendUtf8(char32_t cp, std::string* out);

bool IsValidUtf8(absl::string_view s);

// `s` with each ill-formed subsequence replaced by U+FFFD (the same result as
// Rust's String::from_utf8_lossy). Returns `s` unchanged when valid.
std::string RepairUtf8(absl::string_view s);

// Unicode White_Space property (what Rust's char::is_whitespace tests).
bool IsWhiteSpace(char32_t cp);

// The GPT-2 byte-level alphabet: each byte maps to one printable code point
// (bytes 0x21..0x7E, 0xA1..0xAC, 0xAE..0xFF to themselves, the others to
// U+0100 upwards). ByteToUnicode returns its UTF-8 encoding.
absl::string_view ByteToUnicode(uint8_t byte);
// The byte that `cp` stands for, or -1 when `cp` is not in the alphabet.
int UnicodeToByte(char32_t cp);

// Canonical composition (NFC) and decomposition (NFD) of valid UTF-8.
std::string NormalizeNfc(absl::string_view s);
std::string NormalizeNfd(absl::string_view s);
// Version of the Unicode tables behind NormalizeNfc/Nfd.
const char* NormalizationUnicodeVersion();

}  // namespace llm2vec::unicode

#endif  // LLM2VEC_MODEL_TOKENIZER_UNICODE_H_
