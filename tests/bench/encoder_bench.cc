// Encoder throughput benchmark (prints figures; not a test).
//
// Builds a random-weight Llama of a given shape in memory, embeds N texts of
// L random tokens with bidirectional attention and mean pooling through the
// real Encoder, and reports tokens/s, the FLOP/s of its matmuls against a
// plain at::mm of the same shapes timed in the same run, peak RSS against
// the weight bytes, and tokenizer throughput on real text.
//
//   build/encoder_bench --shape sheared-llama-1.3b   (hidden 2048, 24 layers, ...)
//   build/encoder_bench --shape small
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <sys/resource.h>
#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/flags.h"
#include "model/formats/safetensors.h"
#include "model/nn/encoder.h"
#include "model/nn/model_loader.h"
#include "model/nn/tensor_io.h"
#include "model/tokenizer/tokenizer.h"

namespace llm2vec {
namespace {

using Clock = std::chrono::steady_clock;

// Tokens a forward pass computes when each batch of `per_batch` inputs
// is padded to its longest.
int64_t PaddedTokens(const std::vector<PreparedInput>& inputs, size_t per_batch) {
  int64_t padded = 0;
  for (size_t i = 0; i < inputs.size(); i += per_batch) {
    size_t longest = 0, n = 0;
    for (size_t k = i; k < std::min(inputs.size(), i + per_batch); ++k, ++n) {
      longest = std::max(longest, inputs[k].ids.size());
    }
    padded += static_cast<int64_t>(longest * n);
  }
  return padded;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double PeakRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;  // KiB on Linux
}

// Resets the kernel's peak-RSS mark (VmHWM), so phases can be measured apart.
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double PeakRssMbSinceReset() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

double CurrentRssMb() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1048576.0);
}

ModelConfig Shape(const std::string& name) {
  ModelConfig c;
  c.architecture = "llama";
  if (name == "sheared-llama-1.3b") {
    c.hidden_size = 2048, c.num_layers = 24, c.num_heads = 16, c.num_kv_heads = 16;
    c.intermediate_size = 5504, c.vocab_size = 32000;
  } else {  // "small": a 4-layer 512-wide model, seconds to run
    c.hidden_size = 512, c.num_layers = 4, c.num_heads = 8, c.num_kv_heads = 8;
    c.intermediate_size = 1376, c.vocab_size = 32000;
  }
  c.head_dim = c.hidden_size / c.num_heads;
  c.rms_norm_eps = 1e-5;
  c.tie_word_embeddings = false;
  return c;
}

TransformerWeights RandomWeights(const ModelConfig& c, at::TensorOptions options) {
  TransformerWeights w;
  auto table = HfParameterTable(c, w);
  for (auto& [name, slot] : table) {
    std::vector<int64_t> shape = ExpectedShape(c, name);
    // Filled in place: no temporaries, so RSS after this is the weights,
    // as after a real load from memory-mapped files.
    *slot = shape.size() == 1 ? at::ones(shape, options)
                              : at::empty(shape, options).normal_(0, 1.0 / std::sqrt(shape.back()));
  }
  return w;
}

// A tokenizer is needed by the Encoder; only its special ids matter here.
std::unique_ptr<Tokenizer> AnyTokenizer(const std::string& path) {
  auto t = Tokenizer::FromFile(path);
  if (!t.ok()) {
    std::cerr << "encoder_bench: " << t.status() << "\n";
    std::exit(2);
  }
  return std::move(*t);
}

// Waits for queued device work (a no-op on the CPU).
void Sync(at::Device device) {
  if (device.is_cuda()) at::zeros({1}, at::TensorOptions().device(device)).cpu();
}

// FLOPs of the linear layers for `tokens` tokens (2 per multiply-add).
double LinearFlops(const ModelConfig& c, double tokens) {
  const double C = c.hidden_size, F = c.intermediate_size;
  const double q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  return 2.0 * tokens * c.num_layers * (C * q + 2 * C * kv + q * C + 3 * C * F);
}

