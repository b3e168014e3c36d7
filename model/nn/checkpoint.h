// Gradient (activation) checkpointing: run a piece of the model without
// keeping its intermediate activations for backward, and recompute them
// during backward, replaying the same random numbers (dropout). The
// reference trains with gradient checkpointing on; here it is
// ForwardOptions::checkpoint_layers, one segment per decoder layer, so a
// training step keeps each layer's input instead of its attention scores
// and MLP activations.
//
// Threading: as the autograd graph it is part of (one thread).
#ifndef LLM2VEC_MODEL_NN_CHECKPOINT_H_
#define LLM2VEC_MODEL_NN_CHECKPOINT_H_

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace llm2vec {

using Segment = std::function<at::Tensor(const at::Tensor&)>;

// Returns segment(x), recording one graph node instead of the segment's
// graph. `params`: every tensor the segment reads that needs a gradient
// (besides x), e.g. the layer's LoRA matrices. `segment` must stay callable
// until backward has run (capture by value), and must be deterministic
// apart from the default generators of x's device (and the CPU's), whose
// states are replayed.
at::Tensor Checkpoint(Segment segment, const at::Tensor& x, const std::vector<at::Tensor>& params);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_NN_CHECKPOINT_H_
