// Fuzz target: config.json and adapter_config.json text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/formats/adapter_config.h"
#include "model/formats/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)llm2vec::ParseHfConfig(text, "fuzz/config.json");
  (void)llm2vec::ParseLoraConfig(text, "fuzz/adapter_config.json");
  return 0;
}
