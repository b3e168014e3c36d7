// PEFT's adapter_config.json for LoRA adapters (no libtorch; the weights
// are model/nn/lora.h's). Every field's type is checked before it is read:
// the file may come from anyone.
#ifndef LLM2VEC_MODEL_FORMATS_ADAPTER_CONFIG_H_
#define LLM2VEC_MODEL_FORMATS_ADAPTER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace llm2vec {

struct LoraConfig {
  int64_t r = 16;
  double lora_alpha = 32;
  double lora_dropout = 0.05;
  bool use_rslora = false;
  std::vector<std::string> target_modules = {"q_proj", "k_proj", "v_proj", "o_proj",
                                             "gate_proj", "up_proj", "down_proj"};
  std::string base_model_name_or_path;

  // lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora.
  double scale() const;
};

// A served adapter's name: 1-128 letters, digits, '-', '_' or '.'.
bool ValidAdapterName(const std::string& name);

// The largest rank accepted (PEFT's adapters use 8-256).
inline constexpr int64_t kMaxLoraRank = 65536;

// Parses adapter_config.json text (`path` names it in errors, which say
// which field is wrong and why). Only LoRA (peft_type "LORA") without
// fan_in_fan_out, on the seven Llama projections.
absl::StatusOr<LoraConfig> ParseLoraConfig(const std::string& json_text, const std::string& path);
// Reads `path` (a regular file, size-capped) and parses it.
absl::StatusOr<LoraConfig> LoadLoraConfig(const std::string& path);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_FORMATS_ADAPTER_CONFIG_H_
