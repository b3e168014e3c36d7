#include "server/service/vector_ops.h"

#include <algorithm>
#include <cmath>

namespace llm2vec {

float Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  const size_t n = std::min(a.size(), b.size());
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < n; ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na == 0 || nb == 0) return 0.0f;
  return static_cast<float>(dot / (std::sqrt(na) * std::sqrt(nb)));
}

void TruncateAndNormalize(std::vector<float>* v, int64_t dimensions, bool normalize) {
  if (dimensions > 0 && static_cast<size_t>(dimensions) < v->size()) v->resize(dimensions);
  if (!normalize) return;
  double sum = 0;
  for (float x : *v) sum += static_cast<double>(x) * x;
  const double norm = std::max(std::sqrt(sum), 1e-12);
  for (float& x : *v) x = static_cast<float>(x / norm);
}

std::string QuantizeInt8(const std::vector<float>& v, float* scale) {
  float max_abs = 0;
  for (float x : v) {
    if (std::isfinite(x)) max_abs = std::max(max_abs, std::fabs(x));
  }
  *scale = max_abs / 127.0f;
  std::string out(v.size(), '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    // A NaN would reach the int8 conversion as NaN: undefined behaviour.
    const float q = *scale > 0 && std::isfinite(v[i]) ? std::round(v[i] / *scale) : 0.0f;
    out[i] = static_cast<char>(static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f)));
  }
  return out;
}

std::string PackBinary(const std::vector<float>& v) {
  std::string out((v.size() + 7) / 8, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] > 0) out[i / 8] = static_cast<char>(out[i / 8] | (0x80 >> (i % 8)));
  }
  return out;
}

bool AllFinite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

}  // namespace llm2vec
