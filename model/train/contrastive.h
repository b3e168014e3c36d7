// The contrastive losses of LLM2Vec step 3 (see
// ../shared/docs/llm2vec-method.md): in-batch negatives over cosine
// similarities times a scale, cross-entropy with the matching candidate as
// the target.
//   - Unsupervised SimCSE: the same sentences through the model twice with
//     dropout (attention dropout 0.3 + LoRA dropout in train mode); view 1
//     against view 2, scale 20 (temperature 0.05).
//   - Supervised: (instruction + query, positive, hard negative) triples;
//     the candidates are all positives then all negatives, scale 50.
// Embeddings are mean-pooled over the text's tokens (PoolSpan; BOS and
// instructions are attended to but not pooled).
#ifndef LLM2VEC_MODEL_TRAIN_CONTRASTIVE_H_
#define LLM2VEC_MODEL_TRAIN_CONTRASTIVE_H_

#include <ATen/core/Tensor.h>

#include <vector>

#include "model/nn/pooling.h"
#include "model/nn/transformer.h"

namespace llm2vec {

// A right-padded batch of token sequences with their pooling spans.
struct TokenBatch {
  at::Tensor ids;              // (B, T) int64
  at::Tensor lengths;          // (B) int64, real tokens per row
  std::vector<PoolSpan> spans;  // B entries
  int64_t tokens = 0;          // sum of lengths

  int64_t size() const { return static_cast<int64_t>(spans.size()); }
};

// Builds a TokenBatch from unpadded rows; row b pools its last pooled[b]
// tokens. `pad_id` fills the padding (masked in attention anyway).
TokenBatch MakeTokenBatch(const std::vector<std::vector<int32_t>>& rows,
                          const std::vector<int64_t>& pooled, int32_t pad_id);

// Cross-entropy of scale * cos(queries[i], candidates[j]) over j with
// target j = i (the first B candidates match the B queries; any further
// candidates are extra negatives).
//   queries: (B, C); candidates: (N, C), N >= B. Returns a float32 scalar.
at::Tensor InBatchContrastiveLoss(const at::Tensor& queries, const at::Tensor& candidates,
                                  double scale);

// Mean-pooled embeddings of `batch` under `options`: (B, C) float32.
at::Tensor MeanPooledEmbeddings(const Transformer& model, const TokenBatch& batch,
                                const ForwardOptions& options);

// Unsupervised SimCSE: `batch` twice through the model (one forward over
// the batch stacked on itself, so each copy gets its own dropout masks),
// view 1 as queries, view 2 as candidates.
at::Tensor SimCseLoss(const Transformer& model, const TokenBatch& batch,
                      const ForwardOptions& options, double scale);

// Supervised contrastive: `queries` (with instructions, pooled over the
// query text only) against `documents` = the B positives then the B hard
// negatives (no instructions).
at::Tensor SupervisedContrastiveLoss(const Transformer& model, const TokenBatch& queries,
                                     const TokenBatch& documents, const ForwardOptions& options,
                                     double scale);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_CONTRASTIVE_H_