// Time of plain at::mm over the same (M x K) @ (K x N) shapes as one
// forward pass of the linear layers, per layer, in seconds.
double MmSecondsPerPass(const ModelConfig& c, int64_t M, at::TensorOptions options) {
  const int64_t C = c.hidden_size, F = c.intermediate_size;
  const int64_t q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{C, q}, {C, kv}, {C, kv}, {q, C},
                                                           {C, F}, {C, F},  {F, C}};
  double total = 0;
  for (auto [k, n] : shapes) {
    at::Tensor a = at::randn({M, k}, options), b = at::randn({k, n}, options);
    at::mm(a, b);  // warm up
    Sync(options.device());
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      auto t0 = Clock::now();
      at::mm(a, b);
      Sync(options.device());
      best = std::min(best, Seconds(t0));
    }
    total += best;
  }
  return total * c.num_layers;
}

double TokenizerMbPerSecond(const Tokenizer& tok, const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  auto t0 = Clock::now();
  size_t ids = 0;
  for (const std::string& l : lines) ids += tok.Encode(l, true).size();
  const double secs = Seconds(t0);
  return text.size() / 1e6 / secs + 0 * static_cast<double>(ids);
}

// Writes `model` as a Hugging Face folder (config.json, model.safetensors,
// a tokenizer.json copied from `tokenizer_json`), for load benchmarks.
absl::Status SaveHfFolder(const Transformer& model, const std::string& dir,
                          const std::string& tokenizer_json) {
  const ModelConfig& c = model.config();
  if (::system(("mkdir -p '" + dir + "'").c_str()) != 0) {
    return absl::InternalError("cannot create " + dir);
  }
  nlohmann::json config = {
      {"model_type", "llama"}, {"architectures", {"LlamaForCausalLM"}},
      {"hidden_size", c.hidden_size}, {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.num_layers}, {"num_attention_heads", c.num_heads},
      {"num_key_value_heads", c.num_kv_heads}, {"vocab_size", c.vocab_size},
      {"rms_norm_eps", c.rms_norm_eps}, {"rope_theta", c.rope_theta},
      {"max_position_embeddings", c.max_position_embeddings},
      {"tie_word_embeddings", c.tie_word_embeddings}, {"torch_dtype", "float32"}};
  std::ofstream(dir + "/config.json") << config.dump(2);
  std::ifstream tok_in(tokenizer_json, std::ios::binary);
  std::ofstream(dir + "/tokenizer.json", std::ios::binary) << tok_in.rdbuf();
  TransformerWeights& w = const_cast<Transformer&>(model).mutable_weights();
  std::map<std::string, SafetensorsEntry> tensors;
  for (const auto& [name, slot] : HfParameterTable(c, w)) {
    at::Tensor t = *slot;
    tensors[name] = {"F32", t.sizes().vec(), t.data_ptr(),
                     static_cast<uint64_t>(t.numel()) * sizeof(float)};
  }
  return WriteSafetensors(dir + "/model.safetensors", tensors);
}

