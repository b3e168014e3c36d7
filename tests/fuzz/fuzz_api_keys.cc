// Fuzz target: the API key file, and a header checked against it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/api_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto keys = llm2vec::ApiKeys::Parse(text, "fuzz/keys");
  if (keys.ok()) (void)keys->Authenticate(text);
  return 0;
}
