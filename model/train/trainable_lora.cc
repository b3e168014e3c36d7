#include "model/train/trainable_lora.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/atomic_dir.h"
#include "model/formats/safetensors.h"

namespace llm2vec {
namespace {

// The first base weight that requires grad, or "" when all are frozen.
std::string FirstTrainableBaseWeight(const Transformer& model) {
  const TransformerWeights& w = model.weights();
  auto trains = [](const at::Tensor& t) { return t.defined() && t.requires_grad(); };
  if (trains(w.embed_tokens)) return "model.embed_tokens.weight";
  if (trains(w.norm)) return "model.norm.weight";
  if (trains(w.lm_head)) return "lm_head.weight";
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& lw = w.layers[l];
    if (trains(lw.input_layernorm) || trains(lw.post_attention_layernorm)) {
      return absl::StrCat("model.layers.", l, " norms");
    }
    for (int p = 0; p < kNumProjections; ++p) {
      if (trains(lw.proj[p])) {
        return absl::StrCat("model.layers.", l, ".", ProjectionName(static_cast<Projection>(p)));
      }
    }
    for (const at::Tensor& b : lw.qkv_bias) {
      if (trains(b)) return absl::StrCat("model.layers.", l, " q/k/v bias");
    }
  }
  return "";
}

}  // namespace

std::string LoraTensorName(int layer, Projection projection, bool is_b) {
  return absl::StrCat("base_model.model.model.layers.", layer,
                      projection < kGateProj ? ".self_attn." : ".mlp.", ProjectionName(projection),
                      is_b ? ".lora_B.weight" : ".lora_A.weight");
}

std::string Llm2VecConfigJson(const Llm2VecConfig& config) {
  nlohmann::ordered_json j;
  j["pooling_mode"] = PoolingModeName(config.pooling_mode.value_or(PoolingMode::kMean));
  j["max_length"] = config.max_length;
  j["doc_max_length"] = config.doc_max_length;
  j["skip_instruction"] = config.skip_instruction;
  return j.dump(2) + "\n";
}

absl::StatusOr<std::unique_ptr<TrainableLora>> TrainableLora::Create(const Transformer& model,
                                                                     const LoraConfig& config,
                                                                     uint64_t seed) {
  if (config.r <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("LoRA rank ", config.r, " must be positive"));
  }
  if (!(config.lora_alpha > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("LoRA alpha ", config.lora_alpha, " must be positive"));
  }
  if (!(config.lora_dropout >= 0 && config.lora_dropout < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("LoRA dropout ", config.lora_dropout, " must be in [0, 1)"));
  }
  if (config.target_modules.empty()) {
    return absl::InvalidArgumentError("LoRA needs at least one target module");
  }
  std::array<bool, kNumProjections> targeted{};
  for (const std::string& m : config.target_modules) {
    auto p = ProjectionFromName(m);
    if (!p) {
      return absl::InvalidArgumentError(absl::StrCat(
          "LoRA target module '", m,
          "' is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"));
    }
    targeted[*p] = true;
  }
  // Training must never update the base: the loader creates its weights
  // without grad, and nothing may have changed that.
  if (std::string w = FirstTrainableBaseWeight(model); !w.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("base weight ", w, " requires grad; base weights must be frozen"));
  }
  std::unique_ptr<TrainableLora> lora(new TrainableLora(config));
  const ModelConfig& mc = model.config();
  const double scale = config.scale();
  at::Generator gen = at::detail::createCPUGenerator(seed);
  lora->weights_.layers.resize(mc.num_layers);
  lora->weights_.dropout = config.lora_dropout;
  const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat);
  for (int l = 0; l < static_cast<int>(mc.num_layers); ++l) {
    for (int p = 0; p < kNumProjections; ++p) {
      if (!targeted[p]) continue;
      const Projection proj = static_cast<Projection>(p);
      const std::vector<int64_t> shape = ExpectedShape(
          mc, absl::StrCat("model.layers.", l, proj < kGateProj ? ".self_attn." : ".mlp.",
                           ProjectionName(proj), ".weight"));  // (out, in)
      const int64_t out = shape[0], in = shape[1];
      // kaiming_uniform_(a=sqrt(5)): gain sqrt(2 / (1 + 5)), bound
      // gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
      const double bound = 1.0 / std::sqrt(static_cast<double>(in));
      LoraPair& pair = lora->weights_.layers[l][p];
      pair.a = at::empty({config.r, in}, f32).uniform_(-bound, bound, gen).to(model.device());  // (R, in)
      pair.b = at::zeros({out, config.r}, f32.device(model.device()));                       // (out, R)
      pair.a.requires_grad_(true);
      pair.b.requires_grad_(true);
      pair.scale = scale;
      lora->params_.push_back(pair.a);
      lora->names_.push_back(LoraTensorName(l, proj, false));
      lora->params_.push_back(pair.b);
      lora->names_.push_back(LoraTensorName(l, proj, true));
    }
  }
  return lora;
}

