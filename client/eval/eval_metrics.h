// The metrics and small learners of `llm2vec eval` (MTEB-style), as pure
// functions on embeddings and labels: no model, no I/O.
//
//   STS             SpearmanCorrelation of CosineSimilarity vs gold scores
//   classification  LogisticRegression on frozen embeddings, Accuracy, MacroF1
//   clustering      KMeans, then VMeasure against the labels
//   retrieval       NdcgAtK / RecallAtK of an exact cosine ranking
//
// Everything is deterministic: the same inputs (and seed) give the same
// result on every run. Thread-compatible: no shared state.
#ifndef LLM2VEC_CLIENT_EVAL_EVAL_METRICS_H_
#define LLM2VEC_CLIENT_EVAL_EVAL_METRICS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace llm2vec {

// Rows of equal length: one embedding per text.
using EmbeddingRows = std::vector<std::vector<float>>;

// ---- Correlation (STS) ----

// Cosine similarity of two vectors of equal length; 0 when either is all
// zeros.
double CosineSimilarity(const std::vector<float>& a, const std::vector<float>& b);

// Ranks 1..n of `values`; tied values share the average of the ranks they
// span ({10, 20, 20, 30} -> {1, 2.5, 2.5, 4}).
std::vector<double> AverageRanks(const std::vector<double>& values);

// Pearson correlation of two equal-length series; NaN when either is
// constant or they have fewer than two values.
double PearsonCorrelation(const std::vector<double>& x, const std::vector<double>& y);

// Spearman's rank correlation: Pearson of the average ranks (ties handled
// as scipy.stats.spearmanr does). NaN as PearsonCorrelation.
double SpearmanCorrelation(const std::vector<double>& x, const std::vector<double>& y);

// ---- Classification ----

struct LogisticRegressionOptions {
  // Inverse L2 strength, as scikit-learn's C: the fit minimises
  // C * sum_i cross_entropy_i + ||W||^2 / 2 (the bias is not penalised).
  double c = 1.0;
  // L-BFGS iterations (scikit-learn's max_iter; MTEB uses 100).
  int max_iterations = 100;
  // Stop once the largest gradient component of the mean loss is below this.
  double gradient_tolerance = 1e-5;
  // L-BFGS memory: correction pairs kept.
  int history = 10;
};

// Multinomial (softmax) logistic regression on standardised features,
// trained by full-batch L-BFGS; deterministic.
class LogisticRegression {
 public:
  // Fits on `features` (n rows of d values) with `labels` in
  // [0, num_classes). InvalidArgument on empty input, ragged rows, a label
  // out of range or bad options.
  static absl::StatusOr<LogisticRegression> Fit(const EmbeddingRows& features,
                                                const std::vector<int>& labels, int num_classes,
                                                const LogisticRegressionOptions& options);

  // The most probable class of each row (rows of the training width).
  std::vector<int> Predict(const EmbeddingRows& features) const;

  int num_classes() const { return num_classes_; }
  // L-BFGS iterations run, and the objective (mean cross-entropy + penalty)
  // reached.
  int iterations() const { return iterations_; }
  double final_loss() const { return final_loss_; }

  // Implementation details follow.
 private:
  LogisticRegression() = default;

  int num_classes_ = 0;
  int64_t dims_ = 0;
  std::vector<double> mean_, inv_scale_;  // standardisation, (d)
  std::vector<double> params_;            // (K, d) weights then (K) biases
  int iterations_ = 0;
  double final_loss_ = 0;
};

// Fraction of positions where predicted == gold.
double Accuracy(const std::vector<int>& predicted, const std::vector<int>& gold);

// F1 averaged over the classes present in gold or predicted
// (scikit-learn's f1_score(average="macro")); a class never predicted
// scores 0.
double MacroF1(const std::vector<int>& predicted, const std::vector<int>& gold);

// ---- Clustering ----

struct KMeansOptions {
  // Number of clusters.
  int k = 8;
  // Independent k-means++ initialisations; the run with the lowest inertia
  // wins.
  int restarts = 10;
  // Lloyd iterations per run (it stops earlier when no point moves).
  int max_iterations = 300;
  uint64_t seed = 42;
};

struct KMeansResult {
  std::vector<int> assignments;  // (n) cluster of each point, in [0, k)
  EmbeddingRows centroids;       // (k, d)
  double inertia = 0;            // sum of squared distances to the centroid
  int iterations = 0;            // Lloyd iterations of the winning run
};

// Lloyd's k-means with k-means++ seeding. InvalidArgument when there are
// fewer points than k, rows are ragged or options are out of range.
absl::StatusOr<KMeansResult> KMeans(const EmbeddingRows& points, const KMeansOptions& options);

struct ClusteringScores {
  double homogeneity = 0;
  double completeness = 0;
  double v_measure = 0;  // harmonic mean of the two (beta = 1)
};

// Rosenberg & Hirschberg's V-measure of a clustering against gold classes
// (scikit-learn's homogeneity_completeness_v_measure). Label values are
// arbitrary ids; the two vectors have equal length.
ClusteringScores VMeasure(const std::vector<int>& gold, const std::vector<int>& clusters);

// ---- Retrieval ----

// Relevance judgements of one query: document id -> grade (> 0 relevant).
using QueryRelevance = std::map<std::string, int>;

// nDCG@k of one ranking (document ids, best first) as trec_eval's
// ndcg_cut_k computes it (and MTEB through pytrec_eval): gain = grade,
// discount log2(rank + 1), normalised by the ideal ordering of all judged
// documents. 0 when no document is relevant.
double NdcgAtK(const std::vector<std::string>& ranking, const QueryRelevance& relevance, int k);

// Fraction of the relevant documents found in the first k of `ranking`;
// 0 when no document is relevant.
double RecallAtK(const std::vector<std::string>& ranking, const QueryRelevance& relevance, int k);

// Scales each row to unit L2 norm (all-zero rows stay zero), so that dot
// products are cosine similarities.
void L2NormalizeRows(EmbeddingRows& rows);

// Indices of the `k` rows of `candidates` with the largest dot product with
// `query`, best first; ties go to the lower index. With L2NormalizeRows
// applied to both sides this is exact cosine search.
std::vector<size_t> TopKByDotProduct(const std::vector<float>& query,
                                     const EmbeddingRows& candidates, size_t k);

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_EVAL_EVAL_METRICS_H_
