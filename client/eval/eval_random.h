// Seeded random numbers for the evaluation harness (splits, subsamples,
// k-means++), the same on every platform and standard library: SplitMix64,
// with our own uniform and shuffle (std::uniform_*_distribution and
// std::shuffle are implementation-defined).
#ifndef LLM2VEC_CLIENT_EVAL_EVAL_RANDOM_H_
#define LLM2VEC_CLIENT_EVAL_EVAL_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace llm2vec {

class EvalRandom {
 public:
  explicit EvalRandom(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n); n > 0.
  size_t Below(size_t n) { return static_cast<size_t>(Uniform() * static_cast<double>(n)); }
  // Fisher-Yates.
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(i)]);
  }

 private:
  uint64_t state_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_EVAL_EVAL_RANDOM_H_
