#include "client/remote_commands.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/embedding_client.h"
#include "common/cli_common.h"
#include "common/flags.h"
#include "common/text_input.h"
#include "model/nn/encoder.h"
#include "model/nn/model_loader.h"

namespace llm2vec {
namespace {

// Flags shared by the commands that embed through a server.
struct RemoteFlags {
  ServerConnection connection;
  std::string pooling, adapter, truncate = "end", encoding = "float32";
  bool normalize = false;
  int64_t dimensions = 0, priority = 0, timeout_s = 60;

  void Register(FlagSet& flags, bool with_encoding) {
    RegisterConnectionFlags(flags, &connection, "the llm2vec-server to call");
    flags.String("pooling", &pooling, "MODE", "pooling [default: the server's]");
    flags.Choices("pooling", {"mean", "weighted_mean", "last_token", "eos_token", "bos_token"});
    flags.String("adapter", &adapter, "NAME", "named LoRA adapter loaded on the server");
    flags.Bool("normalize", &normalize, "L2-normalise each embedding");
    flags.Int("dimensions", &dimensions, "N", "keep the first N values (Matryoshka)", 0);
    flags.String("truncate", &truncate, "SIDE", "what to do with too long inputs");
    flags.Choices("truncate", {"none", "end", "start"});
    flags.Int("priority", &priority, "N", "0 normal, 1 high", 0, 1);
    flags.Int("timeout-s", &timeout_s, "S", "deadline of each call", 1);
    if (with_encoding) {
      flags.String("encoding", &encoding, "ENC", "output encoding");
      flags.Choices("encoding", {"float32", "int8", "binary"});
    }
  }

  v1::EmbedOptions Options() const {
    v1::EmbedOptions o;
    if (!pooling.empty()) o.set_pooling(*PoolingToProto(pooling));  // --pooling has Choices
    o.set_normalize(normalize);
    o.set_dimensions(static_cast<uint32_t>(dimensions));
    o.set_truncate(truncate == "none"    ? v1::TRUNCATE_NONE
                   : truncate == "start" ? v1::TRUNCATE_START
                                         : v1::TRUNCATE_END);
    o.set_adapter(adapter);
    o.set_encoding(encoding == "int8"     ? v1::ENCODING_INT8
                   : encoding == "binary" ? v1::ENCODING_BINARY
                                          : v1::ENCODING_FLOAT32);
    o.set_priority(static_cast<int32_t>(priority));
    return o;
  }

