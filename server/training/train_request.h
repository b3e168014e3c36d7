// A TrainRequest checked and turned into TrainerOptions, with no file
// system, model or libtorch: the objective, the output adapter's name, the
// hyperparameters over the objective's defaults (each in its range), the
// served model's limits (positions, hidden size, the memory estimate
// against --max-training-memory) and the server's step limit. Submit runs
// it before it looks at any path; the TrainRequest fuzz target runs it on
// arbitrary bytes.
//
// Threading: pure functions.
#ifndef LLM2VEC_SERVER_TRAINING_TRAIN_REQUEST_H_
#define LLM2VEC_SERVER_TRAINING_TRAIN_REQUEST_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "llm2vec/v1/training.pb.h"
#include "model/formats/model_config.h"
#include "model/train/trainer_options.h"

namespace llm2vec {

// What the server allows.
struct TrainLimits {
  // Defaults a request does not override.
  int64_t checkpoint_every = 50;
  int keep_checkpoints = 2;
  int num_threads = 0;
  // Where checkpoints go (needed when checkpoint_every > 0).
  std::string checkpoint_dir;
  int64_t max_steps = 100000;
  // The served model (null: its limits are not checked here).
  const ModelConfig* model = nullptr;
  // Estimated training memory allowed; 0: no limit.
  int64_t max_training_bytes = 0;
};

// The objective of the wire enum; INVALID_ARGUMENT for any other value.
absl::StatusOr<Objective> ObjectiveOf(v1::Objective objective);

// An adapter name that is also a safe folder name under the adapter root
// (ValidAdapterName, and not starting with '.').
bool ValidOutputAdapterName(const std::string& name);

// The options `request` asks for: every error is INVALID_ARGUMENT naming
// the field, the value and the limit. data_path is taken as given (the
// caller confines and opens it).
absl::StatusOr<TrainerOptions> ValidateTrainRequest(const v1::TrainRequest& request,
                                                    const TrainLimits& limits);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_TRAINING_TRAIN_REQUEST_H_
