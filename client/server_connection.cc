#include "client/server_connection.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "common/mapped_file.h"

namespace llm2vec {

namespace {

// The PEM file `path` for `flag` ("" when `path` is).
absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path) {
  if (path.empty()) return std::string();
  auto text = ReadFileToString(path, 1 << 20);
  if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", text.status().message()));
  return text;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const ServerConnection& c) {
  if (!c.uses_tls()) return grpc::InsecureChannelCredentials();
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together: give both");
  }
  grpc::SslCredentialsOptions options;
  auto ca = ReadPem("--tls-ca", c.tls_ca);
  if (!ca.ok()) return ca.status();
  auto cert = ReadPem("--tls-cert", c.tls_cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("--tls-key", c.tls_key);
  if (!key.ok()) return key.status();
  options.pem_root_certs = std::move(*ca);
  options.pem_cert_chain = std::move(*cert);
  options.pem_private_key = std::move(*key);
  return grpc::SslCredentials(options);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ServerConnection& connection,
                                                           const grpc::ChannelArguments& args) {
  if (connection.target.empty()) return absl::InvalidArgumentError("--server: the address is empty");
  auto credentials = Credentials(connection);
  if (!credentials.ok()) return credentials.status();
  auto channel = grpc::CreateCustomChannel(connection.target, *credentials, args);
  if (channel == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create a channel to '", connection.target, "'"));
  }
  return channel;
}

void PrepareCall(const ServerConnection& connection, absl::Duration timeout,
                 grpc::ClientContext* context) {
  if (timeout != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  if (!connection.api_key.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", connection.api_key));
  }
}

void RegisterConnectionFlags(FlagSet& flags, ServerConnection* connection,
                             const std::string& server_help) {
  flags.String("server", &connection->target, "HOST:PORT", server_help);
  flags.String("api-key", &connection->api_key, "KEY",
               "API key for a server with --api-keys (prefer $LLM2VEC_API_KEY: other users "
               "can read a command line)");
  flags.Bool("tls", &connection->tls, "connect with TLS, trusting gRPC's default CA roots");
  flags.String("tls-ca", &connection->tls_ca, "FILE",
               "connect with TLS, trusting the PEM CA certificates in FILE");
  flags.String("tls-cert", &connection->tls_cert, "FILE",
               "PEM client certificate for a server with --tls-client-ca (with --tls-key)");
  flags.String("tls-key", &connection->tls_key, "FILE", "PEM private key of --tls-cert");
}

}  // namespace llm2vec
