#include "model/train/trainer_options.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/train/hyperparameters.h"

namespace llm2vec {

absl::StatusOr<Objective> ParseObjective(const std::string& name) {
  if (name == "mntp") return Objective::kMntp;
  if (name == "simcse") return Objective::kSimCse;
  if (name == "supervised") return Objective::kSupervised;
  return absl::InvalidArgumentError(
      absl::StrCat("objective '", name, "' is not one of mntp, simcse, supervised"));
}

std::string ObjectiveName(Objective objective) {
  switch (objective) {
    case Objective::kMntp: return "mntp";
    case Objective::kSimCse: return "simcse";
    case Objective::kSupervised: return "supervised";
  }
  return "?";
}

TrainerOptions TrainerOptions::Defaults(Objective objective) {
  TrainerOptions o;
  o.objective = objective;
  switch (objective) {
    case Objective::kMntp:  // paper: 1000 steps, batch 32, 512 tokens, lr 5e-5
      o.batch_size = 32;
      o.max_length = 512;
      o.lr = 5e-5;
      break;
    case Objective::kSimCse:  // batch 128, 128 tokens, lr 3e-5, dropout 0.3, scale 20
      o.batch_size = 128;
      o.max_length = 128;
      o.lr = 3e-5;
      o.attention_dropout = 0.3;
      o.scale = 20.0;
      break;
    case Objective::kSupervised:  // batch 64, 512 tokens, lr 2e-4, warmup 300, scale 50
      o.batch_size = 64;
      o.max_length = 512;
      o.lr = 2e-4;
      o.warmup_steps = 300;
      o.scale = 50.0;
      break;
  }
  return o;
}

absl::Status ValidateTrainerOptions(const TrainerOptions& options) {
  const TrainerOptions& o = options;
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (o.data_path.empty()) return bad("training needs a data file");
  // Every hyperparameter within its range (hyperparameters.h).
  if (auto s = ValidateHyperparameters(o); !s.ok()) return s;
  if (o.checkpoint_every > 0 && o.checkpoint_dir.empty()) {
    return bad("checkpoints need a checkpoint folder");
  }
  if (o.keep_checkpoints < 1) {
    return bad(absl::StrCat("keep_checkpoints ", o.keep_checkpoints, " must be at least 1"));
  }
  return absl::OkStatus();
}

}  // namespace llm2vec
