#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <limits>
#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/http/embeddings_request.h"
#include "server/http/json_inputs.h"
#include "server/http/tei_api.h"

// civetweb_libssl/libssl_shim.cc: civetweb's "libssl.so" (see there why).
extern "C" int llm2vec_civetweb_libssl_shim();

namespace llm2vec {

using nlohmann::json;

struct HttpReply {
  int status = 200;
  std::string body;
  // Close the connection after answering (the body was not read to its end).
  bool close_connection = false;
  // The Allow header of a 405.
  std::string allow;
  // A 401: says "WWW-Authenticate: Bearer".
  bool ask_for_key = false;
  // The outcome Metrics counts (a status code's name).
  std::string outcome = "OK";
};

namespace {

constexpr absl::string_view kEmbeddingsPath = "/v1/embeddings";
constexpr absl::string_view kModelsPath = "/v1/models";
constexpr absl::string_view kInfoPath = "/info";
// TEI's POST routes and their method labels in Metrics.
const std::map<std::string, const char*> kTeiRoutes = {
    {"/embed", "tei_embed"},         {"/embed_all", "tei_embed_all"},
    {"/similarity", "tei_similarity"}, {"/tokenize", "tei_tokenize"},
    {"/decode", "tei_decode"}};

// JSON text of a string; bytes that are not UTF-8 become U+FFFD instead of
// throwing (messages may quote what a client sent).
std::string JsonString(absl::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// OpenAI's error object. Empty `param` and `code` are written as null.
HttpReply ErrorResponse(int status, absl::string_view type, absl::string_view message,
                                   absl::string_view param, absl::string_view code) {
  json error = {{"message", std::string(message)},
                {"type", std::string(type)},
                {"param", param.empty() ? json(nullptr) : json(std::string(param))},
                {"code", code.empty() ? json(nullptr) : json(std::string(code))}};
  HttpReply response;
  response.status = status;
  response.body =
      json{{"error", std::move(error)}}.dump(-1, ' ', false, json::error_handler_t::replace);
  response.outcome = status < 500 ? "INVALID_ARGUMENT" : "INTERNAL";
  return response;
}

// An error of the embed function (or of validation, with the bad field in
// `param`) as OpenAI would answer it.
HttpReply StatusResponse(const absl::Status& status, absl::string_view param) {
  const int http = HttpStatusFor(status.code());
  absl::string_view type = "server_error";
  absl::string_view code;
  switch (http) {
    case 400: type = "invalid_request_error"; break;
    case 401: type = "invalid_request_error"; code = "invalid_api_key"; break;
    case 403: type = "invalid_request_error"; code = "permission_denied"; break;
    case 404: type = "invalid_request_error"; code = "model_not_found"; break;
    case 429: type = "rate_limit_error"; code = "rate_limit_exceeded"; break;
    case 503: code = "service_unavailable"; break;
    case 504: code = "timeout"; break;
    default: code = "internal_error"; break;
  }
  if (http == 404 && param.empty()) param = "model";
  HttpReply response = ErrorResponse(http, type, status.message(), param, code);
  response.outcome = absl::StatusCodeToString(status.code());
  return response;
}

// TEI's error answer (tei_api.h); `http` overrides its status.
HttpReply TeiResponse(const absl::Status& status, TeiErrorSource source, int http = 0) {
  HttpReply response;
  response.status = http > 0 ? http : TeiStatusFor(status, source);
  response.body = TeiErrorJson(status, source);
  response.outcome = absl::StatusCodeToString(status.code());
  return response;
}

// INTERNAL unless `result` holds `inputs` embeddings of finite values.
absl::Status CheckResult(const HttpEmbedResult& result, size_t inputs) {
  if (result.embeddings.size() != inputs) {
    return absl::InternalError(absl::StrCat("the model returned ", result.embeddings.size(),
                                            " embeddings for ", inputs, " inputs"));
  }
  for (size_t i = 0; i < result.embeddings.size(); ++i) {
    for (size_t d = 0; d < result.embeddings[i].size(); ++d) {
      if (!std::isfinite(result.embeddings[i][d])) {
        return absl::InternalError(absl::StrCat("embedding ", i, " has value ",
                                                result.embeddings[i][d], " at dimension ", d));
      }
    }
  }
  return absl::OkStatus();
}

// Base64 of the little-endian float32 bytes of `v` (OpenAI's encoding).
std::string Base64Floats(const std::vector<float>& v) {
  std::string bytes(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &v[i], 4);
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return absl::Base64Escape(bytes);
}

// An IPv4-mapped IPv6 address ("::ffff:127.0.0.1") as plain IPv4; any
// other address unchanged.
std::string PlainIp(std::string ip) {
  if (absl::StartsWith(ip, "::ffff:") && ip.find('.') != std::string::npos) ip.erase(0, 7);
  return ip;
}

// The address and port of a socket name, as text ("127.0.0.1", "::1"; see
// PlainIp), or false for other families.
bool AddressOf(const sockaddr_storage& addr, std::string* ip, int* port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    if (inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text)) == nullptr) return false;
    *port = ntohs(a.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    if (inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof(text)) == nullptr) return false;
    *port = ntohs(a.sin6_port);
  } else {
    return false;
  }
  *ip = PlainIp(text);
  return true;
}

