// LLM2Vec pooling of per-token hidden states into one vector per text.
// Only the text's tokens are pooled (the "embed mask"): for a row of
// `length` tokens whose last `pooled` positions are the text, positions
// [length - pooled, length) take part.
#ifndef LLM2VEC_MODEL_NN_POOLING_H_
#define LLM2VEC_MODEL_NN_POOLING_H_

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/nn/encode_types.h"

namespace llm2vec {

struct PoolSpan {
  int64_t length = 0;  // real tokens in the row (right padding after)
  int64_t pooled = 0;  // the last `pooled` real tokens are the text
};

// hidden: (B, T, C); spans: B entries; mode != kNone. Returns (B, C) float32.
at::Tensor Pool(const at::Tensor& hidden, const std::vector<PoolSpan>& spans, PoolingMode mode);

// Matryoshka truncation to the first `dimensions` values (0 keeps all),
// then optional L2 normalisation. (B, C) -> (B, C').
at::Tensor PostProcess(const at::Tensor& pooled, int64_t dimensions, bool normalize);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_NN_POOLING_H_
