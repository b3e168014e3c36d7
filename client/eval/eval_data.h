// Readers of the evaluation data sets of `llm2vec eval`, and seeded
// subsampling and splitting. Errors are InvalidArgument (NotFound for a
// missing file) with "file:line: what is wrong" for a malformed row.
//
//   STS pairs        STS-B's tab-separated files (score, sentence1, sentence2
//                    in fields 4, 5, 6; extra trailing fields ignored), or
//                    plain "score<TAB>sentence1<TAB>sentence2"
//   labelled texts   CSV with a header naming a text column and a label
//                    column ("text,label"; Banking77's "text,category")
//   BEIR folder      corpus.jsonl, queries.jsonl, qrels/<split>.tsv
#ifndef LLM2VEC_CLIENT_EVAL_EVAL_DATA_H_
#define LLM2VEC_CLIENT_EVAL_EVAL_DATA_H_

#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/eval/eval_metrics.h"

namespace llm2vec {

// ---- STS ----

struct StsPair {
  std::string sentence1;
  std::string sentence2;
  double score = 0;  // gold similarity (STS-B: 0..5)
};

// Splits each line on '\t' only (no quote handling: STS-B sentences contain
// quotes). A line of 7 or more fields is STS-B (fields 4, 5, 6); a line of
// exactly 3 is "score, sentence1, sentence2". Blank lines are skipped; a
// first line whose score is not a number is taken as a header.
absl::StatusOr<std::vector<StsPair>> ParseStsPairs(std::istream& in, const std::string& source);
absl::StatusOr<std::vector<StsPair>> ReadStsPairs(const std::string& path);

// ---- CSV and labelled texts ----

struct CsvRecord {
  int64_t line = 0;  // line of the file where the record starts (1-based)
  std::vector<std::string> fields;
};

// RFC 4180 CSV: fields separated by ',', optionally quoted with '"'; a
// quoted field may hold commas, newlines and doubled quotes (""). Lines end
// in "\n" or "\r\n". Blank lines are skipped. InvalidArgument "source:line"
// for an unterminated quote or text after a closing quote.
absl::StatusOr<std::vector<CsvRecord>> ParseCsv(std::istream& in, const std::string& source);

struct LabeledTexts {
  std::vector<std::string> texts;
  std::vector<std::string> labels;  // (texts.size())
};

// CSV with a header: the text is the column named "text" (else "sentence"),
// the label the column named "label" (else "category", "label_text").
// Every row must have the header's number of fields and a non-empty text
// and label.
absl::StatusOr<LabeledTexts> ParseLabeledCsv(std::istream& in, const std::string& source);
absl::StatusOr<LabeledTexts> ReadLabeledCsv(const std::string& path);

// The distinct labels, sorted; the class id of a label is its index here.
std::vector<std::string> LabelNames(const std::vector<std::string>& labels);
// Class ids of `labels` in `names` (from LabelNames); -1 for a label not in
// `names`.
std::vector<int> LabelIds(const std::vector<std::string>& labels,
                          const std::vector<std::string>& names);

// ---- BEIR retrieval folders ----

struct BeirDataset {
  // Documents, in corpus.jsonl order; a text is "title text" (just the text
  // when the title is empty), as MTEB gives it to models.
  std::vector<std::string> corpus_ids;
  std::vector<std::string> corpus_texts;
  // The queries that have judgements in the qrels, in queries.jsonl order.
  std::vector<std::string> query_ids;
  std::vector<std::string> query_texts;
  // query id -> (document id -> grade).
  std::map<std::string, QueryRelevance> qrels;
};

// Reads `dir`/corpus.jsonl ({"_id", "title", "text"}), `dir`/queries.jsonl
// ({"_id", "text"}) and `dir`/qrels/`split`.tsv (header "query-id
// corpus-id score", then tab-separated rows). Ids may be JSON strings or
// integers. A qrels row naming an unknown query is an error; one naming an
// unknown document is kept (it counts as not retrieved).
absl::StatusOr<BeirDataset> ReadBeirFolder(const std::string& dir,
                                           const std::string& split = "test");

// ---- Seeded selection ----

// `max` of the indices 0..n-1 drawn without replacement with `seed`, in
// increasing order; all of them when max == 0 or max >= n.
std::vector<size_t> SeededSubsample(size_t n, size_t max, uint64_t seed);

struct TrainTestSplit {
  std::vector<size_t> train;  // increasing
  std::vector<size_t> test;   // increasing
};

// Stratified split: of each label's rows, round(test_fraction * count) go
// to test, chosen with `seed`, but at least one row of a label stays in
// train (a label with 2+ rows also gets one in test when test_fraction > 0).
TrainTestSplit StratifiedSplit(const std::vector<std::string>& labels, double test_fraction,
                               uint64_t seed);

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_EVAL_EVAL_DATA_H_
