// The OpenAI-compatible HTTP endpoint, on civetweb:
//
//   POST /v1/embeddings   OpenAI's embeddings API. Body
//       {"input": "text" | ["text", ...] | [id, ...] | [[id, ...], ...],
//        "model": "...", "encoding_format": "float" | "base64",
//        "dimensions": N, "user": "..."}
//     answered with
//       {"object": "list", "model": "...",
//        "data": [{"object": "embedding", "index": i, "embedding": [...]}],
//        "usage": {"prompt_tokens": n, "total_tokens": n}}
//     where a base64 embedding is the little-endian float32 bytes of the
//     vector. As OpenAI's, the vectors have length 1 (after "dimensions"
//     cuts them). Token ids are the model's own (see EmbedInput.token_ids).
//     "model" may be left out (the server's model is meant), "user" is
//     ignored, and so are fields this server does not know.
//   GET /health           200 {"status":"ok"} while `healthy()`, else 503.
//   GET /v1/models        the one model, as OpenAI lists models;
//   GET /v1/models/{id}   that model, or 404.
//
// With an Authenticator, every route but /health needs a key with the role
// embed ("Authorization: Bearer KEY"): 401 (with "WWW-Authenticate: Bearer")
// without a known key, 403 without the role; the body is not read.
//
// Errors are OpenAI's: an HTTP status and
//   {"error": {"message": "...", "type": "...", "param": "..." | null,
//              "code": "..." | null}}
// Malformed JSON and bad fields are answered here with 400, naming the
// field in "param" and the message; a body over max_body_bytes with 413.
// Errors of the embed function map by their code (see HttpStatusFor).
//
// This layer knows nothing of tensors or the model: it parses, validates,
// calls the injected HttpEmbedFn and writes the answer.
//
// Threading: requests run on `threads` civetweb worker threads, each
// blocking in `embed` until its answer is ready, so `embed` and `healthy`
// must be thread-safe. The destructor stops accepting connections and waits
// for running handlers to return.
#ifndef LLM2VEC_SERVER_HTTP_HTTP_SERVER_H_
#define LLM2VEC_SERVER_HTTP_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/auth/authenticator.h"
#include "server/http/metrics.h"
#include "server/http/tls.h"

struct mg_connection;
struct mg_context;

namespace llm2vec {

// One validated /v1/embeddings call.
struct HttpEmbedCall {
  // The inputs: texts (none empty) or token-id arrays (none empty);
  // exactly one of the two has entries.
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> token_ids;
  // As the client sent it; empty when left out.
  std::string model;
  // Matryoshka truncation; 0 = the model's full dimension.
  int64_t dimensions = 0;
  // True once the client has closed its connection (the answer would go
  // nowhere), for the embed function to poll while the call waits. Set by
  // the server; never null there.
  std::function<bool()> client_gone;
};

struct HttpEmbedResult {
  // One per input, in the order of the call's inputs.
  std::vector<std::vector<float>> embeddings;
  int64_t prompt_tokens = 0;
  // Reported back to the client; empty = the server's model name.
  std::string model;
};

// Computes the embeddings of a call. Its error codes become HTTP statuses:
// INVALID_ARGUMENT 400, UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404, RESOURCE_EXHAUSTED 429,
// UNAVAILABLE 503, DEADLINE_EXCEEDED 504, anything else 500; the message is
// passed to the client unchanged.
using HttpEmbedFn = std::function<absl::StatusOr<HttpEmbedResult>(const HttpEmbedCall&)>;

// An answer on its way to the client (defined in http_server.cc).
struct HttpResponse;

// The HTTP status for an error of the embed function.
int HttpStatusFor(absl::StatusCode code);

class HttpServer {
 public:
  struct Options {
    // Address to listen on; "0.0.0.0" all IPv4, "127.0.0.1" loopback only.
    std::string host = "0.0.0.0";
    // 0 picks a free port (see port()).
    int port = 8080;
    // Worker threads, i.e. requests served at once; more connections wait.
    int threads = 16;
    // Largest request body accepted; larger ones get 413.
    int64_t max_body_bytes = 16 << 20;
    // Entries of "input" accepted, counted while the body is parsed (more:
    // 400 at once); 0 leaves the count to the embed function.
    int64_t max_inputs = 0;
    // The server's per-input byte bound: a token array of more than a
    // quarter of it (4 bytes an id) is refused while parsing; 0: none.
    int64_t max_input_bytes = 0;
    // Where the calls answered here without calling `embed` (malformed or
    // invalid body, body too large) are counted, as
    // RequestDone(kEmbeddingsMethod, "INVALID_ARGUMENT") and
    // Rejected("invalid"). Calls that reach `embed` are the embed
    // function's to count (RequestDone(kEmbeddingsMethod, its outcome)), so
    // that every call is counted once. May be null; not owned, must
    // outlive the server.
    Metrics* metrics = nullptr;
    // Who may call (every route but /health needs the role embed); null:
    // everyone. Not owned, must outlive the server.
    const Authenticator* auth = nullptr;
    // HTTPS with these certificates (tls.h); null: plain HTTP. Not owned,
    // must outlive the server.
    HttpTls* tls = nullptr;
  };

  // The method label of /v1/embeddings calls in Metrics::RequestDone.
  static constexpr const char* kEmbeddingsMethod = "http_embeddings";

  // Starts listening; `model_name` is what /v1/models reports and the
  // default "model" of responses.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const Options& options,
                                                           HttpEmbedFn embed,
                                                           std::function<bool()> healthy,
                                                           std::string model_name);
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port it listens on (the chosen one when Options::port was 0).
  int port() const { return port_; }

  // Implementation details follow.
 private:
  HttpServer(const Options& options, HttpEmbedFn embed, std::function<bool()> healthy,
             std::string model_name);

  // civetweb's request handler for every path; `cbdata` is the HttpServer.
  static int HandleRequest(mg_connection* conn, void* cbdata);
  HttpResponse Route(mg_connection* conn);
  HttpResponse Embeddings(mg_connection* conn);
  // Answers a /v1/embeddings body; *embed_called tells whether it got as
  // far as calling `embed`.
  HttpResponse EmbeddingsFromBody(const std::string& body, std::function<bool()> client_gone,
                                  bool* embed_called);
  HttpResponse Health() const;
  // The model list (id empty) or the model `id`.
  HttpResponse Models(const std::string& id) const;

  const Options options_;
  const HttpEmbedFn embed_;
  const std::function<bool()> healthy_;
  const std::string model_name_;
  // Unix seconds of the start, the "created" of /v1/models.
  const int64_t created_;
  // Set by Start, stopped by the destructor.
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_HTTP_HTTP_SERVER_H_
