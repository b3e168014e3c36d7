// Hyperparameters of a Llama-family decoder (llama, mistral, qwen2), read
// from a Hugging Face config.json or from GGUF metadata.
#ifndef LLM2VEC_MODEL_FORMATS_MODEL_CONFIG_H_
#define LLM2VEC_MODEL_FORMATS_MODEL_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "model/formats/gguf.h"

namespace llm2vec {

// Llama-3.1 style RoPE frequency scaling (`rope_scaling.rope_type == "llama3"`).
struct RopeScaling {
  std::string type;  // "" (none), "llama3", "linear"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string architecture;  // "llama", "mistral" or "qwen2"
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_heads unless given
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;  // q/k/v biases (qwen2)
  bool tie_word_embeddings = false;
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;
  int64_t pad_token_id = -1;

  // Checks the invariants (positive sizes, heads divide evenly, ...).
  absl::Status Validate(const std::string& source) const;
};

// The architectures this project runs, for error messages.
inline constexpr const char* kSupportedArchitectures = "llama, mistral, qwen2";

// Parses `config.json` (its path names errors).
absl::StatusOr<ModelConfig> ParseHfConfig(const std::string& json_text, const std::string& path);
absl::StatusOr<ModelConfig> LoadHfConfig(const std::string& path);
// Reads `<arch>.*` GGUF keys, applying llama.cpp's defaults where absent.
absl::StatusOr<ModelConfig> ConfigFromGguf(const GgufFile& file);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_FORMATS_MODEL_CONFIG_H_
