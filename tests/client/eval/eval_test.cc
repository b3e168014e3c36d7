// Tests of `llm2vec eval`'s metrics (against values computed by hand),
// data readers (the shared STS-B and Banking77 files, a BEIR folder written
// here) and tasks (over a fake embedder, no model).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/eval/eval_data.h"
#include "client/eval/eval_metrics.h"
#include "client/eval/eval_random.h"
#include "client/eval/eval_tasks.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::TestdataPath;

// ---- Correlation ----

TEST(EvalMetricsTest, AverageRanksShareTies) {
  EXPECT_EQ(AverageRanks({10, 20, 20, 30}), (std::vector<double>{1, 2.5, 2.5, 4}));
  EXPECT_EQ(AverageRanks({3, 1, 3, 3}), (std::vector<double>{3, 1, 3, 3}));
}

TEST(EvalMetricsTest, SpearmanWithTiesMatchesHandComputation) {
  // x = {1, 2, 2, 3} ranks to {1, 2.5, 2.5, 4}; y = {1, 3, 2, 4} to itself.
  // Deviations from the mean rank 2.5: dx = {-1.5, 0, 0, 1.5},
  // dy = {-1.5, 0.5, -0.5, 1.5}: sum dx*dy = 4.5, sum dx^2 = 4.5,
  // sum dy^2 = 5, so rho = 4.5 / sqrt(4.5 * 5) = sqrt(0.9) = 0.9486833.
  EXPECT_NEAR(SpearmanCorrelation({1, 2, 2, 3}, {1, 3, 2, 4}), std::sqrt(0.9), 1e-12);
  // Rank correlation ignores monotone transforms.
  EXPECT_NEAR(SpearmanCorrelation({1, 2, 3, 4, 5}, {1, 8, 27, 64, 125}), 1.0, 1e-12);
  EXPECT_NEAR(SpearmanCorrelation({1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}), -1.0, 1e-12);
  EXPECT_TRUE(std::isnan(SpearmanCorrelation({1, 1, 1}, {1, 2, 3})));
}

TEST(EvalMetricsTest, PearsonAndCosine) {
  // x = {1, 2, 3}, y = {1, 3, 2}: dx = {-1, 0, 1}, dy = {-1, 1, 0}:
  // 1 / sqrt(2 * 2) = 0.5.
  EXPECT_NEAR(PearsonCorrelation({1, 2, 3}, {1, 3, 2}), 0.5, 1e-12);
  EXPECT_NEAR(CosineSimilarity({1, 0}, {1, 1}), 1 / std::sqrt(2.0), 1e-7);
  EXPECT_NEAR(CosineSimilarity({1, 2, 3}, {-2, -4, -6}), -1.0, 1e-7);
  EXPECT_EQ(CosineSimilarity({0, 0}, {1, 1}), 0.0);
}

// ---- Classification ----

TEST(EvalMetricsTest, AccuracyAndMacroF1) {
  // Class 0: tp 1, fp 0, fn 1 -> F1 = 2/3; class 1: tp 2, fp 1, fn 0 ->
  // F1 = 4/5. Macro: (2/3 + 4/5) / 2 = 0.7333...
  EXPECT_NEAR(Accuracy({0, 1, 1, 1}, {0, 0, 1, 1}), 0.75, 1e-12);
  EXPECT_NEAR(MacroF1({0, 1, 1, 1}, {0, 0, 1, 1}), (2.0 / 3 + 0.8) / 2, 1e-12);
  // A class only predicted counts with F1 0: class 2 (fp 1), class 0 (tp 1).
  EXPECT_NEAR(MacroF1({0, 2}, {0, 0}), (2.0 / 3 + 0) / 2, 1e-12);
}

