#include "common/sha256.h"

#include <algorithm>

namespace llm2vec {

std::string Sha256Hex(const std::string& s) {
  Sha256 hash;
  hash.Update(s.data(), s.size());
  return hash.HexDigest();
}

bool IsSha256Hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace llm2vec
