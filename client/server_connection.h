// How every client here reaches a server: the gRPC target, the API key
// sent with each call, and the command line flags for them.
//
//   ServerConnection c;                        // or RegisterConnectionFlags
//   c.target = "10.0.0.5:50051";
//   c.api_key = "l2v_...";                     // "authorization: Bearer ..."
//   auto channel = OpenChannel(c, grpc::ChannelArguments());
//   grpc::ClientContext context;
//   PrepareCall(c, absl::Seconds(30), &context);
#ifndef LLM2VEC_CLIENT_SERVER_CONNECTION_H_
#define LLM2VEC_CLIENT_SERVER_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/flags.h"

namespace grpc {
class Channel;
class ChannelArguments;
class ClientContext;
}  // namespace grpc

namespace llm2vec {

struct ServerConnection {
  // "host:port", or any gRPC target ("dns:///svc:50051").
  std::string target = "127.0.0.1:50051";
  // Sent as "authorization: Bearer KEY" with every call; "" sends none.
  std::string api_key;
  // TLS: on when `tls` or any file is given. `tls_ca`: PEM CAs that sign
  // the server's certificate ("" : gRPC's default roots); `tls_cert` and
  // `tls_key`: this client's certificate for a server that asks for one
  // (mutual TLS).
  bool tls = false;
  std::string tls_ca, tls_cert, tls_key;

  bool uses_tls() const { return tls || !tls_ca.empty() || !tls_cert.empty() || !tls_key.empty(); }
};

// A channel to `connection.target` with `args`, over TLS when configured;
// INVALID_ARGUMENT when the target is empty or a TLS file cannot be read
// (naming the flag and file).
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ServerConnection& connection,
                                                           const grpc::ChannelArguments& args);
// Sets the deadline (now + `timeout`; absl::InfiniteDuration(): none) and
// the API key of a call.
void PrepareCall(const ServerConnection& connection, absl::Duration timeout,
                 grpc::ClientContext* context);
// --server HOST:PORT (`server_help` says what it is for), --api-key KEY
// (also $LLM2VEC_API_KEY when the flag set reads the environment), --tls,
// --tls-ca, --tls-cert and --tls-key.
void RegisterConnectionFlags(FlagSet& flags, ServerConnection* connection,
                             const std::string& server_help);

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_SERVER_CONNECTION_H_
