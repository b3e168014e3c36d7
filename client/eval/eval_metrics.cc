#include "client/eval/eval_metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <numeric>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/eval/eval_random.h"

namespace llm2vec {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Four partial sums: independent additions the CPU can overlap (the
// compiler may not reorder a floating-point sum itself).
double Dot(const double* a, const double* b, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

// y += alpha * x.
void Axpy(double alpha, const double* x, double* y, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    y[i] += alpha * x[i];
    y[i + 1] += alpha * x[i + 1];
    y[i + 2] += alpha * x[i + 2];
    y[i + 3] += alpha * x[i + 3];
  }
  for (; i < n; ++i) y[i] += alpha * x[i];
}

double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  return Dot(a.data(), b.data(), a.size());
}

// Rows are non-empty and of one width.
absl::Status CheckRows(const EmbeddingRows& rows, const char* what) {
  if (rows.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": no rows"));
  const size_t d = rows[0].size();
  if (d == 0) return absl::InvalidArgumentError(absl::StrCat(what, ": rows have no values"));
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].size() != d) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": row ", i, " has ", rows[i].size(), " values; row 0 has ", d));
    }
  }
  return absl::OkStatus();
}

double SquaredDistance(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = static_cast<double>(a[i]) - b[i];
    s += diff * diff;
  }
  return s;
}

// Entropy (nats) of a distribution given by counts summing to `total`.
template <typename Counts>
double Entropy(const Counts& counts, double total) {
  double h = 0;
  for (const auto& [key, count] : counts) {
    if (count > 0) h -= (count / total) * std::log(count / total);
  }
  return h;
}

}  // namespace

// ---- Correlation ----

double CosineSimilarity(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  if (aa == 0 || bb == 0) return 0;
  return ab / std::sqrt(aa * bb);
}

std::vector<double> AverageRanks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i + 1;
    while (j < order.size() && values[order[j]] == values[order[i]]) ++j;
    // Positions i..j-1 hold ranks i+1..j: their average.
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t t = i; t < j; ++t) ranks[order[t]] = rank;
    i = j;
  }
  return ranks;
}

double PearsonCorrelation(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  if (n < 2) return kNaN;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return kNaN;
  return sxy / std::sqrt(sxx * syy);
}

double SpearmanCorrelation(const std::vector<double>& x, const std::vector<double>& y) {
  return PearsonCorrelation(AverageRanks(x), AverageRanks(y));
}

// ---- Logistic regression ----

namespace {

// The objective of a softmax regression over standardised rows X (n, d):
//   f(W, b) = mean_i CE(softmax(W x_i + b), y_i) + lambda/2 ||W||^2
// with params = [W (K, d) row-major, b (K)]; fills `grad` (same layout).
double SoftmaxObjective(const std::vector<double>& x, const std::vector<int>& labels, int64_t n,
                        int64_t d, int k, double lambda, const std::vector<double>& params,
                        std::vector<double>* grad) {
  grad->assign(params.size(), 0.0);
  const double* w = params.data();
  const double* b = params.data() + k * d;
  double* gw = grad->data();
  double* gb = grad->data() + k * d;
  std::vector<double> logits(k);  // (K)
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double* xi = x.data() + i * d;
    // Logits and a stable log-sum-exp.
    double max_logit = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < k; ++c) {
      logits[c] = Dot(w + c * d, xi, d) + b[c];
      max_logit = std::max(max_logit, logits[c]);
    }
    double sum = 0;
    for (int c = 0; c < k; ++c) sum += std::exp(logits[c] - max_logit);
    const double log_z = max_logit + std::log(sum);
    loss += log_z - logits[labels[i]];
    // d CE / d logits = softmax - onehot.
    for (int c = 0; c < k; ++c) {
      const double g = std::exp(logits[c] - log_z) - (c == labels[i] ? 1.0 : 0.0);
      if (g == 0) continue;
      Axpy(g, xi, gw + c * d, static_cast<size_t>(d));
      gb[c] += g;
    }
  }
  const double inv_n = 1.0 / static_cast<double>(n);
  double penalty = 0;
  for (int64_t j = 0; j < k * d; ++j) {
    gw[j] = gw[j] * inv_n + lambda * w[j];
    penalty += w[j] * w[j];
  }
  for (int c = 0; c < k; ++c) gb[c] *= inv_n;
  return loss * inv_n + 0.5 * lambda * penalty;
}

}  // namespace