// civetweb can neither say whether a handler's client is still connected
// nor give a connection's socket, so the socket is found among the
// process's descriptors by its addresses: local port, peer address and
// port. -1 when none matches (the caller then cannot notice a disconnect).
int FindConnectionSocket(const mg_request_info& info) {
  const std::string want_ip = PlainIp(info.remote_addr);
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (const dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    struct stat st;
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage peer{}, local{};
    socklen_t peer_len = sizeof(peer), local_len = sizeof(local);
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
        getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
      continue;
    }
    std::string peer_ip, local_ip;
    int peer_port = 0, local_port = 0;
    if (AddressOf(peer, &peer_ip, &peer_port) && AddressOf(local, &local_ip, &local_port) &&
        peer_port == info.remote_port && local_port == info.server_port && peer_ip == want_ip) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
  return found;
}

// True when the peer of `fd` has closed the connection (or it broke). A
// client that only half-closes its sending side counts as gone: HTTP/1.1
// clients do not do that while waiting for an answer.
bool PeerClosed(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

void Send(mg_connection* conn, const HttpReply& response) {
  if (response.close_connection) mg_disable_connection_keep_alive(conn);
  const std::string length = absl::StrCat(response.body.size());
  mg_response_header_start(conn, response.status);
  mg_response_header_add(conn, "Content-Type", "application/json", -1);
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  if (!response.allow.empty()) mg_response_header_add(conn, "Allow", response.allow.c_str(), -1);
  if (response.ask_for_key) mg_response_header_add(conn, "WWW-Authenticate", "Bearer", -1);
  mg_response_header_send(conn);
  mg_write(conn, response.body.data(), response.body.size());
}

HttpReply MethodNotAllowed(absl::string_view method, absl::string_view path,
                                      absl::string_view allow) {
  HttpReply response =
      ErrorResponse(405, "invalid_request_error",
                    absl::StrCat(method, " is not allowed on ", path, "; use ", allow), "",
                    "method_not_allowed");
  response.allow = std::string(allow);
  return response;
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

HttpServer::HttpServer(const Options& options, HttpApi api, std::string model_name)
    : options_(options),
      api_(std::move(api)),
      model_name_(std::move(model_name)),
      created_(static_cast<int64_t>(std::time(nullptr))) {}

HttpServer::~HttpServer() {
  if (context_ != nullptr) mg_stop(context_);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const Options& options,
                                                              HttpApi api,
                                                              std::string model_name) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP port is ", options.port, "; expected 0..65535"));
  }
  if (options.threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP threads is ", options.threads, "; expected at least 1"));
  }
  if (options.max_body_bytes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP max_body_bytes is ", options.max_body_bytes, "; expected at least 1"));
  }
  if (!api.embed || !api.similarity || !api.tokenize || !api.decode || !api.info ||
      !api.healthy) {
    return absl::InvalidArgumentError(
        "HTTP server needs every HttpApi function (embed, similarity, tokenize, decode, info, "
        "healthy)");
  }

  std::unique_ptr<HttpServer> server(
      new HttpServer(options, std::move(api), std::move(model_name)));

  // civetweb wants IPv6 addresses in brackets ([::1]:8080); an empty host
  // listens on all IPv4 addresses.
  const std::string& host = options.host;
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  // A port ending in "s" speaks TLS.
  const char* tls_suffix = options.tls != nullptr ? "s" : "";
  const std::string listen =
      host.empty() ? absl::StrCat(options.port, tls_suffix)
                   : absl::StrCat(ipv6 ? "[" : "", host, ipv6 ? "]" : "", ":", options.port,
                                  tls_suffix);
  const std::string threads = absl::StrCat(options.threads);
  const char* config[] = {"listening_ports",   listen.c_str(),
                          "num_threads",       threads.c_str(),
                          "enable_keep_alive", "yes",
                          // A client that sends its request (or reads the
                          // answer) slower than this loses the connection:
                          // 16 slow clients cannot hold every thread.
                          "request_timeout_ms", "30000",
                          nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  if (options.tls != nullptr) {
    // civetweb loads OpenSSL (libssl.so) only when asked to before its
    // first server starts; without it, a handshake calls a null function.
    // Debian's civetweb 1.15 answers the first mg_init_library call of a
    // process with 0 even when OpenSSL loaded; a second call reports the
    // real state (and retries loading it if it had failed).
    if (llm2vec_civetweb_libssl_shim() != 1) return absl::InternalError("libssl shim missing");
    static const unsigned features = [] {
      const unsigned first = mg_init_library(MG_FEATURES_TLS);
      return (first & MG_FEATURES_TLS) != 0 ? first : mg_init_library(MG_FEATURES_TLS);
    }();
    if ((features & MG_FEATURES_TLS) == 0) {
      return absl::UnavailableError(
          "cannot serve HTTPS: civetweb could not load OpenSSL (libssl.so; Debian: libssl-dev)");
    }
    // Our callback sets up the context (certificates per handshake, so
    // that SIGHUP can replace them); civetweb loads no files itself.
    callbacks.init_ssl = [](void* ssl_ctx, void* user_data) {
      return static_cast<HttpTls*>(user_data)->ConfigureContext(ssl_ctx);
    };
  }
  mg_init_data init;
  init.callbacks = &callbacks;
  init.user_data = options.tls;
  init.configuration_options = config;
  unsigned error_code = 0;
  char error_text[256] = "";
  mg_error_data error;
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on ", listen, ": ", error_text, " (civetweb error ",
                     error_code, ")"));
  }

  mg_server_port ports[4];
  const int n = mg_get_server_ports(server->context_, 4, ports);
  if (n < 1 || ports[0].port <= 0) {
    return absl::InternalError(absl::StrCat("HTTP server on ", listen, " reports no port"));
  }
  server->port_ = ports[0].port;
  // "/" matches every path; Route dispatches.
  mg_set_request_handler(server->context_, "/", &HttpServer::HandleRequest, server.get());
  return server;
}

