// Fuzz target: the body of POST /v1/embeddings.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/http/embeddings_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  llm2vec::EmbeddingsRequest request;
  std::string param;
  (void)llm2vec::ParseEmbeddingsRequest(std::string(reinterpret_cast<const char*>(data), size),
                                        {/*max_inputs=*/16, /*max_token_ids=*/64}, &request,
                                        &param);
  return 0;
}
