#include "client/eval/eval_tasks.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/progress_bar.h"

namespace llm2vec {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<TextRecord> WithInstruction(const std::vector<std::string>& texts,
                                        const std::string& instruction) {
  std::vector<TextRecord> records;
  records.reserve(texts.size());
  for (const std::string& t : texts) records.push_back({t, instruction});
  return records;
}

}  // namespace

absl::StatusOr<EmbeddingRows> EmbedAll(TextEmbedder& embedder,
                                       const std::vector<TextRecord>& inputs,
                                       const EvalOptions& options, EvalResult* stats) {
  const auto start = Clock::now();
  // Each distinct input once (STS files repeat sentences).
  std::map<std::pair<std::string, std::string>, size_t> index;  // (instruction, text) -> unique
  std::vector<size_t> unique_of(inputs.size());
  std::vector<size_t> first_of;  // unique -> first input with it
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto [it, inserted] =
        index.emplace(std::make_pair(inputs[i].instruction, inputs[i].text), first_of.size());
    if (inserted) first_of.push_back(i);
    unique_of[i] = it->second;
  }

  const size_t batch = std::max<size_t>(options.batch, 1);
  EmbeddingRows unique_rows;
  unique_rows.reserve(first_of.size());
  ProgressBar bar(options.progress, "embedding", static_cast<int64_t>(first_of.size()), "texts");
  for (size_t first = 0; first < first_of.size(); first += batch) {
    const size_t last = std::min(first_of.size(), first + batch);
    std::vector<TextRecord> chunk;
    chunk.reserve(last - first);
    for (size_t u = first; u < last; ++u) chunk.push_back(inputs[first_of[u]]);
    auto rows = embedder.Embed(chunk);
    if (!rows.ok()) {
      return absl::Status(rows.status().code(),
                          absl::StrCat("embedding texts ", first, "..", last - 1, " (of ",
                                       first_of.size(), " distinct): ", rows.status().message()));
    }
    if (rows->size() != chunk.size()) {
      return absl::InternalError(absl::StrCat("the embedder returned ", rows->size(),
                                              " embeddings for ", chunk.size(), " texts"));
    }
    for (auto& row : *rows) {
      if (!unique_rows.empty() && row.size() != unique_rows.front().size()) {
        return absl::InternalError(absl::StrCat("the embedder returned rows of ", row.size(),
                                                " and ", unique_rows.front().size(), " values"));
      }
      unique_rows.push_back(std::move(row));
    }
    bar.Advance(static_cast<int64_t>(last - first));
  }
  bar.Finish();

  EmbeddingRows out(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) out[i] = unique_rows[unique_of[i]];
  if (stats != nullptr) {
    stats->texts_embedded += static_cast<int64_t>(first_of.size());
    stats->embed_seconds += SecondsSince(start);
  }
  return out;
}

absl::StatusOr<EvalResult> EvaluateSts(const std::vector<StsPair>& pairs, TextEmbedder& embedder,
                                       const EvalOptions& options) {
  const auto start = Clock::now();
  if (pairs.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("sts: needs at least 2 pairs, got ", pairs.size()));
  }
  EvalResult result;
  result.task = "sts";
  std::vector<TextRecord> inputs;
  inputs.reserve(2 * pairs.size());
  for (const StsPair& p : pairs) {
    inputs.push_back({p.sentence1, options.instruction});
    inputs.push_back({p.sentence2, options.instruction});
  }
  auto rows = EmbedAll(embedder, inputs, options, &result);
  if (!rows.ok()) return rows.status();
  std::vector<double> cosine, gold;
  for (size_t i = 0; i < pairs.size(); ++i) {
    cosine.push_back(CosineSimilarity((*rows)[2 * i], (*rows)[2 * i + 1]));
    gold.push_back(pairs[i].score);
  }
  result.main_metric = "spearman";
  result.scores = {{"spearman", 100 * SpearmanCorrelation(cosine, gold)},
                   {"pearson", 100 * PearsonCorrelation(cosine, gold)}};
  result.counts = {{"pairs", static_cast<int64_t>(pairs.size())}};
  result.total_seconds = SecondsSince(start);
  return result;
}