int HttpServer::HandleRequest(mg_connection* conn, void* cbdata) {
  auto* server = static_cast<HttpServer*>(cbdata);
  HttpReply response;
  try {
    response = server->Route(conn);
  } catch (const std::exception& e) {
    response = ErrorResponse(500, "server_error", absl::StrCat("internal error: ", e.what()), "",
                             "internal_error");
  }
  Send(conn, response);
  return response.status;
}

HttpReply HttpServer::Route(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  const absl::string_view method = info->request_method;
  const std::string path = info->local_uri != nullptr ? info->local_uri : "";
  const auto tei = kTeiRoutes.find(path);
  const bool is_tei = tei != kTeiRoutes.end() || path == kInfoPath;
  // An error in the shape of the route's API.
  const auto error = [&](const absl::Status& status) {
    return is_tei ? TeiResponse(status, TeiErrorSource::kModel) : StatusResponse(status, "");
  };
  if (path == "/health") {
    if (method != "GET") return MethodNotAllowed(method, path, "GET");
    return Health();
  }
  // Everything but /health needs the role embed (when the server has keys),
  // checked before the body is read.
  const char* api_method = path == kEmbeddingsPath ? kEmbeddingsMethod
                           : tei != kTeiRoutes.end() ? tei->second
                                                     : nullptr;
  if (options_.auth != nullptr) {
    const char* header = mg_get_header(conn, "Authorization");
    auto caller = options_.auth->Authorize(header != nullptr ? header : "", Role::kEmbed, path);
    if (!caller.ok()) {
      HttpReply response = error(caller.status());
      response.ask_for_key = response.status == 401;
      // The body (if any) is not read: close after answering.
      response.close_connection = true;
      if (api_method != nullptr && options_.metrics != nullptr) {
        options_.metrics->RequestDone(api_method,
                                      absl::StatusCodeToString(caller.status().code()), 0);
      }
      return response;
    }
  }
  if (path == kModelsPath || absl::StartsWith(path, absl::StrCat(kModelsPath, "/"))) {
    if (method != "GET") return MethodNotAllowed(method, path, "GET");
    return Models(path.size() > kModelsPath.size() ? path.substr(kModelsPath.size() + 1) : "");
  }
  if (path == kInfoPath) {
    if (method != "GET") return MethodNotAllowed(method, path, "GET");
    return Info();
  }
  if (path == "/metrics") {
    return error(absl::NotFoundError(
        options_.metrics_port > 0
            ? absl::StrCat("Prometheus metrics are served on port ", options_.metrics_port,
                           " (--metrics-port), not on this one")
            : std::string("Prometheus metrics are served on the metrics port (--metrics-port), "
                          "not on this one")));
  }
  if (api_method == nullptr) {
    if (path == "/embed_sparse" || path == "/rerank" || path == "/predict") {
      return TeiResponse(absl::NotFoundError(absl::StrCat(
                             path, " needs a SPLADE or classifier head; this server embeds only")),
                         TeiErrorSource::kRequest, 404);
    }
    return ErrorResponse(404, "invalid_request_error",
                         absl::StrCat("no route for ", method, " ", path), "", "not_found");
  }
  if (method != "POST") return MethodNotAllowed(method, path, "POST");

  // An API call: read the body, answer, count it once.
  const auto start = std::chrono::steady_clock::now();
  bool reached_api = false;
  HttpReply response;
  std::string body, too_large;
  if (!ReadBody(conn, &body, &too_large)) {
    response = is_tei ? TeiResponse(absl::InvalidArgumentError(too_large),
                                    TeiErrorSource::kRequest, 413)
                      : ErrorResponse(413, "invalid_request_error", too_large, "",
                                      "request_too_large");
    // A body that is not read to its end leaves the connection unusable.
    response.close_connection = true;
  } else {
    // The socket stays open while this handler runs, so polling it is safe.
    const int fd = FindConnectionSocket(*info);
    std::function<bool()> client_gone = [fd] { return fd >= 0 && PeerClosed(fd); };
    response = is_tei ? Tei(path, body, std::move(client_gone), &reached_api)
                      : Embeddings(body, std::move(client_gone), &reached_api);
  }
  if (options_.metrics != nullptr) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    options_.metrics->RequestDone(api_method, response.outcome, seconds);
    if (!reached_api) options_.metrics->Rejected("invalid");
  }
  return response;
}

