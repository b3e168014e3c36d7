#include "client/eval/eval_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/eval/eval_data.h"
#include "client/eval/eval_embedders.h"
#include "client/eval/eval_tasks.h"
#include "common/cli_common.h"
#include "common/flags.h"

namespace llm2vec {
namespace {

constexpr char kSummary[] =
    "MTEB-style evaluation of embeddings on local files, from a local model (--model) or\n"
    "a running llm2vec-server (--server). Scores are percentages (x100).\n"
    "\n"
    "  sts             Spearman of cosine similarity vs gold scores. --data: STS-B's\n"
    "                  tab-separated file (score, sentence1, sentence2 in fields 4, 5, 6,\n"
    "                  counted from 0: the 5th to 7th columns) or plain\n"
    "                  \"score<TAB>sentence1<TAB>sentence2\" lines.\n"
    "  classification  accuracy (and macro F1) of a logistic regression trained on the\n"
    "                  embeddings (L2, C=1, L-BFGS, --max-iterations, standardised; a\n"
    "                  warning when it stops at that cap).\n"
    "                  --data: CSV with a header \"text,label\" (or \"text,category\"); tested\n"
    "                  on --test, else on a stratified 20% of --data chosen with --seed.\n"
    "  clustering      V-measure of k-means (k = distinct labels, k-means++, 10 restarts)\n"
    "                  against the labels; --data as for classification.\n"
    "  retrieval       nDCG@10 of exact cosine search; --data: a BEIR folder (corpus.jsonl,\n"
    "                  queries.jsonl, qrels/test.tsv). --instruction applies to queries only.\n"
    "\n"
    "Prints what ran (model, adapters, attention, pooling, dtype, max length, seed) and a\n"
    "table to stdout, progress to stderr (a bar on a terminal, plain lines every 5 s\n"
    "elsewhere), and the same record with the scores as JSON to --output. Several --data\n"
    "files: one embedder, one table, and a JSON array of one record per file.";

// The dataset's name for the table: the file or folder name.
std::string BaseName(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

template <typename T>
std::vector<T> Pick(const std::vector<T>& all, const std::vector<size_t>& indices) {
  std::vector<T> out;
  out.reserve(indices.size());
  for (size_t i : indices) out.push_back(all[i]);
  return out;
}

LabeledTexts Pick(const LabeledTexts& all, const std::vector<size_t>& indices) {
  return {Pick(all.texts, indices), Pick(all.labels, indices)};
}

std::string FormatScore(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

// What was evaluated, for the table: the data file, and the test file
// when there is one.
std::string DataName(const std::string& data, const std::string& test) {
  return test.empty() ? BaseName(data)
                      : absl::StrCat(BaseName(test), " (trained on ", BaseName(data), ")");
}

// The score table, columns aligned: a row per metric of each data set,
// its main metric marked.
void PrintTable(std::ostream& os,
                const std::vector<std::pair<const EvalResult*, std::string>>& results) {
  std::vector<std::vector<std::string>> rows = {{"task", "data", "metric", "score"}};
  std::vector<bool> main = {false};
  for (const auto& [result, data_name] : results) {
    for (size_t m = 0; m < result->scores.size(); ++m) {
      rows.push_back({result->task, data_name, result->scores[m].first,
                      FormatScore(result->scores[m].second)});
      main.push_back(m == 0);
    }
  }
  std::vector<size_t> width(4, 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t c = 0; c < rows[r].size(); ++c) {
      std::string cell = rows[r][c];
      // Scores right-aligned, the rest left-aligned.
      if (c == 3)
        cell.insert(0, width[c] - cell.size(), ' ');
      else if (c + 1 < rows[r].size())
        cell.append(width[c] - cell.size(), ' ');
      line += (c == 0 ? "" : "  ") + cell;
    }
    if (main[r]) line += "  (main)";
    os << line << "\n";
  }
}

}  // namespace

int RunEval(int argc, char** argv) {
  FlagSet flags("llm2vec eval", kSummary, "LLM2VEC_");
  std::string task, test, server, model, instruction, pooling, output;
  std::vector<std::string> data_sets;
  std::string device = "cpu", dtype = "float32", attention = "bidirectional";
  std::vector<std::string> adapters;
  int64_t batch = 128, seed = 42, max_examples = 0, threads = 0, max_length = 0, timeout_s = 120;
  int64_t max_iterations = 100;
  flags.String("task", &task, "TASK", "what to evaluate", true);
  flags.Choices("task", {"sts", "classification", "clustering", "retrieval"});
  flags.List("data", &data_sets, "PATH",
             "the data set: a file, or a BEIR folder for retrieval; several --data (one task, "
             "one embedder) give one table, and --output a JSON array of one record each");
  flags.String("test", &test, "FILE", "classification: the test CSV [default: 20% of --data]");
  ServerConnection connection;
  connection.target.clear();  // set: embed through the server
  RegisterConnectionFlags(flags, &connection, "embed through this llm2vec-server");
  flags.String("model", &model, "PATH_OR_ID",
               "embed offline with this model (folder, .gguf, PEFT adapter folder, hub id)");
  flags.List("adapter", &adapters, "DIR",
             "with --model: PEFT adapter folder merged into the weights, in order; with "
             "--server: the name of an adapter loaded on the server (once)");
  flags.String("instruction", &instruction, "TEXT",
               "instruction before each text (retrieval: before each query only)");
  flags.String("pooling", &pooling, "MODE",
               "pooling [default: the model's llm2vec_config.json, else mean]");
  flags.Choices("pooling", {"mean", "weighted_mean", "last_token", "eos_token", "bos_token"});
  flags.Int("batch", &batch, "N", "texts per embedding call", 1, 1 << 20);
  flags.String("output", &output, "FILE.json", "write the scores as JSON here");
  flags.Int("seed", &seed, "N", "seed of subsampling, the train/test split and k-means", 0);
  flags.Int("max-examples", &max_examples, "N",
            "evaluate on at most N examples (pairs, rows, queries) drawn with --seed; 0 = all", 0);
  flags.String("device", &device, "DEVICE", "with --model: cpu, cuda or cuda:N");
  flags.String("dtype", &dtype, "DTYPE", "with --model: compute dtype");
  flags.Choices("dtype", {"float32", "bfloat16", "float16"});
  flags.Int("threads", &threads, "N", "with --model: CPU threads (0 = all cores)", 0, 1024);
  flags.String("attention", &attention, "MODE",
               "with --model: attention of the forward passes (causal: the Uni baseline; "
               "with --server the server's --attention decides)");
  flags.Choices("attention", {"bidirectional", "causal"});
  flags.Int("max-length", &max_length, "N",
            "with --model: tokens per input; 0 = llm2vec_config.json's, else 512", 0);
  flags.Int("timeout-s", &timeout_s, "S", "with --server: deadline of each call", 1);
  flags.Int("max-iterations", &max_iterations, "N",
            "classification: L-BFGS iterations of the logistic regression (MTEB: 100)", 1,
            1000000);
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;
  server = connection.target;

  // Flag combinations.
  if (server.empty() == model.empty()) return CliUsage("give exactly one of --server or --model");
  if (!server.empty()) {
    for (const char* name : {"device", "dtype", "threads", "max-length", "attention"}) {
      if (flags.IsSet(name)) return CliUsage(absl::StrCat("--", name, ": only with --model"));
    }
    if (adapters.size() > 1) {
      return CliUsage(absl::StrCat("--adapter: with --server, at most one named adapter (got ",
                                  adapters.size(), ")"));
    }
  } else if (flags.IsSet("timeout-s")) {
    return CliUsage("--timeout-s: only with --server");
  }
  if (flags.IsSet("max-iterations") && task != "classification") {
    return CliUsage(absl::StrCat("--max-iterations: only --task classification fits a classifier "
                                 "(task is ", task, ")"));
  }
  if (data_sets.empty()) return CliUsage("--data is required");
  if (!test.empty() && data_sets.size() > 1) {
    return CliUsage("--test: with one --data only (it is that data set's test split)");
  }
  if (!test.empty() && task != "classification") {
    return CliUsage(
        absl::StrCat("--test: only --task classification takes a test file (task is ", task, ")"));
  }

  // Fail before the (slow) evaluation if the output cannot be written.
  std::ofstream out_file;
  if (!output.empty()) {
    out_file.open(output, std::ios::binary | std::ios::trunc);
    if (!out_file) return CliFail(absl::StrCat("--output: cannot write '", output, "'"));
  }

  // Read (and subsample) every data set before loading a model.
  const size_t max_n = static_cast<size_t>(max_examples);
  const uint64_t useed = static_cast<uint64_t>(seed);
  struct TaskData {
    std::string data;
    std::vector<StsPair> sts_pairs;
    LabeledTexts train, test_set;
    BeirDataset beir;
  };
  std::vector<TaskData> sets;
  auto data_error = [&](const std::string& flag, const absl::Status& s) {
    return CliFail(absl::StrCat("--", flag, ": ", s.message()));
  };
  for (const std::string& data : data_sets) {
    TaskData& d = sets.emplace_back();
    d.data = data;
    const std::string flag = data_sets.size() > 1 ? absl::StrCat("data ", data) : "data";
    if (task == "sts") {
      auto pairs = ReadStsPairs(data);
      if (!pairs.ok()) return data_error(flag, pairs.status());
      d.sts_pairs = Pick(*pairs, SeededSubsample(pairs->size(), max_n, useed));
    } else if (task == "classification" || task == "clustering") {
      auto rows = ReadLabeledCsv(data);
      if (!rows.ok()) return data_error(flag, rows.status());
      d.train = Pick(*rows, SeededSubsample(rows->texts.size(), max_n, useed));
      if (task == "classification") {
        if (!test.empty()) {
          auto test_rows = ReadLabeledCsv(test);
          if (!test_rows.ok()) return data_error("test", test_rows.status());
          d.test_set = Pick(*test_rows, SeededSubsample(test_rows->texts.size(), max_n, useed));
        } else {
          const TrainTestSplit split = StratifiedSplit(d.train.labels, 0.2, useed);
          d.test_set = Pick(d.train, split.test);
          d.train = Pick(d.train, split.train);
        }
      }
    } else {
      auto folder = ReadBeirFolder(data);
      if (!folder.ok()) return data_error(flag, folder.status());
      d.beir = std::move(*folder);
      const std::vector<size_t> keep = SeededSubsample(d.beir.query_ids.size(), max_n, useed);
      d.beir.query_ids = Pick(d.beir.query_ids, keep);
      d.beir.query_texts = Pick(d.beir.query_texts, keep);
    }
  }

  // The embedder.
  absl::StatusOr<std::unique_ptr<TextEmbedder>> embedder;
  if (!server.empty()) {
    RemoteEmbedderOptions o;
    o.server = connection;
    o.pooling = pooling;
    o.adapter = adapters.empty() ? "" : adapters.front();
    o.timeout_s = timeout_s;
    embedder = CreateRemoteEmbedder(o);
    if (!embedder.ok()) {
      return CliFail(absl::StrCat("--server ", server, ": ", embedder.status().message()));
    }
  } else {
    LocalEmbedderOptions o;
    o.model = model;
    o.adapters = adapters;
    o.pooling = pooling;
    o.device = device;
    o.dtype = dtype;
    o.threads = static_cast<int>(threads);
    o.max_length = max_length;
    o.causal = attention == "causal";
    embedder = CreateLocalEmbedder(o);
    if (!embedder.ok()) return CliFail(absl::StrCat("--model: ", embedder.status().message()));
  }

  EvalOptions options;
  options.instruction = instruction;
  options.batch = static_cast<size_t>(batch);
  options.seed = useed;
  options.progress = &std::cerr;
  options.logistic.max_iterations = static_cast<int>(max_iterations);
  std::vector<EvalResult> results;
  for (const TaskData& d : sets) {
    absl::StatusOr<EvalResult> result;
    if (task == "sts") {
      result = EvaluateSts(d.sts_pairs, **embedder, options);
    } else if (task == "classification") {
      result = EvaluateClassification(d.train, d.test_set, **embedder, options);
    } else if (task == "clustering") {
      result = EvaluateClustering(d.train, **embedder, options);
    } else {
      result = EvaluateRetrieval(d.beir, **embedder, options);
    }
    if (!result.ok()) {
      return CliFail(absl::StrCat(task, sets.size() > 1 ? absl::StrCat(" on ", d.data) : "", ": ",
                                  result.status().message()));
    }
    std::string counts;
    for (const auto& [name, n] : result->counts) {
      absl::StrAppend(&counts, counts.empty() ? "" : ", ", n, " ", name);
    }
    std::cerr << "llm2vec: " << task << " on " << BaseName(d.data) << " (" << counts
              << "): " << result->texts_embedded << " texts embedded in "
              << FormatScore(result->embed_seconds) << " s, "
              << FormatScore(result->total_seconds) << " s in all\n";
    for (const std::string& w : result->warnings) std::cerr << "llm2vec: warning: " << w << "\n";
    results.push_back(std::move(*result));
  }

  // What ran, then the scores.
  const TextEmbedder::Setup setup = (*embedder)->setup();
  std::cout << "# " << (server.empty() ? absl::StrCat("model ", model) : absl::StrCat("server ", server))
            << ", adapters [" << absl::StrJoin(adapters, ", ") << "], " << setup.attention
            << " attention, " << setup.pooling << " pooling, " << setup.dtype << " on "
            << setup.device << ", max length " << setup.max_length << ", seed " << seed
            << (instruction.empty() ? "" : absl::StrCat(", instruction \"", instruction, "\""))
            << "\n";
  std::vector<std::pair<const EvalResult*, std::string>> rows;
  for (size_t i = 0; i < sets.size(); ++i) {
    rows.emplace_back(&results[i], DataName(sets[i].data, test));
  }
  PrintTable(std::cout, rows);
  std::cout.flush();

  if (out_file.is_open()) {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (size_t i = 0; i < sets.size(); ++i) {
      const EvalResult& result = results[i];
      nlohmann::ordered_json j;
      j["task"] = task;
      j["data"] = sets[i].data;
      j["test"] = test.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(test);
      if (!server.empty()) {
        j["server"] = server;
        j["adapter"] = adapters.empty() ? "" : adapters.front();
      } else {
        j["model"] = model;
        j["adapters"] = adapters;
      }
      // What ran, as the embedder reports it (the server's own settings
      // with --server), not what the flags left to defaults.
      j["attention"] = setup.attention;
      j["pooling"] = setup.pooling;
      j["dtype"] = setup.dtype;
      j["device"] = setup.device;
      j["max_length"] = setup.max_length;
      j["instruction"] = instruction;
      j["seed"] = seed;
      j["max_examples"] = max_examples;
      j["main_metric"] = result.main_metric;
      j["main_score"] = result.main_score();  // NaN is written as null
      nlohmann::ordered_json scores = nlohmann::ordered_json::object();
      for (const auto& [metric, value] : result.scores) scores[metric] = value;
      j["scores"] = scores;
      nlohmann::ordered_json count_json = nlohmann::ordered_json::object();
      for (const auto& [name, n] : result.counts) count_json[name] = n;
      j["counts"] = count_json;
      j["texts_embedded"] = result.texts_embedded;
      j["embed_seconds"] = result.embed_seconds;
      j["total_seconds"] = result.total_seconds;
      j["warnings"] = result.warnings;
      all.push_back(std::move(j));
    }
    // One data set: its record; several: an array of them.
    out_file << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
    out_file.flush();
    if (!out_file) return CliFail(absl::StrCat("--output: write to '", output, "' failed"));
  }
  return 0;
}

}  // namespace llm2vec
