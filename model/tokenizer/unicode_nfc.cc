// Canonical normalization (UAX #15): full canonical decomposition, canonical
// ordering of combining marks, then canonical composition. The tables come
// from unicode_nfc_data.inc (generated, see gen_unicode_nfc_data.py); Hangul
// syllables are decomposed and composed algorithmically.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "model/tokenizer/unicode.h"

namespace llm2vec::unicode {
namespace {

struct CombiningClassRange {
  uint32_t first, last;
  uint8_t ccc;
};
struct Decomposition {
  uint32_t cp;
  uint16_t offset;
  uint8_t length;
};
struct Composition {
  uint32_t first, second, composite;
};

#include "model/tokenizer/unicode_nfc_data.inc"

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t CombiningClass(char32_t cp) {
  if (cp < 0x300) return 0;
  const auto* end = std::end(kCombiningClassRanges);
  const auto* it = std::upper_bound(std::begin(kCombiningClassRanges), end, cp,
                                    [](char32_t c, const CombiningClassRange& r) { return c < r.first; });
  if (it == std::begin(kCombiningClassRanges)) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

void Decompose(char32_t cp, std::vector<char32_t>* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out->push_back(kTBase + s % kTCount);
    return;
  }
  if (cp >= 0xC0) {
    const auto* end = std::end(kDecompositions);
    const auto* it = std::lower_bound(std::begin(kDecompositions), end, cp,
                                      [](const Decomposition& d, char32_t c) { return d.cp < c; });
    if (it != end && it->cp == cp) {
      out->insert(out->end(), kDecompositionPool + it->offset, kDecompositionPool + it->offset + it->length);
      return;
    }
  }
  out->push_back(cp);
}

// The primary composite of (first, second), or 0 when there is none.
char32_t Compose(char32_t first, char32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount) {
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  }
  if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 && second > kTBase &&
      second < kTBase + kTCount) {
    return first + (second - kTBase);
  }
  const auto* end = std::end(kCompositions);
  const auto* it =
      std::lower_bound(std::begin(kCompositions), end, std::make_pair(first, second),
                       [](const Composition& c, const std::pair<char32_t, char32_t>& key) {
                         return c.first != key.first ? c.first < key.first : c.second < key.second;
                       });
  if (it != end && it->first == first && it->second == second) return it->composite;
  return 0;
}

// Code points below U+0300 are never changed by NFC or NFD except those with
// a decomposition (U+00C0 and up); a string of bytes < 0xC3 is plain Latin-1
// without such letters.
bool StableUnder(absl::string_view s, uint8_t first_unstable_lead) {
  for (char c : s) {
    if (static_cast<uint8_t>(c) >= first_unstable_lead) return false;
  }
  return true;
}

std::vector<char32_t> DecomposeAndOrder(absl::string_view s) {
  std::vector<char32_t> cps;
  cps.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    char32_t cp;
    pos += DecodeUtf8(s, pos, &cp);
    Decompose(cp, &cps);
  }
  // Canonical ordering: stable sort of every run of non-starters by class.
  size_t i = 0;
  while (i < cps.size()) {
    if (CombiningClass(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && CombiningClass(cps[j]) != 0) ++j;
    if (j - i > 1) {
      std::stable_sort(cps.begin() + i, cps.begin() + j,
                       [](char32_t a, char32_t b) { return CombiningClass(a) < CombiningClass(b); });
    }
    i = j;
  }
  return cps;
}

std::string ToUtf8(const std::vector<char32_t>& cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) AppendUtf8(cp, &out);
  return out;
}

}  // namespace

std::string NormalizeNfd(absl::string_view s) {
  // Lead bytes below 0xC3 encode U+0000..U+00BF: nothing decomposes there.
  if (StableUnder(s, 0xC3)) return std::string(s);
  return ToUtf8(DecomposeAndOrder(s));
}

std::string NormalizeNfc(absl::string_view s) {
  // Lead bytes below 0xCC encode U+0000..U+02FF: already NFC, whatever the context.
  if (StableUnder(s, 0xCC)) return std::string(s);
  std::vector<char32_t> cps = DecomposeAndOrder(s);
  size_t out = 0;
  ptrdiff_t starter = -1;  // index (in the output prefix) of the last starter
  uint8_t last_class = 0;  // class of the last code point kept after it
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t cp = cps[i];
    const uint8_t ccc = CombiningClass(cp);
    if (starter >= 0) {
      const bool adjacent = static_cast<size_t>(starter) + 1 == out;
      const bool blocked = !adjacent && (last_class == 0 || last_class >= ccc);
      if (!blocked) {
        const char32_t composite = Compose(cps[starter], cp);
        if (composite != 0) {
          cps[starter] = composite;
          continue;
        }
      }
    }
    if (ccc == 0) starter = static_cast<ptrdiff_t>(out);
    last_class = ccc;
    cps[out++] = cp;
  }
  cps.resize(out);
  return ToUtf8(cps);
}

const char* NormalizationUnicodeVersion() { return kUnicodeVersion; }

}  // namespace llm2vec::unicode
