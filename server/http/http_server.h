// The HTTP port, on civetweb: OpenAI's embeddings API and
// text-embeddings-inference's (tei_api.h), beside each other.
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
//   GET /v1/models        the one model, as OpenAI lists models;
//   GET /v1/models/{id}   that model, or 404.
//   POST /embed, /embed_all, /similarity, /tokenize, /decode, GET /info:
//                         text-embeddings-inference's routes (tei_api.h).
//   GET /health           200 {"status":"ok"} while the model serves, else
//                         503 (with TEI's error fields too).
//   GET /metrics          404 naming the metrics port: metrics stay on their
//                         own listener.
//
// With an Authenticator, every route but /health needs a key with the role
// embed ("Authorization: Bearer KEY"): 401 (with "WWW-Authenticate: Bearer")
// without a known key, 403 without the role; the body is not read.
//
// OpenAI's routes answer errors as OpenAI does: an HTTP status and
//   {"error": {"message": "...", "type": "...", "param": "..." | null,
//              "code": "..." | null}}
// Malformed JSON and bad fields are answered here with 400, naming the
// field in "param" and the message; a body over max_body_bytes with 413.
// Errors of the API functions map by their code (see HttpStatusFor). TEI's
// routes answer {"error": "...", "error_type": "..."} (see tei_api.h).
//
// This layer knows nothing of tensors or the model: it parses, validates,
// calls the injected HttpApi functions and writes the answer. Every call is
// counted once in Metrics::RequestDone, by route, with its outcome.
//
// Threading: requests run on `threads` civetweb worker threads, each
// blocking in an HttpApi function until its answer is ready, so those must
// be thread-safe. The destructor stops accepting connections and waits
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
#include "server/http/http_api.h"
#include "server/http/json_inputs.h"
#include "server/http/metrics.h"
#include "server/http/tls.h"

struct mg_connection;
struct mg_context;

namespace llm2vec {

// An answer on its way to the client (defined in http_server.cc). Not
// "HttpResponse": model/hub/http_fetch.h has one, and two classes of one
// name in one namespace broke the One Definition Rule (the linker kept one
// inline destructor for both; a crash once their layouts differed).
struct HttpReply;

// The HTTP status for an error of an HttpApi function on OpenAI's routes:
// INVALID_ARGUMENT 400, UNAUTHENTICATED 401, PERMISSION_DENIED 403,
// NOT_FOUND 404, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503,
// DEADLINE_EXCEEDED 504, anything else 500.
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
    // Inputs accepted, counted while the body is parsed (more: refused at
    // once); 0 leaves the count to the API functions.
    int64_t max_inputs = 0;
    // The server's per-input byte bound: a token array of more than a
    // quarter of it (4 bytes an id) is refused while parsing; 0: none.
    int64_t max_input_bytes = 0;
    // Where every call of an API route is counted, as RequestDone(its
    // method label, its outcome), and the ones refused here before an
    // HttpApi function runs (malformed or invalid body, body too large)
    // also as Rejected("invalid"). May be null; not owned, must outlive
    // the server.
    Metrics* metrics = nullptr;
    // Named in the answer to GET /metrics (0: not said).
    int metrics_port = 0;
    // Who may call (every route but /health needs the role embed); null:
    // everyone. Not owned, must outlive the server.
    const Authenticator* auth = nullptr;
    // HTTPS with these certificates (tls.h); null: plain HTTP. Not owned,
    // must outlive the server.
    HttpTls* tls = nullptr;
  };

  // The method label of /v1/embeddings calls in Metrics::RequestDone; TEI's
  // routes are "tei_embed", "tei_embed_all", "tei_similarity",
  // "tei_tokenize", "tei_decode".
  static constexpr const char* kEmbeddingsMethod = "http_embeddings";

  // Starts listening; `model_name` is what /v1/models reports and the
  // default "model" of responses. Every function of `api` must be set.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const Options& options, HttpApi api,
                                                           std::string model_name);
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port it listens on (the chosen one when Options::port was 0).
  int port() const { return port_; }

  // Implementation details follow.
 private:
  HttpServer(const Options& options, HttpApi api, std::string model_name);

  // civetweb's request handler for every path; `cbdata` is the HttpServer.
  static int HandleRequest(mg_connection* conn, void* cbdata);
  HttpReply Route(mg_connection* conn);
  // Reads the body (at most max_body_bytes): false, with *error the 413
  // message, when it is larger.
  bool ReadBody(mg_connection* conn, std::string* body, std::string* error) const;
  // The bounds checked while a body is parsed.
  InputLimits Limits() const;
  // POST /v1/embeddings.
  HttpReply Embeddings(const std::string& body, std::function<bool()> client_gone,
                          bool* reached_api);
  // A TEI route (path as in tei_api.h); *reached_api: an HttpApi function
  // ran (else the body was refused here).
  HttpReply Tei(const std::string& path, const std::string& body,
                   std::function<bool()> client_gone, bool* reached_api);
  HttpReply Health() const;
  // The model list (id empty) or the model `id`.
  HttpReply Models(const std::string& id) const;
  HttpReply Info() const;

  const Options options_;
  const HttpApi api_;
  const std::string model_name_;
  // Unix seconds of the start, the "created" of /v1/models.
  const int64_t created_;
  // Set by Start, stopped by the destructor.
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_HTTP_HTTP_SERVER_H_