bool HttpServer::ReadBody(mg_connection* conn, std::string* body, std::string* error) const {
  const int64_t max_bytes = options_.max_body_bytes;
  const mg_request_info* info = mg_get_request_info(conn);
  bool read_ok = true;
  if (info->content_length > max_bytes) {
    read_ok = false;
  } else {
    constexpr size_t kChunk = 1 << 16;
    if (info->content_length > 0) body->reserve(static_cast<size_t>(info->content_length) + kChunk);
    for (;;) {
      const size_t old_size = body->size();
      body->resize(old_size + kChunk);
      const int n = mg_read(conn, &(*body)[old_size], kChunk);
      body->resize(old_size + static_cast<size_t>(n > 0 ? n : 0));
      if (n <= 0) break;  // end of body (0) or a broken connection (< 0)
      if (static_cast<int64_t>(body->size()) > max_bytes) {
        read_ok = false;
        break;
      }
    }
  }
  if (!read_ok) {
    const std::string size = info->content_length >= 0
                                 ? absl::StrCat(info->content_length, " bytes")
                                 : absl::StrCat("over ", max_bytes, " bytes");
    *error = absl::StrCat("request body is ", size, "; the limit is ", max_bytes, " bytes");
  }
  return read_ok;
}

InputLimits HttpServer::Limits() const {
  InputLimits limits;
  limits.max_inputs = options_.max_inputs;
  limits.max_token_ids = options_.max_input_bytes / 4;
  return limits;
}

HttpReply HttpServer::Embeddings(const std::string& body, std::function<bool()> client_gone,
                                    bool* reached_api) {
  EmbeddingsRequest request;
  std::string param;
  if (absl::Status status = ParseEmbeddingsRequest(body, Limits(), &request, &param);
      !status.ok()) {
    return StatusResponse(status, param);
  }
  request.call.method = kEmbeddingsMethod;
  request.call.client_gone = std::move(client_gone);

  *reached_api = true;
  absl::StatusOr<HttpEmbedResult> result = api_.embed(request.call);
  if (!result.ok()) return StatusResponse(result.status(), "");
  if (absl::Status s = CheckResult(*result, request.call.inputs.size()); !s.ok()) {
    return StatusResponse(s, "");
  }
  const std::vector<std::vector<float>>& embeddings = result->embeddings;

  // Written by hand: a float array through nlohmann::json would become
  // doubles with 17 digits each.
  const std::string& model = !result->model.empty()         ? result->model
                             : !request.call.model.empty() ? request.call.model
                                                           : model_name_;
  HttpReply response;
  std::string& out = response.body;
  out.reserve(64 + embeddings.size() * (64 + (embeddings.empty() ? 0 : embeddings[0].size()) * 14));
  out += R"({"object":"list","data":[)";
  for (size_t i = 0; i < embeddings.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, R"({"object":"embedding","index":)", i, R"(,"embedding":)");
    if (request.base64) {
      absl::StrAppend(&out, "\"", Base64Floats(embeddings[i]), "\"");
    } else {
      AppendJsonFloats(embeddings[i].data(), embeddings[i].size(), &out);
    }
    out += '}';
  }
  absl::StrAppend(&out, R"(],"model":)", JsonString(model), R"(,"usage":{"prompt_tokens":)",
                  result->prompt_tokens, R"(,"total_tokens":)", result->prompt_tokens, "}}");
  return response;
}

