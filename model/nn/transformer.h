// The Llama-family decoder (llama, mistral, qwen2) as one forward function
// whose attention mode is an argument: `kCausal` (the ordinary decoder) or
// `kBidirectional` (LLM2Vec step 1: every real token attends to every real
// token; only padding is masked).
//
// Legend for shape comments: B batch, T tokens, C channels (hidden_size),
// H query heads, K key/value heads, G = H / K, D head dim, F intermediate
// size, V vocabulary, R LoRA rank.
//
// Threading: a Transformer is not thread-safe; exactly one thread (the
// device worker) runs it. Weights live on `device()` in `dtype()`.
#ifndef LLM2VEC_MODEL_NN_TRANSFORMER_H_
#define LLM2VEC_MODEL_NN_TRANSFORMER_H_

#include <ATen/core/Tensor.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/formats/model_config.h"
#include "model/nn/encode_types.h"

namespace llm2vec {

// The seven projections LoRA can target, in checkpoint naming order.
enum Projection { kQProj, kKProj, kVProj, kOProj, kGateProj, kUpProj, kDownProj };
inline constexpr int kNumProjections = 7;
// "q_proj", ... "down_proj".
const char* ProjectionName(Projection p);
// The projection named `name` ("q_proj", ...); nullopt for any other name.
std::optional<Projection> ProjectionFromName(const std::string& name);

struct LayerWeights {
  at::Tensor input_layernorm;           // (C)
  std::array<at::Tensor, kNumProjections> proj;  // (out, in), PyTorch layout
  std::array<at::Tensor, 3> qkv_bias;   // (H*D), (K*D), (K*D) when attention_bias
  at::Tensor post_attention_layernorm;  // (C)
};

struct TransformerWeights {
  at::Tensor embed_tokens;  // (V, C)
  std::vector<LayerWeights> layers;
  at::Tensor norm;     // (C)
  at::Tensor lm_head;  // (V, C); the same tensor as embed_tokens when tied
};

// One low-rank update dW = scale * B @ A of one projection.
struct LoraPair {
  at::Tensor a;  // (R, in)
  at::Tensor b;  // (out, R)
  double scale = 0;
  bool defined() const { return a.defined(); }
};

// A LoRA adapter applied on top of the weights, unmerged: per layer, per
// projection (undefined pairs are not targeted).
struct LoraWeights {
  std::vector<std::array<LoraPair, kNumProjections>> layers;
  double dropout = 0;  // applied to the adapter's input in training only
};

struct ForwardOptions {
  AttentionMode attention = AttentionMode::kBidirectional;
  // Unmerged adapter to add on top, or null.
  const LoraWeights* lora = nullptr;
  // Training only: dropout on attention probabilities (SimCSE uses 0.3).
  double attention_dropout = 0;
  bool train = false;
  // Training only: gradient checkpointing, one segment per decoder layer
  // (model/checkpoint.h). Backward recomputes each layer, so a step keeps
  // each layer's input instead of its attention scores and activations.
  bool checkpoint_layers = false;
  // Inference only (no autograd): run the token-wise parts of each layer
  // (norms, projections, MLP) on the real tokens alone, packed, and pad
  // only for attention. A batch's padding then costs no GEMM work; results
  // equal the padded computation's up to float rounding. Off in training,
  // whose dropout draws depend on the padded shapes.
  bool skip_padding = true;
};

class Transformer {
 public:
  // Takes ownership of `weights` (already on the target device and dtype).
  Transformer(ModelConfig config, TransformerWeights weights);

  // Final hidden states (after the final norm) for right-padded `ids`.
  //   ids: (B, T) int64; lengths: (B) int64, real tokens per row (>= 1).
  // Row b's positions >= lengths[b] are padding: no real token attends to
  // them and their outputs are meaningless (zero when padding is skipped,
  // see ForwardOptions::skip_padding). Returns (B, T, C).
  at::Tensor Forward(const at::Tensor& ids, const at::Tensor& lengths,
                     const ForwardOptions& options) const;

  // Logits of hidden states: (..., C) -> (..., V), in float32.
  at::Tensor Logits(const at::Tensor& hidden) const;

  // Adds `scale * B @ A` of every defined pair into the base weights.
  void MergeLora(const LoraWeights& lora);

  const ModelConfig& config() const { return config_; }
  const TransformerWeights& weights() const { return weights_; }
  TransformerWeights& mutable_weights() { return weights_; }
  at::Device device() const;
  at::ScalarType dtype() const;
  // Bytes of all weights (tied tensors counted once).
  int64_t WeightBytes() const;

  // Implementation details follow.
 private:
  at::Tensor Project(const at::Tensor& x, int layer, Projection p, const at::Tensor& bias,
                     const ForwardOptions& options) const;
  // The real tokens of a right-padded (B, T) batch, packed row by row.
  struct Packing {
    int64_t batch = 0, length = 0;
    at::Tensor index;  // (N) int64: token n is flat position b * T + t
    // Without an index activations are (B, T, ...), padded.
    bool active() const { return index.defined(); }
    // (N, ...) -> (B, T, ...), zeros at the padding.
    at::Tensor Unpack(const at::Tensor& packed) const;
    // (B, T, ...) -> (N, ...).
    at::Tensor Pack(const at::Tensor& padded) const;
  };
  // x: (B, T, C), or (N, C) when `packing` is active.
  at::Tensor Attention(const at::Tensor& x, int layer, const at::Tensor& cos,
                       const at::Tensor& sin, const at::Tensor& mask, const Packing& packing,
                       const ForwardOptions& options) const;
  at::Tensor Mlp(const at::Tensor& x, int layer, const ForwardOptions& options) const;
  // One decoder layer: attention and MLP, each pre-norm with a residual.
  at::Tensor Layer(at::Tensor x, int layer, const at::Tensor& cos, const at::Tensor& sin,
                   const at::Tensor& mask, const Packing& packing,
                   const ForwardOptions& options) const;
  at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight) const;

  ModelConfig config_;
  TransformerWeights weights_;
  at::Tensor inv_freq_;  // (D/2) float32 RoPE frequencies, scaling applied
};

// Hugging Face tensor name -> the weight slot it fills, for loaders.
// Holds every tensor the config requires (lm_head only when untied).
std::map<std::string, at::Tensor*> HfParameterTable(const ModelConfig& config,
                                                    TransformerWeights& weights);
// The shape a tensor must have under `config`.
std::vector<int64_t> ExpectedShape(const ModelConfig& config, const std::string& hf_name);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_NN_TRANSFORMER_H_
