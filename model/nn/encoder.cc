#include "model/nn/encoder.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/mapped_file.h"
#include "model/nn/tensor_io.h"

namespace llm2vec {
namespace {

// Python's `" ".join(text.split()[:n])`.
std::string FirstWords(const std::string& text, size_t n) {
  std::vector<absl::string_view> words =
      absl::StrSplit(text, absl::ByAnyChar(" \t\n\r\v\f"), absl::SkipEmpty());
  if (words.size() > n) words.resize(n);
  return absl::StrJoin(words, " ");
}

size_t CountWords(const std::string& text) {
  std::vector<absl::string_view> words =
      absl::StrSplit(text, absl::ByAnyChar(" \t\n\r\v\f"), absl::SkipEmpty());
  return words.size();
}

// The longest prefix of `text`, cut at a UTF-8 character boundary, that
// tokenizes to at most `max_tokens` tokens (found by bisection: a prefix
// never has more tokens than a longer one in practice, and the result is
// checked either way). For a first word longer than the whole budget (a
// URL, base64, a DNA string), where cutting by words leaves nothing.
std::string TokenPrefix(const Tokenizer& tok, const std::string& text, int64_t max_tokens) {
  auto boundary = [&text](size_t n) {
    while (n > 0 && n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    return n;
  };
  auto fits = [&](size_t n) {
    return static_cast<int64_t>(tok.Encode(text.substr(0, n), false).size()) <= max_tokens;
  };
  size_t lo = 0, hi = text.size();  // fits(lo); the answer is in [lo, hi]
  while (lo < hi) {
    const size_t mid = boundary(lo + (hi - lo + 1) / 2);
    if (mid <= lo) break;
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return text.substr(0, lo);
}

}  // namespace

absl::StatusOr<Llm2VecConfig> LoadLlm2VecConfig(const std::string& dir) {
  Llm2VecConfig config;
  const std::string path = dir + "/llm2vec_config.json";
  if (!IsRegularFile(path)) return config;
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not valid JSON"));
  }
  if (j.contains("pooling_mode") && j["pooling_mode"].is_string()) {
    auto mode = ParsePoolingMode(j["pooling_mode"].get<std::string>());
    if (!mode.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", mode.status().message()));
    config.pooling_mode = *mode;
  }
  auto positive = [&](const char* key, int64_t* out) -> absl::Status {
    if (!j.contains(key) || j[key].is_null()) return absl::OkStatus();
    if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": '", key, "' must be a positive integer, got ", j[key].dump()));
    }
    *out = j[key].get<int64_t>();
    return absl::OkStatus();
  };
  if (auto s = positive("max_length", &config.max_length); !s.ok()) return s;
  if (auto s = positive("doc_max_length", &config.doc_max_length); !s.ok()) return s;
  if (j.contains("skip_instruction") && j["skip_instruction"].is_boolean()) {
    config.skip_instruction = j["skip_instruction"].get<bool>();
  }
  return config;
}

absl::StatusOr<Llm2VecConfig> Llm2VecConfigOf(const LoadedModel& model) {
  for (const std::string& dir : model.config_dirs) {
    auto cfg = LoadLlm2VecConfig(dir);
    if (!cfg.ok() || cfg->pooling_mode.has_value() || dir == model.config_dirs.back()) return cfg;
  }
  return Llm2VecConfig();
}

Encoder::Encoder(LoadedModel model, Options options)
    : model_(std::move(model)),
      options_(std::move(options)),
      special_frame_(FindSpecialTokenFrame(*model_.tokenizer)) {
  // The reference pads with EOS; any id works since padding is masked.
  pad_id_ = model_.tokenizer->pad_id() >= 0   ? model_.tokenizer->pad_id()
            : model_.tokenizer->eos_id() >= 0 ? model_.tokenizer->eos_id()
                                              : 0;
  max_batch_tokens_ = options_.max_batch_tokens;
  if (max_batch_tokens_ == 0) {
    const ModelConfig& c = model_.transformer->config();
    const int64_t widest = std::max(c.intermediate_size, c.hidden_size) * 4;  // fp32 bytes/token
    max_batch_tokens_ = model_.transformer->device().is_cpu()
                            ? std::clamp<int64_t>(kHostHeapBlockBytes / widest, 512, 16384)
                            : 16384;
  }
}

absl::StatusOr<std::unique_ptr<Encoder>> Encoder::Create(LoadedModel model, const Options& options) {
  if (model.transformer == nullptr || model.tokenizer == nullptr) {
    return absl::InvalidArgumentError("encoder needs a loaded transformer and tokenizer");
  }
  if (options.max_batch_tokens < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch_tokens ", options.max_batch_tokens, " must be >= 0"));
  }
  if (options.llm2vec.max_length <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_length ", options.llm2vec.max_length, " must be > 0"));
  }
  // Threads: the option, else $OMP_NUM_THREADS as libtorch read it, else
  // every core (libtorch's default here is 1).
  if (options.num_threads > 0) {
    at::set_num_threads(options.num_threads);
  } else if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  }
  return std::unique_ptr<Encoder>(new Encoder(std::move(model), options));
}