absl::StatusOr<LogisticRegression> LogisticRegression::Fit(
    const EmbeddingRows& features, const std::vector<int>& labels, int num_classes,
    const LogisticRegressionOptions& options) {
  if (auto s = CheckRows(features, "logistic regression features"); !s.ok()) return s;
  if (labels.size() != features.size()) {
    return absl::InvalidArgumentError(absl::StrCat("logistic regression: ", features.size(),
                                                   " rows but ", labels.size(), " labels"));
  }
  if (num_classes < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("logistic regression: needs at least 2 classes, got ", num_classes));
  }
  if (!(options.c > 0) || options.max_iterations < 0 || options.history < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("logistic regression: bad options (c ", options.c, ", max_iterations ",
                     options.max_iterations, ", history ", options.history, ")"));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      return absl::InvalidArgumentError(absl::StrCat("logistic regression: label ", labels[i],
                                                     " of row ", i, " is outside [0, ", num_classes,
                                                     ")"));
    }
  }
  LogisticRegression model;
  const int64_t n = static_cast<int64_t>(features.size());
  const int64_t d = static_cast<int64_t>(features[0].size());
  const int k = num_classes;
  model.num_classes_ = k;
  model.dims_ = d;

  // Standardise: zero mean, unit variance per feature (constant features
  // become 0).
  model.mean_.assign(d, 0.0);
  model.inv_scale_.assign(d, 1.0);
  for (const auto& row : features) {
    for (int64_t j = 0; j < d; ++j) model.mean_[j] += row[j];
  }
  for (double& m : model.mean_) m /= static_cast<double>(n);
  std::vector<double> var(d, 0.0);
  for (const auto& row : features) {
    for (int64_t j = 0; j < d; ++j) var[j] += (row[j] - model.mean_[j]) * (row[j] - model.mean_[j]);
  }
  for (int64_t j = 0; j < d; ++j) {
    const double sd = std::sqrt(var[j] / static_cast<double>(n));
    if (sd > 0) model.inv_scale_[j] = 1.0 / sd;
  }
  std::vector<double> x(n * d);  // (n, d) standardised
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      x[i * d + j] = (features[i][j] - model.mean_[j]) * model.inv_scale_[j];
    }
  }

  // L-BFGS on the mean objective; lambda = 1 / (C n) gives scikit-learn's
  // minimiser of C * sum CE + ||W||^2 / 2.
  const double lambda = 1.0 / (options.c * static_cast<double>(n));
  auto objective = [&](const std::vector<double>& p, std::vector<double>* g) {
    return SoftmaxObjective(x, labels, n, d, k, lambda, p, g);
  };
  std::vector<double> params(static_cast<size_t>(k * d + k), 0.0);
  std::vector<double> grad;
  double f = objective(params, &grad);
  std::deque<std::pair<std::vector<double>, std::vector<double>>> pairs;  // (s, y), oldest first
  std::vector<double> direction(params.size()), next(params.size()), next_grad;
  int iter = 0;
  for (; iter < options.max_iterations; ++iter) {
    double max_g = 0;
    for (double g : grad) max_g = std::max(max_g, std::abs(g));
    if (max_g < options.gradient_tolerance) break;

    // Two-loop recursion: direction = -H grad.
    for (size_t j = 0; j < grad.size(); ++j) direction[j] = -grad[j];
    std::vector<double> alpha(pairs.size());
    for (size_t m = pairs.size(); m-- > 0;) {
      const auto& [s, y] = pairs[m];
      alpha[m] = Dot(s, direction) / Dot(y, s);
      for (size_t j = 0; j < direction.size(); ++j) direction[j] -= alpha[m] * y[j];
    }
    if (!pairs.empty()) {
      const auto& [s, y] = pairs.back();
      const double gamma = Dot(s, y) / Dot(y, y);
      for (double& v : direction) v *= gamma;
    }
    for (size_t m = 0; m < pairs.size(); ++m) {
      const auto& [s, y] = pairs[m];
      const double beta = Dot(y, direction) / Dot(y, s);
      for (size_t j = 0; j < direction.size(); ++j) direction[j] += (alpha[m] - beta) * s[j];
    }
    double slope = Dot(grad, direction);
    if (!(slope < 0)) {  // not a descent direction: restart from steepest descent
      pairs.clear();
      for (size_t j = 0; j < grad.size(); ++j) direction[j] = -grad[j];
      slope = Dot(grad, direction);
    }

    // Backtracking line search (Armijo).
    double step = 1.0;
    double f_next = 0;
    bool accepted = false;
    for (int tries = 0; tries < 50; ++tries, step *= 0.5) {
      for (size_t j = 0; j < params.size(); ++j) next[j] = params[j] + step * direction[j];
      f_next = objective(next, &next_grad);
      if (f_next <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
    }
    if (!accepted) break;  // no progress possible at double precision

    std::vector<double> s(params.size()), y(params.size());
    for (size_t j = 0; j < params.size(); ++j) {
      s[j] = next[j] - params[j];
      y[j] = next_grad[j] - grad[j];
    }
    if (Dot(s, y) > 1e-12 * Dot(y, y)) {
      pairs.emplace_back(std::move(s), std::move(y));
      if (static_cast<int>(pairs.size()) > options.history) pairs.pop_front();
    }
    params.swap(next);
    grad.swap(next_grad);
    const bool converged = std::abs(f - f_next) <= 1e-12 * std::max(1.0, std::abs(f));
    f = f_next;
    if (converged) {
      ++iter;
      break;
    }
  }
  model.params_ = std::move(params);
  model.iterations_ = iter;
  model.final_loss_ = f;
  return model;
}

