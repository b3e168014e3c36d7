#include "client/eval/eval_data.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/eval/eval_random.h"

namespace llm2vec {
namespace {

absl::Status RowError(const std::string& source, int64_t line, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ":", line, ": ", what));
}

absl::StatusOr<std::ifstream> OpenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  return in;
}

// A JSON id (string or integer) as a string; "" when absent or another type.
std::string JsonId(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer()) return std::to_string(j.get<int64_t>());
  if (j.is_number_unsigned()) return std::to_string(j.get<uint64_t>());
  return "";
}

// Calls `fn(line_no, json_object)` for each non-blank line of a JSON-lines
// file.
template <typename Fn>
absl::Status ForEachJsonLine(const std::string& path, Fn fn) {
  auto in = OpenFile(path);
  if (!in.ok()) return in.status();
  std::string line;
  int64_t line_no = 0;
  while (std::getline(*in, line)) {
    ++line_no;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return RowError(path, line_no, "not a JSON object");
    if (auto s = fn(line_no, j); !s.ok()) return s;
  }
  if (in->bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return absl::OkStatus();
}

// The string field `key` of `j` ("" when absent or null); an error for
// another type.
absl::StatusOr<std::string> StringField(const nlohmann::json& j, const char* key,
                                        const std::string& path, int64_t line) {
  if (!j.contains(key) || j[key].is_null()) return std::string();
  if (!j[key].is_string()) {
    return RowError(path, line, absl::StrCat("\"", key, "\" must be a string"));
  }
  return j[key].get<std::string>();
}

}  // namespace

// ---- STS ----

absl::StatusOr<std::vector<StsPair>> ParseStsPairs(std::istream& in, const std::string& source) {
  std::vector<StsPair> pairs;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    size_t score_field = 0;
    if (fields.size() >= 7) {
      score_field = 4;  // STS-B: genre, file, year, id, score, s1, s2[, extra...]
    } else if (fields.size() != 3) {
      return RowError(source, line_no,
                      absl::StrCat("expected 3 tab-separated fields (score, sentence1, "
                                   "sentence2) or 7 or more (STS-B), got ",
                                   fields.size()));
    }
    StsPair pair;
    const std::string& score = fields[score_field];
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(score), &pair.score) ||
        !std::isfinite(pair.score)) {
      if (pairs.empty() && line_no == 1) continue;  // a header line
      return RowError(source, line_no, absl::StrCat("score '", score, "' is not a number"));
    }
    pair.sentence1 = fields[score_field + 1];
    pair.sentence2 = fields[score_field + 2];
    if (pair.sentence1.empty() || pair.sentence2.empty()) {
      return RowError(source, line_no, "empty sentence");
    }
    pairs.push_back(std::move(pair));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(source, ": read error"));
  return pairs;
}

absl::StatusOr<std::vector<StsPair>> ReadStsPairs(const std::string& path) {
  auto in = OpenFile(path);
  if (!in.ok()) return in.status();
  return ParseStsPairs(*in, path);
}

// ---- CSV ----

