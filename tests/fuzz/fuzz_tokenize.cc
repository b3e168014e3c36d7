// Fuzz target: arbitrary bytes (any UTF-8, or not) through each tokenizer
// the test data ships (Llama 2 SentencePiece, Llama 3 and Qwen3 byte-level
// BPE, Mistral), with and without special tokens, and back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "model/tokenizer/tokenizer.h"

namespace {

std::vector<std::unique_ptr<llm2vec::Tokenizer>>& Tokenizers() {
  static auto* tokenizers = [] {
    auto* list = new std::vector<std::unique_ptr<llm2vec::Tokenizer>>();
    const char* env = std::getenv("LLM2VEC_TESTDATA");
    const std::string root = env != nullptr ? env : LLM2VEC_DEFAULT_TESTDATA;
    for (const char* name : {"llama2-from-gguf", "llama3", "mistral-7b-v0.1", "qwen3"}) {
      auto t = llm2vec::Tokenizer::FromJsonFile(root + "/tokenizers/" + name + "/tokenizer.json");
      if (t.ok()) list->push_back(std::move(*t));
    }
    if (list->empty()) std::abort();  // no test data: nothing would be fuzzed
    return list;
  }();
  return *tokenizers;
}

}  // namespace

// Loads the tokenizers before the first input, so their loading (seconds
// under the sanitizers) does not count against libFuzzer's per-input
// timeout.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  Tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto& tokenizer : Tokenizers()) {
    for (bool special : {false, true}) {
      const auto ids = tokenizer->Encode(text, special);
      for (int32_t id : ids) {
        if (id < 0 || id >= tokenizer->vocab_size()) std::abort();
      }
      (void)tokenizer->Decode(ids, special);
    }
  }
  return 0;
}