// n points in [-1, 1]^d, labelled by the nearest of `k` fixed directions
// (linearly separable), or at random when `random_labels`.
void MakeClassificationData(size_t n, int d, int k, bool random_labels, uint64_t seed,
                            EmbeddingRows* x, std::vector<int>* y) {
  EvalRandom rng(seed);
  EmbeddingRows directions(k, std::vector<float>(d));
  EvalRandom dir_rng(7);
  for (auto& w : directions) {
    for (float& v : w) v = static_cast<float>(2 * dir_rng.Uniform() - 1);
  }
  while (x->size() < n) {
    std::vector<float> p(d);
    for (float& v : p) v = static_cast<float>(2 * rng.Uniform() - 1);
    std::vector<double> score(k);
    for (int c = 0; c < k; ++c) {
      for (int j = 0; j < d; ++j) score[c] += directions[c][j] * p[j];
    }
    std::vector<double> sorted = score;
    std::sort(sorted.rbegin(), sorted.rend());
    if (sorted[0] - sorted[1] < 0.1) continue;  // keep a margin
    x->push_back(p);
    y->push_back(random_labels ? static_cast<int>(rng.Below(k))
                               : static_cast<int>(std::max_element(score.begin(), score.end()) -
                                                  score.begin()));
  }
}

TEST(EvalMetricsTest, LogisticRegressionSeparatesLinearlySeparableData) {
  EmbeddingRows train_x, test_x;
  std::vector<int> train_y, test_y;
  MakeClassificationData(600, 6, 4, false, 1, &train_x, &train_y);
  MakeClassificationData(400, 6, 4, false, 2, &test_x, &test_y);
  auto model = LogisticRegression::Fit(train_x, train_y, 4, {});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_GE(Accuracy(model->Predict(train_x), train_y), 0.98);
  EXPECT_GE(Accuracy(model->Predict(test_x), test_y), 0.95);
  EXPECT_GT(model->iterations(), 1);
  // Deterministic.
  auto again = LogisticRegression::Fit(train_x, train_y, 4, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->final_loss(), model->final_loss());
  EXPECT_EQ(again->Predict(test_x), model->Predict(test_x));
}

TEST(EvalMetricsTest, LogisticRegressionIsNearChanceOnRandomLabels) {
  EmbeddingRows train_x, test_x;
  std::vector<int> train_y, test_y;
  MakeClassificationData(600, 6, 4, true, 3, &train_x, &train_y);
  MakeClassificationData(1000, 6, 4, true, 4, &test_x, &test_y);
  auto model = LogisticRegression::Fit(train_x, train_y, 4, {});
  ASSERT_TRUE(model.ok()) << model.status();
  const double accuracy = Accuracy(model->Predict(test_x), test_y);
  EXPECT_GT(accuracy, 0.15);
  EXPECT_LT(accuracy, 0.35);  // chance is 0.25
}

TEST(EvalMetricsTest, LogisticRegressionRejectsBadInput) {
  EXPECT_FALSE(LogisticRegression::Fit({}, {}, 2, {}).ok());
  EXPECT_FALSE(LogisticRegression::Fit({{1, 2}, {3}}, {0, 1}, 2, {}).ok());
  auto out_of_range = LogisticRegression::Fit({{1}, {2}}, {0, 2}, 2, {});
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.status().message().find("label 2 of row 1"), std::string::npos);
}

// ---- Clustering ----

