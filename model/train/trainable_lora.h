// A fresh, trainable LoRA adapter for a Transformer (PEFT's LoraModel):
// for every targeted projection W (out, in) of every layer, A (R, in) and
// B (out, R) float32 parameters with requires_grad on the model's device.
// The forward adds scale * B A x with scale = alpha / r (see
// transformer.h's LoraPair), so training touches only A and B; the base
// weights stay frozen (Create refuses weights that require grad).
//
// Initialisation as PEFT's default: A ~ kaiming_uniform(a = sqrt(5)), i.e.
// U(-1/sqrt(in), 1/sqrt(in)), from a generator seeded with `seed`; B = 0,
// so the adapted model starts equal to the base.
//
// Save() writes a PEFT folder Python's `peft` and LoadLoraAdapter read:
//   adapter_config.json, adapter_model.safetensors (F32,
//   base_model.model.model.layers.{i}.{self_attn|mlp}.{proj}.lora_{A|B}.weight)
// and llm2vec_config.json, atomically (staging folder + fsync + rename).
//
// Threading: not thread-safe; used by the thread that trains.
#ifndef LLM2VEC_MODEL_TRAIN_TRAINABLE_LORA_H_
#define LLM2VEC_MODEL_TRAIN_TRAINABLE_LORA_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/nn/encoder.h"
#include "model/nn/lora.h"
#include "model/nn/transformer.h"

namespace llm2vec {

class TrainableLora {
 public:
  // `config`: r, lora_alpha, lora_dropout, target_modules (PEFT names),
  // base_model_name_or_path (written to adapter_config.json). use_rslora
  // is not supported for training. Errors name the bad value.
  static absl::StatusOr<std::unique_ptr<TrainableLora>> Create(const Transformer& model,
                                                               const LoraConfig& config,
                                                               uint64_t seed);

  // The parameters themselves (float32, requires_grad), for a forward in
  // float32 or for reading. Undefined pairs are not targeted.
  const LoraWeights& weights() const { return weights_; }
  // The adapter as a forward in `dtype` needs it: weights() itself for
  // float32, else differentiable casts of the parameters (call it again
  // after every optimizer step).
  LoraWeights ForwardView(at::ScalarType dtype) const;

  // All trainable tensors (A then B per projection, layer by layer), and
  // their PEFT names in the same order.
  const std::vector<at::Tensor>& parameters() const { return params_; }
  const std::vector<std::string>& parameter_names() const { return names_; }
  int64_t num_parameters() const;
  const LoraConfig& config() const { return config_; }

  // Copies the tensors of a PEFT adapter folder written by Save() (same r,
  // same targets) into the parameters, e.g. to resume a checkpoint.
  absl::Status LoadFrom(const std::string& dir, const ModelConfig& model_config);

  // Writes the PEFT folder `dir` atomically, replacing an existing one.
  absl::Status Save(const std::string& dir, const Llm2VecConfig& llm2vec) const;
  // Writes the three files into an existing folder (a staging folder the
  // caller commits), fsynced.
  absl::Status WriteFiles(const std::string& dir, const Llm2VecConfig& llm2vec) const;

  // Implementation details follow.
 private:
  explicit TrainableLora(LoraConfig config) : config_(std::move(config)) {}

  LoraConfig config_;
  LoraWeights weights_;
  std::vector<at::Tensor> params_;
  std::vector<std::string> names_;
};

// The PEFT tensor name of one LoRA matrix.
std::string LoraTensorName(int layer, Projection projection, bool is_b);

// llm2vec_config.json's text for `config` (pooling mode "mean" when unset).
std::string Llm2VecConfigJson(const Llm2VecConfig& config);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_TRAINABLE_LORA_H_
