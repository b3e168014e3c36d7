#include "client/server_connection.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"

namespace llm2vec {

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ServerConnection& connection,
                                                           const grpc::ChannelArguments& args) {
  if (connection.target.empty()) return absl::InvalidArgumentError("--server: the address is empty");
  auto channel =
      grpc::CreateCustomChannel(connection.target, grpc::InsecureChannelCredentials(), args);
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
}

}  // namespace llm2vec
