// `llm2vec`: the project's command line tool.
//
//   llm2vec encode    embed texts offline with a local model
//   llm2vec tokenize  print token ids
//   llm2vec generate  greedy decoding (a check of the causal path)
//
// Standard output carries only results; logs and progress go to stderr.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/eval/eval_command.h"
#include "client/remote_commands.h"
#include "client/training_commands.h"
#include "common/api_keys.h"
#include "common/cli_common.h"
#include "common/flags.h"
#include "common/text_input.h"
#include "model/hub/resolve_model_path.h"
#include "model/nn/encoder.h"
#include "model/nn/model_loader.h"
#include "model/nn/tensor_io.h"
#include "model/tokenizer/tokenizer.h"
#include "model/train/sentences.h"

namespace llm2vec {
namespace {

constexpr char kUsage[] =
    "Usage: llm2vec <command> [flags]\n"
    "\n"
    "Turns a decoder-only LLM (Llama, Mistral, Qwen2) into a text encoder with\n"
    "LLM2Vec: bidirectional attention, mean pooling over the text's tokens,\n"
    "optional LoRA adapters (MNTP, SimCSE).\n"
    "\n"
    "Offline commands (a local model, no server):\n"
    "  encode     embed texts\n"
    "  tokenize   print the token ids of texts (also --server)\n"
    "  generate   greedy decoding from BOS (checks the causal path)\n"
    "  sentences  split documents into sentences, one per line (SimCSE's data)\n"
    "\n"
    "Commands against a running llm2vec-server (--server HOST:PORT, --api-key KEY):\n"
    "  embed      embed texts (same input and output forms as encode)\n"
    "  similarity cosine similarity of pairs, or ranking against a query\n"
    "  info       what the server serves\n"
    "  adapters   list, load or unload named LoRA adapters (admin)\n"
    "  bench      load generator: throughput and latency percentiles\n"
    "\n"
    "Adapter training jobs on a running llm2vec-server (--server HOST:PORT; llm2vec-train\n"
    "trains without a server):\n"
    "  train      submit an MNTP, SimCSE or supervised LoRA training job and watch it\n"
    "  jobs       list, get, cancel, resume or watch training jobs\n"
    "\n"
    "Operators:\n"
    "  api-key    make an API key and its line for the server's --api-keys file\n"
    "\n"
    "Evaluation (local model with --model, or a server with --server):\n"
    "  eval       MTEB-style scores: sts, classification, clustering, retrieval\n"
    "\n"
    "Run `llm2vec <command> --help` for the flags of a command.\n"
    "Exit codes: 0 success, 1 the work failed (server, file, data or job), 2 bad command line.\n";

// Output to --output (or stdout).
class Output {
 public:
  absl::Status Open(const std::string& path) {
    if (path.empty() || path == "-") return absl::OkStatus();
    file_ = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
    if (!*file_) return absl::PermissionDeniedError(absl::StrCat("--output: cannot write '", path, "'"));
    return absl::OkStatus();
  }
  std::ostream& stream() { return file_ ? *file_ : std::cout; }

 private:
  std::unique_ptr<std::ofstream> file_;
};

struct ModelFlags {
  std::string model;
  std::vector<std::string> adapters;
  std::string device = "cpu";
  std::string dtype = "float32";
  int64_t threads = 0;

  void Register(FlagSet& flags) {
    flags.String("model", &model, "PATH_OR_ID",
                 "model: Hugging Face folder, .gguf file, PEFT adapter folder, or hub id "
                 "org/name[@rev] from the local cache",
                 true);
    flags.List("adapter", &adapters, "DIR", "LoRA adapter folder (PEFT) merged into the weights, in order");
    flags.String("device", &device, "DEVICE", "cpu, cuda or cuda:N");
    flags.String("dtype", &dtype, "DTYPE", "compute dtype");
    flags.Choices("dtype", {"float32", "bfloat16", "float16"});
    flags.Int("threads", &threads, "N", "CPU threads (0 = all cores)", 0, 1024);
  }