TEST(EvalMetricsTest, VMeasureMatchesHandComputation) {
  // Clusters split class 1 in two: homogeneous (h = 1). H(K) = 1.5 ln 2,
  // I(C; K) = H(C) = ln 2, so c = 2/3 and v = 2 * (2/3) / (5/3) = 0.8
  // (scikit-learn's documented v_measure_score([0,0,1,1], [0,0,1,2])).
  ClusteringScores s = VMeasure({0, 0, 1, 1}, {0, 0, 1, 2});
  EXPECT_NEAR(s.homogeneity, 1.0, 1e-12);
  EXPECT_NEAR(s.completeness, 2.0 / 3, 1e-12);
  EXPECT_NEAR(s.v_measure, 0.8, 1e-12);
  // Gold {0,0,0,1,1,1}, clusters {0,0,1,1,2,2}: H(C) = ln 2, H(K) = ln 3,
  // H(C|K) = (1/3) ln 2 (only the middle cluster is mixed), so
  // I = (2/3) ln 2, h = 2/3, c = (2/3) ln 2 / ln 3 = 0.420620,
  // v = 2hc / (h + c) = 0.515803.
  s = VMeasure({0, 0, 0, 1, 1, 1}, {0, 0, 1, 1, 2, 2});
  EXPECT_NEAR(s.homogeneity, 2.0 / 3, 1e-12);
  EXPECT_NEAR(s.completeness, (2.0 / 3) * std::log(2.0) / std::log(3.0), 1e-12);
  EXPECT_NEAR(s.v_measure, 0.515803, 1e-6);
  // Label values are only ids; a clustering independent of the classes
  // scores 0; a single cluster is complete but not homogeneous.
  EXPECT_NEAR(VMeasure({5, 5, 9, 9}, {1, 1, 0, 0}).v_measure, 1.0, 1e-12);
  EXPECT_NEAR(VMeasure({0, 0, 1, 1}, {0, 1, 0, 1}).v_measure, 0.0, 1e-12);
  s = VMeasure({0, 0, 1, 1}, {3, 3, 3, 3});
  EXPECT_NEAR(s.homogeneity, 0.0, 1e-12);
  EXPECT_NEAR(s.completeness, 1.0, 1e-12);
}

TEST(EvalMetricsTest, KMeansRecoversSeparatedBlobs) {
  // Four blobs of 50 points (noise 0.1) around centres 10 apart in 8-D.
  EvalRandom rng(11);
  EmbeddingRows points;
  std::vector<int> gold;
  for (int i = 0; i < 200; ++i) {
    const int blob = i % 4;  // interleaved, so order carries no hint
    std::vector<float> p(8);
    for (int j = 0; j < 8; ++j) {
      p[j] = static_cast<float>((j == blob ? 10.0 : 0.0) + 0.1 * (2 * rng.Uniform() - 1));
    }
    points.push_back(p);
    gold.push_back(blob);
  }
  KMeansOptions options;
  options.k = 4;
  options.seed = 5;
  auto result = KMeans(points, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(VMeasure(gold, result->assignments).v_measure, 1.0, 1e-12);
  EXPECT_LT(result->inertia, 200 * 8 * 0.01);  // only the noise is left
  auto again = KMeans(points, options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->assignments, result->assignments);

  options.k = 201;
  EXPECT_FALSE(KMeans(points, options).ok());
}

// ---- Retrieval ----

TEST(EvalMetricsTest, NdcgAndRecallMatchHandComputation) {
  const QueryRelevance qrels = {{"d1", 2}, {"d2", 1}, {"d3", 1}, {"d9", 0}};
  const std::vector<std::string> ranking = {"d2", "x", "d1", "d9", "y"};
  // DCG = 1/log2(2) + 2/log2(4) = 2; ideal = 2/log2(2) + 1/log2(3) +
  // 1/log2(4) = 3.130930; nDCG@10 = 0.638788.
  EXPECT_NEAR(NdcgAtK(ranking, qrels, 10), 2.0 / (2.0 + 1 / std::log2(3.0) + 0.5), 1e-12);
  EXPECT_NEAR(NdcgAtK(ranking, qrels, 10), 0.638788, 1e-6);
  // @1: DCG 1, ideal 2.
  EXPECT_NEAR(NdcgAtK(ranking, qrels, 1), 0.5, 1e-12);
  EXPECT_NEAR(NdcgAtK({"d1", "d2", "d3"}, qrels, 10), 1.0, 1e-12);
  EXPECT_EQ(NdcgAtK({"d9"}, {{"d9", 0}}, 10), 0.0);
  EXPECT_NEAR(RecallAtK(ranking, qrels, 10), 2.0 / 3, 1e-12);
  EXPECT_NEAR(RecallAtK(ranking, qrels, 2), 1.0 / 3, 1e-12);
}

TEST(EvalMetricsTest, TopKByDotProductIsExactAndStable) {
  EmbeddingRows docs = {{1, 0}, {0, 1}, {0.6f, 0.8f}, {1, 0}, {-1, 0}};
  L2NormalizeRows(docs);
  EXPECT_EQ(TopKByDotProduct({1, 0}, docs, 3), (std::vector<size_t>{0, 3, 2}));
  EXPECT_EQ(TopKByDotProduct({0, 1}, docs, 10).size(), 5u);
  EXPECT_EQ(TopKByDotProduct({0, 1}, docs, 1), (std::vector<size_t>{1}));
}

// ---- Readers ----

TEST(EvalDataTest, ReadsStsBenchmarkDev) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto pairs = ReadStsPairs(TestdataPath("data/stsb/sts-dev.csv"));
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  ASSERT_EQ(pairs->size(), 1500u);
  for (const StsPair& p : *pairs) {
    EXPECT_GE(p.score, 0.0);
    EXPECT_LE(p.score, 5.0);
    EXPECT_FALSE(p.sentence1.empty());
    EXPECT_FALSE(p.sentence2.empty());
  }
  EXPECT_EQ(pairs->front().score, 5.0);
  EXPECT_EQ(pairs->front().sentence1, "A man with a hard hat is dancing.");
  EXPECT_EQ(pairs->front().sentence2, "A man wearing a hard hat is dancing.");
  // Quotes are text, not CSV quoting (line 268).
  EXPECT_EQ((*pairs)[267].sentence2, "a woman is standing by a pillar where \"u2\" is written.");
}

