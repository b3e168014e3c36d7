#include "client/embedding_client.h"

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace llm2vec {
absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

absl::StatusOr<v1::Pooling> PoolingToProto(const std::string& name) {
  if (name == "mean") return v1::POOLING_MEAN;
  if (name == "weighted_mean") return v1::POOLING_WEIGHTED_MEAN;
  if (name == "last_token" || name == "eos_token") return v1::POOLING_LAST_TOKEN;
  if (name == "bos_token") return v1::POOLING_BOS_TOKEN;
  return absl::InvalidArgumentError(absl::StrCat(
      "pooling '", name, "' is not one of mean, weighted_mean, last_token, eos_token, bos_token"));
}

absl::StatusOr<std::unique_ptr<EmbeddingClient>> EmbeddingClient::Connect(const Options& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  if (!options.load_balancing.empty()) args.SetLoadBalancingPolicyName(options.load_balancing);
  auto channel = OpenChannel(options.connection, args);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<EmbeddingClient>(new EmbeddingClient(options, std::move(*channel)));
}

EmbeddingClient::EmbeddingClient(const Options& options, std::shared_ptr<grpc::Channel> channel)
    : options_(options), channel_(std::move(channel)),
      stub_(v1::EmbeddingService::NewStub(channel_)) {}

absl::StatusOr<v1::EmbedResponse> EmbeddingClient::Embed(const v1::EmbedRequest& request) const {
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  v1::EmbedResponse response;
  if (auto s = FromGrpc(stub_->Embed(&context, request, &response)); !s.ok()) return s;
  return response;
}

absl::StatusOr<v1::SimilarityResponse> EmbeddingClient::Similarity(
    const v1::SimilarityRequest& request) const {
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  v1::SimilarityResponse response;
  if (auto s = FromGrpc(stub_->Similarity(&context, request, &response)); !s.ok()) return s;
  return response;
}

absl::StatusOr<v1::TokenizeResponse> EmbeddingClient::Tokenize(
    const v1::TokenizeRequest& request) const {
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  v1::TokenizeResponse response;
  if (auto s = FromGrpc(stub_->Tokenize(&context, request, &response)); !s.ok()) return s;
  return response;
}

absl::StatusOr<v1::InfoResponse> EmbeddingClient::Info() const {
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  v1::InfoResponse response;
  if (auto s = FromGrpc(stub_->Info(&context, v1::InfoRequest(), &response)); !s.ok()) return s;
  return response;
}

absl::Status EmbeddingClient::LoadAdapter(const std::string& name, const std::string& path) const {
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  v1::LoadAdapterRequest request;
  request.set_name(name);
  request.set_path(path);
  v1::LoadAdapterResponse response;
  return FromGrpc(stub_->LoadAdapter(&context, request, &response));
}

absl::Status EmbeddingClient::UnloadAdapter(const std::string& name) const {
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  v1::UnloadAdapterRequest request;
  request.set_name(name);
  v1::UnloadAdapterResponse response;
  return FromGrpc(stub_->UnloadAdapter(&context, request, &response));
}

absl::StatusOr<bool> EmbeddingClient::Serving() const {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  grpc::health::v1::HealthCheckResponse response;
  if (auto s = FromGrpc(health->Check(&context, grpc::health::v1::HealthCheckRequest(), &response));
      !s.ok()) {
    return s;
  }
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace llm2vec