  absl::StatusOr<LoadedModel> Load() const {
    LoadOptions options;
    options.device = device;
    options.dtype = dtype;
    options.merge_adapters = adapters;
    auto model = LoadModel(model_ref(), options);
    if (model.ok()) {
      std::cerr << "llm2vec: loaded " << model->path << " (" << model->format << ", "
                << model->transformer->config().architecture << ", "
                << model->transformer->WeightBytes() / 1e6 << " MB " << dtype << " on " << device
                << ", " << adapters.size() << " adapter(s)) in " << model->load_seconds << " s\n";
    }
    return model;
  }
  const std::string& model_ref() const { return model; }
};

int RunEncode(int argc, char** argv) {
  FlagSet flags("llm2vec encode",
                "Embeds texts offline. Reads one text per line (stdin by default), or JSON lines\n"
                "{\"text\": ..., \"instruction\": ...} with --jsonl or an --input ending in .jsonl.\n"
                "Writes JSON lines {\"index\":i,\"tokens\":n,\"embedding\":[...]} (with --pooling none:\n"
                "{\"index\":i,\"tokens\":n,\"token_states\":[[...],...]}, one row per token, BOS included).",
                "LLM2VEC_");
  ModelFlags model_flags;
  model_flags.Register(flags);
  std::string attention = "bidirectional", pooling, instruction, input, output;
  bool normalize = false, jsonl = false;
  int64_t dimensions = 0, batch_tokens = 0, max_length = 0;
  flags.String("attention", &attention, "MODE", "attention mode");
  flags.Choices("attention", {"bidirectional", "causal"});
  flags.String("pooling", &pooling, "MODE",
               "pooling over the text's tokens [default: llm2vec_config.json's, else mean]");
  flags.Choices("pooling", {"mean", "weighted_mean", "last_token", "eos_token", "bos_token", "none"});
  flags.String("instruction", &instruction, "TEXT",
               "instruction for every input without its own (attended to, not pooled)");
  flags.Bool("normalize", &normalize, "L2-normalise each embedding");
  flags.Int("dimensions", &dimensions, "N", "keep the first N values (Matryoshka); 0 keeps all", 0);
  flags.Int("max-length", &max_length, "N",
            "tokens per input, BOS included [default: llm2vec_config.json's, else 512]", 0);
  flags.Int("batch-tokens", &batch_tokens, "N",
            "padded tokens per forward pass (0 = sized to the model and device)", 0);
  flags.String("input", &input, "FILE", "input file [default: stdin]");
  flags.String("output", &output, "FILE", "output file [default: stdout]");
  flags.Bool("jsonl", &jsonl, "read JSON lines even if --input does not end in .jsonl");
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;

  EncodeOptions options;
  options.attention =
      attention == "causal" ? AttentionMode::kCausal : AttentionMode::kBidirectional;
  options.normalize = normalize;
  options.dimensions = dimensions;
  auto records = ReadInputRecords(input, jsonl);
  if (!records.ok()) return CliFail(std::string(records.status().message()));
  Output out;
  if (auto s = out.Open(output); !s.ok()) return CliFail(std::string(s.message()));

  auto model = model_flags.Load();
  if (!model.ok()) return CliFail(std::string(model.status().message()));
  Encoder::Options encoder_options;
  auto cfg = Llm2VecConfigOf(*model);
  if (!cfg.ok()) return CliFail(std::string(cfg.status().message()));
  encoder_options.llm2vec = *cfg;
  if (max_length > 0) encoder_options.llm2vec.max_length = max_length;
  encoder_options.max_batch_tokens = batch_tokens;
  encoder_options.num_threads = static_cast<int>(model_flags.threads);
  auto encoder = Encoder::Create(std::move(*model), encoder_options);
  if (!encoder.ok()) return CliFail(std::string(encoder.status().message()));
  if (pooling.empty()) {
    options.pooling = (*encoder)->default_pooling();
  } else {
    options.pooling = *ParsePoolingMode(pooling);
  }
  if (dimensions > (*encoder)->transformer().config().hidden_size) {
    return CliUsage(absl::StrCat("--dimensions: ", dimensions, " exceeds the hidden size ",
                             (*encoder)->transformer().config().hidden_size));
  }

  // Embed in chunks so output and progress flow while long inputs run.
  constexpr size_t kChunk = 256;
  const auto start = std::chrono::steady_clock::now();
  int64_t total_tokens = 0;
  std::ostream& os = out.stream();
  for (size_t first = 0; first < records->size(); first += kChunk) {
    const size_t last = std::min(records->size(), first + kChunk);
    std::vector<PreparedInput> prepared;
    for (size_t i = first; i < last; ++i) {
      const TextRecord& r = (*records)[i];
      auto p = (*encoder)->Prepare({r.text, r.instruction.empty() ? instruction : r.instruction});
      if (!p.ok()) return CliFail(absl::StrCat("input ", i, ": ", p.status().message()));
      prepared.push_back(std::move(*p));
    }
    auto embeddings = (*encoder)->EncodePrepared(prepared, options);
    if (!embeddings.ok()) {
      return CliFail(absl::StrCat("inputs ", first, "..", last - 1, ": ",
                               embeddings.status().message()));
    }
    const int64_t hidden = (*encoder)->transformer().config().hidden_size;
    for (size_t k = 0; k < embeddings->size(); ++k) {
      const Embedding& e = (*embeddings)[k];
      total_tokens += e.tokens;
      nlohmann::ordered_json j;  // keys in the documented order
      j["index"] = first + k;
      j["tokens"] = e.tokens;
      if (options.pooling == PoolingMode::kNone) {
        nlohmann::ordered_json rows = nlohmann::ordered_json::array();
        for (int64_t t = 0; t < e.tokens; ++t) {
          rows.push_back(std::vector<float>(e.values.begin() + t * hidden,
                                            e.values.begin() + (t + 1) * hidden));
        }
        j["token_states"] = std::move(rows);
      } else {
        j["embedding"] = e.values;
      }
      os << j.dump() << "\n";
    }
    os.flush();
    if (records->size() > kChunk) {
      std::cerr << "\rllm2vec: embedded " << last << "/" << records->size() << std::flush;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (records->size() > kChunk) std::cerr << "\n";
  std::cerr << "llm2vec: embedded " << records->size() << " texts (" << total_tokens
            << " tokens) in " << secs << " s\n";
  if (!os) return CliFail("write to output failed");
  return 0;
}

int RunTokenize(int argc, char** argv) {
  FlagSet flags("llm2vec tokenize",
                "Prints {\"index\":i,\"ids\":[...]} per input text (same input forms as encode).",
                "LLM2VEC_");
  std::string model, tokenizer_path, input;
  ServerConnection server;
  server.target.clear();  // set: ask the server
  bool no_special = false, jsonl = false;
  flags.String("model", &model, "PATH_OR_ID", "take the tokenizer of this model");
  RegisterConnectionFlags(flags, &server, "ask a running llm2vec-server instead");
  flags.String("tokenizer", &tokenizer_path, "FILE", "a tokenizer.json or .gguf file");
  flags.Bool("no-special-tokens", &no_special, "do not add BOS/EOS from the template");
  flags.String("input", &input, "FILE", "input file [default: stdin]");
  flags.Bool("jsonl", &jsonl, "read JSON lines");
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;
  if (!server.target.empty()) {
    if (!model.empty() || !tokenizer_path.empty()) {
      return CliUsage("give exactly one of --model, --tokenizer or --server");
    }
    auto records = ReadInputRecords(input, jsonl);
    if (!records.ok()) return CliFail(std::string(records.status().message()));
    return RunRemoteTokenize(server, *records, !no_special);
  }
  if (model.empty() == tokenizer_path.empty()) {
    return CliUsage("give exactly one of --model, --tokenizer or --server");
  }
  std::unique_ptr<Tokenizer> tokenizer;
  if (!tokenizer_path.empty()) {
    auto t = Tokenizer::FromFile(tokenizer_path);
    if (!t.ok()) return CliFail(std::string(t.status().message()));
    tokenizer = std::move(*t);
  } else {
    auto path = ResolveModelPath(model);
    if (!path.ok()) return CliFail(std::string(path.status().message()));
    std::string file = *path;
    if (file.size() < 5 || file.substr(file.size() - 5) != ".gguf") file += "/tokenizer.json";
    auto t = Tokenizer::FromFile(file);
    if (!t.ok()) return CliFail(std::string(t.status().message()));
    tokenizer = std::move(*t);
  }
  auto records = ReadInputRecords(input, jsonl);
  if (!records.ok()) return CliFail(std::string(records.status().message()));
  for (size_t i = 0; i < records->size(); ++i) {
    nlohmann::ordered_json j;
    j["index"] = i;
    j["ids"] = tokenizer->Encode((*records)[i].text, !no_special);
    std::cout << j.dump() << "\n";
  }
  return 0;
}

int RunGenerate(int argc, char** argv) {
  FlagSet flags("llm2vec generate",
                "Greedy decoding with causal attention, from BOS (and an optional prompt).\n"
                "Prints the decoded text. A check that the causal path is right.",
                "LLM2VEC_");
  ModelFlags model_flags;
  model_flags.Register(flags);
  int64_t max_tokens = 200;
  std::string prompt;
  flags.Int("max-tokens", &max_tokens, "N", "tokens to generate", 1, 1 << 20);
  flags.String("prompt", &prompt, "TEXT", "text to continue [default: none, start at BOS]");
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;
  auto model = model_flags.Load();
  if (!model.ok()) return CliFail(std::string(model.status().message()));
  Encoder::Options encoder_options;
  encoder_options.num_threads = static_cast<int>(model_flags.threads);
  auto encoder = Encoder::Create(std::move(*model), encoder_options);
  if (!encoder.ok()) return CliFail(std::string(encoder.status().message()));
  const Tokenizer& tok = (*encoder)->tokenizer();
  std::vector<int32_t> ids;
  if (prompt.empty()) {
    if (tok.bos_id() < 0) return CliUsage("the tokenizer has no BOS token; give --prompt");
    ids.push_back(tok.bos_id());
  } else {
    ids = tok.Encode(prompt, /*add_special_tokens=*/true);
  }
  auto generated = (*encoder)->Generate(ids, max_tokens);
  if (!generated.ok()) return CliFail(std::string(generated.status().message()));
  ids.insert(ids.end(), generated->begin(), generated->end());
  std::cout << tok.Decode(ids, /*skip_special_tokens=*/true) << "\n";
  return 0;
}

int RunSentences(int argc, char** argv) {
  FlagSet flags("llm2vec sentences",
                "Turns a document file into SimCSE's data, one sentence per line\n"
                "(llm2vec-train --objective simcse --data). Each line is stripped, then cut\n"
                "after '.', '!' or '?' (and one closing double quote, \" or \xe2\x80\x9d) "
                "followed by\n"
                "whitespace; sentences under --min-words words are dropped. Abbreviations\n"
                "(\"Mr.\") are cut like sentence ends. Streams: any file size.",
                "LLM2VEC_");
  std::string input, output;
  int64_t min_words = 4;
  flags.String("input", &input, "FILE", "documents, one or more lines each", true);
  flags.String("output", &output, "FILE", "sentences, one per line [default: stdout]");
  flags.Int("min-words", &min_words, "N", "drop sentences of fewer words", 1, 1000000);
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;
  std::ifstream in(input, std::ios::binary);
  if (!in) return CliFail(absl::StrCat("--input: cannot open '", input, "'"));
  std::ofstream out_file;
  if (!output.empty()) {
    out_file.open(output, std::ios::binary | std::ios::trunc);
    if (!out_file) return CliFail(absl::StrCat("--output: cannot write '", output, "'"));
  }
  std::ostream& out = output.empty() ? std::cout : out_file;
  int64_t lines = 0, kept = 0, dropped = 0, words = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++lines;
    for (const std::string& sentence : SplitSentences(line, /*min_words=*/1)) {
      const int64_t n = CountWordsIn(sentence);
      if (n < min_words) {
        ++dropped;
        continue;
      }
      out << sentence << '\n';
      ++kept;
      words += n;
    }
  }
  out.flush();
  if (!out) return CliFail(absl::StrCat("--output: write to '", output, "' failed"));
  std::cerr << "llm2vec: " << lines << " lines -> " << kept << " sentences ("
            << dropped << " under " << min_words << " words dropped), "
            << (kept > 0 ? static_cast<double>(words) / static_cast<double>(kept) : 0.0)
            << " words on average\n";
  return 0;
}

int RunApiKey(int argc, char** argv) {
  FlagSet flags(
      "llm2vec api-key",
      "Makes a new API key for a server with --api-keys. The key file line (NAME ROLES\n"
      "SHA256: the key's hash, never the key) goes to stdout, so\n"
      "  llm2vec api-key --name search --roles embed >> keys.txt\n"
      "appends it; the key itself goes to stderr, shown once: give it to the client\n"
      "(LLM2VEC_API_KEY, or 'authorization: Bearer KEY'). Then send the server SIGHUP.\n"
      "Roles: embed (Embed, Similarity, Tokenize, Info, /v1/*), train (training jobs of\n"
      "its own), admin (everything: adapters, any job).",
      "");
  std::string name, roles_text;
  flags.String("name", &name, "NAME", "who the key is for (1-64 of A-Z a-z 0-9 . _ -)", true);
  flags.String("roles", &roles_text, "ROLES", "comma-separated: embed, train, priority (may send priority 1), admin", true);
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;
  auto roles = ParseRoles(roles_text);
  if (!roles.ok()) return CliUsage(absl::StrCat("--roles: ", roles.status().message()));
  auto key = GenerateApiKey();
  if (!key.ok()) return CliFail(std::string(key.status().message()));
  auto line = ApiKeyFileLine(name, *roles, *key);
  if (!line.ok()) return CliUsage(absl::StrCat("--name: ", line.status().message()));
  std::cout << *line << "\n";
  std::cerr << "API key for " << name << " (shown once; the file holds only its hash):\n"
            << *key << "\n";
  return 0;
}

}  // namespace
}  // namespace llm2vec

int main(int argc, char** argv) {
  llm2vec::UsePassiveOpenMpWaits(argv);
  llm2vec::TuneHostMalloc();
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    std::cout << llm2vec::kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command == "encode") return llm2vec::RunEncode(argc, argv);
  if (command == "tokenize") return llm2vec::RunTokenize(argc, argv);
  if (command == "generate") return llm2vec::RunGenerate(argc, argv);
  if (command == "embed") return llm2vec::RunRemoteEmbed(argc, argv);
  if (command == "similarity") return llm2vec::RunRemoteSimilarity(argc, argv);
  if (command == "info") return llm2vec::RunRemoteInfo(argc, argv);
  if (command == "bench") return llm2vec::RunBench(argc, argv);
  if (command == "eval") return llm2vec::RunEval(argc, argv);
  if (command == "train") return llm2vec::RunRemoteTrain(argc, argv);
  if (command == "jobs") return llm2vec::RunJobs(argc, argv);
  if (command == "adapters") return llm2vec::RunAdapters(argc, argv);
  if (command == "api-key") return llm2vec::RunApiKey(argc, argv);
  if (command == "sentences") return llm2vec::RunSentences(argc, argv);
  return llm2vec::CliUsage(absl::StrCat("unknown command '", command, "' (see llm2vec --help)"));
}