HttpReply HttpServer::Tei(const std::string& path, const std::string& body,
                             std::function<bool()> client_gone, bool* reached_api) {
  const InputLimits limits = Limits();
  const auto refused = [](const absl::Status& s) {
    return TeiResponse(s, TeiErrorSource::kRequest);
  };
  const auto failed = [](const absl::Status& s) { return TeiResponse(s, TeiErrorSource::kModel); };
  HttpReply response;
  if (path == "/embed" || path == "/embed_all") {
    const bool per_token = path == "/embed_all";
    HttpEmbedCall call;
    if (absl::Status s = ParseTeiEmbed(body, limits, per_token, &call); !s.ok()) return refused(s);
    call.method = per_token ? "tei_embed_all" : "tei_embed";
    call.client_gone = std::move(client_gone);
    *reached_api = true;
    auto result = api_.embed(call);
    if (!result.ok()) return failed(result.status());
    if (absl::Status s = CheckResult(*result, call.inputs.size()); !s.ok()) return failed(s);
    response.body = TeiEmbeddingsJson(*result, per_token);
  } else if (path == "/similarity") {
    HttpSimilarityCall call;
    if (absl::Status s = ParseTeiSimilarity(body, limits, &call); !s.ok()) return refused(s);
    call.client_gone = std::move(client_gone);
    *reached_api = true;
    auto scores = api_.similarity(call);
    if (!scores.ok()) return failed(scores.status());
    response.body = TeiFloatsJson(*scores);
  } else if (path == "/tokenize") {
    HttpTokenizeCall call;
    if (absl::Status s = ParseTeiTokenize(body, limits, &call); !s.ok()) return refused(s);
    *reached_api = true;
    auto tokens = api_.tokenize(call);
    if (!tokens.ok()) return failed(tokens.status());
    response.body = TeiTokensJson(*tokens);
  } else {  // /decode
    HttpDecodeCall call;
    if (absl::Status s = ParseTeiDecode(body, limits, &call); !s.ok()) return refused(s);
    *reached_api = true;
    auto texts = api_.decode(call);
    if (!texts.ok()) return failed(texts.status());
    response.body = TeiStringsJson(*texts);
  }
  return response;
}

HttpReply HttpServer::Health() const {
  HttpReply response;
  if (api_.healthy()) {
    response.body = R"({"status":"ok"})";
  } else {
    response.status = 503;
    response.body =
        R"({"status":"unavailable","error":"the model is not serving yet","error_type":"unhealthy"})";
  }
  return response;
}

HttpReply HttpServer::Info() const {
  auto info = api_.info();
  if (!info.ok()) return TeiResponse(info.status(), TeiErrorSource::kModel);
  HttpReply response;
  response.body = TeiInfoJson(*info, options_.threads);
  return response;
}

HttpReply HttpServer::Models(const std::string& id) const {
  const json model = {{"id", model_name_},
                      {"object", "model"},
                      {"created", created_},
                      {"owned_by", "llm2vec-serve"}};
  HttpReply response;
  if (id.empty()) {
    response.body = json{{"object", "list"}, {"data", json::array({model})}}.dump(
        -1, ' ', false, json::error_handler_t::replace);
  } else if (id == model_name_) {
    response.body = model.dump(-1, ' ', false, json::error_handler_t::replace);
  } else {
    response = ErrorResponse(
        404, "invalid_request_error",
        absl::StrCat("the model ", JsonString(id), " does not exist; this server serves ",
                     JsonString(model_name_)),
        "model", "model_not_found");
  }
  return response;
}

}  // namespace llm2vec
