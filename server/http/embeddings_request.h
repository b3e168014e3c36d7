// The body of POST /v1/embeddings (OpenAI's embeddings request), parsed and
// validated; no civetweb, no model (the fuzz target calls it alone).
#ifndef LLM2VEC_SERVER_HTTP_EMBEDDINGS_REQUEST_H_
#define LLM2VEC_SERVER_HTTP_EMBEDDINGS_REQUEST_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "server/http/http_api.h"
#include "server/http/json_inputs.h"

namespace llm2vec {

struct EmbeddingsRequest {
  // normalize true, no truncation, method unset.
  HttpEmbedCall call;
  bool base64 = false;
};

// Parses and validates a /v1/embeddings body: INVALID_ARGUMENT naming the
// problem, with *param the offending field ("" when it is the body as a
// whole). "input" is one of OpenAI's four shapes: a string, an array of
// strings, an array of token ids (one input), an array of arrays of token
// ids; ids are non-negative integers below 2^31 (the vocabulary is the
// model's to check). The limits are checked while parsing (json_inputs.h).
absl::Status ParseEmbeddingsRequest(const std::string& body, const InputLimits& limits,
                                    EmbeddingsRequest* request, std::string* param);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_HTTP_EMBEDDINGS_REQUEST_H_
