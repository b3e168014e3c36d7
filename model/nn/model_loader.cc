#include "model/nn/model_loader.h"

#include <ATen/ATen.h>

#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/mapped_file.h"
#include "model/formats/gguf.h"
#include "model/formats/model_config.h"
#include "model/formats/safetensors.h"
#include "model/hub/resolve_model_path.h"
#include "model/nn/lora.h"
#include "model/nn/tensor_io.h"

namespace llm2vec {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// Fills every slot of `table` through `fetch(hf_name, slot)`, then checks
// that no slot stayed empty.
template <typename Fetch>
absl::Status FillTable(const std::map<std::string, at::Tensor*>& table, const std::string& source,
                       Fetch fetch) {
  for (const auto& [name, slot] : table) {
    if (auto s = fetch(name, slot); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<at::ScalarType> SafetensorsScalarType(const SafetensorsView& v,
                                                     const std::string& file) {
  if (v.dtype == "F32") return at::kFloat;
  if (v.dtype == "F16") return at::kHalf;
  if (v.dtype == "BF16") return at::kBFloat16;
  return absl::InvalidArgumentError(absl::StrCat(file, ": tensor '", v.name, "' has dtype ",
                                                 v.dtype, " (supported: F32, F16, BF16)"));
}

absl::StatusOr<std::unique_ptr<Transformer>> LoadSafetensorsModel(const std::string& dir,
                                                                  at::Device device,
                                                                  at::ScalarType dtype) {
  auto config = LoadHfConfig(dir + "/config.json");
  if (!config.ok()) return config.status();
  auto archive = SafetensorsArchive::OpenFolder(dir);
  if (!archive.ok()) return archive.status();
  const std::string& files = (*archive)->description();
  TransformerWeights weights;
  auto table = HfParameterTable(*config, weights);
  auto status = FillTable(table, files, [&](const std::string& name, at::Tensor* slot) {
    const SafetensorsView* v = (*archive)->Find(name);
    if (v == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(files, ": tensor '", name, "' is missing"));
    }
    const std::vector<int64_t> want = ExpectedShape(*config, name);
    if (v->shape != want) {
      return absl::InvalidArgumentError(
          absl::StrCat(files, ": tensor '", name, "' has shape ", ShapeString(v->shape),
                       " but config.json implies ", ShapeString(want)));
    }
    auto src = SafetensorsScalarType(*v, files);
    if (!src.ok()) return src.status();
    *slot = CopyToTensor(v->data, *src, v->shape, device, dtype);
    v->file->DontNeed(v->offset, v->nbytes);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (config->tie_word_embeddings) weights.lm_head = weights.embed_tokens;
  return std::make_unique<Transformer>(*config, std::move(weights));
}

absl::StatusOr<std::unique_ptr<Transformer>> LoadGgufModel(const GgufFile& file, at::Device device,
                                                           at::ScalarType dtype) {
  auto config = ConfigFromGguf(file);
  if (!config.ok()) return config.status();
  std::map<std::string, const GgufTensorInfo*> by_hf_name;
  for (const GgufTensorInfo& t : file.tensors()) {
    std::string hf = HfNameOfGgufTensor(t.name);
    if (!hf.empty()) by_hf_name[hf] = &t;
  }
  TransformerWeights weights;
  auto table = HfParameterTable(*config, weights);
  // llama-arch GGUF files store q/k rows in the interleaved RoPE order;
  // transformers' rotate_half needs them un-permuted (see testdata README).
  const bool unpermute = config->architecture == "llama" || config->architecture == "mistral";
  auto status = FillTable(table, file.path(), [&](const std::string& name, at::Tensor* slot) {
    auto it = by_hf_name.find(name);
    if (it == by_hf_name.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.path(), ": tensor for '", name, "' is missing"));
    }
    const GgufTensorInfo& t = *it->second;
    std::vector<int64_t> shape(t.ne.rbegin(), t.ne.rend());  // ggml [in, out] -> [out, in]
    const std::vector<int64_t> want = ExpectedShape(*config, name);
    if (shape != want) {
      return absl::InvalidArgumentError(absl::StrCat(file.path(), ": tensor '", t.name,
                                                     "' has shape ", ShapeString(shape),
                                                     " but the metadata implies ",
                                                     ShapeString(want)));
    }
    at::ScalarType src;
    if (t.type == 0) {
      src = at::kFloat;
    } else if (t.type == 1) {
      src = at::kHalf;
    } else if (t.type == 30) {
      src = at::kBFloat16;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          file.path(), ": tensor '", t.name, "' has type ", GgmlTypeName(t.type),
          "; quantized tensors are not supported (supported: F32, F16, BF16)"));
    }
    at::Tensor w = CopyToTensor(t.data, src, shape, device, dtype);
    file.ReleaseTensorPages(t);
    const bool is_q = absl::EndsWith(name, "q_proj.weight");
    const bool is_k = absl::EndsWith(name, "k_proj.weight");
    if (unpermute && (is_q || is_k)) {
      const int64_t n = is_q ? config->num_heads : config->num_kv_heads;
      const int64_t hd = config->head_dim;
      w = w.reshape({n, hd / 2, 2, shape[1]}).transpose(1, 2).reshape({n * hd, shape[1]})
              .contiguous();
    }
    *slot = w;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (config->tie_word_embeddings) weights.lm_head = weights.embed_tokens;
  return std::make_unique<Transformer>(*config, std::move(weights));
}

}  // namespace

std::string HfNameOfGgufTensor(const std::string& g) {
  static const std::map<std::string, std::string> kTop = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  static const std::map<std::string, std::string> kBlock = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
  };
  if (auto it = kTop.find(g); it != kTop.end()) return it->second;
  // "blk.<digits>.<rest>" (names come from the file: matched by hand, not
  // with std::regex, whose recursion a long name can exhaust).
  absl::string_view rest = g;
  if (!absl::ConsumePrefix(&rest, "blk.")) return "";
  const size_t digits = rest.find_first_not_of("0123456789");
  if (digits == 0 || digits == absl::string_view::npos || rest[digits] != '.') return "";
  const absl::string_view layer = rest.substr(0, digits);
  if (auto it = kBlock.find(std::string(rest.substr(digits + 1))); it != kBlock.end()) {
    return absl::StrCat("model.layers.", layer, ".", it->second);
  }
  return "";
}

namespace {

// A Transformer over the same tensors (no copy).
std::unique_ptr<Transformer> SharedTransformer(const Transformer& t) {
  return std::make_unique<Transformer>(t.config(), t.weights());
}

}  // namespace

absl::StatusOr<LoadedModel> LoadModel(const std::string& path_or_id, const LoadOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  auto device = ParseDevice(options.device);
  if (!device.ok()) return device.status();
  auto dtype = ParseDtype(options.dtype);
  if (!dtype.ok()) return dtype.status();
  if (auto s = CheckDeviceDtype(*device, *dtype); !s.ok()) return s;
  auto path = ResolveModelPath(path_or_id);
  if (!path.ok()) return path.status();

  const bool shared = options.shared_weights != nullptr;
  if (shared && (options.shared_weights->device() != *device ||
                 options.shared_weights->dtype() != *dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shared weights are ", DtypeName(options.shared_weights->dtype()), " on ",
        options.shared_weights->device().str(), ", not ", options.dtype, " on ", options.device));
  }
  LoadedModel model;
  std::vector<std::string> adapters;
  std::string base = *path;
  // A PEFT adapter folder given as the model: load its base, merge it.
  if (IsDirectory(base) && IsRegularFile(base + "/adapter_config.json") && !IsRegularFile(base + "/config.json")) {
    auto lora_config = LoadLoraConfig(base + "/adapter_config.json");
    if (!lora_config.ok()) return lora_config.status();
    if (lora_config->base_model_name_or_path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          base, "/adapter_config.json: no base_model_name_or_path to load the base model from"));
    }
    adapters.push_back(base);
    auto resolved = ResolveModelPath(lora_config->base_model_name_or_path);
    if (!resolved.ok()) {
      return absl::Status(resolved.status().code(),
                          absl::StrCat("base model of adapter ", base, ": ",
                                       resolved.status().message()));
    }
    base = *resolved;
  }
  adapters.insert(adapters.end(), options.merge_adapters.begin(), options.merge_adapters.end());

  try {
    if (IsRegularFile(base) && absl::EndsWith(base, ".gguf")) {
      auto file = GgufFile::Open(base);
      if (!file.ok()) return file.status();
      if (shared) {
        model.transformer = SharedTransformer(*options.shared_weights);
      } else {
        auto transformer = LoadGgufModel(**file, *device, *dtype);
        if (!transformer.ok()) return transformer.status();
        model.transformer = std::move(*transformer);
      }
      auto vocab = ReadGgufVocab(**file);
      if (!vocab.ok()) return vocab.status();
      auto tokenizer = Tokenizer::FromGgufVocab(*vocab);
      if (!tokenizer.ok()) return tokenizer.status();
      model.tokenizer = std::move(*tokenizer);
      model.format = "gguf";
    } else if (IsDirectory(base)) {
      if (!IsRegularFile(base + "/config.json")) {
        return absl::InvalidArgumentError(absl::StrCat(
            base, ": has no config.json (nor adapter_config.json); not a Hugging Face model"));
      }
      if (shared) {
        model.transformer = SharedTransformer(*options.shared_weights);
      } else {
        auto transformer = LoadSafetensorsModel(base, *device, *dtype);
        if (!transformer.ok()) return transformer.status();
        model.transformer = std::move(*transformer);
      }
      auto tokenizer = Tokenizer::FromJsonFile(base + "/tokenizer.json");
      if (!tokenizer.ok()) return tokenizer.status();
      model.tokenizer = std::move(*tokenizer);
      model.format = "safetensors";
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          base, ": not a .gguf file nor a Hugging Face model folder"));
    }
    for (const std::string& dir : adapters) {
      if (shared) break;  // already merged into the shared weights
      auto lora = LoadLoraAdapter(dir, model.transformer->config(), *device, *dtype);
      if (!lora.ok()) return lora.status();
      model.transformer->MergeLora(*lora);
    }
  } catch (const std::exception& e) {
    return ExceptionStatus(e, absl::StrCat("loading ", base));
  }
  // Every id the tokenizer can produce must index the embedding: a larger
  // one is an out-of-range read on the CPU and a device-side assert on CUDA.
  const int64_t rows = model.transformer->config().vocab_size;
  if (model.tokenizer->vocab_size() > rows) {
    return absl::InvalidArgumentError(absl::StrCat(
        base, ": the tokenizer produces ids up to ", model.tokenizer->vocab_size() - 1,
        " but the model's embedding has ", rows, " rows (config vocab_size)"));
  }
  model.path = base;
  for (auto it = adapters.rbegin(); it != adapters.rend(); ++it) model.config_dirs.push_back(*it);
  model.config_dirs.push_back(IsDirectory(base) ? base : base.substr(0, base.find_last_of('/') + 1));
  model.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return model;
}

}  // namespace llm2vec
