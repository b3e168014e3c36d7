#include "server/service/torch_backend.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/nn/encoder.h"
#include "model/nn/lora.h"
#include "model/nn/tensor_io.h"

namespace llm2vec {
namespace {

class TorchAdapter final : public Backend::Adapter {
 public:
  explicit TorchAdapter(LoraWeights weights) : weights_(std::move(weights)) {}
  const LoraWeights& weights() const { return weights_; }

 private:
  const LoraWeights weights_;
};

class TorchBackend final : public Backend {
 public:
  TorchBackend(std::unique_ptr<Encoder> encoder, AttentionMode attention)
      : encoder_(std::move(encoder)) {
    const Transformer& t = encoder_->transformer();
    const ModelConfig& c = t.config();
    info_.architecture = c.architecture;
    info_.format = encoder_->model().format;
    info_.dtype = DtypeName(t.dtype());
    info_.device = t.device().str();
    info_.hidden_size = c.hidden_size;
    info_.num_layers = c.num_layers;
    info_.max_position_embeddings = c.max_position_embeddings;
    info_.attention = attention;
    info_.default_pooling = encoder_->default_pooling();
    info_.max_forward_tokens = encoder_->max_batch_tokens();
  }

  const Info& info() const override { return info_; }

  absl::StatusOr<PreparedInput> Prepare(const EncodeInput& input, int64_t max_tokens,
                                        Truncation truncation) const override {
    return encoder_->Prepare(input, max_tokens, truncation);
  }

  std::vector<Token> Tokenize(const std::string& text, bool add_special_tokens) const override {
    const Tokenizer& tok = encoder_->tokenizer();
    std::vector<Token> tokens;
    for (int32_t id : tok.Encode(text, add_special_tokens)) {
      tokens.push_back({id, tok.IdToPiece(id), tok.IsSpecial(id), tok.Decode({id}, false)});
    }
    return tokens;
  }

  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids,
                                     bool skip_special_tokens) const override {
    const Tokenizer& tok = encoder_->tokenizer();
    const int64_t vocab =
        std::min<int64_t>(tok.vocab_size(), encoder_->transformer().config().vocab_size);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= vocab) {
        return absl::InvalidArgumentError(absl::StrCat("token id ", ids[i], " at position ", i,
                                                       " is outside the vocabulary of ", vocab,
                                                       " tokens"));
      }
    }
    return tok.Decode(ids, skip_special_tokens);
  }

  absl::StatusOr<Batch> Embed(const std::vector<PreparedInput>& inputs, PoolingMode pooling,
                              const Adapter* adapter) override {
    EncodeOptions encode;
    encode.attention = info_.attention;
    encode.pooling = pooling;
    encode.lora =
        adapter != nullptr ? &static_cast<const TorchAdapter*>(adapter)->weights() : nullptr;
    Batch batch;
    // EncodePrepared turns libtorch's exceptions into a Status itself.
    auto embeddings = encoder_->EncodePrepared(inputs, encode, &batch.forward_passes);
    if (!embeddings.ok()) return embeddings.status();
    batch.embeddings = std::move(*embeddings);
    return batch;
  }

  absl::StatusOr<std::shared_ptr<const Adapter>> LoadAdapter(
      const FolderReader& folder) override {
    const Transformer& t = encoder_->transformer();
    try {
      auto lora = LoadLoraAdapter(folder, t.config(), t.device(), t.dtype());
      if (!lora.ok()) return lora.status();
      return std::make_shared<const TorchAdapter>(std::move(*lora));
    } catch (const std::exception& e) {
      return ExceptionStatus(e, absl::StrCat("loading adapter ", folder.path()));
    }
  }

  std::optional<int64_t> DeviceMemoryInUse() const override {
    return llm2vec::DeviceMemoryInUse(encoder_->transformer().device());
  }

 private:
  std::unique_ptr<Encoder> encoder_;
  Info info_;
};

}  // namespace

std::unique_ptr<Backend> MakeTorchBackend(std::unique_ptr<Encoder> encoder,
                                          AttentionMode attention) {
  return std::make_unique<TorchBackend>(std::move(encoder), attention);
}

}  // namespace llm2vec