TEST(EvalDataTest, StsRowsWithTrailingFieldsAndPlainTriples) {
  std::istringstream stsb(
      "g\tf\t2012\t0001\t3.5\tA cat.\tA dog.\textra\tmore\n"
      "\n"
      "g\tf\t2012\t0002\t0\t\"Quoted\tstart.\tend\n");
  auto pairs = ParseStsPairs(stsb, "stsb.tsv");
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  ASSERT_EQ(pairs->size(), 2u);
  EXPECT_EQ((*pairs)[0].sentence2, "A dog.");
  EXPECT_EQ((*pairs)[1].sentence1, "\"Quoted");

  std::istringstream plain("score\ts1\ts2\r\n4.25\tOne.\tTwo.\r\n1\tThree.\tFour.\n");
  pairs = ParseStsPairs(plain, "plain.tsv");
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  ASSERT_EQ(pairs->size(), 2u);  // the header is skipped
  EXPECT_EQ((*pairs)[0].score, 4.25);
  EXPECT_EQ((*pairs)[1].sentence2, "Four.");

  std::istringstream bad_score("1\ta\tb\nhigh\tc\td\n");
  auto error = ParseStsPairs(bad_score, "bad.tsv");
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().message(), "bad.tsv:2: score 'high' is not a number");
  std::istringstream bad_fields("1\ta\tb\n\n2\tc\n");
  error = ParseStsPairs(bad_fields, "bad.tsv");
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.status().message().find("bad.tsv:3: expected 3 tab-separated fields"),
            std::string::npos);
}

TEST(EvalDataTest, CsvQuotingNewlinesAndErrors) {
  std::istringstream in(
      "text,label\r\n"
      "plain,a\r\n"
      "\"with, comma\",b\r\n"
      "\"say \"\"hi\"\"\",c\r\n"
      "\r\n"
      "\"two\nlines\",d\n"
      "last,\"e\"");
  auto records = ParseCsv(in, "x.csv");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 6u);
  EXPECT_EQ((*records)[2].fields, (std::vector<std::string>{"with, comma", "b"}));
  EXPECT_EQ((*records)[3].fields, (std::vector<std::string>{"say \"hi\"", "c"}));
  EXPECT_EQ((*records)[4].fields, (std::vector<std::string>{"two\nlines", "d"}));
  EXPECT_EQ((*records)[4].line, 6);
  EXPECT_EQ((*records)[5].fields, (std::vector<std::string>{"last", "e"}));
  EXPECT_EQ((*records)[5].line, 8);

  std::istringstream unterminated("text,label\nok,a\n\"never closed,b\nmore\n");
  auto error = ParseCsv(unterminated, "u.csv");
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().message(),
            "u.csv:3: quoted field is not closed before the end of the file");
  std::istringstream stray("text,label\n\"a\"b,c\n");
  error = ParseCsv(stray, "s.csv");
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.status().message().find("s.csv:2: text after the closing quote of field 1"),
            std::string::npos);

  std::istringstream short_row("text,label\nfine,a\nno label here\n");
  auto labeled = ParseLabeledCsv(short_row, "l.csv");
  ASSERT_FALSE(labeled.ok());
  EXPECT_EQ(labeled.status().message(), "l.csv:3: expected 2 fields as in the header, got 1");
  std::istringstream no_header("sentence_a,class\nx,y\n");
  labeled = ParseLabeledCsv(no_header, "h.csv");
  ASSERT_FALSE(labeled.ok());
  EXPECT_NE(labeled.status().message().find("h.csv:1: the header 'sentence_a,class'"),
            std::string::npos);
}

