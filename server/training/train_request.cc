#include "server/training/train_request.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "model/formats/adapter_config.h"
#include "model/train/hyperparameters_proto.h"
#include "model/train/training_memory.h"

namespace llm2vec {

absl::StatusOr<Objective> ObjectiveOf(v1::Objective objective) {
  switch (objective) {
    case v1::OBJECTIVE_MNTP:
      return Objective::kMntp;
    case v1::OBJECTIVE_SIMCSE:
      return Objective::kSimCse;
    case v1::OBJECTIVE_SUPERVISED:
      return Objective::kSupervised;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "objective ", static_cast<int>(objective), " must be one of mntp, simcse, supervised"));
  }
}

bool ValidOutputAdapterName(const std::string& name) {
  return ValidAdapterName(name) && name.front() != '.';
}

absl::StatusOr<TrainerOptions> ValidateTrainRequest(const v1::TrainRequest& request,
                                                    const TrainLimits& limits) {
  auto objective = ObjectiveOf(request.objective());
  if (!objective.ok()) return objective.status();
  const std::string& name = request.output_adapter();
  if (!ValidOutputAdapterName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("output_adapter '", name,
                     "' must be 1-128 letters, digits, '-', '_' or '.', not starting with '.'"));
  }
  if (request.data_path().empty()) return absl::InvalidArgumentError("data_path is empty");
  // The objective's defaults, the server's checkpoint settings, then what
  // the request sets (each range-checked).
  TrainerOptions o = TrainerOptions::Defaults(*objective);
  o.checkpoint_every = limits.checkpoint_every;
  o.keep_checkpoints = limits.keep_checkpoints;
  o.num_threads = limits.num_threads;
  if (auto s = ApplyHyperparameters(request.hyperparameters(), &o); !s.ok()) return s;
  o.data_path = request.data_path();
  o.checkpoint_dir = limits.checkpoint_dir;
  if (auto s = ValidateTrainerOptions(o); !s.ok()) return s;
  if (limits.model != nullptr) {
    const ModelConfig& c = *limits.model;
    if (o.max_length > c.max_position_embeddings) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hyperparameters.max_length ", o.max_length, " exceeds the model's ",
          c.max_position_embeddings, " positions"));
    }
    if (o.lora.r > c.hidden_size) {
      return absl::InvalidArgumentError(absl::StrCat("hyperparameters.lora_r ", o.lora.r,
                                                     " exceeds the model's hidden size ",
                                                     c.hidden_size));
    }
    const int64_t need = EstimateTrainingBytes(o, c);
    if (limits.max_training_bytes > 0 && need > limits.max_training_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hyperparameters: batch_size ", o.batch_size, " x max_length ", o.max_length,
          " needs about ", BytesText(need), " to train on this model, over the server's limit of ",
          BytesText(limits.max_training_bytes),
          " (--max-training-memory); lower batch_size or max_length (and raise grad_accum), "
          "or set gradient_checkpointing"));
    }
  }
  if (o.steps > limits.max_steps) {
    return absl::InvalidArgumentError(absl::StrCat("steps ", o.steps,
                                                   " is over the server's limit of ",
                                                   limits.max_steps, " (--max-training-steps)"));
  }
  return o;
}

}  // namespace llm2vec