  absl::StatusOr<std::unique_ptr<EmbeddingClient>> Connect() const {
    EmbeddingClient::Options o;
    o.connection = connection;
    o.timeout = absl::Seconds(timeout_s);
    return EmbeddingClient::Connect(o);
  }
};

std::string StatusLine(const absl::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

}  // namespace

int RunRemoteEmbed(int argc, char** argv) {
  FlagSet flags("llm2vec embed",
                "Embeds texts through a running llm2vec-server. Same input forms and JSON-lines\n"
                "output as `llm2vec encode`, so the two are interchangeable in scripts.",
                "LLM2VEC_");
  RemoteFlags remote;
  remote.Register(flags, /*with_encoding=*/true);
  std::string instruction, input, output;
  bool jsonl = false;
  int64_t batch = 64;
  flags.String("instruction", &instruction, "TEXT", "instruction for inputs without their own");
  flags.String("input", &input, "FILE", "input file [default: stdin]");
  flags.String("output", &output, "FILE", "output file [default: stdout]");
  flags.Bool("jsonl", &jsonl, "read JSON lines");
  flags.Int("batch", &batch, "N", "inputs per request", 1, 100000);
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;
  auto records = ReadInputRecords(input, jsonl);
  if (!records.ok()) return CliFail(std::string(records.status().message()));
  auto client = remote.Connect();
  if (!client.ok()) return CliFail(std::string(client.status().message()));
  std::ofstream file;
  if (!output.empty() && output != "-") {
    file.open(output, std::ios::binary | std::ios::trunc);
    if (!file) return CliFail(absl::StrCat("--output: cannot write '", output, "'"));
  }
  std::ostream& os = file.is_open() ? file : std::cout;
  for (size_t first = 0; first < records->size(); first += static_cast<size_t>(batch)) {
    const size_t last = std::min(records->size(), first + static_cast<size_t>(batch));
    v1::EmbedRequest request;
    *request.mutable_options() = remote.Options();
    for (size_t i = first; i < last; ++i) {
      auto* in = request.add_inputs();
      in->set_text((*records)[i].text);
      in->set_instruction((*records)[i].instruction.empty() ? instruction
                                                            : (*records)[i].instruction);
    }
    auto response = (*client)->Embed(request);
    if (!response.ok()) {
      return CliFail(absl::StrCat("inputs ", first, "..", last - 1, ": ", StatusLine(response.status())));
    }
    for (int k = 0; k < response->embeddings_size(); ++k) {
      const v1::Embedding& e = response->embeddings(k);
      nlohmann::ordered_json j;
      j["index"] = first + static_cast<size_t>(k);
      j["tokens"] = e.tokens();
      if (remote.encoding == "int8") {
        std::vector<int> q(e.packed().begin(), e.packed().end());
        for (int& v : q) v = static_cast<int8_t>(v);
        j["embedding_int8"] = q;
        j["scale"] = e.scale();
      } else if (remote.encoding == "binary") {
        j["embedding_binary_base64"] = absl::Base64Escape(e.packed());
      } else {
        j["embedding"] = std::vector<float>(e.values().begin(), e.values().end());
      }
      os << j.dump() << "\n";
    }
  }
  os.flush();
  return os ? 0 : CliFail("write to output failed");
}

int RunRemoteSimilarity(int argc, char** argv) {
  FlagSet flags("llm2vec similarity",
                "Cosine similarity through a running server. With --query, ranks the input texts\n"
                "(one per line) against it and prints {\"index\":i,\"score\":s} best first;\n"
                "without, reads tab-separated pairs \"a<TAB>b\" and prints one score per line.",
                "LLM2VEC_");
  RemoteFlags remote;
  remote.Register(flags, /*with_encoding=*/false);
  std::string query, input, instruction;
  int64_t top_k = 0;
  flags.String("query", &query, "TEXT", "rank the inputs against this text");
  flags.String("instruction", &instruction, "TEXT", "instruction for the query");
  flags.Int("top-k", &top_k, "N", "keep the best N (0 = all)", 0);
  flags.String("input", &input, "FILE", "input file [default: stdin]");
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;
  auto records = ReadInputRecords(input, false);
  if (!records.ok()) return CliFail(std::string(records.status().message()));
  auto client = remote.Connect();
  if (!client.ok()) return CliFail(std::string(client.status().message()));
  v1::SimilarityRequest request;
  *request.mutable_options() = remote.Options();
  if (!query.empty()) {
    request.mutable_query()->set_text(query);
    request.mutable_query()->set_instruction(instruction);
    for (const TextRecord& r : *records) request.add_candidates()->set_text(r.text);
    request.set_top_k(static_cast<uint32_t>(top_k));
  } else {
    for (size_t i = 0; i < records->size(); ++i) {
      const std::string& line = (*records)[i].text;
      const size_t tab = line.find('\t');
      if (tab == std::string::npos) {
        return CliFail(absl::StrCat("input line ", i + 1, " has no tab between the two texts"));
      }
      auto* pair = request.add_pairs();
      pair->mutable_a()->set_text(line.substr(0, tab));
      pair->mutable_b()->set_text(line.substr(tab + 1));
    }
  }
  auto response = (*client)->Similarity(request);
  if (!response.ok()) return CliFail(StatusLine(response.status()));
  if (!query.empty()) {
    for (const auto& r : response->ranking()) {
      nlohmann::ordered_json j;
      j["index"] = r.index();
      j["score"] = r.score();
      std::cout << j.dump() << "\n";
    }
  } else {
    for (float s : response->scores()) std::cout << s << "\n";
  }
  return 0;
}

int RunRemoteInfo(int argc, char** argv) {
  FlagSet flags("llm2vec info", "Prints what a running server serves, as JSON.", "LLM2VEC_");
  EmbeddingClient::Options o;
  RegisterConnectionFlags(flags, &o.connection, "the llm2vec-server to call");
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;
  auto client = EmbeddingClient::Connect(o);
  if (!client.ok()) return CliFail(std::string(client.status().message()));
  auto info = (*client)->Info();
  if (!info.ok()) return CliFail(StatusLine(info.status()));
  auto serving = (*client)->Serving();
  nlohmann::ordered_json j;
  j["model_id"] = info->model_id();
  j["architecture"] = info->architecture();
  j["format"] = info->format();
  j["hidden_size"] = info->hidden_size();
  j["num_layers"] = info->num_layers();
  j["dtype"] = info->dtype();
  j["device"] = info->device();
  j["attention"] = info->attention();
  j["default_pooling"] = info->default_pooling();
  j["max_input_tokens"] = info->max_input_tokens();
  j["max_batch_tokens"] = info->max_batch_tokens();
  j["max_batch_requests"] = info->max_batch_requests();
  j["adapters"] = std::vector<std::string>(info->adapters().begin(), info->adapters().end());
  j["version"] = info->version();
  j["serving"] = serving.ok() && *serving;
  std::cout << j.dump(2) << "\n";
  return 0;
}

int RunRemoteTokenize(const ServerConnection& connection, const std::vector<TextRecord>& records,
                      bool add_special) {
  EmbeddingClient::Options o;
  o.connection = connection;
  auto client = EmbeddingClient::Connect(o);
  if (!client.ok()) return CliFail(std::string(client.status().message()));
  v1::TokenizeRequest request;
  request.set_add_special_tokens(add_special);
  for (const TextRecord& r : records) request.add_inputs()->set_text(r.text);
  auto response = (*client)->Tokenize(request);
  if (!response.ok()) return CliFail(StatusLine(response.status()));
  for (int i = 0; i < response->tokens_size(); ++i) {
    nlohmann::ordered_json j;
    j["index"] = i;
    j["ids"] = std::vector<int32_t>(response->tokens(i).ids().begin(),
                                    response->tokens(i).ids().end());
    std::cout << j.dump() << "\n";
  }
  return 0;
}

// One window of load on the server: `concurrency` calls in flight (closed
// loop) or starts at `rate` per second (open loop), for `duration`.
struct LoadWindow {
  double secs = 0;
  std::vector<double> latencies_ms;
  // What the server reported of each OK answer (v1.Timing).
  std::vector<double> server_total_ms, server_inference_ms;
  std::map<std::string, std::vector<double>> errors;  // code -> latencies
  int64_t texts = 0, tokens = 0, sent = 0;
  int64_t skipped = 0;  // open loop: starts due while every slot was busy
};

struct LoadSettings {
  int64_t concurrency = 16, requests = 0, per_request = 1, deadline_ms = 0, timeout_s = 60;
  double rate = 0;
};

// Drives every client from one thread through a completion queue: a new
// call starts as each finishes. (A thread per client would spend the cores
// of a small machine on the load generator.) `next_text` carries the round
// robin over the texts from one window to the next.
LoadWindow RunLoad(EmbeddingClient& client, const v1::EmbedOptions& options,
                   const std::vector<TextRecord>& records, const LoadSettings& settings,
                   absl::Duration duration, size_t* next_text) {
  LoadWindow w;
  const absl::Time start = absl::Now();
  const absl::Time stop = start + duration;
  struct Slot {
    std::unique_ptr<grpc::ClientContext> context;
    v1::EmbedResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::EmbedResponse>> reader;
    absl::Time started;
  };
  grpc::CompletionQueue cq;
  std::vector<Slot> slots(static_cast<size_t>(settings.concurrency));
  auto start_call = [&](size_t i) {
    if (absl::Now() >= stop || (settings.requests > 0 && w.sent >= settings.requests)) return false;
    ++w.sent;
    v1::EmbedRequest request;
    *request.mutable_options() = options;
    for (int64_t k = 0; k < settings.per_request; ++k) {
      request.add_inputs()->set_text(records[*next_text].text);
      *next_text = (*next_text + 1) % records.size();
    }
    Slot& slot = slots[i];
    slot.context = std::make_unique<grpc::ClientContext>();
    client.Prepare(slot.context.get(), settings.deadline_ms > 0
                                           ? absl::Milliseconds(settings.deadline_ms)
                                           : absl::Seconds(settings.timeout_s));
    slot.response.Clear();
    slot.started = absl::Now();
    slot.reader = client.stub().AsyncEmbed(slot.context.get(), request, &cq);
    slot.reader->Finish(&slot.response, &slot.status, reinterpret_cast<void*>(i));
    return true;
  };
  int64_t in_flight = 0;
  std::vector<size_t> free_slots;
  absl::Time next_start = start;
  const double rate = settings.rate;
  const absl::Duration interval = rate > 0 ? absl::Seconds(1.0 / rate) : absl::ZeroDuration();
  if (rate > 0) {
    for (size_t i = slots.size(); i-- > 0;) free_slots.push_back(i);
  } else {
    for (size_t i = 0; i < slots.size(); ++i) in_flight += start_call(i) ? 1 : 0;
  }
  void* tag = nullptr;
  bool ok = false;
  while (true) {
    if (rate > 0) {
      // Start every request that is due, then wait for an answer or the
      // next start, whichever comes first.
      const absl::Time now = absl::Now();
      if (now >= stop && in_flight == 0) break;
      while (now < stop && next_start <= now) {
        next_start += interval;
        if (free_slots.empty()) {
          ++w.skipped;
          continue;
        }
        const size_t i = free_slots.back();
        if (!start_call(i)) break;
        free_slots.pop_back();
        ++in_flight;
      }
      const absl::Time wake = now < stop ? std::min(next_start, stop) : now + absl::Seconds(60);
      auto status = cq.AsyncNext(&tag, &ok, absl::ToChronoTime(wake));
      if (status == grpc::CompletionQueue::SHUTDOWN) break;
      if (status == grpc::CompletionQueue::TIMEOUT) continue;
    } else {
      if (in_flight == 0 || !cq.Next(&tag, &ok)) break;
    }
    --in_flight;
    const size_t i = reinterpret_cast<size_t>(tag);
    Slot& slot = slots[i];
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - slot.started);
    if (slot.status.ok()) {
      w.latencies_ms.push_back(ms);
      w.server_total_ms.push_back(slot.response.timing().total_ms());
      w.server_inference_ms.push_back(slot.response.timing().inference_ms());
      w.texts += slot.response.embeddings_size();
      w.tokens += static_cast<int64_t>(slot.response.usage().total_tokens());
    } else {
      w.errors[absl::StatusCodeToString(static_cast<absl::StatusCode>(slot.status.error_code()))]
          .push_back(ms);
    }
    if (rate > 0) {
      free_slots.push_back(i);
    } else if (start_call(i)) {
      ++in_flight;
    }
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  w.secs = absl::ToDoubleSeconds(absl::Now() - start);
  return w;
}

// The value at quantile p of sorted values (0 when empty).
double Quantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
}

// Appends `more` to `all`.
template <typename T>
void Append(std::vector<T>* all, const std::vector<T>& more) {
  all->insert(all->end(), more.begin(), more.end());
}

int RunBench(int argc, char** argv) {
  FlagSet flags(
      "llm2vec bench",
      "Load generator: N concurrent clients, each sending one request at a time, for a bounded\n"
      "time or count; reports throughput and p50/p90/p99 latency, and errors by code.\n"
      "With --model it also times the offline encoder on the same texts, side by side: the\n"
      "run is split into --rounds rounds, each an offline pass then a server window, so that\n"
      "both see the same machine (a shared VM's speed drifts by 10% or more within minutes).\n"
      "With several clients the offline pass embeds every text in large batches and the ratio\n"
      "of server to offline throughput is printed; with one client it embeds texts one at a\n"
      "time, 2 ms apart, and the p50 latencies are compared.",
      "LLM2VEC_");
  RemoteFlags remote;
  remote.Register(flags, /*with_encoding=*/false);
  std::string input, model;
  LoadSettings load;
  int64_t duration_s = 10, rounds = 3;
  flags.String("input", &input, "FILE", "texts, one per line, used round robin", true);
  flags.Int("concurrency", &load.concurrency, "N", "concurrent clients", 1, 10000);
  flags.Int("duration-s", &duration_s, "S", "how long to send (all rounds together)", 1, 3600);
  flags.Int("requests", &load.requests, "N", "stop after N requests in all (0: time only)", 0);
  flags.Int("inputs-per-request", &load.per_request, "N", "texts in each request", 1, 10000);
  flags.Int("deadline-ms", &load.deadline_ms, "MS", "per-request deadline (0: --timeout-s)", 0);
  flags.Double("rate", &load.rate, "REQ_PER_S",
               "open loop: start requests at this rate, whatever the answers (at most "
               "--concurrency in flight; a start with none free is counted as skipped); "
               "0: closed loop, each client sends again when answered");
  flags.String("model", &model, "PATH_OR_ID", "also time the offline encoder on this model");
  flags.Int("rounds", &rounds, "N", "with --model: offline pass + server window, N times", 1,
            100);
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;
  load.timeout_s = remote.timeout_s;
  auto records = ReadInputRecords(input, false);
  if (!records.ok()) return CliFail(std::string(records.status().message()));
  if (records->empty()) return CliFail("--input: no texts");

  std::unique_ptr<Encoder> encoder;
  std::vector<EncodeInput> inputs;
  if (!model.empty()) {
    auto loaded = LoadModel(model, LoadOptions());
    if (!loaded.ok()) return CliFail(std::string(loaded.status().message()));
    auto created = Encoder::Create(std::move(*loaded), Encoder::Options());
    if (!created.ok()) return CliFail(std::string(created.status().message()));
    encoder = std::move(*created);
    for (const TextRecord& r : *records) inputs.push_back({r.text, ""});
    (void)encoder->Encode({inputs.begin(), inputs.begin() + std::min<size_t>(8, inputs.size())},
                          EncodeOptions());
  } else {
    rounds = 1;
  }
  const bool one_client = load.concurrency == 1 && load.rate == 0;

  auto client = remote.Connect();
  if (!client.ok()) return CliFail(std::string(client.status().message()));
  const v1::EmbedOptions options = remote.Options();
  LoadWindow all;
  double offline_secs = 0;
  int64_t offline_tokens = 0;
  std::vector<double> offline_single_ms;
  size_t next_text = 0, next_single = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    double round_offline = 0;
    if (encoder != nullptr && !one_client) {
      // Every text in the encoder's large length-sorted batches.
      const absl::Time t0 = absl::Now();
      auto out = encoder->Encode(inputs, EncodeOptions());
      const double secs = absl::ToDoubleSeconds(absl::Now() - t0);
      if (!out.ok()) return CliFail(std::string(out.status().message()));
      int64_t tokens = 0;
      for (const Embedding& e : *out) tokens += e.tokens;
      offline_secs += secs;
      offline_tokens += tokens;
      round_offline = tokens / secs;
    } else if (encoder != nullptr) {
      // The encoder's own time for one text, the floor of a served request:
      // texts one at a time, 2 ms apart as requests come at low load (the
      // machine idles between them, as the server's worker does).
      std::vector<double> single;
      for (int i = 0; i < 50; ++i) {
        absl::SleepFor(absl::Milliseconds(2));
        const EncodeInput& text = inputs[next_single++ % inputs.size()];
        const absl::Time t1 = absl::Now();
        (void)encoder->Encode({text}, EncodeOptions());
        single.push_back(absl::ToDoubleMilliseconds(absl::Now() - t1));
      }
      Append(&offline_single_ms, single);
      std::sort(single.begin(), single.end());
      round_offline = Quantile(single, 0.5);
    }
    const absl::Duration window = absl::Seconds(static_cast<double>(duration_s) / rounds);
    LoadWindow w = RunLoad(**client, options, *records, load, window, &next_text);
    if (encoder != nullptr) {
      if (one_client) {
        std::sort(w.latencies_ms.begin(), w.latencies_ms.end());
        std::printf("round %ld: offline one text p50 %.3f ms, server 1 client p50 %.3f ms\n",
                    round + 1, round_offline, Quantile(w.latencies_ms, 0.5));
      } else {
        std::printf("round %ld: offline %.1f tokens/s, server %.1f tokens/s, ratio %.3f\n",
                    round + 1, round_offline, w.tokens / w.secs,
                    w.tokens / w.secs / round_offline);
      }
    }
    all.secs += w.secs;
    all.texts += w.texts;
    all.tokens += w.tokens;
    all.skipped += w.skipped;
    Append(&all.latencies_ms, w.latencies_ms);
    Append(&all.server_total_ms, w.server_total_ms);
    Append(&all.server_inference_ms, w.server_inference_ms);
    for (auto& [code, ms] : w.errors) Append(&all.errors[code], ms);
    if (load.requests > 0 && (load.requests -= w.sent) <= 0) break;
  }

