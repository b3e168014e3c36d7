// LoRA adapter training for LLM2Vec (see ../shared/docs/llm2vec-method.md):
// MNTP, unsupervised SimCSE and supervised contrastive learning on a frozen
// base model (with any earlier adapters already merged into it, e.g. base +
// MNTP for SimCSE: LoadOptions::merge_adapters).
//
// One optimizer step = grad_accum micro-batches of batch_size examples, the
// losses averaged; the gradient clipped to max_grad_norm; AdamW over the
// LoRA parameters only, learning rate with linear warmup then linear decay
// to 0 (the reference's Hugging Face Trainer schedule: step k of N runs at
// lr * k / W while k < W, then lr * (N - k) / (N - W)).
//
// Reproducibility: `seed` seeds the LoRA init, libtorch's default
// generator (dropout) and the masking generator; data is read in file
// order. The same options on the same machine give the same adapter, and a
// run resumed from a checkpoint continues exactly where it stopped.
//
// Checkpoints (SaveCheckpoint, Train with checkpoint_every): a folder that
// is itself a loadable PEFT adapter, plus optimizer.safetensors (AdamW
// moments) and trainer_state.json (step, data position, generator states),
// written atomically.
//
// Usage:
//   auto model = LoadModel(path, load_options);   // merge earlier adapters here
//   auto trainer = Trainer::Create(std::move(*model), TrainerOptions::Defaults(Objective::kMntp));
//   (*trainer)->Train([](const TrainProgress& p) { ... });
//   (*trainer)->SaveAdapter(output_dir);
//
// Threading: not thread-safe; one thread creates and drives a Trainer. It
// owns its model; libtorch errors come back as absl::Status.
#ifndef LLM2VEC_MODEL_TRAIN_TRAINER_H_
#define LLM2VEC_MODEL_TRAIN_TRAINER_H_

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "model/nn/encoder.h"
#include "model/nn/lora.h"
#include "model/nn/model_loader.h"
#include "model/train/adamw.h"
#include "model/train/contrastive.h"
#include "model/train/mntp.h"
#include "model/train/trainable_lora.h"
#include "model/train/trainer_options.h"
#include "model/train/training_data.h"

namespace llm2vec {


// Reported after every optimizer step.
struct TrainProgress {
  int64_t step = 0;         // steps done (1-based after the first)
  int64_t total_steps = 0;
  double loss = 0;          // mean over the step's micro-batches
  double lr = 0;            // learning rate the step used
  double grad_norm = 0;     // before clipping
  int64_t tokens = 0;       // real tokens through the model this step (SimCSE: both views)
  double tokens_per_second = 0;  // since this run (or resume) started
  double elapsed_seconds = 0;    // since this run (or resume) started
  double eta_seconds = 0;
  std::string checkpoint;   // folder written after this step, or ""
};
using ProgressCallback = std::function<void(const TrainProgress&)>;

// One micro-batch, ready for the model.
struct TrainingBatch {
  TokenBatch inputs;    // MNTP: masked sequences; SimCSE: sentences; supervised: queries
  at::Tensor labels;    // MNTP: (B, T) int64, kIgnoreLabel where not a target
  TokenBatch documents;  // supervised: the B positives then the B negatives
  int64_t model_tokens = 0;  // real tokens one loss evaluation runs through the model
};

class Trainer {
 public:
  // Takes the model (earlier adapters merged), validates `options`, opens
  // the data, and creates the fresh adapter. Errors name the bad option.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(LoadedModel model,
                                                         const TrainerOptions& options);

  // Runs steps until options().steps, calling `on_step` after each (and
  // writing checkpoints as configured). Returns OK early, with step() <
  // total, when `should_stop` says so (checked before each step).
  absl::Status Train(const ProgressCallback& on_step = {},
                     const std::function<bool()>& should_stop = {});
  // One optimizer step (its micro-batches), and a checkpoint when one is
  // due. Train() without the loop.
  absl::StatusOr<TrainProgress> Step();
  // The smallest unit of training, for callers that interleave it with
  // other device work (the server): one micro-batch's forward and backward;
  // after a step's last micro-batch also the optimizer step and a due
  // checkpoint, and then the step's progress is returned (nullopt before).
  // FAILED_PRECONDITION once all steps are done. An error discards the
  // step's accumulated gradients (the next call starts the step afresh).
  absl::StatusOr<std::optional<TrainProgress>> MicroStep();

