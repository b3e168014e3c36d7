// The four MTEB-style tasks of `llm2vec eval`, over any TextEmbedder (a
// running server, a local model, or a fake in tests):
//
//   EvaluateSts             Spearman of cosine vs gold scores
//   EvaluateClassification  logistic regression on frozen embeddings
//   EvaluateClustering      k-means, V-measure against the labels
//   EvaluateRetrieval       exact cosine search, nDCG@10
//
// Scores are percentages (x100), as MTEB's leaderboard shows them.
// Threading: one call at a time per embedder.
#ifndef LLM2VEC_CLIENT_EVAL_EVAL_TASKS_H_
#define LLM2VEC_CLIENT_EVAL_EVAL_TASKS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "client/eval/eval_data.h"
#include "client/eval/eval_metrics.h"
#include "common/text_input.h"

namespace llm2vec {

// Where embeddings come from.
class TextEmbedder {
 public:
  // What embeds, for the record of a run (empty fields: not known).
  struct Setup {
    std::string attention;   // "bidirectional" or "causal"
    std::string pooling;     // the pooling used, never "default"
    std::string dtype;       // compute dtype
    std::string device;      // "cpu", "cuda:0"
    int64_t max_length = 0;  // tokens per input
  };

  virtual ~TextEmbedder() = default;
  // One embedding per input, in order, all of one width. Errors name the
  // offending input's index within `inputs`.
  virtual absl::StatusOr<EmbeddingRows> Embed(const std::vector<TextRecord>& inputs) = 0;
  virtual Setup setup() const { return {}; }
};

struct EvalOptions {
  // Instruction for the texts (STS, classification, clustering) or the
  // queries only (retrieval); "" for none.
  std::string instruction;
  // Texts per TextEmbedder::Embed call.
  size_t batch = 128;
  // Seed of k-means++ (and of what the caller subsamples or splits).
  uint64_t seed = 42;
  // Classification learner.
  LogisticRegressionOptions logistic;
  // k-means runs and iterations (k is the number of labels).
  int kmeans_restarts = 10;
  int kmeans_max_iterations = 300;
  // Cut-off of the retrieval metrics.
  int retrieval_k = 10;
  // Progress bar of the embedding step; null draws none.
  std::ostream* progress = nullptr;
};

struct EvalResult {
  std::string task;         // "sts", "classification", "clustering", "retrieval"
  std::string main_metric;  // the first of `scores`
  // (metric, value x100), main metric first.
  std::vector<std::pair<std::string, double>> scores;
  // What was evaluated: ("pairs", 1500), ("train", 8000), ("labels", 77)...
  std::vector<std::pair<std::string, int64_t>> counts;
  int64_t texts_embedded = 0;  // distinct (instruction, text) inputs embedded
  double embed_seconds = 0;
  double total_seconds = 0;
  // What the caller should know about the scores (e.g. a learner that
  // stopped at its iteration cap).
  std::vector<std::string> warnings;

  double main_score() const { return scores.empty() ? 0 : scores.front().second; }
};

// Embeds `inputs` in batches of options.batch, each distinct (instruction,
// text) once, drawing the progress bar. Fails on an embedder error (naming
// the input index) or rows of different widths.
absl::StatusOr<EmbeddingRows> EmbedAll(TextEmbedder& embedder,
                                       const std::vector<TextRecord>& inputs,
                                       const EvalOptions& options, EvalResult* stats);

// Scores: spearman (main), pearson.
absl::StatusOr<EvalResult> EvaluateSts(const std::vector<StsPair>& pairs, TextEmbedder& embedder,
                                       const EvalOptions& options);

// Trains on `train`, tests on `test`; classes are the labels of both.
// Scores: accuracy (main), f1 (macro).
absl::StatusOr<EvalResult> EvaluateClassification(const LabeledTexts& train,
                                                  const LabeledTexts& test, TextEmbedder& embedder,
                                                  const EvalOptions& options);

// k = the number of distinct labels. Scores: v_measure (main),
// homogeneity, completeness.
absl::StatusOr<EvalResult> EvaluateClustering(const LabeledTexts& data, TextEmbedder& embedder,
                                              const EvalOptions& options);

// Every judged query against the whole corpus. Scores: ndcg_at_<k> (main),
// recall_at_<k>, averaged over the queries.
absl::StatusOr<EvalResult> EvaluateRetrieval(const BeirDataset& data, TextEmbedder& embedder,
                                             const EvalOptions& options);

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_EVAL_EVAL_TASKS_H_
