#include "model/train/training_memory.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace llm2vec {
namespace {

// Arithmetic in double: the inputs are bounded, but their products can be
// far beyond int64 (batch 65536 x 2^20 tokens), and a rough figure is all
// that is needed.
int64_t Saturate(double bytes) {
  constexpr double kMax = static_cast<double>(std::numeric_limits<int64_t>::max());
  if (!(bytes < kMax)) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(std::ceil(bytes));
}

}  // namespace

int64_t EstimateTrainingBytes(const TrainerOptions& options, const ModelConfig& config) {
  constexpr double kFloat = 4;
  // Sequences per micro-batch: SimCSE encodes each sentence twice (two
  // dropout masks), supervised a query, a positive and a negative.
  double per_example = 1;
  if (options.objective == Objective::kSimCse) per_example = 2;
  if (options.objective == Objective::kSupervised) per_example = 3;
  const double sequences = static_cast<double>(options.batch_size) * per_example;
  const double t = static_cast<double>(options.max_length);
  const double tokens = sequences * t;
  const double h = static_cast<double>(config.hidden_size);
  const double inter = static_cast<double>(config.intermediate_size);
  const double heads = static_cast<double>(config.num_heads);
  const double layers = static_cast<double>(config.num_layers);
  const double r = static_cast<double>(options.lora.r);
  const double projections = static_cast<double>(options.lora.target_modules.size());

  const double per_token = kFloat * (10 * h + 4 * inter + projections * (h + r));
  // Scores, probabilities and their gradient; attention dropout (SimCSE)
  // adds its mask and the dropped probabilities.
  const double attention_arrays = options.attention_dropout > 0 ? 5 : 3;
  const double attention = kFloat * attention_arrays * sequences * heads * t * t;
  const double one_layer = tokens * per_token + attention;
  const double kept = options.gradient_checkpointing
                          ? layers * tokens * h * kFloat + one_layer
                          : layers * one_layer;
  double head = 0;
  if (options.objective == Objective::kMntp) {
    // Logits, log-probabilities and their gradient for the masked tokens.
    const double masked = std::max(1.0, tokens * options.mask.mask_ratio);
    head = 3 * kFloat * masked * static_cast<double>(config.vocab_size);
  } else {
    head = 3 * kFloat * sequences * sequences;  // the similarity matrix
  }
  // Each adapted projection: A (r x in) and B (out x r); parameter,
  // gradient and AdamW's two moments. in/out are at most the larger of
  // hidden and intermediate.
  const double width = std::max(h, inter);
  const double lora = 4 * kFloat * layers * projections * r * 2 * width;
  return Saturate(kept + head + lora);
}

}  // namespace llm2vec