  // The next micro-batch from the data (advances the data and, for MNTP,
  // the masking generator).
  absl::StatusOr<TrainingBatch> NextBatch();
  // The objective's loss on `batch` without dropout and without gradients
  // (for held-out evaluation); the adapter as it is now.
  absl::StatusOr<double> EvaluateLoss(const TrainingBatch& batch);

  // The adapter as a PEFT folder (+ llm2vec_config.json), atomically.
  absl::Status SaveAdapter(const std::string& dir) const;
  // A checkpoint folder (adapter + optimizer + step + data position + RNG
  // states), atomically.
  absl::Status SaveCheckpoint(const std::string& dir) const;
  // Restores a checkpoint written by SaveCheckpoint with the same
  // objective and LoRA shape; call before Train. The learning-rate
  // schedule follows this trainer's options (steps, warmup).
  absl::Status Resume(const std::string& checkpoint_dir);
  // `dir` itself when it is a checkpoint, else its newest
  // checkpoint-<step> folder; NotFound when there is none.
  static absl::StatusOr<std::string> LatestCheckpoint(const std::string& dir);
  // The checkpoint-<step> folders in `dir`, newest first.
  static std::vector<std::string> Checkpoints(const std::string& dir);

  // Learning rate of 0-based step `step`.
  double LearningRate(int64_t step) const;
  int64_t step() const { return step_; }
  // True between a step's first and last micro-batch (a checkpoint written
  // now would skip that step's data consumed so far on resume).
  bool mid_step() const { return micro_ > 0; }
  const TrainerOptions& options() const { return options_; }
  const TrainableLora& lora() const { return *lora_; }
  const Transformer& transformer() const { return encoder_->transformer(); }
  const Tokenizer& tokenizer() const { return encoder_->tokenizer(); }
  const MaskingVocab& masking_vocab() const { return vocab_; }
  // The llm2vec_config.json saved with the adapter: mean pooling, and the
  // base model's max_length / doc_max_length (not the training length).
  Llm2VecConfig llm2vec_config() const;
  // How the data is ordered (LineReader::order(); MNTP: file order).
  std::string data_order() const;

  // Implementation details follow.
 private:
  Trainer(TrainerOptions options, std::unique_ptr<Encoder> encoder);
  absl::Status OpenData();
  // The order SimCSE's and the supervised lines are read in.
  LineShuffle Shuffle() const;
  // LineReader::order_kind() of the data ("file" for MNTP).
  const char* DataOrderKind() const;
  const std::string& DataName() const {
    return options_.data_name.empty() ? options_.data_path : options_.data_name;
  }
  // The objective's loss with `forward` (a graph when grad mode is on).
  at::Tensor Loss(const TrainingBatch& batch, const ForwardOptions& forward) const;
  absl::StatusOr<std::optional<TrainProgress>> MicroStepImpl();
  // Clears the step in progress: gradients and micro-batch tallies.
  void DiscardStep();
  absl::Status WriteCheckpointFiles(const std::string& dir) const;
  void PruneCheckpoints() const;

  TrainerOptions options_;
  std::unique_ptr<Encoder> encoder_;  // model + tokenizer + LLM2Vec input preparation
  std::unique_ptr<TrainableLora> lora_;
  std::unique_ptr<AdamW> optimizer_;
  MaskingVocab vocab_;
  // The llm2vec_config governing the base model (its lengths are saved
  // with the adapter).
  Llm2VecConfig base_config_;
  int32_t pad_id_ = 0;
  std::mt19937_64 rng_;  // masking
  // Data: one of these, by objective.
  std::unique_ptr<MntpPacker> packer_;
  std::unique_ptr<LineReader> sentences_;
  std::unique_ptr<TripleReader> triples_;

  int64_t step_ = 0;
  // The step in progress: micro-batches done, their loss and tokens.
  int64_t micro_ = 0;
  double micro_loss_ = 0;
  int64_t micro_tokens_ = 0;
  // Throughput since this run (or resume) started.
  std::chrono::steady_clock::time_point run_start_;
  int64_t run_steps_ = 0;
  int64_t run_tokens_ = 0;
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_TRAINER_H_