std::vector<int> LogisticRegression::Predict(const EmbeddingRows& features) const {
  std::vector<int> out;
  out.reserve(features.size());
  const double* w = params_.data();
  const double* b = params_.data() + num_classes_ * dims_;
  std::vector<double> xi(dims_);
  for (const auto& row : features) {
    for (int64_t j = 0; j < dims_; ++j) {
      xi[j] = j < static_cast<int64_t>(row.size()) ? (row[j] - mean_[j]) * inv_scale_[j] : 0.0;
    }
    int best = 0;
    double best_logit = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < num_classes_; ++c) {
      const double logit = Dot(w + c * dims_, xi.data(), dims_) + b[c];
      if (logit > best_logit) {
        best_logit = logit;
        best = c;
      }
    }
    out.push_back(best);
  }
  return out;
}

double Accuracy(const std::vector<int>& predicted, const std::vector<int>& gold) {
  const size_t n = std::min(predicted.size(), gold.size());
  if (n == 0) return 0;
  size_t right = 0;
  for (size_t i = 0; i < n; ++i) right += predicted[i] == gold[i];
  return static_cast<double>(right) / static_cast<double>(n);
}

double MacroF1(const std::vector<int>& predicted, const std::vector<int>& gold) {
  const size_t n = std::min(predicted.size(), gold.size());
  std::map<int, std::array<int64_t, 3>> counts;  // class -> {tp, fp, fn}
  for (size_t i = 0; i < n; ++i) {
    if (predicted[i] == gold[i]) {
      ++counts[gold[i]][0];
    } else {
      ++counts[predicted[i]][1];
      ++counts[gold[i]][2];
    }
  }
  if (counts.empty()) return 0;
  double sum = 0;
  for (const auto& [label, c] : counts) {
    const int64_t denominator = 2 * c[0] + c[1] + c[2];
    sum += denominator == 0 ? 0.0 : 2.0 * static_cast<double>(c[0]) / denominator;
  }
  return sum / static_cast<double>(counts.size());
}

// ---- Clustering ----

