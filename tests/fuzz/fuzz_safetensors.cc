// Fuzz target: a safetensors file (8-byte length, JSON header, offsets).
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto archive = llm2vec::SafetensorsArchive::FromBytes(
      std::string(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
  if (!archive.ok()) return 0;
  // Every view must lie inside the bytes (ASan reports a read outside):
  // touch each one's first and last byte.
  volatile uint8_t sink = 0;
  for (const auto& [name, view] : (*archive)->tensors()) {
    if (view.nbytes > 0) sink = sink ^ view.data[0] ^ view.data[view.nbytes - 1];
  }
  return 0;
}
