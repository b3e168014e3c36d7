// What a training run is asked to do, without libtorch: the objective,
// the hyperparameters (TrainerOptions) with the reference's defaults, and
// their validation. The server checks Train requests with these before
// anything touches a model (and a fuzz target feeds them arbitrary
// requests); model/train/trainer.h runs them.
//
// Threading: plain values and pure functions.
#ifndef LLM2VEC_MODEL_TRAIN_TRAINER_OPTIONS_H_
#define LLM2VEC_MODEL_TRAIN_TRAINER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "model/formats/adapter_config.h"

namespace llm2vec {

struct MaskOptions {
  // Probability that an eligible position is chosen (0.2 for Llama-family
  // models; Mistral's recipe uses 0.8 with all_mask).
  double mask_ratio = 0.2;
  // Every chosen position becomes the mask token (no 80/10/10 split).
  bool all_mask = false;
};

enum class Objective { kMntp, kSimCse, kSupervised };
// "mntp", "simcse", "supervised".
absl::StatusOr<Objective> ParseObjective(const std::string& name);
std::string ObjectiveName(Objective objective);

struct TrainerOptions {
  Objective objective = Objective::kMntp;
  // Text file (MNTP: documents to pack; SimCSE: one sentence per line) or
  // JSON lines of triples (supervised). Read in order, cycling.
  std::string data_path;
  // What messages call the data file (a server's jobs read it through an
  // open descriptor; this is the path the client gave). Empty: data_path.
  std::string data_name;
  // Optimizer steps.
  int64_t steps = 1000;
  // Examples per micro-batch: packed sequences (MNTP), sentences (SimCSE),
  // triples (supervised).
  int64_t batch_size = 32;
  // Micro-batches per optimizer step.
  int64_t grad_accum = 1;
  // Tokens per sequence, BOS included (MNTP packs to exactly this length;
  // the others truncate).
  int64_t max_length = 512;
  // Peak learning rate (MNTP 5e-5, SimCSE 3e-5, supervised 2e-4).
  double lr = 5e-5;
  // Linear warmup steps (supervised 300, else 0).
  int64_t warmup_steps = 0;
  // AdamW's decoupled weight decay (the reference: 0).
  double weight_decay = 0.0;
  // Global gradient-norm clip; <= 0 disables.
  double max_grad_norm = 1.0;
  uint64_t seed = 42;
  // MNTP masking: ratio 0.2 and 80/10/10 by default.
  MaskOptions mask;
  // Contrastive: cosine similarities are multiplied by this (SimCSE 20,
  // supervised 50).
  double scale = 20.0;
  // Dropout on attention probabilities in training (SimCSE 0.3, else 0).
  double attention_dropout = 0.0;
  // Keep only each layer's input for backward and recompute the layer then
  // (ForwardOptions::checkpoint_layers): same gradients, activation memory
  // of one layer instead of all, about a third more compute.
  bool gradient_checkpointing = false;
  // The new adapter: r 16, alpha 32, dropout 0.05, q,k,v,o,gate,up,down.
  // An empty base_model_name_or_path is filled with the model's path.
  LoraConfig lora;
  // Write a checkpoint every this many steps (0: never) into
  // checkpoint_dir/checkpoint-<step>, keeping the newest keep_checkpoints.
  int64_t checkpoint_every = 0;
  std::string checkpoint_dir;
  int keep_checkpoints = 2;
  // Intra-op CPU threads; 0 = $OMP_NUM_THREADS if set, else all cores.
  int num_threads = 0;

  // The reference's defaults for `objective`.
  static TrainerOptions Defaults(Objective objective);
};

// INVALID_ARGUMENT naming the first bad option (what Trainer::Create
// checks before it touches the model).
absl::Status ValidateTrainerOptions(const TrainerOptions& options);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_TRAINER_OPTIONS_H_
