// The body of POST /v1/embeddings (OpenAI's embeddings request), parsed and
// validated; no civetweb, no model (the fuzz target calls it alone).
#ifndef LLM2VEC_SERVER_HTTP_EMBEDDINGS_REQUEST_H_
#define LLM2VEC_SERVER_HTTP_EMBEDDINGS_REQUEST_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "server/http/http_server.h"

namespace llm2vec {

struct EmbeddingsRequest {
  HttpEmbedCall call;
  bool base64 = false;
};

// Parses and validates a /v1/embeddings body: INVALID_ARGUMENT naming the
// problem, with *param the offending field ("" when it is the body as a
// whole). More than `max_inputs` (> 0) entries in "input" stop the parse
// as soon as they are seen.
absl::Status ParseEmbeddingsRequest(const std::string& body, int64_t max_inputs,
                                    EmbeddingsRequest* request, std::string* param);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_HTTP_EMBEDDINGS_REQUEST_H_