TEST(EvalDataTest, ReadsBanking77) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto data = ReadLabeledCsv(TestdataPath("data/banking77/train.csv"));
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->texts.size(), 10003u);
  ASSERT_EQ(data->labels.size(), 10003u);
  const std::vector<std::string> names = LabelNames(data->labels);
  EXPECT_EQ(names.size(), 77u);
  EXPECT_EQ(data->texts.front(), "I am still waiting on my card?");
  EXPECT_EQ(data->labels.front(), "card_arrival");
  EXPECT_EQ(data->labels.back(), "country_support");
  // A quoted text with commas and doubled quotes (file line 696 on) ...
  EXPECT_EQ(data->texts[694],
            "I'm pretty frustrated about a pound charge that keeps  showing up in my account "
            "statement. It's listed in the app as \"pending\", it never changes, and now I'm "
            "thinking someone's hacked my account!");
  EXPECT_EQ(data->labels[694], "extra_charge_on_statement");
  // ... and one spanning several lines.
  EXPECT_EQ(data->texts[1290], "\nI can't seem to be able to use my card\n\n\n");
  EXPECT_EQ(data->labels[1290], "card_not_working");
  // The labels are the data set's categories.
  const nlohmann::json categories = testing::LoadJson("data/banking77/categories.json");
  std::set<std::string> expected;
  for (const auto& c : categories) expected.insert(c.get<std::string>());
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), expected);
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("eval_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_ / "qrels");
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
    return (path_ / name).string();
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Three documents, three queries of which two are judged.
void WriteBeirFolder(const TempDir& dir) {
  dir.Write("corpus.jsonl",
            "{\"_id\": \"d1\", \"title\": \"Cats\", \"text\": \"cats purr softly\"}\n"
            "{\"_id\": 2, \"title\": \"\", \"text\": \"dogs bark loudly\"}\n"
            "\n"
            "{\"_id\": \"d3\", \"text\": \"fish swim silently\"}\n");
  dir.Write("queries.jsonl",
            "{\"_id\": \"q1\", \"text\": \"purr\"}\n"
            "{\"_id\": \"q2\", \"text\": \"bark\"}\n"
            "{\"_id\": \"q3\", \"text\": \"unjudged\"}\n");
  dir.Write("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\t2\t2\nq2\td3\t0\n");
}

TEST(EvalDataTest, ReadsBeirFolder) {
  TempDir dir;
  WriteBeirFolder(dir);
  auto data = ReadBeirFolder(dir.path());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->corpus_ids, (std::vector<std::string>{"d1", "2", "d3"}));
  EXPECT_EQ(data->corpus_texts,
            (std::vector<std::string>{"Cats cats purr softly", "dogs bark loudly",
                                      "fish swim silently"}));
  EXPECT_EQ(data->query_ids, (std::vector<std::string>{"q1", "q2"}));
  EXPECT_EQ(data->query_texts, (std::vector<std::string>{"purr", "bark"}));
  EXPECT_EQ(data->qrels.at("q2"), (QueryRelevance{{"2", 2}, {"d3", 0}}));

  dir.Write("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq7\td1\t1\n");
  auto error = ReadBeirFolder(dir.path());
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().message(),
            dir.path() + "/qrels/test.tsv:3: query 'q7' is not in queries.jsonl");
  dir.Write("corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"x\"}\nnot json\n");
  error = ReadBeirFolder(dir.path());
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().message(), dir.path() + "/corpus.jsonl:2: not a JSON object");
  EXPECT_EQ(ReadBeirFolder(dir.path() + "/missing").status().code(), absl::StatusCode::kNotFound);
}

