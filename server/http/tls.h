// TLS for the server's listeners: the certificate files checked at start,
// and the HTTP endpoint's certificates (civetweb), re-read on SIGHUP.
//
//   TlsFiles files{"/tls/tls.crt", "/tls/tls.key", "/tls/ca.crt"};
//   if (auto s = CheckTlsFiles(files); !s.ok()) ...   // names the flag and file
//   auto tls = HttpTls::Create(files);                 // for HttpServer::Options
//   (*tls)->Reload();                                  // on SIGHUP
//
// With a client CA the peer must present a certificate that CA signed
// (mutual TLS); without one, any client may connect (keys then decide).
// TLS 1.2 is the oldest version accepted.
//
// Threading: HttpTls is thread-safe; each handshake takes the certificate
// current when it starts.
#ifndef LLM2VEC_SERVER_HTTP_TLS_H_
#define LLM2VEC_SERVER_HTTP_TLS_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

struct ssl_st;  // OpenSSL's SSL

namespace llm2vec {

struct TlsFiles {
  // PEM: the certificate chain (leaf first) and its private key.
  std::string cert, key;
  // PEM: the CAs whose client certificates are accepted ("" : no client
  // certificates asked for).
  std::string client_ca;

  bool enabled() const { return !cert.empty() || !key.empty(); }
};

// OK when no file is given (plain TCP). Otherwise checks that the files
// are given together (a client CA needs a
// certificate), readable regular files, parse, and that the key belongs to
// the certificate. INVALID_ARGUMENT naming the flag (--tls-cert, --tls-key,
// --tls-client-ca), the file and what is wrong.
absl::Status CheckTlsFiles(const TlsFiles& files);

class HttpTls {
 public:
  static absl::StatusOr<std::unique_ptr<HttpTls>> Create(const TlsFiles& files);
  ~HttpTls();
  HttpTls(const HttpTls&) = delete;
  HttpTls& operator=(const HttpTls&) = delete;

  // Re-reads the files: later handshakes use them. On failure the current
  // ones stay and the error says why.
  absl::Status Reload();
  // civetweb's init_ssl: sets up `ssl_ctx` (an SSL_CTX*) so that each
  // handshake takes the current certificate (and client CA). 1 on success.
  int ConfigureContext(void* ssl_ctx);

  // Implementation details follow.
  struct Material;

 private:
  explicit HttpTls(TlsFiles files) : files_(std::move(files)) {}
  static int OnHandshake(::ssl_st* ssl, void* self);

  const TlsFiles files_;
  absl::Mutex mu_;
  std::shared_ptr<const Material> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_HTTP_TLS_H_
