// How much memory one training job needs, estimated before it runs, so a
// server can refuse a request that would exhaust the machine
// (--max-training-memory) instead of dying in the middle of it.
//
// The estimate counts what one micro-batch keeps for backward in float32:
// per layer and token the saved inputs of the norms, projections, SwiGLU
// and residuals (about 10 x hidden + 4 x intermediate floats, and the LoRA
// paths' dropout copies and low-rank products), the attention arrays
// (sequences x heads x T x T: scores, probabilities, their gradient, and
// with attention dropout its mask and output), MNTP's logits over the
// vocabulary for the masked positions, and the trainable LoRA parameters
// with their gradients and AdamW moments. With gradient checkpointing only
// each layer's input is kept, plus one layer at a time. The base weights
// are not counted: the server shares the served model's. It is an
// estimate: 0.8-1.5x of the measured growth of peak RSS over an idle
// process (BENCHMARKS.md, "Training memory").
//
// Threading: a pure function.
#ifndef LLM2VEC_MODEL_TRAIN_TRAINING_MEMORY_H_
#define LLM2VEC_MODEL_TRAIN_TRAINING_MEMORY_H_

#include <cstdint>

#include "model/formats/model_config.h"
#include "model/train/trainer_options.h"

namespace llm2vec {

// Estimated peak bytes of one training step of `options` on a model of
// `config`, saturating at INT64_MAX (never overflows).
int64_t EstimateTrainingBytes(const TrainerOptions& options, const ModelConfig& config);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_TRAINING_MEMORY_H_
