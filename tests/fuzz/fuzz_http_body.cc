// Fuzz target: the bodies of the HTTP routes, OpenAI's POST /v1/embeddings
// and text-embeddings-inference's /embed, /embed_all, /similarity,
// /tokenize and /decode, and the answers written from what they parsed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "server/http/embeddings_request.h"
#include "server/http/tei_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llm2vec;
  const std::string body(reinterpret_cast<const char*>(data), size);
  const InputLimits limits{/*max_inputs=*/16, /*max_token_ids=*/64};
  EmbeddingsRequest request;
  std::string param;
  (void)ParseEmbeddingsRequest(body, limits, &request, &param);
  for (bool per_token : {false, true}) {
    HttpEmbedCall call;
    (void)ParseTeiEmbed(body, limits, per_token, &call);
  }
  HttpSimilarityCall similarity;
  if (ParseTeiSimilarity(body, limits, &similarity).ok()) {
    (void)TeiFloatsJson(std::vector<float>(similarity.sentences.size(), 0.5f));
  }
  HttpTokenizeCall tokenize;
  if (ParseTeiTokenize(body, limits, &tokenize).ok()) {
    std::vector<std::vector<HttpToken>> tokens;
    for (const std::string& text : tokenize.texts) tokens.push_back({{1, text, false}});
    (void)TeiTokensJson(tokens);
  }
  HttpDecodeCall decode;
  if (ParseTeiDecode(body, limits, &decode).ok()) {
    std::vector<std::string> texts(decode.ids.size(), std::string(body.data(), body.size() / 2));
    (void)TeiStringsJson(texts);
  }
  return 0;
}