absl::StatusOr<EvalResult> EvaluateClassification(const LabeledTexts& train,
                                                  const LabeledTexts& test, TextEmbedder& embedder,
                                                  const EvalOptions& options) {
  const auto start = Clock::now();
  if (train.texts.empty() || test.texts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("classification: ", train.texts.size(),
                                                   " training and ", test.texts.size(),
                                                   " test texts; both must be non-empty"));
  }
  std::vector<std::string> all_labels = train.labels;
  all_labels.insert(all_labels.end(), test.labels.begin(), test.labels.end());
  const std::vector<std::string> names = LabelNames(all_labels);
  if (LabelNames(train.labels).size() < 2) {
    return absl::InvalidArgumentError("classification: the training texts have only one label");
  }
  EvalResult result;
  result.task = "classification";
  std::vector<TextRecord> inputs = WithInstruction(train.texts, options.instruction);
  for (const std::string& t : test.texts) inputs.push_back({t, options.instruction});
  auto rows = EmbedAll(embedder, inputs, options, &result);
  if (!rows.ok()) return rows.status();
  EmbeddingRows train_rows(
      std::make_move_iterator(rows->begin()),
      std::make_move_iterator(rows->begin() + static_cast<ptrdiff_t>(train.texts.size())));
  EmbeddingRows test_rows(
      std::make_move_iterator(rows->begin() + static_cast<ptrdiff_t>(train.texts.size())),
      std::make_move_iterator(rows->end()));

  auto model = LogisticRegression::Fit(train_rows, LabelIds(train.labels, names),
                                       static_cast<int>(names.size()), options.logistic);
  if (!model.ok()) return model.status();
  const std::vector<int> predicted = model->Predict(test_rows);
  const std::vector<int> gold = LabelIds(test.labels, names);
  result.main_metric = "accuracy";
  result.scores = {{"accuracy", 100 * Accuracy(predicted, gold)},
                   {"f1", 100 * MacroF1(predicted, gold)}};
  result.counts = {{"train", static_cast<int64_t>(train.texts.size())},
                   {"test", static_cast<int64_t>(test.texts.size())},
                   {"labels", static_cast<int64_t>(names.size())},
                   {"lbfgs_iterations", model->iterations()}};
  if (model->iterations() >= options.logistic.max_iterations) {
    result.warnings.push_back(absl::StrCat(
        "the logistic regression stopped at its cap of ", options.logistic.max_iterations,
        " L-BFGS iterations before its gradient fell below ", options.logistic.gradient_tolerance,
        " (as scikit-learn's max_iter does; MTEB uses 100); raise --max-iterations to fit further"));
  }
  result.total_seconds = SecondsSince(start);
  return result;
}

absl::StatusOr<EvalResult> EvaluateClustering(const LabeledTexts& data, TextEmbedder& embedder,
                                              const EvalOptions& options) {
  const auto start = Clock::now();
  const std::vector<std::string> names = LabelNames(data.labels);
  if (names.size() < 2 || data.texts.size() < names.size()) {
    return absl::InvalidArgumentError(absl::StrCat("clustering: ", data.texts.size(),
                                                   " texts with ", names.size(),
                                                   " labels; needs 2+ labels and a text each"));
  }
  EvalResult result;
  result.task = "clustering";
  auto rows =
      EmbedAll(embedder, WithInstruction(data.texts, options.instruction), options, &result);
  if (!rows.ok()) return rows.status();
  KMeansOptions kmeans;
  kmeans.k = static_cast<int>(names.size());
  kmeans.restarts = options.kmeans_restarts;
  kmeans.max_iterations = options.kmeans_max_iterations;
  kmeans.seed = options.seed;
  auto clusters = KMeans(*rows, kmeans);
  if (!clusters.ok()) return clusters.status();
  const ClusteringScores s = VMeasure(LabelIds(data.labels, names), clusters->assignments);
  result.main_metric = "v_measure";
  result.scores = {{"v_measure", 100 * s.v_measure},
                   {"homogeneity", 100 * s.homogeneity},
                   {"completeness", 100 * s.completeness}};
  result.counts = {{"texts", static_cast<int64_t>(data.texts.size())}, {"clusters", kmeans.k}};
  result.total_seconds = SecondsSince(start);
  return result;
}

absl::StatusOr<EvalResult> EvaluateRetrieval(const BeirDataset& data, TextEmbedder& embedder,
                                             const EvalOptions& options) {
  const auto start = Clock::now();
  if (data.query_ids.empty() || data.corpus_ids.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("retrieval: ", data.query_ids.size(),
                                                   " judged queries and ", data.corpus_ids.size(),
                                                   " documents; both must be non-empty"));
  }
  if (options.retrieval_k < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("retrieval: k is ", options.retrieval_k, "; must be 1 or more"));
  }
  EvalResult result;
  result.task = "retrieval";
  // Documents without the instruction; queries with it.
  auto docs = EmbedAll(embedder, WithInstruction(data.corpus_texts, ""), options, &result);
  if (!docs.ok()) return docs.status();
  auto queries =
      EmbedAll(embedder, WithInstruction(data.query_texts, options.instruction), options, &result);
  if (!queries.ok()) return queries.status();
  L2NormalizeRows(*docs);
  L2NormalizeRows(*queries);

  const size_t k = static_cast<size_t>(options.retrieval_k);
  double ndcg = 0, recall = 0;
  for (size_t q = 0; q < data.query_ids.size(); ++q) {
    std::vector<std::string> ranking;
    for (size_t d : TopKByDotProduct((*queries)[q], *docs, k)) {
      ranking.push_back(data.corpus_ids[d]);
    }
    const QueryRelevance& relevance = data.qrels.at(data.query_ids[q]);
    ndcg += NdcgAtK(ranking, relevance, options.retrieval_k);
    recall += RecallAtK(ranking, relevance, options.retrieval_k);
  }
  const double n = static_cast<double>(data.query_ids.size());
  const std::string suffix = absl::StrCat("_at_", options.retrieval_k);
  result.main_metric = "ndcg" + suffix;
  result.scores = {{"ndcg" + suffix, 100 * ndcg / n}, {"recall" + suffix, 100 * recall / n}};
  result.counts = {{"queries", static_cast<int64_t>(data.query_ids.size())},
                   {"documents", static_cast<int64_t>(data.corpus_ids.size())}};
  result.total_seconds = SecondsSince(start);
  return result;
}

}  // namespace llm2vec
