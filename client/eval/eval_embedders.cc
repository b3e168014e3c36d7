#include "client/eval/eval_embedders.h"

#include <iostream>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/embedding_client.h"
#include "model/nn/encoder.h"
#include "model/nn/model_loader.h"
#include "model/nn/pooling.h"

namespace llm2vec {
namespace {

// A model run in-process.
class LocalEmbedder : public TextEmbedder {
 public:
  LocalEmbedder(std::unique_ptr<Encoder> encoder, EncodeOptions options, Setup setup)
      : encoder_(std::move(encoder)), options_(options), setup_(std::move(setup)) {}

  Setup setup() const override { return setup_; }

  absl::StatusOr<EmbeddingRows> Embed(const std::vector<TextRecord>& inputs) override {
    std::vector<EncodeInput> encode_inputs;
    encode_inputs.reserve(inputs.size());
    for (const TextRecord& r : inputs) encode_inputs.push_back({r.text, r.instruction});
    auto embeddings = encoder_->Encode(encode_inputs, options_);
    if (!embeddings.ok()) return embeddings.status();
    EmbeddingRows rows;
    rows.reserve(embeddings->size());
    for (Embedding& e : *embeddings) rows.push_back(std::move(e.values));
    return rows;
  }

 private:
  std::unique_ptr<Encoder> encoder_;
  EncodeOptions options_;
  const Setup setup_;
};

// A running llm2vec-server.
class RemoteEmbedder : public TextEmbedder {
 public:
  RemoteEmbedder(std::unique_ptr<EmbeddingClient> client, v1::EmbedOptions options, Setup setup)
      : client_(std::move(client)), options_(std::move(options)), setup_(std::move(setup)) {}

  Setup setup() const override { return setup_; }

  absl::StatusOr<EmbeddingRows> Embed(const std::vector<TextRecord>& inputs) override {
    v1::EmbedRequest request;
    *request.mutable_options() = options_;
    for (const TextRecord& r : inputs) {
      v1::EmbedInput* in = request.add_inputs();
      in->set_text(r.text);
      in->set_instruction(r.instruction);
    }
    auto response = client_->Embed(request);
    if (!response.ok()) {
      return absl::Status(response.status().code(),
                          absl::StrCat(absl::StatusCodeToString(response.status().code()), ": ",
                                       response.status().message()));
    }
    if (response->embeddings_size() != static_cast<int>(inputs.size())) {
      return absl::InternalError(absl::StrCat("the server returned ", response->embeddings_size(),
                                              " embeddings for ", inputs.size(), " inputs"));
    }
    EmbeddingRows rows;
    rows.reserve(inputs.size());
    for (const v1::Embedding& e : response->embeddings()) {
      rows.emplace_back(e.values().begin(), e.values().end());
    }
    return rows;
  }

 private:
  std::unique_ptr<EmbeddingClient> client_;
  v1::EmbedOptions options_;
  const Setup setup_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TextEmbedder>> CreateLocalEmbedder(
    const LocalEmbedderOptions& options) {
  EncodeOptions encode;
  encode.attention = options.causal ? AttentionMode::kCausal : AttentionMode::kBidirectional;
  if (!options.pooling.empty()) {
    auto mode = ParsePoolingMode(options.pooling);
    if (!mode.ok() || *mode == PoolingMode::kNone) {
      return absl::InvalidArgumentError(
          absl::StrCat("pooling '", options.pooling,
                       "' is not one of mean, weighted_mean, last_token, eos_token, bos_token"));
    }
    encode.pooling = *mode;
  }
  LoadOptions load;
  load.device = options.device;
  load.dtype = options.dtype;
  load.merge_adapters = options.adapters;
  auto model = LoadModel(options.model, load);
  if (!model.ok()) return model.status();
  std::cerr << "llm2vec: loaded " << model->path << " (" << model->format << ", "
            << model->transformer->config().architecture << ", "
            << model->transformer->WeightBytes() / 1e6 << " MB " << options.dtype << " on "
            << options.device << ", " << options.adapters.size() << " adapter(s)) in "
            << model->load_seconds << " s\n";

  // llm2vec_config.json: the most specific folder that sets a pooling mode,
  // else the model's (as `llm2vec encode` does).
  Encoder::Options encoder_options;
  auto cfg = Llm2VecConfigOf(*model);
  if (!cfg.ok()) return cfg.status();
  encoder_options.llm2vec = *cfg;
  if (options.max_length > 0) encoder_options.llm2vec.max_length = options.max_length;
  encoder_options.num_threads = options.threads;
  auto encoder = Encoder::Create(std::move(*model), encoder_options);
  if (!encoder.ok()) return encoder.status();
  if (options.pooling.empty()) encode.pooling = (*encoder)->default_pooling();
  std::cerr << "llm2vec: pooling " << PoolingModeName(encode.pooling) << ", "
            << (options.causal ? "causal" : "bidirectional") << " attention\n";
  TextEmbedder::Setup setup;
  setup.attention = options.causal ? "causal" : "bidirectional";
  setup.pooling = PoolingModeName(encode.pooling);
  setup.dtype = options.dtype;
  setup.device = options.device;
  setup.max_length = encoder_options.llm2vec.max_length;
  return std::unique_ptr<TextEmbedder>(
      new LocalEmbedder(std::move(*encoder), encode, std::move(setup)));
}

absl::StatusOr<std::unique_ptr<TextEmbedder>> CreateRemoteEmbedder(
    const RemoteEmbedderOptions& options) {
  v1::EmbedOptions embed;
  if (!options.pooling.empty()) {
    auto pooling = PoolingToProto(options.pooling);
    if (!pooling.ok()) return pooling.status();
    embed.set_pooling(*pooling);
  }
  embed.set_normalize(false);
  embed.set_truncate(v1::TRUNCATE_END);
  embed.set_encoding(v1::ENCODING_FLOAT32);
  embed.set_adapter(options.adapter);

  EmbeddingClient::Options client_options;
  client_options.connection = options.server;
  client_options.timeout = absl::Seconds(options.timeout_s);
  auto client = EmbeddingClient::Connect(client_options);
  if (!client.ok()) return client.status();
  auto serving = (*client)->Serving();
  if (!serving.ok()) {
    return absl::Status(serving.status().code(),
                        absl::StrCat(absl::StatusCodeToString(serving.status().code()), ": ",
                                     serving.status().message()));
  }
  if (!*serving) return absl::UnavailableError("the server is not SERVING");
  // What the server runs: its attention, dtype and limit, and its default
  // pooling unless one was asked for.
  auto info = (*client)->Info();
  if (!info.ok()) {
    return absl::Status(info.status().code(),
                        absl::StrCat(absl::StatusCodeToString(info.status().code()), ": ",
                                     info.status().message()));
  }
  TextEmbedder::Setup setup;
  setup.attention = info->attention();
  setup.pooling = options.pooling.empty() ? info->default_pooling() : options.pooling;
  setup.dtype = info->dtype();
  setup.device = info->device();
  setup.max_length = info->max_input_tokens();
  return std::unique_ptr<TextEmbedder>(
      new RemoteEmbedder(std::move(*client), std::move(embed), std::move(setup)));
}

}  // namespace llm2vec
