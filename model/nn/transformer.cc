#include "model/nn/transformer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/nn/checkpoint.h"

namespace llm2vec {
namespace {

// RoPE inverse frequencies (D/2), float32, with rope_scaling applied
// (transformers' `_compute_llama3_parameters` and linear scaling).
at::Tensor RopeInverseFrequencies(const ModelConfig& c, at::Device device) {
  const int64_t half = c.head_dim / 2;
  std::vector<float> inv(half);
  const RopeScaling& rs = c.rope_scaling;
  for (int64_t i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(c.rope_theta, static_cast<double>(2 * i) / c.head_dim);
    if (rs.type == "linear") {
      f /= rs.factor;
    } else if (rs.type == "llama3") {
      const double old_len = static_cast<double>(rs.original_max_position_embeddings);
      const double low_wavelen = old_len / rs.low_freq_factor;
      const double high_wavelen = old_len / rs.high_freq_factor;
      const double wavelen = 2 * M_PI / f;
      if (wavelen > low_wavelen) {
        f /= rs.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth =
            (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        f = (1 - smooth) * f / rs.factor + smooth * f;
      }
    }
    inv[i] = static_cast<float>(f);
  }
  return at::tensor(inv, at::TensorOptions().dtype(at::kFloat)).to(device);
}

// In-place updates of activations are safe only when no autograd graph
// records them.
bool InPlaceAllowed(const ForwardOptions& options) {
  return !options.train && !c10::GradMode::is_enabled();
}

// HF `rotate_half`: (x1, x2) -> (-x2, x1) over the last dim.
at::Tensor RotateHalf(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

const char* ProjectionName(Projection p) {
  static const char* const kNames[kNumProjections] = {"q_proj",    "k_proj",  "v_proj",
                                                      "o_proj",    "gate_proj", "up_proj",
                                                      "down_proj"};
  return kNames[p];
}

std::optional<Projection> ProjectionFromName(const std::string& name) {
  for (int p = 0; p < kNumProjections; ++p) {
    if (name == ProjectionName(static_cast<Projection>(p))) return static_cast<Projection>(p);
  }
  return std::nullopt;
}

Transformer::Transformer(ModelConfig config, TransformerWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  inv_freq_ = RopeInverseFrequencies(config_, weights_.embed_tokens.device());
}

at::Device Transformer::device() const { return weights_.embed_tokens.device(); }
at::ScalarType Transformer::dtype() const { return weights_.embed_tokens.scalar_type(); }

int64_t Transformer::WeightBytes() const {
  int64_t bytes = 0;
  auto add = [&](const at::Tensor& t) {
    if (t.defined()) bytes += t.numel() * static_cast<int64_t>(t.element_size());
  };
  add(weights_.embed_tokens);
  add(weights_.norm);
  if (!weights_.lm_head.is_same(weights_.embed_tokens)) add(weights_.lm_head);
  for (const LayerWeights& l : weights_.layers) {
    add(l.input_layernorm);
    add(l.post_attention_layernorm);
    for (const at::Tensor& t : l.proj) add(t);
    for (const at::Tensor& t : l.qkv_bias) add(t);
  }
  return bytes;
}

at::Tensor Transformer::RmsNorm(const at::Tensor& x, const at::Tensor& weight) const {
  // As transformers' LlamaRMSNorm: statistics in float32, scale in dtype.
  at::Tensor xf = x.to(at::kFloat);                                        // (B, T, C)
  at::Tensor inv_rms = at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + config_.rms_norm_eps);
  return weight * (xf * inv_rms).to(x.scalar_type());
}

at::Tensor Transformer::Project(const at::Tensor& x, int layer, Projection p,
                                const at::Tensor& bias, const ForwardOptions& options) const {
  at::Tensor y = at::linear(x, weights_.layers[layer].proj[p], bias);  // (B, T, out)
  if (options.lora != nullptr) {
    const LoraPair& pair = options.lora->layers[layer][p];
    if (pair.defined()) {
      at::Tensor in = x;
      if (options.train && options.lora->dropout > 0) {
        in = at::dropout(in, options.lora->dropout, /*train=*/true);
      }
      // y += scale * (x A^T) B^T
      y = y + at::linear(at::linear(in, pair.a), pair.b) * pair.scale;  // (B, T, R) -> (B, T, out)
    }
  }
  return y;
}

at::Tensor Transformer::Packing::Unpack(const at::Tensor& packed) const {
  std::vector<int64_t> flat = packed.sizes().vec();
  flat[0] = batch * length;
  at::Tensor padded = at::zeros(flat, packed.options()).index_copy_(0, index, packed);
  std::vector<int64_t> shape = {batch, length};
  shape.insert(shape.end(), flat.begin() + 1, flat.end());
  return padded.view(shape);  // (B, T, ...)
}

at::Tensor Transformer::Packing::Pack(const at::Tensor& padded) const {
  return padded.flatten(0, 1).index_select(0, index);  // (N, ...)
}

at::Tensor Transformer::Attention(const at::Tensor& x, int layer, const at::Tensor& cos,
                                  const at::Tensor& sin, const at::Tensor& mask,
                                  const Packing& packing, const ForwardOptions& options) const {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t B = packing.active() ? packing.batch : x.size(0);
  const int64_t T = packing.active() ? packing.length : x.size(1);
  const int64_t H = config_.num_heads, K = config_.num_kv_heads, D = config_.head_dim;
  const int64_t G = H / K;
  // Projections (of the real tokens alone when packed), then padded for
  // attention and heads split out: (B, T, H*D) -> (B, H, T, D).
  auto project = [&](Projection p, const at::Tensor& bias) {
    at::Tensor y = Project(x, layer, p, bias, options);
    return packing.active() ? packing.Unpack(y) : y;  // (B, T, out)
  };
  at::Tensor q = project(kQProj, w.qkv_bias[0]).view({B, T, H, D}).transpose(1, 2);
  at::Tensor k = project(kKProj, w.qkv_bias[1]).view({B, T, K, D}).transpose(1, 2);
  at::Tensor v = project(kVProj, w.qkv_bias[2]).view({B, T, K, D}).transpose(1, 2);
  // Rotary position embedding on queries and keys (HF rotate_half form).
  q = q * cos + RotateHalf(q) * sin;  // (B, H, T, D)
  k = k * cos + RotateHalf(k) * sin;  // (B, K, T, D)
#if TORCH_VERSION_MAJOR >= 2
  // libtorch 2.x on a GPU: the fused attention kernels. K/V heads are
  // repeated for GQA (query head h reads KV head h / G).
  if (x.is_cuda()) {
    if (G > 1) {
      k = k.unsqueeze(2).expand({B, K, G, T, D}).reshape({B, H, T, D});
      v = v.unsqueeze(2).expand({B, K, G, T, D}).reshape({B, H, T, D});
    }
    at::Tensor out = at::scaled_dot_product_attention(
        q, k, v, mask.to(q.scalar_type()),
        options.train ? options.attention_dropout : 0.0);              // (B, H, T, D)
    out = out.transpose(1, 2).reshape({B, T, H * D});                 // (B, T, H*D)
    if (packing.active()) out = packing.Pack(out);                    // (N, H*D)
    return Project(out, layer, kOProj, at::Tensor(), options);        // (B, T | N, C)
  }
#endif
  // Grouped-query attention without copying K/V: query head h = kv*G + g
  // reads KV head kv, so fold the G query heads of a group into the rows.
  q = q.contiguous().view({B, K, G * T, D});                            // (B, K, G*T, D)
  at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(D));
  scores = scores.view({B, K, G, T, T}) + mask.unsqueeze(1);            // (B, K, G, T, T)
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  if (options.train && options.attention_dropout > 0) {
    probs = at::dropout(probs, options.attention_dropout, /*train=*/true);
  }
  at::Tensor out = at::matmul(probs.view({B, K, G * T, T}), v);         // (B, K, G*T, D)
  out = out.view({B, H, T, D}).transpose(1, 2).reshape({B, T, H * D});  // (B, T, H*D)
  if (packing.active()) out = packing.Pack(out);                        // (N, H*D)
  return Project(out, layer, kOProj, at::Tensor(), options);            // (B, T | N, C)
}

at::Tensor Transformer::Mlp(const at::Tensor& x, int layer, const ForwardOptions& options) const {
  // SwiGLU: down(silu(gate(x)) * up(x)).
  at::Tensor gate = Project(x, layer, kGateProj, at::Tensor(), options);  // (B, T, F)
  at::Tensor up = Project(x, layer, kUpProj, at::Tensor(), options);      // (B, T, F)
  // Without autograd, reuse gate's memory: (B, T, F) is the largest
  // activation of the model.
  at::Tensor act = InPlaceAllowed(options) ? at::silu_(gate).mul_(up) : at::silu(gate) * up;
  up.reset();
  return Project(act, layer, kDownProj, at::Tensor(), options);  // (B, T, C)
}

at::Tensor Transformer::Forward(const at::Tensor& ids, const at::Tensor& lengths,
                                const ForwardOptions& options) const {
  const at::Device dev = device();
  const int64_t T = ids.size(1);
  at::Tensor tokens = ids.to(dev);
  // Additive attention mask (B, 1, T, T) in float32: key j is visible to
  // query i when j is a real token (j < length) and, if causal, j <= i.
  at::Tensor pos = at::arange(T, at::TensorOptions().dtype(at::kLong).device(dev));  // (T)
  at::Tensor visible = pos.view({1, 1, T}) < lengths.to(dev).view({-1, 1, 1});        // (B, 1, T)
  if (options.attention == AttentionMode::kCausal) {
    visible = visible & (pos.view({1, T, 1}) >= pos.view({1, 1, T}));  // (B, T, T)
  }
  at::Tensor mask = at::zeros(visible.sizes(), at::TensorOptions().dtype(at::kFloat).device(dev))
                        .masked_fill(visible.logical_not(), -std::numeric_limits<float>::infinity())
                        .unsqueeze(1);  // (B, 1, T|1, T)
  // Rotary tables for positions 0..T-1 (right padding keeps them aligned).
  at::Tensor freqs = at::outer(pos.to(at::kFloat), inv_freq_);  // (T, D/2)
  at::Tensor emb = at::cat({freqs, freqs}, -1);                 // (T, D)
  at::Tensor cos = emb.cos().to(dtype());
  at::Tensor sin = emb.sin().to(dtype());
  // Without autograd, the token-wise work skips the padding: activations
  // are the real tokens packed, (N, C), between the attentions.
  Packing packing;
  if (options.skip_padding && InPlaceAllowed(options) && ids.size(0) > 1) {
    at::Tensor len = lengths.to(at::kCPU).to(at::kLong).contiguous();
    const int64_t* l = len.data_ptr<int64_t>();
    std::vector<int64_t> index;
    for (int64_t b = 0; b < len.numel(); ++b) {
      for (int64_t t = 0; t < std::min(l[b], T); ++t) index.push_back(b * T + t);
    }
    if (static_cast<int64_t>(index.size()) < ids.numel()) {
      packing.batch = ids.size(0);
      packing.length = T;
      packing.index = at::tensor(index, at::TensorOptions().dtype(at::kLong)).to(dev);
      tokens = tokens.reshape(-1).index_select(0, packing.index);  // (N)
    }
  }
  // Token embeddings (a fresh tensor, so Layer can update the residual in
  // place when no autograd graph is recorded).
  at::Tensor x = at::embedding(weights_.embed_tokens, tokens);  // (B, T | N, C)
  const bool checkpoint =
      options.train && options.checkpoint_layers && c10::GradMode::is_enabled();
  for (int l = 0; l < static_cast<int>(weights_.layers.size()); ++l) {
    if (!checkpoint) {
      x = Layer(std::move(x), l, cos, sin, mask, packing, options);
      continue;
    }
    // The layer's LoRA matrices are what needs gradients in it.
    std::vector<at::Tensor> params;
    if (options.lora != nullptr && l < static_cast<int>(options.lora->layers.size())) {
      for (const LoraPair& pair : options.lora->layers[l]) {
        if (pair.defined()) {
          params.push_back(pair.a);
          params.push_back(pair.b);
        }
      }
    }
    // By value: backward runs the segment after Forward has returned.
    x = Checkpoint(
        [this, l, cos, sin, mask, options](const at::Tensor& in) {
          return Layer(in, l, cos, sin, mask, Packing(), options);
        },
        x, params);
  }
  at::Tensor out = RmsNorm(x, weights_.norm);
  return packing.active() ? packing.Unpack(out) : out;  // (B, T, C)
}

at::Tensor Transformer::Layer(at::Tensor x, int layer, const at::Tensor& cos,
                              const at::Tensor& sin, const at::Tensor& mask,
                              const Packing& packing, const ForwardOptions& options) const {
  const LayerWeights& w = weights_.layers[layer];
  const bool inplace = InPlaceAllowed(options);
  // Pre-norm attention with residual.
  at::Tensor attn =
      Attention(RmsNorm(x, w.input_layernorm), layer, cos, sin, mask, packing, options);
  x = inplace ? x.add_(attn) : x + attn;
  attn.reset();
  // Pre-norm SwiGLU MLP with residual.
  at::Tensor mlp = Mlp(RmsNorm(x, w.post_attention_layernorm), layer, options);
  return inplace ? x.add_(mlp) : x + mlp;
}

at::Tensor Transformer::Logits(const at::Tensor& hidden) const {
  return at::linear(hidden.to(dtype()), weights_.lm_head).to(at::kFloat);  // (..., V)
}

void Transformer::MergeLora(const LoraWeights& lora) {
  c10::NoGradGuard no_grad;
  for (size_t l = 0; l < lora.layers.size() && l < weights_.layers.size(); ++l) {
    for (int p = 0; p < kNumProjections; ++p) {
      const LoraPair& pair = lora.layers[l][p];
      if (!pair.defined()) continue;
      at::Tensor& w = weights_.layers[l].proj[p];
      at::Tensor delta = at::matmul(pair.b.to(at::kFloat), pair.a.to(at::kFloat)) * pair.scale;
      w = (w.to(at::kFloat) + delta.to(w.device())).to(w.scalar_type());
    }
  }
}

std::map<std::string, at::Tensor*> HfParameterTable(const ModelConfig& config,
                                                    TransformerWeights& weights) {
  std::map<std::string, at::Tensor*> table;
  weights.layers.resize(config.num_layers);
  table["model.embed_tokens.weight"] = &weights.embed_tokens;
  table["model.norm.weight"] = &weights.norm;
  if (!config.tie_word_embeddings) table["lm_head.weight"] = &weights.lm_head;
  for (int64_t l = 0; l < config.num_layers; ++l) {
    LayerWeights& w = weights.layers[l];
    const std::string p = absl::StrCat("model.layers.", l, ".");
    table[p + "input_layernorm.weight"] = &w.input_layernorm;
    table[p + "post_attention_layernorm.weight"] = &w.post_attention_layernorm;
    for (int i = 0; i < kNumProjections; ++i) {
      const char* group = i < kGateProj ? "self_attn." : "mlp.";
      table[absl::StrCat(p, group, ProjectionName(static_cast<Projection>(i)), ".weight")] =
          &w.proj[i];
    }
    if (config.attention_bias) {
      for (int i = 0; i < 3; ++i) {
        table[absl::StrCat(p, "self_attn.", ProjectionName(static_cast<Projection>(i)), ".bias")] =
            &w.qkv_bias[i];
      }
    }
  }
  return table;
}

std::vector<int64_t> ExpectedShape(const ModelConfig& c, const std::string& name) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
  auto ends_with = [&](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  if (ends_with("embed_tokens.weight") || ends_with("lm_head.weight")) return {V, C};
  if (ends_with("norm.weight")) return {C};  // input/post/final norms
  if (ends_with("q_proj.weight")) return {q_out, C};
  if (ends_with("k_proj.weight") || ends_with("v_proj.weight")) return {kv_out, C};
  if (ends_with("q_proj.bias")) return {q_out};
  if (ends_with("k_proj.bias") || ends_with("v_proj.bias")) return {kv_out};
  if (ends_with("o_proj.weight")) return {C, q_out};
  if (ends_with("gate_proj.weight") || ends_with("up_proj.weight")) return {F, C};
  if (ends_with("down_proj.weight")) return {C, F};
  return {};
}

}  // namespace llm2vec
