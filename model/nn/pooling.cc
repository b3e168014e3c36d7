#include "model/nn/pooling.h"

#include <ATen/ATen.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace llm2vec {

at::Tensor Pool(const at::Tensor& hidden, const std::vector<PoolSpan>& spans, PoolingMode mode) {
  const int64_t B = hidden.size(0), T = hidden.size(1);
  // Per-row weights over positions (B, T), float32, zero outside the span.
  std::vector<float> w(static_cast<size_t>(B * T), 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    const PoolSpan& s = spans[b];
    float* row = w.data() + b * T;
    const int64_t first = s.length - s.pooled;  // first pooled position
    switch (mode) {
      case PoolingMode::kMean:
        for (int64_t t = first; t < s.length; ++t) row[t] = 1.0f / static_cast<float>(s.pooled);
        break;
      case PoolingMode::kWeightedMean: {
        const double total = static_cast<double>(s.pooled) * (s.pooled + 1) / 2;
        for (int64_t t = first; t < s.length; ++t) {
          row[t] = static_cast<float>((t - first + 1) / total);
        }
        break;
      }
      case PoolingMode::kLastToken:
        row[s.length - 1] = 1.0f;
        break;
      case PoolingMode::kBosToken:
        row[0] = 1.0f;
        break;
      case PoolingMode::kNone:
        break;
    }
  }
  at::Tensor weights = at::tensor(w, at::TensorOptions().dtype(at::kFloat))
                           .view({B, 1, T})
                           .to(hidden.device());                  // (B, 1, T)
  return at::bmm(weights, hidden.to(at::kFloat)).squeeze(1);      // (B, C)
}

at::Tensor PostProcess(const at::Tensor& pooled, int64_t dimensions, bool normalize) {
  at::Tensor out = pooled;
  if (dimensions > 0 && dimensions < out.size(-1)) out = out.narrow(-1, 0, dimensions);
  if (normalize) out = out / out.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12);
  return out;
}

}  // namespace llm2vec
