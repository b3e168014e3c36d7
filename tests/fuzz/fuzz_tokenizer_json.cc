// Fuzz target: loading a tokenizer.json, then encoding and decoding with
// whatever it built.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tokenizer = llm2vec::Tokenizer::FromJson(
      std::string(reinterpret_cast<const char*>(data), size), "fuzz/tokenizer.json");
  if (!tokenizer.ok()) return 0;
  for (bool special : {false, true}) {
    const auto ids = (*tokenizer)->Encode("Hello, world! 123 \xc3\xa9\xe2\x82\xac <s></s>", special);
    (void)(*tokenizer)->Decode(ids, !special);
  }
  return 0;
}