namespace {

// One k-means run from a k-means++ seeding; returns its result.
KMeansResult KMeansOnce(const EmbeddingRows& points, int k, int max_iterations, EvalRandom& rng) {
  const size_t n = points.size();
  const size_t d = points[0].size();
  KMeansResult r;

  // k-means++: the first centre uniformly, each next one with probability
  // proportional to the squared distance to the nearest chosen centre.
  r.centroids.push_back(points[rng.Below(n)]);
  std::vector<double> nearest(n);
  for (size_t i = 0; i < n; ++i) nearest[i] = SquaredDistance(points[i], r.centroids[0]);
  while (static_cast<int>(r.centroids.size()) < k) {
    const double total = std::accumulate(nearest.begin(), nearest.end(), 0.0);
    size_t pick = 0;
    if (total > 0) {
      double target = rng.Uniform() * total;
      for (pick = 0; pick + 1 < n; ++pick) {
        target -= nearest[pick];
        if (target < 0) break;
      }
    } else {
      pick = rng.Below(n);  // every point sits on a centre already
    }
    r.centroids.push_back(points[pick]);
    for (size_t i = 0; i < n; ++i) {
      nearest[i] = std::min(nearest[i], SquaredDistance(points[i], r.centroids.back()));
    }
  }

  // Lloyd: assign to the nearest centre, move centres to their means, until
  // no point changes cluster.
  r.assignments.assign(n, -1);
  std::vector<double> distance(n);
  for (r.iterations = 0; r.iterations < max_iterations; ++r.iterations) {
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      int best = 0;
      double best_d = std::numeric_limits<double>::infinity();
      for (int c = 0; c < k; ++c) {
        const double dist = SquaredDistance(points[i], r.centroids[c]);
        if (dist < best_d) {
          best_d = dist;
          best = c;
        }
      }
      distance[i] = best_d;
      if (r.assignments[i] != best) {
        r.assignments[i] = best;
        changed = true;
      }
    }
    if (!changed) break;
    std::vector<std::vector<double>> sums(k, std::vector<double>(d, 0.0));
    std::vector<int64_t> sizes(k, 0);
    for (size_t i = 0; i < n; ++i) {
      const int c = r.assignments[i];
      ++sizes[c];
      for (size_t j = 0; j < d; ++j) sums[c][j] += points[i][j];
    }
    std::vector<bool> taken(n, false);
    for (int c = 0; c < k; ++c) {
      if (sizes[c] == 0) {
        // An empty cluster takes the point farthest from its centre.
        size_t far = 0;
        for (size_t i = 1; i < n; ++i) {
          if (!taken[i] && (taken[far] || distance[i] > distance[far])) far = i;
        }
        taken[far] = true;
        distance[far] = 0;
        r.centroids[c] = points[far];
        continue;
      }
      for (size_t j = 0; j < d; ++j) {
        r.centroids[c][j] = static_cast<float>(sums[c][j] / static_cast<double>(sizes[c]));
      }
    }
  }
  r.inertia = 0;
  for (size_t i = 0; i < n; ++i) {
    r.inertia += SquaredDistance(points[i], r.centroids[r.assignments[i]]);
  }
  return r;
}

}  // namespace

absl::StatusOr<KMeansResult> KMeans(const EmbeddingRows& points, const KMeansOptions& options) {
  if (auto s = CheckRows(points, "k-means points"); !s.ok()) return s;
  if (options.k < 1 || options.restarts < 1 || options.max_iterations < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("k-means: bad options (k ", options.k, ", restarts ", options.restarts,
                     ", max_iterations ", options.max_iterations, ")"));
  }
  if (points.size() < static_cast<size_t>(options.k)) {
    return absl::InvalidArgumentError(
        absl::StrCat("k-means: ", points.size(), " points for k = ", options.k));
  }
  EvalRandom rng(options.seed);
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int run = 0; run < options.restarts; ++run) {
    KMeansResult r = KMeansOnce(points, options.k, options.max_iterations, rng);
    if (r.inertia < best.inertia) best = std::move(r);
  }
  return best;
}