// ---- Seeded selection ----

TEST(EvalDataTest, SeededSubsampleAndStratifiedSplit) {
  const std::vector<size_t> a = SeededSubsample(100, 10, 1);
  EXPECT_EQ(a.size(), 10u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<size_t>(a.begin(), a.end()).size(), 10u);
  EXPECT_EQ(SeededSubsample(100, 10, 1), a);
  EXPECT_NE(SeededSubsample(100, 10, 2), a);
  EXPECT_EQ(SeededSubsample(5, 0, 1).size(), 5u);
  EXPECT_EQ(SeededSubsample(5, 9, 1).size(), 5u);

  std::vector<std::string> labels;
  for (int i = 0; i < 50; ++i) labels.push_back("a");
  for (int i = 0; i < 10; ++i) labels.push_back("b");
  labels.push_back("c");  // a single row stays in train
  const TrainTestSplit split = StratifiedSplit(labels, 0.2, 3);
  std::map<std::string, int> test_count;
  for (size_t i : split.test) ++test_count[labels[i]];
  EXPECT_EQ(test_count["a"], 10);
  EXPECT_EQ(test_count["b"], 2);
  EXPECT_EQ(test_count["c"], 0);
  EXPECT_EQ(split.train.size() + split.test.size(), labels.size());
  std::set<size_t> all(split.train.begin(), split.train.end());
  all.insert(split.test.begin(), split.test.end());
  EXPECT_EQ(all.size(), labels.size());
  EXPECT_EQ(StratifiedSplit(labels, 0.2, 3).test, split.test);
  EXPECT_NE(StratifiedSplit(labels, 0.2, 4).test, split.test);
}

// ---- Tasks over a fake embedder ----

// Bag of words: each word adds 1 to a dimension chosen by its FNV-1a hash
// (the same on every platform). The instruction is ignored, and every call
// is recorded.
class BagOfWordsEmbedder : public TextEmbedder {
 public:
  absl::StatusOr<EmbeddingRows> Embed(const std::vector<TextRecord>& inputs) override {
    calls.push_back(inputs);
    EmbeddingRows rows;
    for (const TextRecord& r : inputs) {
      if (r.text == "FAIL") return absl::InvalidArgumentError("input 0 is FAIL");
      std::vector<float> v(256, 0.0f);
      for (absl::string_view w : absl::StrSplit(r.text, ' ', absl::SkipEmpty())) {
        uint32_t h = 2166136261u;
        for (char c : w) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
        v[h % 256] += 1;
      }
      rows.push_back(v);
    }
    return rows;
  }
  std::vector<std::vector<TextRecord>> calls;
};

TEST(EvalTasksTest, StsScoresAMonotoneEmbedderAt100) {
  // Cosine of the bags of words falls with the gold score.
  const std::vector<StsPair> pairs = {{"a b c d", "a b c d", 5},
                                      {"a b c d", "a b c x", 4},
                                      {"a b c d", "a b x y", 3},
                                      {"a b c d", "a x y z", 1.5},
                                      {"a b c d", "w x y z", 0}};
  BagOfWordsEmbedder embedder;
  EvalOptions options;
  options.instruction = "Retrieve a similar sentence";
  options.batch = 4;
  auto result = EvaluateSts(pairs, embedder, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->main_metric, "spearman");
  EXPECT_NEAR(result->main_score(), 100.0, 1e-9);
  EXPECT_EQ(result->texts_embedded, 5);  // "a b c d" once
  ASSERT_EQ(embedder.calls.size(), 2u);  // batches of 4 and 1
  EXPECT_EQ(embedder.calls[0].size(), 4u);
  for (const auto& call : embedder.calls) {
    for (const TextRecord& r : call) EXPECT_EQ(r.instruction, options.instruction);
  }
}

