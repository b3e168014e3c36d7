// text-embeddings-inference's HTTP API (as its OpenAPI document, v1.7,
// describes it) on the same port as OpenAI's: request bodies parsed into
// the HttpApi calls, answers and errors written as TEI writes them. No
// civetweb, no model: HttpServer routes here (the fuzz target calls the
// parsers alone).
//
//   POST /embed       {"inputs": I, "normalize": true, "truncate": false,
//                      "truncation_direction": "right", "prompt_name": P}
//                     -> [[float, ...], ...]
//   POST /embed_all   the same without "normalize" -> [[[float, ...] per
//                     token] per input] (special and prompt tokens included)
//   POST /similarity  {"inputs": {"source_sentence": S, "sentences": [S]},
//                      "parameters": {"truncate", "truncation_direction",
//                      "prompt_name"}} -> [cosine per sentence]
//   POST /tokenize    {"inputs": S | [S], "add_special_tokens": true,
//                      "prompt_name": P} -> [[{"id", "text", "special",
//                      "start": null, "stop": null}]]
//   POST /decode      {"ids": [id] | [[id]], "skip_special_tokens": true}
//                     -> [text]
//   GET  /info        the model and the server's limits
// where I is a string, an array of token ids, or an array of strings and
// token-id arrays, and P names one of the server's prompts (--prompt),
// used as every text's instruction (LLM2Vec: attended to, not pooled).
//
// Errors: {"error": message, "error_type": type} with TEI's statuses: a
// malformed body or field 422 "validation"; what the model refuses
// (too long, too many inputs, an id outside the vocabulary) 413
// "validation"; an unknown prompt_name 422 "tokenizer"; overloaded 429
// "overloaded"; loading or stopping 503 "unhealthy"; a failed batch or a
// deadline 424 "backend"; a missing or refused key 401/403
// "unauthorized"/"forbidden" (TEI itself answers those without a body).
// What TEI has and this server does not honour: "start"/"stop" offsets are
// null, "text" is the token decoded alone; /embed_sparse, /rerank and
// /predict are 404 (no SPLADE or classifier heads).
//
// Threading: pure functions.
#ifndef LLM2VEC_SERVER_HTTP_TEI_API_H_
#define LLM2VEC_SERVER_HTTP_TEI_API_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/http/http_api.h"
#include "server/http/json_inputs.h"

namespace llm2vec {

// The request bodies; InvalidArgument naming the field. /embed_all when
// `per_token`.
absl::Status ParseTeiEmbed(const std::string& body, const InputLimits& limits, bool per_token,
                           HttpEmbedCall* call);
absl::Status ParseTeiSimilarity(const std::string& body, const InputLimits& limits,
                                HttpSimilarityCall* call);
absl::Status ParseTeiTokenize(const std::string& body, const InputLimits& limits,
                              HttpTokenizeCall* call);
absl::Status ParseTeiDecode(const std::string& body, const InputLimits& limits,
                            HttpDecodeCall* call);

// The answers.
std::string TeiEmbeddingsJson(const HttpEmbedResult& result, bool per_token);
std::string TeiFloatsJson(const std::vector<float>& values);
std::string TeiTokensJson(const std::vector<std::vector<HttpToken>>& tokens);
std::string TeiStringsJson(const std::vector<std::string>& texts);
// /info; `threads`: the HTTP server's, TEI's max_concurrent_requests and
// tokenization_workers (requests are tokenized on those threads).
std::string TeiInfoJson(const HttpInfo& info, int threads);

// Where an error came from: the request's body (parsing) or the model's
// answer.
enum class TeiErrorSource { kRequest, kModel };

// TEI's status and error body for `status` (not OK).
int TeiStatusFor(const absl::Status& status, TeiErrorSource source);
std::string TeiErrorJson(const absl::Status& status, TeiErrorSource source);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_HTTP_TEI_API_H_
