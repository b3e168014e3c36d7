// Fuzz target: TrainRequest messages as they arrive on the wire, through
// the server's checks of a Train request (train_request.h) against the
// demo model's shape and a memory limit; what passes is written back as
// the job's resolved hyperparameters and read again, unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "llm2vec/v1/training.pb.h"
#include "model/train/hyperparameters_proto.h"
#include "server/training/train_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llm2vec;
  v1::TrainRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  static const ModelConfig model = [] {
    ModelConfig c;  // stories260K's shape
    c.hidden_size = 64;
    c.intermediate_size = 172;
    c.num_layers = 5;
    c.num_heads = 8;
    c.num_kv_heads = 4;
    c.head_dim = 8;
    c.vocab_size = 512;
    c.max_position_embeddings = 512;
    return c;
  }();
  TrainLimits limits;
  limits.checkpoint_dir = "jobs";
  limits.model = &model;
  limits.max_training_bytes = int64_t{1} << 30;
  auto options = ValidateTrainRequest(request, limits);
  if (!options.ok()) return 0;
  v1::Hyperparameters written;
  FillHyperparameters(*options, &written);
  TrainerOptions again = TrainerOptions::Defaults(options->objective);
  if (!ApplyHyperparameters(written, &again).ok()) std::abort();  // what we accepted must read back
  v1::Hyperparameters rewritten;
  FillHyperparameters(again, &rewritten);
  if (rewritten.SerializeAsString() != written.SerializeAsString()) std::abort();
  return 0;
}
