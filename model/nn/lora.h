// PEFT LoRA adapters: `adapter_config.json` + `adapter_model.safetensors`
// with tensor names like
//   base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight
// The update of a targeted projection is dW = scale * B @ A with
// scale = lora_alpha / r (or lora_alpha / sqrt(r) with use_rslora).
#ifndef LLM2VEC_MODEL_NN_LORA_H_
#define LLM2VEC_MODEL_NN_LORA_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/folder_reader.h"
#include "model/formats/adapter_config.h"
#include "model/formats/model_config.h"
#include "model/nn/transformer.h"

namespace llm2vec {

// LoraConfig and LoadLoraConfig: model/formats/adapter_config.h.

// Parses a PEFT tensor name into (layer, projection, is_b). Accepts the
// "base_model.model.model.layers.N..." and "base_model.model.layers.N..."
// prefixes and the ".default" adapter-name infix. Returns nullopt for
// names that are not LoRA A/B matrices.
struct PeftTensorName {
  int layer = 0;
  Projection projection = kQProj;
  bool is_b = false;
};
std::optional<PeftTensorName> ParsePeftTensorName(const std::string& name);

// Loads adapter folder `dir` for a model of `config`, converting tensors to
// `device`/`dtype`. Errors name the file and tensor (shape disagreeing with
// the base model, A without B, unknown module, ...).
absl::StatusOr<LoraWeights> LoadLoraAdapter(const std::string& dir, const ModelConfig& config,
                                            at::Device device, at::ScalarType dtype,
                                            LoraConfig* config_out = nullptr);
// The same through `folder` (FolderReader::Beneath for a folder a client
// named).
absl::StatusOr<LoraWeights> LoadLoraAdapter(const FolderReader& folder, const ModelConfig& config,
                                            at::Device device, at::ScalarType dtype,
                                            LoraConfig* config_out = nullptr);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_NN_LORA_H_
