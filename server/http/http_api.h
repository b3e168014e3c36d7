// What the HTTP routes ask of the model, in plain types: the calls that
// OpenAI's and text-embeddings-inference's routes (embeddings_request.h,
// tei_api.h) parse bodies into, and HttpApi, the functions the server app
// answers them with (through the engine). No civetweb, no model, no gRPC.
//
// Threading: the functions of an HttpApi are called from civetweb's worker
// threads, several at once: they must be thread-safe.
#ifndef LLM2VEC_SERVER_HTTP_HTTP_API_H_
#define LLM2VEC_SERVER_HTTP_HTTP_API_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llm2vec {

// One input: a text, or the text's token ids in the model's vocabulary
// (without special tokens). Exactly one of the two is non-empty.
struct HttpInput {
  std::string text;
  std::vector<int32_t> token_ids;
};

// What to do with an input longer than the model's limit.
enum class HttpTruncation {
  kNone,  // refuse it (INVALID_ARGUMENT naming the limit)
  kEnd,   // keep the first tokens (TEI's truncation_direction "right")
  kStart  // keep the last tokens (TEI's "left")
};

// One validated embeddings call (OpenAI's /v1/embeddings, TEI's /embed and
// /embed_all).
struct HttpEmbedCall {
  // At least one.
  std::vector<HttpInput> inputs;
  // As the client sent it; empty when left out (OpenAI only).
  std::string model;
  // Matryoshka truncation; 0 = the model's full dimension (OpenAI only).
  int64_t dimensions = 0;
  // Unit-length vectors (OpenAI always; TEI's "normalize", default true).
  bool normalize = true;
  HttpTruncation truncation = HttpTruncation::kNone;
  // TEI's "prompt_name": one of the server's named prompts, used as every
  // text's instruction; empty: none.
  std::string prompt_name;
  // Every token's state instead of one vector per input (TEI's /embed_all).
  bool per_token = false;
  // The route, as Metrics labels it ("http_embeddings", "tei_embed", ...).
  std::string method;
  // True once the client has closed its connection (the answer would go
  // nowhere), for the embed function to poll while the call waits. Set by
  // the server; never null there.
  std::function<bool()> client_gone;
};

struct HttpEmbedResult {
  // One per input, in the order of HttpEmbedCall::inputs; with per_token,
  // the tokens' states one after the other (tokens x hidden values).
  std::vector<std::vector<float>> embeddings;
  // Tokens the model saw, per input.
  std::vector<int64_t> tokens;
  int64_t prompt_tokens = 0;
  // Reported back to the client; empty = the server's model name.
  std::string model;
};

// TEI's /similarity: the cosine of `source` with each of `sentences`.
struct HttpSimilarityCall {
  std::string source;
  std::vector<std::string> sentences;
  HttpTruncation truncation = HttpTruncation::kNone;
  std::string prompt_name;
  std::function<bool()> client_gone;
};

// TEI's /tokenize.
struct HttpTokenizeCall {
  std::vector<std::string> texts;
  bool add_special_tokens = true;
  std::string prompt_name;
};

struct HttpToken {
  int32_t id = 0;
  // The token's own text (the token decoded alone).
  std::string text;
  bool special = false;
};

// TEI's /decode.
struct HttpDecodeCall {
  std::vector<std::vector<int32_t>> ids;
  bool skip_special_tokens = true;
};

// What TEI's /info reports of the model and the server's limits.
struct HttpInfo {
  std::string model_id;
  std::string dtype;
  std::string pooling;
  int64_t max_input_length = 0;
  int64_t max_batch_tokens = 0;
  int64_t max_batch_requests = 0;
  int64_t max_client_batch_size = 0;
  std::string version;
};

// The functions behind the routes. Their errors become HTTP statuses by
// code (each API has its table: HttpStatusFor for OpenAI's, TeiStatusFor
// for TEI's); messages pass to the client unchanged.
struct HttpApi {
  std::function<absl::StatusOr<HttpEmbedResult>(const HttpEmbedCall&)> embed;
  std::function<absl::StatusOr<std::vector<float>>(const HttpSimilarityCall&)> similarity;
  std::function<absl::StatusOr<std::vector<std::vector<HttpToken>>>(const HttpTokenizeCall&)>
      tokenize;
  std::function<absl::StatusOr<std::vector<std::string>>(const HttpDecodeCall&)> decode;
  // UNAVAILABLE while the model loads.
  std::function<absl::StatusOr<HttpInfo>()> info;
  // True once the model serves (GET /health).
  std::function<bool()> healthy;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_HTTP_HTTP_API_H_