  std::sort(all.latencies_ms.begin(), all.latencies_ms.end());
  const double secs = all.secs;
  const double tokens_per_s = all.tokens / secs;
  if (offline_tokens > 0) {
    std::printf("offline: %zu texts x %ld rounds, %ld tokens in %.3f s: %.1f tokens/s\n",
                inputs.size(), rounds, offline_tokens, offline_secs, offline_tokens / offline_secs);
  }
  std::sort(offline_single_ms.begin(), offline_single_ms.end());
  if (!offline_single_ms.empty()) {
    std::printf("offline: one text at a time, 2 ms apart: p50 %.3f ms (%zu texts)\n",
                Quantile(offline_single_ms, 0.5), offline_single_ms.size());
  }
  std::printf("server: %ld clients, %.1f s: %zu ok requests (%.1f req/s), %.1f texts/s, "
              "%.1f tokens/s; latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
              load.concurrency, secs, all.latencies_ms.size(), all.latencies_ms.size() / secs,
              all.texts / secs, tokens_per_s, Quantile(all.latencies_ms, 0.5),
              Quantile(all.latencies_ms, 0.9), Quantile(all.latencies_ms, 0.99),
              all.latencies_ms.empty() ? 0.0 : all.latencies_ms.back());
  std::sort(all.server_total_ms.begin(), all.server_total_ms.end());
  std::sort(all.server_inference_ms.begin(), all.server_inference_ms.end());
  if (!all.server_total_ms.empty()) {
    std::printf("server side (its reported timing): p50 request %.2f ms, of which batch %.2f ms\n",
                Quantile(all.server_total_ms, 0.5), Quantile(all.server_inference_ms, 0.5));
  }
  if (all.skipped > 0) {
    std::printf("skipped: %ld starts found all %ld slots busy (raise --concurrency)\n",
                all.skipped, load.concurrency);
  }
  for (auto& [code, ms] : all.errors) {
    std::sort(ms.begin(), ms.end());
    std::printf("errors: %s x %zu (%.1f/s), answered in ms p50 %.2f p99 %.2f max %.2f\n",
                code.c_str(), ms.size(), ms.size() / secs, Quantile(ms, 0.5), Quantile(ms, 0.99),
                ms.back());
  }
  if (offline_tokens > 0) {
    std::printf("ratio: server / offline throughput = %.3f\n",
                tokens_per_s / (offline_tokens / offline_secs));
  }
  if (!offline_single_ms.empty()) {
    std::printf("low load: server p50 - offline p50 = %+.3f ms\n",
                Quantile(all.latencies_ms, 0.5) - Quantile(offline_single_ms, 0.5));
  }
  return 0;
}