ClusteringScores VMeasure(const std::vector<int>& gold, const std::vector<int>& clusters) {
  const size_t n = std::min(gold.size(), clusters.size());
  ClusteringScores scores{1.0, 1.0, 1.0};
  if (n == 0) return scores;
  std::map<int, double> class_counts, cluster_counts;
  std::map<std::pair<int, int>, double> joint;
  for (size_t i = 0; i < n; ++i) {
    ++class_counts[gold[i]];
    ++cluster_counts[clusters[i]];
    ++joint[{gold[i], clusters[i]}];
  }
  const double total = static_cast<double>(n);
  const double h_class = Entropy(class_counts, total);
  const double h_cluster = Entropy(cluster_counts, total);
  // Mutual information I(C; K) = H(C) - H(C|K) = H(K) - H(K|C).
  double mi = 0;
  for (const auto& [key, count] : joint) {
    const double pck = count / total;
    mi += pck * std::log(count * total / (class_counts[key.first] * cluster_counts[key.second]));
  }
  mi = std::max(mi, 0.0);
  scores.homogeneity = h_class == 0 ? 1.0 : mi / h_class;
  scores.completeness = h_cluster == 0 ? 1.0 : mi / h_cluster;
  const double sum = scores.homogeneity + scores.completeness;
  scores.v_measure = sum == 0 ? 0.0 : 2 * scores.homogeneity * scores.completeness / sum;
  return scores;
}

// ---- Retrieval ----

double NdcgAtK(const std::vector<std::string>& ranking, const QueryRelevance& relevance, int k) {
  std::vector<int> grades;
  for (const auto& [doc, grade] : relevance) {
    if (grade > 0) grades.push_back(grade);
  }
  if (grades.empty() || k <= 0) return 0;
  std::sort(grades.rbegin(), grades.rend());
  double ideal = 0;
  for (size_t i = 0; i < grades.size() && i < static_cast<size_t>(k); ++i) {
    ideal += grades[i] / std::log2(static_cast<double>(i) + 2.0);
  }
  double dcg = 0;
  for (size_t i = 0; i < ranking.size() && i < static_cast<size_t>(k); ++i) {
    auto it = relevance.find(ranking[i]);
    if (it != relevance.end() && it->second > 0) {
      dcg += it->second / std::log2(static_cast<double>(i) + 2.0);
    }
  }
  return dcg / ideal;
}

double RecallAtK(const std::vector<std::string>& ranking, const QueryRelevance& relevance, int k) {
  int64_t relevant = 0;
  for (const auto& [doc, grade] : relevance) relevant += grade > 0;
  if (relevant == 0 || k <= 0) return 0;
  int64_t found = 0;
  for (size_t i = 0; i < ranking.size() && i < static_cast<size_t>(k); ++i) {
    auto it = relevance.find(ranking[i]);
    if (it != relevance.end() && it->second > 0) ++found;
  }
  return static_cast<double>(found) / static_cast<double>(relevant);
}

void L2NormalizeRows(EmbeddingRows& rows) {
  for (auto& row : rows) {
    double ss = 0;
    for (float v : row) ss += static_cast<double>(v) * v;
    if (ss == 0) continue;
    const double inv = 1.0 / std::sqrt(ss);
    for (float& v : row) v = static_cast<float>(v * inv);
  }
}

std::vector<size_t> TopKByDotProduct(const std::vector<float>& query,
                                     const EmbeddingRows& candidates, size_t k) {
  std::vector<std::pair<double, size_t>> scored(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    double s = 0;
    for (size_t j = 0; j < query.size() && j < candidates[i].size(); ++j) {
      s += static_cast<double>(query[j]) * candidates[i][j];
    }
    scored[i] = {s, i};
  }
  k = std::min(k, scored.size());
  auto better = [](const std::pair<double, size_t>& a, const std::pair<double, size_t>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  std::partial_sort(scored.begin(), scored.begin() + static_cast<ptrdiff_t>(k), scored.end(),
                    better);
  std::vector<size_t> top(k);
  for (size_t i = 0; i < k; ++i) top[i] = scored[i].second;
  return top;
}

}  // namespace llm2vec
