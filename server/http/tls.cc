#include "server/http/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/mapped_file.h"

namespace llm2vec {

// One certificate, its chain and key, and the client CAs: what a handshake
// uses. Immutable once loaded; OpenSSL takes its own references.
struct HttpTls::Material {
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  EVP_PKEY* key = nullptr;
  X509_STORE* client_ca = nullptr;

  Material() = default;
  Material(const Material&) = delete;
  Material& operator=(const Material&) = delete;
  ~Material() {
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    X509_STORE_free(client_ca);
  }
};

namespace {

// Certificate files are small; a larger one is not a certificate.
constexpr int64_t kMaxPemBytes = 1 << 20;

// Never prompt for a passphrase on the server's terminal: an encrypted key
// is refused.
int NoPassphrase(char*, int, int, void*) { return 0; }

// OpenSSL's reason for the last failure, and a clean error queue.
std::string OpenSslReason() {
  const unsigned long e = ERR_peek_last_error();
  std::string reason = "not in PEM form";
  if (e != 0) {
    const char* text = ERR_reason_error_string(e);
    if (text != nullptr) reason = text;
  }
  ERR_clear_error();
  return reason;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

// The file `path` (named by `flag` in errors) as a memory BIO over *text.
absl::StatusOr<Bio> OpenPem(const std::string& flag, const std::string& path, std::string* text) {
  auto read = ReadFileToString(path, kMaxPemBytes);
  if (!read.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", read.status().message()));
  *text = std::move(*read);
  Bio bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  if (bio == nullptr) return absl::InternalError(absl::StrCat(flag, ": out of memory"));
  return bio;
}

absl::StatusOr<std::shared_ptr<const HttpTls::Material>> LoadMaterial(const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together: give both");
  }
  if (!files.client_ca.empty() && files.cert.empty()) {
    return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
  }
  auto m = std::make_shared<HttpTls::Material>();
  std::string text;
  {
    auto bio = OpenPem("--tls-cert", files.cert, &text);
    if (!bio.ok()) return bio.status();
    m->cert = PEM_read_bio_X509(bio->get(), nullptr, NoPassphrase, nullptr);
    if (m->cert == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("--tls-cert ", files.cert,
                                                     ": no certificate (", OpenSslReason(), ")"));
    }
    m->chain = sk_X509_new_null();
    while (X509* next = PEM_read_bio_X509(bio->get(), nullptr, NoPassphrase, nullptr)) {
      sk_X509_push(m->chain, next);
    }
    ERR_clear_error();  // the end of the file
  }
  {
    auto bio = OpenPem("--tls-key", files.key, &text);
    if (!bio.ok()) return bio.status();
    m->key = PEM_read_bio_PrivateKey(bio->get(), nullptr, NoPassphrase, nullptr);
    if (m->key == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-key ", files.key, ": no unencrypted private key (", OpenSslReason(),
                       ")"));
    }
  }
  if (X509_check_private_key(m->cert, m->key) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("--tls-key ", files.key,
                                                   " is not the key of the certificate in "
                                                   "--tls-cert ", files.cert));
  }
  if (!files.client_ca.empty()) {
    auto bio = OpenPem("--tls-client-ca", files.client_ca, &text);
    if (!bio.ok()) return bio.status();
    m->client_ca = X509_STORE_new();
    int count = 0;
    while (X509* ca = PEM_read_bio_X509(bio->get(), nullptr, NoPassphrase, nullptr)) {
      const int added = X509_STORE_add_cert(m->client_ca, ca);
      X509_free(ca);
      if (added != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--tls-client-ca ", files.client_ca, ": ", OpenSslReason()));
      }
      ++count;
    }
    ERR_clear_error();
    if (count == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-client-ca ", files.client_ca, ": no certificate in PEM form"));
    }
  }
  return std::shared_ptr<const HttpTls::Material>(std::move(m));
}

}  // namespace

absl::Status CheckTlsFiles(const TlsFiles& files) {
  if (!files.enabled() && files.client_ca.empty()) return absl::OkStatus();  // plain
  return LoadMaterial(files).status();
}

absl::StatusOr<std::unique_ptr<HttpTls>> HttpTls::Create(const TlsFiles& files) {
  auto material = LoadMaterial(files);
  if (!material.ok()) return material.status();
  std::unique_ptr<HttpTls> tls(new HttpTls(files));
  tls->current_ = std::move(*material);
  return tls;
}

HttpTls::~HttpTls() = default;

absl::Status HttpTls::Reload() {
  auto material = LoadMaterial(files_);
  if (!material.ok()) return material.status();
  absl::MutexLock lock(&mu_);
  current_ = std::move(*material);
  return absl::OkStatus();
}

int HttpTls::ConfigureContext(void* ssl_ctx) {
  SSL_CTX* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return -1;
  SSL_CTX_set_cert_cb(ctx, &HttpTls::OnHandshake, this);
  if (!files_.client_ca.empty()) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return 1;
}

int HttpTls::OnHandshake(::ssl_st* ssl, void* self) {
  std::shared_ptr<const Material> m;
  {
    auto* tls = static_cast<HttpTls*>(self);
    absl::MutexLock lock(&tls->mu_);
    m = tls->current_;
  }
  // The connection takes its own references: a Reload may free `m` later.
  if (SSL_use_cert_and_key(ssl, m->cert, m->key, m->chain, 1) != 1) return 0;
  if (m->client_ca != nullptr && SSL_set1_verify_cert_store(ssl, m->client_ca) != 1) return 0;
  return 1;
}

}  // namespace llm2vec