int RunAdapters(int argc, char** argv) {
  FlagSet flags(
      "llm2vec adapters list|load NAME PATH|unload NAME",
      "Named LoRA adapters on a running llm2vec-server (needs the admin role when the\n"
      "server has --api-keys; list needs embed):\n"
      "  list              the names of the loaded adapters, one per line\n"
      "  load NAME PATH    loads the adapter folder PATH (relative to the server's\n"
      "                    --adapter-root) under NAME; requests pick it with --adapter NAME\n"
      "  unload NAME       unloads it (requests already queued for it still finish)\n"
      "Exit code: 0 done, 1 the call failed, 2 a usage error.",
      "LLM2VEC_");
  EmbeddingClient::Options o;
  RegisterConnectionFlags(flags, &o.connection, "the llm2vec-server to call");
  int64_t timeout_s = 120;
  flags.Int("timeout-s", &timeout_s, "S", "deadline of the call (loading reads the weights)", 1);
  // The action and its operands come first: `llm2vec adapters load a dir --server ...`.
  std::vector<std::string> operands;
  int first_flag = 2;
  while (first_flag < argc && argv[first_flag][0] != '-') operands.push_back(argv[first_flag++]);
  if (auto s = flags.Parse(argc, argv, first_flag); !s.ok()) return CliUsage(std::string(s.message()));
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  const std::string action = operands.empty() ? "" : operands[0];
  const size_t want = action == "list" ? 1 : action == "load" ? 3 : action == "unload" ? 2 : 0;
  if (want == 0 || operands.size() != want) {
    return CliUsage("adapters: give list, load NAME PATH or unload NAME (see llm2vec adapters --help)");
  }
  o.timeout = absl::Seconds(timeout_s);
  auto client = EmbeddingClient::Connect(o);
  if (!client.ok()) return CliFail(std::string(client.status().message()));
  if (action == "list") {
    auto info = (*client)->Info();
    if (!info.ok()) return CliFail(StatusLine(info.status()));
    for (const std::string& name : info->adapters()) std::cout << name << "\n";
    return 0;
  }
  const absl::Status s = action == "load" ? (*client)->LoadAdapter(operands[1], operands[2])
                                          : (*client)->UnloadAdapter(operands[1]);
  if (!s.ok()) return CliFail(StatusLine(s));
  std::cerr << "llm2vec adapters: " << (action == "load" ? "loaded " : "unloaded ") << operands[1]
            << "\n";
  return 0;
}

}  // namespace llm2vec
