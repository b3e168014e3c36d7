#include "model/train/contrastive.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace llm2vec {
namespace {

// Rows scaled to unit L2 norm (torch.nn.functional.normalize, eps 1e-12).
at::Tensor Normalized(const at::Tensor& x) {
  return x / x.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12);
}

}  // namespace

TokenBatch MakeTokenBatch(const std::vector<std::vector<int32_t>>& rows,
                          const std::vector<int64_t>& pooled, int32_t pad_id) {
  TokenBatch batch;
  const int64_t B = static_cast<int64_t>(rows.size());
  int64_t T = 1;
  for (const auto& r : rows) T = std::max<int64_t>(T, static_cast<int64_t>(r.size()));
  std::vector<int64_t> ids(static_cast<size_t>(B * T), pad_id), lengths(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const auto& r = rows[b];
    std::copy(r.begin(), r.end(), ids.begin() + b * T);
    lengths[b] = static_cast<int64_t>(r.size());
    batch.spans.push_back({lengths[b], pooled[b]});
    batch.tokens += lengths[b];
  }
  batch.ids = at::tensor(ids, at::kLong).view({B, T});
  batch.lengths = at::tensor(lengths, at::kLong);
  return batch;
}

at::Tensor InBatchContrastiveLoss(const at::Tensor& queries, const at::Tensor& candidates,
                                  double scale) {
  const int64_t B = queries.size(0);
  at::Tensor scores = at::matmul(Normalized(queries), Normalized(candidates).t()) * scale;  // (B, N)
  at::Tensor target = at::arange(B, at::TensorOptions().dtype(at::kLong).device(scores.device()));
  return at::cross_entropy_loss(scores, target);
}

at::Tensor MeanPooledEmbeddings(const Transformer& model, const TokenBatch& batch,
                                const ForwardOptions& options) {
  at::Tensor hidden = model.Forward(batch.ids, batch.lengths, options);  // (B, T, C)
  return Pool(hidden, batch.spans, PoolingMode::kMean);                 // (B, C)
}

at::Tensor SimCseLoss(const Transformer& model, const TokenBatch& batch,
                      const ForwardOptions& options, double scale) {
  const int64_t B = batch.size();
  TokenBatch twice;
  twice.ids = at::cat({batch.ids, batch.ids}, 0);              // (2B, T)
  twice.lengths = at::cat({batch.lengths, batch.lengths}, 0);  // (2B)
  twice.spans = batch.spans;
  twice.spans.insert(twice.spans.end(), batch.spans.begin(), batch.spans.end());
  at::Tensor emb = MeanPooledEmbeddings(model, twice, options);  // (2B, C)
  return InBatchContrastiveLoss(emb.narrow(0, 0, B), emb.narrow(0, B, B), scale);
}

at::Tensor SupervisedContrastiveLoss(const Transformer& model, const TokenBatch& queries,
                                     const TokenBatch& documents, const ForwardOptions& options,
                                     double scale) {
  at::Tensor q = MeanPooledEmbeddings(model, queries, options);    // (B, C)
  at::Tensor d = MeanPooledEmbeddings(model, documents, options);  // (2B, C)
  return InBatchContrastiveLoss(q, d, scale);
}

}  // namespace llm2vec