absl::StatusOr<std::vector<CsvRecord>> ParseCsv(std::istream& in, const std::string& source) {
  std::vector<CsvRecord> records;
  CsvRecord record;
  std::string field;
  bool quoted = false;       // the current field started with a quote
  bool in_quotes = false;    // inside the quotes of the current field
  bool after_quote = false;  // the current field's closing quote was read
  int64_t line = 1;          // line of the next character
  int64_t quote_line = 0;    // where the open quote started
  record.line = 1;

  auto end_field = [&]() {
    record.fields.push_back(std::move(field));
    field.clear();
    quoted = in_quotes = after_quote = false;
  };
  auto end_record = [&]() {
    const bool blank = record.fields.empty() && field.empty() && !quoted;
    end_field();
    if (!blank) records.push_back(std::move(record));
    record = CsvRecord();
    record.line = line;
  };

  int ch;
  while ((ch = in.get()) != EOF) {
    const char c = static_cast<char>(ch);
    if (in_quotes) {
      if (c == '"') {
        if (in.peek() == '"') {
          in.get();
          field += '"';
        } else {
          in_quotes = false;
          after_quote = true;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '\r' && in.peek() == '\n') continue;  // CRLF: the '\n' ends the line
    if (c == ',') {
      end_field();
    } else if (c == '\n') {
      ++line;
      end_record();
    } else if (after_quote) {
      return RowError(
          source, line,
          absl::StrCat("text after the closing quote of field ", record.fields.size() + 1,
                       " (a quote inside a quoted "
                       "field must be doubled)"));
    } else if (c == '"' && field.empty() && !quoted) {
      quoted = in_quotes = true;
      quote_line = line;
    } else {
      field += c;
    }
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(source, ": read error"));
  if (in_quotes) {
    return RowError(source, quote_line, "quoted field is not closed before the end of the file");
  }
  if (!record.fields.empty() || !field.empty() || quoted) end_record();
  return records;
}

absl::StatusOr<LabeledTexts> ParseLabeledCsv(std::istream& in, const std::string& source) {
  auto records = ParseCsv(in, source);
  if (!records.ok()) return records.status();
  if (records->empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": empty file"));
  std::vector<std::string> header = records->front().fields;
  if (!header.empty() && absl::StartsWith(header[0], "\xEF\xBB\xBF")) {
    header[0].erase(0, 3);  // a UTF-8 byte order mark
  }
  auto column = [&](std::initializer_list<const char*> names) -> int {
    for (const char* name : names) {
      for (size_t i = 0; i < header.size(); ++i) {
        if (absl::AsciiStrToLower(absl::StripAsciiWhitespace(header[i])) == name) {
          return static_cast<int>(i);
        }
      }
    }
    return -1;
  };
  const int text_col = column({"text", "sentence"});
  const int label_col = column({"label", "category", "label_text"});
  if (text_col < 0 || label_col < 0) {
    return RowError(source, records->front().line,
                    absl::StrCat("the header '", absl::StrJoin(header, ","),
                                 "' needs a text column (text or sentence) and a label column "
                                 "(label, category or label_text)"));
  }
  LabeledTexts data;
  for (size_t r = 1; r < records->size(); ++r) {
    const CsvRecord& rec = (*records)[r];
    if (rec.fields.size() != header.size()) {
      return RowError(source, rec.line,
                      absl::StrCat("expected ", header.size(), " fields as in the header, got ",
                                   rec.fields.size()));
    }
    const std::string& text = rec.fields[text_col];
    const std::string label(absl::StripAsciiWhitespace(rec.fields[label_col]));
    if (absl::StripAsciiWhitespace(text).empty()) return RowError(source, rec.line, "empty text");
    if (label.empty()) return RowError(source, rec.line, "empty label");
    data.texts.push_back(text);
    data.labels.push_back(label);
  }
  return data;
}

absl::StatusOr<LabeledTexts> ReadLabeledCsv(const std::string& path) {
  auto in = OpenFile(path);
  if (!in.ok()) return in.status();
  return ParseLabeledCsv(*in, path);
}

std::vector<std::string> LabelNames(const std::vector<std::string>& labels) {
  std::set<std::string> names(labels.begin(), labels.end());
  return {names.begin(), names.end()};
}

std::vector<int> LabelIds(const std::vector<std::string>& labels,
                          const std::vector<std::string>& names) {
  std::map<std::string, int> index;
  for (size_t i = 0; i < names.size(); ++i) index[names[i]] = static_cast<int>(i);
  std::vector<int> ids;
  ids.reserve(labels.size());
  for (const std::string& label : labels) {
    auto it = index.find(label);
    ids.push_back(it == index.end() ? -1 : it->second);
  }
  return ids;
}

// ---- BEIR ----

absl::StatusOr<BeirDataset> ReadBeirFolder(const std::string& dir, const std::string& split) {
  BeirDataset data;
  std::set<std::string> seen;

  const std::string corpus_path = dir + "/corpus.jsonl";
  absl::Status s = ForEachJsonLine(corpus_path, [&](int64_t line, const nlohmann::json& j) {
    const std::string id = JsonId(j.value("_id", nlohmann::json()));
    if (id.empty()) return RowError(corpus_path, line, "needs a string or integer \"_id\"");
    if (!seen.insert(id).second) {
      return RowError(corpus_path, line, absl::StrCat("document id '", id, "' repeats"));
    }
    auto title = StringField(j, "title", corpus_path, line);
    if (!title.ok()) return title.status();
    auto text = StringField(j, "text", corpus_path, line);
    if (!text.ok()) return text.status();
    std::string joined = title->empty() ? *text : absl::StrCat(*title, " ", *text);
    data.corpus_ids.push_back(id);
    data.corpus_texts.push_back(std::string(absl::StripAsciiWhitespace(joined)));
    if (data.corpus_texts.back().empty()) {
      return RowError(corpus_path, line, "document has no title and no text");
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (data.corpus_ids.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(corpus_path, ": no documents"));
  }

  std::vector<std::pair<std::string, std::string>> queries;  // (id, text)
  std::set<std::string> query_ids;
  const std::string queries_path = dir + "/queries.jsonl";
  s = ForEachJsonLine(queries_path, [&](int64_t line, const nlohmann::json& j) {
    const std::string id = JsonId(j.value("_id", nlohmann::json()));
    if (id.empty()) return RowError(queries_path, line, "needs a string or integer \"_id\"");
    if (!query_ids.insert(id).second) {
      return RowError(queries_path, line, absl::StrCat("query id '", id, "' repeats"));
    }
    auto text = StringField(j, "text", queries_path, line);
    if (!text.ok()) return text.status();
    if (absl::StripAsciiWhitespace(*text).empty())
      return RowError(queries_path, line, "empty text");
    queries.emplace_back(id, *text);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;

  const std::string qrels_path = absl::StrCat(dir, "/qrels/", split, ".tsv");
  auto in = OpenFile(qrels_path);
  if (!in.ok()) return in.status();
  std::string line;
  int64_t line_no = 0;
  while (std::getline(*in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    if (fields.size() != 3) {
      return RowError(qrels_path, line_no,
                      absl::StrCat("expected 3 tab-separated fields (query-id, corpus-id, "
                                   "score), got ",
                                   fields.size()));
    }
    int grade = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(fields[2]), &grade)) {
      if (line_no == 1) continue;  // the header
      return RowError(qrels_path, line_no,
                      absl::StrCat("score '", fields[2], "' is not an integer"));
    }
    if (query_ids.count(fields[0]) == 0) {
      return RowError(qrels_path, line_no,
                      absl::StrCat("query '", fields[0], "' is not in queries.jsonl"));
    }
    data.qrels[fields[0]][fields[1]] = grade;
  }
  if (in->bad()) return absl::DataLossError(absl::StrCat(qrels_path, ": read error"));
  if (data.qrels.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(qrels_path, ": no judgements"));
  }
  for (auto& [id, text] : queries) {
    if (data.qrels.count(id) == 0) continue;
    data.query_ids.push_back(id);
    data.query_texts.push_back(std::move(text));
  }
  return data;
}

// ---- Seeded selection ----

std::vector<size_t> SeededSubsample(size_t n, size_t max, uint64_t seed) {
  std::vector<size_t> all(n);
  for (size_t i = 0; i < n; ++i) all[i] = i;
  if (max == 0 || max >= n) return all;
  EvalRandom rng(seed);
  rng.Shuffle(all);
  all.resize(max);
  std::sort(all.begin(), all.end());
  return all;
}

TrainTestSplit StratifiedSplit(const std::vector<std::string>& labels, double test_fraction,
                               uint64_t seed) {
  std::map<std::string, std::vector<size_t>> by_label;
  for (size_t i = 0; i < labels.size(); ++i) by_label[labels[i]].push_back(i);
  EvalRandom rng(seed);
  TrainTestSplit split;
  for (auto& [label, rows] : by_label) {
    rng.Shuffle(rows);
    size_t test =
        static_cast<size_t>(std::llround(test_fraction * static_cast<double>(rows.size())));
    if (test_fraction > 0 && rows.size() >= 2) test = std::max<size_t>(test, 1);
    test = std::min(test, rows.size() - 1);  // at least one row to train on
    split.test.insert(split.test.end(), rows.begin(), rows.begin() + static_cast<ptrdiff_t>(test));
    split.train.insert(split.train.end(), rows.begin() + static_cast<ptrdiff_t>(test), rows.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

}  // namespace llm2vec
