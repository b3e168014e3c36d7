// A small C++ client for llm2vec-serve (llm2vec.v1.EmbeddingService and
// grpc.health.v1) that services can link: one channel, a default deadline
// per call, errors as absl::Status with the server's message.
//
// Threading: thread-safe; share one client across threads (gRPC channels
// multiplex calls).
#ifndef LLM2VEC_CLIENT_EMBEDDING_CLIENT_H_
#define LLM2VEC_CLIENT_EMBEDDING_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/server_connection.h"
#include "llm2vec/v1/embedding.grpc.pb.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace llm2vec {

// The wire value of a pooling name ("mean", "weighted_mean", "last_token" |
// "eos_token", "bos_token"); InvalidArgument naming any other.
absl::StatusOr<v1::Pooling> PoolingToProto(const std::string& name);

// A gRPC status as an absl::Status (the codes are the same numbers).
absl::Status FromGrpc(const grpc::Status& status);

class EmbeddingClient {
 public:
  struct Options {
    // The target ("host:port", or any gRPC target, e.g. "dns:///svc:50051"
    // for round robin across the addresses of a headless Kubernetes
    // Service) and the API key.
    ServerConnection connection;
    // Deadline of each call.
    absl::Duration timeout = absl::Seconds(60);
    // "round_robin" spreads calls over every address the target resolves
    // to; "" leaves gRPC's default (pick_first).
    std::string load_balancing = "round_robin";
  };

  static absl::StatusOr<std::unique_ptr<EmbeddingClient>> Connect(const Options& options);

  absl::StatusOr<v1::EmbedResponse> Embed(const v1::EmbedRequest& request) const;
  absl::StatusOr<v1::SimilarityResponse> Similarity(const v1::SimilarityRequest& request) const;
  absl::StatusOr<v1::TokenizeResponse> Tokenize(const v1::TokenizeRequest& request) const;
  absl::StatusOr<v1::InfoResponse> Info() const;
  absl::Status LoadAdapter(const std::string& name, const std::string& path) const;
  absl::Status UnloadAdapter(const std::string& name) const;
  // grpc.health.v1 Check of the whole server: true when SERVING.
  absl::StatusOr<bool> Serving() const;

  v1::EmbeddingService::Stub& stub() const { return *stub_; }
  // Sets a call's deadline (now + `timeout`) and API key, for calls made
  // through stub().
  void Prepare(grpc::ClientContext* context, absl::Duration timeout) const {
    PrepareCall(options_.connection, timeout, context);
  }

  // Implementation details follow.
 private:
  EmbeddingClient(const Options& options, std::shared_ptr<grpc::Channel> channel);
  Options options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EmbeddingService::Stub> stub_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_EMBEDDING_CLIENT_H_
