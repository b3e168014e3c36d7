// Fuzz target: a GGUF file (header, metadata, tensor table), then what the
// loaders read from it: the model config and the tokenizer vocabulary.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/formats/gguf.h"
#include "model/formats/model_config.h"
#include "model/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llm2vec;
  auto file = GgufFile::FromBytes(std::string(reinterpret_cast<const char*>(data), size),
                                  "fuzz.gguf");
  if (!file.ok()) return 0;
  (void)ConfigFromGguf(**file);
  auto vocab = ReadGgufVocab(**file);
  if (!vocab.ok()) return 0;
  auto tokenizer = Tokenizer::FromGgufVocab(*vocab);
  if (!tokenizer.ok()) return 0;
  const auto ids = (*tokenizer)->Encode("Once upon a time, 42 \xc3\xa9t\xc3\xa9s <s>", true);
  (void)(*tokenizer)->Decode(ids, false);
  return 0;
}