int Main(int argc, char** argv) {
  FlagSet flags("encoder_bench", "Encoder throughput, matmul efficiency, memory, tokenizer speed.",
                "");
  std::string shape = "small", testdata = "../shared/testdata", device_name = "cpu",
              dtype_name = "float32";
  int64_t texts = 256, tokens = 32, threads = 0, batch_tokens = 0;
  flags.String("shape", &shape, "NAME", "model shape");
  flags.Choices("shape", {"small", "sheared-llama-1.3b"});
  flags.Int("texts", &texts, "N", "texts to embed", 1);
  flags.Int("tokens", &tokens, "N", "tokens per text (BOS included)", 2);
  flags.Int("threads", &threads, "N", "CPU threads (0 = all cores)", 0);
  flags.Int("batch-tokens", &batch_tokens, "N",
            "encoder token budget per forward pass (0 = the encoder's default)", 0);
  std::string save_hf, load_model;
  flags.String("save-hf", &save_hf, "DIR",
               "write the random model as a Hugging Face folder to DIR, then exit");
  flags.String("model", &load_model, "PATH",
               "load this model (e.g. one written by --save-hf) instead of random weights, "
               "and report load time and peak RSS during the load");
  bool default_malloc = false;
  bool padding_ab = false;
  flags.Bool("default-malloc", &default_malloc, "skip TuneHostMalloc (for comparison)");
  flags.Bool("padding-ab", &padding_ab,
             "also time server-shaped batches of mixed lengths with and without skipping the "
             "padding");
  flags.String("testdata", &testdata, "DIR", "the shared test data pack (tokenizers, text)");
  flags.String("device", &device_name, "DEVICE", "cpu, cuda or cuda:N");
  flags.String("dtype", &dtype_name, "DTYPE", "float32, bfloat16 or float16");
  if (auto s = flags.Parse(argc, argv); !s.ok()) {
    std::cerr << "encoder_bench: " << s.message() << "\n";
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  if (!default_malloc) TuneHostMalloc();
  const int n_threads =
      threads > 0 ? static_cast<int>(threads) : static_cast<int>(std::thread::hardware_concurrency());
  at::set_num_threads(n_threads);
  at::manual_seed(0);
  const double rss0 = CurrentRssMb();

  auto device = ParseDevice(device_name);
  auto dtype = ParseDtype(dtype_name);
  if (!device.ok() || !dtype.ok()) {
    std::cerr << "encoder_bench: " << (device.ok() ? dtype.status() : device.status()) << "\n";
    return 2;
  }
  const at::TensorOptions options = at::TensorOptions().device(*device).dtype(*dtype);
  ModelConfig config = Shape(shape);
  auto t_init = Clock::now();
  LoadedModel model;
  const std::string tokenizer_json = testdata + "/tokenizers/llama2-from-gguf/tokenizer.json";
  if (!load_model.empty()) {
    ResetPeakRss();
    LoadOptions load;
    load.device = device_name;
    load.dtype = dtype_name;
    auto loaded = LoadModel(load_model, load);
    if (!loaded.ok()) {
      std::cerr << "encoder_bench: " << loaded.status() << "\n";
      return 1;
    }
    model = std::move(*loaded);
    config = model.transformer->config();
    const double w_mb = model.transformer->WeightBytes() / 1048576.0;
    const double peak = PeakRssMbSinceReset();
    std::printf("load: %s (%s) in %.1f s; peak RSS during load %.0f MB = %.0f MB before + "
                "%.2f x the %.0f MB of weights (target <= 1.3 x)\n",
                load_model.c_str(), model.format.c_str(), Seconds(t_init), peak, rss0,
                (peak - rss0) / w_mb, w_mb);
  } else {
    model.transformer = std::make_unique<Transformer>(config, RandomWeights(config, options));
    model.tokenizer = AnyTokenizer(tokenizer_json);
  }
  if (!save_hf.empty()) {
    auto t_save = Clock::now();
    if (auto s = SaveHfFolder(*model.transformer, save_hf, tokenizer_json); !s.ok()) {
      std::cerr << "encoder_bench: " << s << "\n";
      return 1;
    }
    std::printf("wrote %s in %.1f s\n", save_hf.c_str(), Seconds(t_save));
    return 0;
  }
  const double weight_mb = model.transformer->WeightBytes() / 1048576.0;
  std::printf("shape %s: hidden %ld, layers %ld, heads %ld, ffn %ld, vocab %ld; %.0f MB %s "
              "weights on %s (built in %.1f s); %d CPU threads; libtorch %s\n",
              shape.c_str(), config.hidden_size, config.num_layers, config.num_heads,
              config.intermediate_size, config.vocab_size, weight_mb, dtype_name.c_str(),
              device_name.c_str(), Seconds(t_init), n_threads,
              TORCH_VERSION);

  Encoder::Options encoder_options;
  encoder_options.max_batch_tokens = batch_tokens;
  encoder_options.num_threads = n_threads;
  auto encoder = Encoder::Create(std::move(model), encoder_options);
  if (!encoder.ok()) {
    std::cerr << encoder.status() << "\n";
    return 1;
  }
  // Random text ids (BOS first), pooled over all but BOS.
  std::vector<PreparedInput> inputs(texts);
  for (auto& in : inputs) {
    in.ids.push_back(1);
    at::Tensor r = at::randint(3, config.vocab_size, {tokens - 1}, at::kLong);
    for (int64_t i = 0; i < tokens - 1; ++i) in.ids.push_back(static_cast<int32_t>(r[i].item<int64_t>()));
    in.pooled = tokens - 1;
  }
  const double rss_loaded = CurrentRssMb();
  ResetPeakRss();
  EncodeOptions encode;
  // Warm-up on a few texts (allocator, OpenMP pool), then the timed run.
  (void)(*encoder)->EncodePrepared({inputs.begin(), inputs.begin() + std::min<int64_t>(4, texts)},
                                   encode);
  auto t0 = Clock::now();
  auto out = (*encoder)->EncodePrepared(inputs, encode);
  Sync(*device);
  const double secs = Seconds(t0);
  const double peak_encode = PeakRssMbSinceReset();
  if (!out.ok()) {
    std::cerr << out.status() << "\n";
    return 1;
  }
  const double total_tokens = static_cast<double>(texts * tokens);
  const double flops = LinearFlops(config, total_tokens);
  const int64_t per_pass = std::max<int64_t>(1, (*encoder)->max_batch_tokens() / tokens) * tokens;
  const int64_t passes = (texts * tokens + per_pass - 1) / per_pass;
  const double mm_secs = MmSecondsPerPass(config, std::min<int64_t>(per_pass, texts * tokens), options) *
                         static_cast<double>(passes);
  const double achieved = flops / secs, mm_rate = flops / mm_secs;
  std::printf("encode: %ld texts x %ld tokens, bidirectional, mean pooling, %ld tokens per "
              "forward pass: %.2f s, %.1f tokens/s\n",
              texts, tokens, per_pass, secs, total_tokens / secs);
  std::printf("matmul: encoder %.1f GFLOP/s (linear layers only), plain at::mm same shapes "
              "%.1f GFLOP/s, ratio %.3f\n",
              achieved / 1e9, mm_rate / 1e9, achieved / mm_rate);
  std::printf("memory: weights %.0f MB; RSS before weights %.0f MB (libtorch, tokenizer), "
              "after %.0f MB; peak while encoding %.0f MB; limit 1.2 x weights + 300 MB = "
              "%.0f MB: %s (peak of the whole run incl. random init and at::mm: %.0f MB)\n",
              weight_mb, rss0, rss_loaded, peak_encode, 1.2 * weight_mb + 300,
              peak_encode <= 1.2 * weight_mb + 300 ? "within" : "OVER", PeakRssMb());

  if (padding_ab) {
    // Server-shaped batches: 32 texts of 1/2 to 1 x --tokens tokens in
    // arrival order, so rows are padded to the longest; with and without
    // skipping the padding, alternating.
    std::vector<PreparedInput> mixed = inputs;
    at::Tensor lens = at::randint(std::max<int64_t>(2, tokens / 2), tokens + 1, {texts}, at::kLong);
    int64_t real = 0;
    for (int64_t i = 0; i < texts; ++i) {
      mixed[i].ids.resize(lens[i].item<int64_t>());
      mixed[i].pooled = static_cast<int64_t>(mixed[i].ids.size()) - 1;
      real += static_cast<int64_t>(mixed[i].ids.size());
    }
    double secs_by_mode[2] = {0, 0};
    for (int round = 0; round < 3; ++round) {
      for (int skip = 0; skip < 2; ++skip) {
        EncodeOptions o;
        o.skip_padding = skip == 1;
        auto t = Clock::now();
        for (int64_t i = 0; i < texts; i += 32) {
          auto r = (*encoder)->EncodePrepared(
              {mixed.begin() + i, mixed.begin() + std::min<int64_t>(texts, i + 32)}, o);
          if (!r.ok()) {
            std::cerr << r.status() << "\n";
            return 1;
          }
        }
        Sync(*device);
        secs_by_mode[skip] += Seconds(t);
      }
    }
    std::printf("padding: %ld texts of %ld..%ld tokens in batches of 32 (%.1f%% padding), "
                "3 alternating rounds: padded %.1f tokens/s, padding skipped %.1f tokens/s "
                "(x%.2f)\n",
                texts, std::max<int64_t>(2, tokens / 2), tokens,
                100.0 * (1.0 - static_cast<double>(real) / static_cast<double>(PaddedTokens(mixed, 32))),
                3 * real / secs_by_mode[0], 3 * real / secs_by_mode[1],
                secs_by_mode[0] / secs_by_mode[1]);
  }

  // Tokenizer throughput on real text.
  std::ifstream in(testdata + "/data/tinystories/tinystories_val_slice.txt", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  for (const char* tk : {"models/stories260k-hf/tokenizer.json", "tokenizers/llama3/tokenizer.json",
                         "tokenizers/qwen3/tokenizer.json",
                         "tokenizers/mistral-7b-v0.1/tokenizer.json"}) {
    auto tok = AnyTokenizer(testdata + "/" + tk);
    std::printf("tokenizer %-40s %.2f MB/s (%zu bytes of TinyStories, one thread)\n", tk,
                TokenizerMbPerSecond(*tok, text.str()), text.str().size());
  }
  return 0;
}

}  // namespace
}  // namespace llm2vec

int main(int argc, char** argv) { return llm2vec::Main(argc, argv); }