PoolingMode Encoder::default_pooling() const {
  return options_.llm2vec.pooling_mode.value_or(PoolingMode::kMean);
}

absl::StatusOr<PreparedInput> Encoder::Prepare(const EncodeInput& input, int64_t max_tokens,
                                               Truncation truncation) const {
  const Tokenizer& tok = *model_.tokenizer;
  const Llm2VecConfig& cfg = options_.llm2vec;
  PreparedInput out;
  size_t n_text = 0;
  if (!input.token_ids.empty()) {
    if (!input.text.empty() || !input.instruction.empty()) {
      return absl::InvalidArgumentError("has token ids and text or an instruction; send one");
    }
    const int64_t vocab =
        std::min<int64_t>(tok.vocab_size(), transformer().config().vocab_size);
    for (size_t i = 0; i < input.token_ids.size(); ++i) {
      const int32_t id = input.token_ids[i];
      if (id < 0 || id >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat("token_ids[", i, "] is ", id, "; the vocabulary has ", vocab, " tokens"));
      }
    }
    n_text = std::min<size_t>(input.token_ids.size(), static_cast<size_t>(cfg.doc_max_length));
    out.ids = special_frame_.before;
    out.ids.insert(out.ids.end(), input.token_ids.begin(),
                   input.token_ids.begin() + static_cast<std::ptrdiff_t>(n_text));
    out.ids.insert(out.ids.end(), special_frame_.after.begin(), special_frame_.after.end());
  } else {
    // Long documents are cut by words until they fit doc_max_length tokens.
    std::string text = input.text;
    n_text = tok.Encode(text, /*add_special_tokens=*/false).size();
    while (static_cast<int64_t>(n_text) > cfg.doc_max_length) {
      const double ratio = static_cast<double>(cfg.doc_max_length) / static_cast<double>(n_text);
      const size_t keep = static_cast<size_t>(static_cast<double>(CountWords(text)) * ratio);
      // One word longer than the budget: keep its first tokens instead of
      // nothing.
      text = keep > 0 ? FirstWords(text, keep) : TokenPrefix(tok, text, cfg.doc_max_length);
      n_text = tok.Encode(text, /*add_special_tokens=*/false).size();
      if (keep == 0) break;
    }
    out.ids = tok.Encode(ModelText({text, input.instruction}), /*add_special_tokens=*/true);
  }
  if (out.ids.empty()) return absl::InvalidArgumentError("text has no tokens");
  const int64_t limit = max_tokens > 0 ? max_tokens : cfg.max_length;
  const int64_t n = static_cast<int64_t>(out.ids.size());
  // Special tokens at the front (BOS) are not text: they are never pooled.
  const bool bos_first = tok.IsSpecial(out.ids.front());
  if (n > limit) {
    switch (truncation) {
      case Truncation::kNone:
        return absl::InvalidArgumentError(absl::StrCat(
            "has ", n, " tokens; the limit is ", limit, " and truncation is off"));
      case Truncation::kEnd:
        out.ids.resize(limit);
        break;
      case Truncation::kStart: {
        const int64_t keep_front = bos_first && limit > 1 ? 1 : 0;
        out.ids.erase(out.ids.begin() + keep_front, out.ids.begin() + (n - limit + keep_front));
        break;
      }
    }
  }
  const int64_t len = static_cast<int64_t>(out.ids.size());
  out.pooled = cfg.skip_instruction
                   ? std::min<int64_t>(static_cast<int64_t>(n_text), len - (bos_first ? 1 : 0))
                   : len;
  return out;
}

absl::StatusOr<std::vector<Embedding>> Encoder::Encode(const std::vector<EncodeInput>& inputs,
                                                       const EncodeOptions& options) {
  std::vector<PreparedInput> prepared;
  prepared.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto p = Prepare(inputs[i]);
    if (!p.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("input ", i, ": ", p.status().message()));
    }
    prepared.push_back(std::move(*p));
  }
  return EncodePrepared(prepared, options);
}