TEST(EvalTasksTest, EmbedderErrorsNameTheBatch) {
  BagOfWordsEmbedder embedder;
  EvalOptions options;
  options.batch = 2;
  auto result = EvaluateSts({{"a", "b", 1}, {"FAIL", "c", 2}}, embedder, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "embedding texts 2..3 (of 4 distinct): input 0 is FAIL");
}

LabeledTexts ThreeTopics(int per_label, int offset) {
  LabeledTexts data;
  for (int i = 0; i < per_label; ++i) {
    const std::string n = std::to_string(offset + i);
    data.texts.push_back("card lost stolen card w" + n);
    data.labels.push_back("lost_card");
    data.texts.push_back("transfer money account transfer v" + n);
    data.labels.push_back("transfer");
    data.texts.push_back("exchange rate currency fee u" + n);
    data.labels.push_back("exchange");
  }
  return data;
}

TEST(EvalTasksTest, ClassificationAndClusteringOnSeparableTopics) {
  BagOfWordsEmbedder embedder;
  EvalOptions options;
  auto classified =
      EvaluateClassification(ThreeTopics(20, 0), ThreeTopics(5, 100), embedder, options);
  ASSERT_TRUE(classified.ok()) << classified.status();
  EXPECT_EQ(classified->main_metric, "accuracy");
  EXPECT_NEAR(classified->main_score(), 100.0, 1e-9);
  EXPECT_NEAR(classified->scores[1].second, 100.0, 1e-9);  // f1
  EXPECT_TRUE(classified->warnings.empty());  // converged within 100 iterations

  // Stopped at its cap: said, with the flag that raises it.
  options.logistic.max_iterations = 1;
  auto capped =
      EvaluateClassification(ThreeTopics(20, 0), ThreeTopics(5, 100), embedder, options);
  ASSERT_TRUE(capped.ok()) << capped.status();
  ASSERT_EQ(capped->warnings.size(), 1u);
  EXPECT_NE(capped->warnings[0].find("stopped at its cap of 1 L-BFGS iterations"),
            std::string::npos)
      << capped->warnings[0];
  EXPECT_NE(capped->warnings[0].find("--max-iterations"), std::string::npos);
  options.logistic.max_iterations = 100;

  auto clustered = EvaluateClustering(ThreeTopics(10, 0), embedder, options);
  ASSERT_TRUE(clustered.ok()) << clustered.status();
  EXPECT_EQ(clustered->main_metric, "v_measure");
  EXPECT_NEAR(clustered->main_score(), 100.0, 1e-9);
}

TEST(EvalTasksTest, RetrievalInstructsQueriesOnly) {
  TempDir dir;
  WriteBeirFolder(dir);
  auto data = ReadBeirFolder(dir.path());
  ASSERT_TRUE(data.ok()) << data.status();
  BagOfWordsEmbedder embedder;
  EvalOptions options;
  options.instruction = "Given a word, find the document";
  auto result = EvaluateRetrieval(*data, embedder, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->main_metric, "ndcg_at_10");
  EXPECT_NEAR(result->main_score(), 100.0, 1e-9);  // each query's word is in its document
  EXPECT_NEAR(result->scores[1].second, 100.0, 1e-9);
  std::map<std::string, std::string> instruction_of;
  for (const auto& call : embedder.calls) {
    for (const TextRecord& r : call) instruction_of[r.text] = r.instruction;
  }
  EXPECT_EQ(instruction_of.at("dogs bark loudly"), "");
  EXPECT_EQ(instruction_of.at("bark"), options.instruction);
  EXPECT_EQ(instruction_of.count("unjudged"), 0u);
}

}  // namespace
}  // namespace llm2vec