LoraWeights TrainableLora::ForwardView(at::ScalarType dtype) const {
  if (dtype == at::kFloat) return weights_;
  LoraWeights view = weights_;
  for (auto& layer : view.layers) {
    for (LoraPair& pair : layer) {
      if (!pair.defined()) continue;
      pair.a = pair.a.to(dtype);
      pair.b = pair.b.to(dtype);
    }
  }
  return view;
}

int64_t TrainableLora::num_parameters() const {
  int64_t n = 0;
  for (const at::Tensor& t : params_) n += t.numel();
  return n;
}

absl::Status TrainableLora::LoadFrom(const std::string& dir, const ModelConfig& model_config) {
  LoraConfig saved;
  auto loaded = LoadLoraAdapter(dir, model_config, at::kCPU, at::kFloat, &saved);
  if (!loaded.ok()) return loaded.status();
  if (saved.r != config_.r) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, ": adapter has r=", saved.r, " but training uses r=", config_.r));
  }
  c10::NoGradGuard no_grad;
  for (size_t l = 0; l < weights_.layers.size(); ++l) {
    for (int p = 0; p < kNumProjections; ++p) {
      LoraPair& mine = weights_.layers[l][p];
      const LoraPair& theirs = loaded->layers[l][p];
      if (mine.defined() != theirs.defined()) {
        return absl::InvalidArgumentError(absl::StrCat(
            dir, ": layer ", l, " ", ProjectionName(static_cast<Projection>(p)),
            mine.defined() ? " is missing from the adapter" : " is not a target of this training"));
      }
      if (!mine.defined()) continue;
      mine.a.copy_(theirs.a);
      mine.b.copy_(theirs.b);
    }
  }
  return absl::OkStatus();
}

absl::Status TrainableLora::WriteFiles(const std::string& dir, const Llm2VecConfig& llm2vec) const {
  nlohmann::ordered_json cfg;
  cfg["peft_type"] = "LORA";
  cfg["task_type"] = "FEATURE_EXTRACTION";
  cfg["base_model_name_or_path"] = config_.base_model_name_or_path;
  cfg["r"] = config_.r;
  cfg["lora_alpha"] = config_.lora_alpha;
  cfg["lora_dropout"] = config_.lora_dropout;
  cfg["target_modules"] = config_.target_modules;
  cfg["bias"] = "none";
  cfg["fan_in_fan_out"] = false;
  cfg["use_rslora"] = config_.use_rslora;
  cfg["init_lora_weights"] = true;
  cfg["inference_mode"] = true;
  cfg["modules_to_save"] = nullptr;
  if (auto s = WriteFileSynced(dir + "/adapter_config.json", cfg.dump(2) + "\n"); !s.ok()) return s;
  // Host copies stay alive until the safetensors file is written.
  std::vector<at::Tensor> host;
  host.reserve(params_.size());
  std::map<std::string, SafetensorsEntry> entries;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor t = params_[i].detach().to(at::kCPU, at::kFloat).contiguous();
    host.push_back(t);
    entries[names_[i]] = {"F32", t.sizes().vec(), t.data_ptr(),
                          static_cast<uint64_t>(t.numel()) * sizeof(float)};
  }
  if (auto s = WriteSafetensors(dir + "/adapter_model.safetensors", entries); !s.ok()) return s;
  return WriteFileSynced(dir + "/llm2vec_config.json", Llm2VecConfigJson(llm2vec));
}

absl::Status TrainableLora::Save(const std::string& dir, const Llm2VecConfig& llm2vec) const {
  auto staging = MakeStagingDir(dir);
  if (!staging.ok()) return staging.status();
  if (auto s = WriteFiles(*staging, llm2vec); !s.ok()) {
    RemoveTree(*staging).IgnoreError();
    return s;
  }
  return CommitStagingDir(*staging, dir);
}

}  // namespace llm2vec