absl::StatusOr<std::vector<Embedding>> Encoder::EncodePrepared(
    const std::vector<PreparedInput>& inputs, const EncodeOptions& options,
    int64_t* forward_passes) {
  if (forward_passes != nullptr) *forward_passes = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].ids.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("input ", i, " has no tokens"));
    }
    if (options.pooling != PoolingMode::kNone && options.pooling != PoolingMode::kBosToken &&
        inputs[i].pooled <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", i, " has no text tokens to pool with ", PoolingModeName(options.pooling),
          " pooling (empty text?)"));
    }
  }
  if (options.dimensions < 0 || options.dimensions > transformer().config().hidden_size) {
    return absl::InvalidArgumentError(absl::StrCat("dimensions ", options.dimensions,
                                                   " must be between 0 and the hidden size ",
                                                   transformer().config().hidden_size));
  }
  // Longest first, so each batch's padding is small and the budget check
  // only needs the first input's length.
  std::vector<size_t> order(inputs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return inputs[a].ids.size() > inputs[b].ids.size();
  });
  std::vector<Embedding> out(inputs.size());
  try {
    c10::InferenceMode inference;
    size_t begin = 0;
    while (begin < order.size()) {
      const int64_t longest = static_cast<int64_t>(inputs[order[begin]].ids.size());
      const size_t fit = static_cast<size_t>(std::max<int64_t>(1, max_batch_tokens_ / longest));
      const size_t end = std::min(order.size(), begin + fit);
      RunBatch(inputs, order, begin, end, options, &out);
      if (forward_passes != nullptr) ++*forward_passes;
      begin = end;
    }
  } catch (const std::exception& e) {
    return ExceptionStatus(e, "encoding");
  }
  return out;
}

void Encoder::RunBatch(const std::vector<PreparedInput>& inputs, const std::vector<size_t>& order,
                       size_t begin, size_t end, const EncodeOptions& options,
                       std::vector<Embedding>* out) {
  const int64_t B = static_cast<int64_t>(end - begin);
  const int64_t T = static_cast<int64_t>(inputs[order[begin]].ids.size());
  std::vector<int64_t> ids(static_cast<size_t>(B * T), pad_id_);
  std::vector<int64_t> lengths(B);
  std::vector<PoolSpan> spans(B);
  for (int64_t b = 0; b < B; ++b) {
    const PreparedInput& in = inputs[order[begin + b]];
    std::copy(in.ids.begin(), in.ids.end(), ids.begin() + b * T);
    lengths[b] = static_cast<int64_t>(in.ids.size());
    spans[b] = {lengths[b], in.pooled};
  }
  at::Tensor ids_t = at::tensor(ids, at::TensorOptions().dtype(at::kLong)).view({B, T});
  at::Tensor len_t = at::tensor(lengths, at::TensorOptions().dtype(at::kLong));
  ForwardOptions fwd;
  fwd.attention = options.attention;
  fwd.lora = options.lora;
  fwd.skip_padding = options.skip_padding;
  at::Tensor hidden = model_.transformer->Forward(ids_t, len_t, fwd);  // (B, T, C)
  if (options.pooling == PoolingMode::kNone) {
    at::Tensor states = hidden.to(at::kFloat).to(at::kCPU).contiguous();  // (B, T, C)
    const int64_t C = states.size(2);
    const float* p = states.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b) {
      Embedding& e = (*out)[order[begin + b]];
      e.tokens = lengths[b];
      e.values.assign(p + b * T * C, p + (b * T + lengths[b]) * C);
    }
    return;
  }
  at::Tensor pooled = PostProcess(Pool(hidden, spans, options.pooling), options.dimensions,
                                  options.normalize)
                          .to(at::kCPU)
                          .contiguous();  // (B, C')
  const int64_t C = pooled.size(1);
  const float* p = pooled.data_ptr<float>();
  for (int64_t b = 0; b < B; ++b) {
    Embedding& e = (*out)[order[begin + b]];
    e.tokens = lengths[b];
    e.values.assign(p + b * C, p + (b + 1) * C);
  }
}

absl::StatusOr<std::vector<int32_t>> Encoder::Generate(const std::vector<int32_t>& prompt,
                                                       int64_t max_tokens) {
  if (prompt.empty()) return absl::InvalidArgumentError("generation needs at least one token");
  std::vector<int64_t> seq(prompt.begin(), prompt.end());
  std::vector<int32_t> generated;
  const int32_t eos = model_.tokenizer->eos_id();
  try {
    c10::InferenceMode inference;
    ForwardOptions fwd;
    fwd.attention = AttentionMode::kCausal;
    for (int64_t step = 0; step < max_tokens; ++step) {
      const int64_t T = static_cast<int64_t>(seq.size());
      at::Tensor ids = at::tensor(seq, at::TensorOptions().dtype(at::kLong)).view({1, T});
      at::Tensor len = at::full({1}, T, at::TensorOptions().dtype(at::kLong));
      at::Tensor hidden = model_.transformer->Forward(ids, len, fwd);      // (1, T, C)
      at::Tensor logits = model_.transformer->Logits(hidden.select(1, T - 1));  // (1, V)
      const int32_t next = static_cast<int32_t>(logits.argmax(-1).item<int64_t>());
      generated.push_back(next);
      if (next == eos) break;
      seq.push_back(next);
    }
  } catch (const std::exception& e) {
    return ExceptionStatus(e, "generation");
  }
  return generated;
}

}  // namespace llm2vec
