// AdamW (Loshchilov & Hutter), exactly PyTorch's torch.optim.AdamW update
// (amsgrad off), over a fixed list of parameters, with state that can be
// saved and restored for checkpoints; and gradient-norm clipping as
// torch.nn.utils.clip_grad_norm_. Kept free of <torch/torch.h> so its
// state is plain tensors (checkpoints store them as safetensors).
//
// Threading: not thread-safe; used by the thread that trains.
#ifndef LLM2VEC_MODEL_TRAIN_ADAMW_H_
#define LLM2VEC_MODEL_TRAIN_ADAMW_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace llm2vec {

class AdamW {
 public:
  struct Options {
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    // Decoupled weight decay: p -= lr * weight_decay * p before the update
    // (0, as the reference's Hugging Face Trainer default).
    double weight_decay = 0.0;
  };

  // Per-parameter moments and step counts (PyTorch's `state`).
  struct State {
    std::vector<at::Tensor> exp_avg;     // first moments, like each parameter
    std::vector<at::Tensor> exp_avg_sq;  // second moments
    std::vector<int64_t> step;           // updates applied to each parameter
  };

  // `params`: leaf tensors with requires_grad (kept by reference).
  AdamW(std::vector<at::Tensor> params, const Options& options);

  // Applies one update with learning rate `lr` from each parameter's grad;
  // parameters without a grad are left as they are.
  void Step(double lr);
  // Drops every parameter's grad (PyTorch's zero_grad(set_to_none=True)).
  void ZeroGrad();

  const State& state() const { return state_; }
  // Replaces the state (e.g. from a checkpoint); tensors are copied to the
  // parameters' device. InvalidArgument when counts or shapes disagree.
  absl::Status LoadState(const State& state);

  // Implementation details follow.
 private:
  std::vector<at::Tensor> params_;
  Options options_;
  State state_;
};

// Scales all grads so their global L2 norm is at most `max_norm` (when it
// is larger: grad *= max_norm / (norm + 1e-6)). Returns the norm before
// clipping. `max_norm` <= 0 only measures.
double ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_ADAMW_H_
