#include "model/nn/lora.h"

#include <ATen/ATen.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_join.h"
#include "common/mapped_file.h"
#include "model/formats/safetensors.h"
#include "model/nn/tensor_io.h"

namespace llm2vec {

double LoraConfig::scale() const {
  return use_rslora ? lora_alpha / std::sqrt(static_cast<double>(r))
                    : lora_alpha / static_cast<double>(r);
}

absl::StatusOr<LoraConfig> LoadLoraConfig(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not valid JSON"));
  }
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
  };
  LoraConfig c;
  const std::string type = j.value("peft_type", "LORA");
  if (type != "LORA") return bad(absl::StrCat("peft_type '", type, "' is not supported (LORA)"));
  if (j.value("fan_in_fan_out", false)) return bad("fan_in_fan_out adapters are not supported");
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() <= 0) {
    return bad("'r' must be a positive integer");
  }
  c.r = j["r"].get<int64_t>();
  if (j.contains("lora_alpha")) {
    if (!j["lora_alpha"].is_number()) return bad("'lora_alpha' must be a number");
    c.lora_alpha = j["lora_alpha"].get<double>();
  }
  if (j.contains("lora_dropout") && j["lora_dropout"].is_number()) {
    c.lora_dropout = j["lora_dropout"].get<double>();
  }
  if (j.contains("use_rslora") && j["use_rslora"].is_boolean()) {
    c.use_rslora = j["use_rslora"].get<bool>();
  }
  if (j.contains("target_modules") && !j["target_modules"].is_null()) {
    const auto& t = j["target_modules"];
    c.target_modules.clear();
    if (t.is_string()) {
      c.target_modules.push_back(t.get<std::string>());
    } else if (t.is_array()) {
      for (const auto& m : t) {
        if (!m.is_string()) return bad("'target_modules' must hold strings");
        c.target_modules.push_back(m.get<std::string>());
      }
    } else {
      return bad("'target_modules' must be a string or a list");
    }
    for (const std::string& m : c.target_modules) {
      if (!ProjectionFromName(m)) {
        return bad(absl::StrCat("target module '", m, "' is not supported (supported: ",
                                "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)"));
      }
    }
  }
  if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string()) {
    c.base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
  }
  return c;
}

std::optional<PeftTensorName> ParsePeftTensorName(const std::string& name) {
  // [base_model.model.][model.]layers.<N>.(self_attn|mlp).<proj>.lora_(A|B)[.<adapter>].weight,
  // matched by hand: names come from the file (no std::regex, whose
  // recursion a long name can exhaust; no std::stoi, which throws).
  absl::string_view s = name;
  absl::ConsumePrefix(&s, "base_model.model.");
  absl::ConsumePrefix(&s, "model.");
  if (!absl::ConsumePrefix(&s, "layers.")) return std::nullopt;
  const size_t digits = s.find_first_not_of("0123456789");
  int layer = 0;
  if (digits == 0 || digits == absl::string_view::npos || digits > 6 ||
      !absl::SimpleAtoi(s.substr(0, digits), &layer)) {
    return std::nullopt;
  }
  s.remove_prefix(digits);
  if (!absl::ConsumePrefix(&s, ".self_attn.") && !absl::ConsumePrefix(&s, ".mlp.")) {
    return std::nullopt;
  }
  const size_t lora = s.find(".lora_");
  if (lora == 0 || lora == absl::string_view::npos) return std::nullopt;
  auto proj = ProjectionFromName(std::string(s.substr(0, lora)));
  if (!proj) return std::nullopt;
  s.remove_prefix(lora + 6);
  if (s.empty() || (s.front() != 'A' && s.front() != 'B')) return std::nullopt;
  const bool is_b = s.front() == 'B';
  s.remove_prefix(1);
  if (!absl::ConsumeSuffix(&s, ".weight")) return std::nullopt;
  if (!s.empty()) {  // ".<adapter name>"
    if (!absl::ConsumePrefix(&s, ".") || s.empty()) return std::nullopt;
    for (char c : s) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return std::nullopt;
    }
  }
  PeftTensorName out;
  out.layer = layer;
  out.projection = *proj;
  out.is_b = is_b;
  return out;
}

absl::StatusOr<LoraWeights> LoadLoraAdapter(const std::string& dir, const ModelConfig& config,
                                            at::Device device, at::ScalarType dtype,
                                            LoraConfig* config_out) {
  auto lora_config = LoadLoraConfig(dir + "/adapter_config.json");
  if (!lora_config.ok()) return lora_config.status();
  auto archive = SafetensorsArchive::OpenFolder(dir, "adapter_model");
  if (!archive.ok()) return archive.status();
  const std::string& file = (*archive)->description();
  LoraWeights lora;
  lora.layers.resize(config.num_layers);
  lora.dropout = lora_config->lora_dropout;
  const double scale = lora_config->scale();
  int loaded = 0;
  for (const auto& [name, view] : (*archive)->tensors()) {
    auto parsed = ParsePeftTensorName(name);
    if (!parsed) {
      if (name.find("lora_") != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat(file, ": tensor '", name, "' is not a LoRA matrix of a known module"));
      }
      continue;  // e.g. modules_to_save; not part of the low-rank update
    }
    if (parsed->layer >= config.num_layers) {
      return absl::InvalidArgumentError(absl::StrCat(file, ": tensor '", name, "' names layer ",
                                                     parsed->layer, " but the model has ",
                                                     config.num_layers));
    }
    const std::string hf = absl::StrCat(
        "model.layers.", parsed->layer, parsed->projection < kGateProj ? ".self_attn." : ".mlp.",
        ProjectionName(parsed->projection), ".weight");
    const std::vector<int64_t> base = ExpectedShape(config, hf);  // (out, in)
    const std::vector<int64_t> want =
        parsed->is_b ? std::vector<int64_t>{base[0], lora_config->r}
                     : std::vector<int64_t>{lora_config->r, base[1]};
    if (view.shape != want) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": tensor '", name, "' has shape [", absl::StrJoin(view.shape, ", "),
          "] but r=", lora_config->r, " and the base model need [", absl::StrJoin(want, ", "), "]"));
    }
    at::ScalarType src;
    if (view.dtype == "F32") {
      src = at::kFloat;
    } else if (view.dtype == "F16") {
      src = at::kHalf;
    } else if (view.dtype == "BF16") {
      src = at::kBFloat16;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(file, ": tensor '", name, "' has dtype ",
                                                     view.dtype, " (supported: F32, F16, BF16)"));
    }
    LoraPair& pair = lora.layers[parsed->layer][parsed->projection];
    (parsed->is_b ? pair.b : pair.a) = CopyToTensor(view.data, src, view.shape, device, dtype);
    pair.scale = scale;
    ++loaded;
  }
  for (int64_t l = 0; l < config.num_layers; ++l) {
    for (int p = 0; p < kNumProjections; ++p) {
      const LoraPair& pair = lora.layers[l][p];
      if (pair.a.defined() != pair.b.defined()) {
        return absl::InvalidArgumentError(
            absl::StrCat(file, ": layer ", l, " ", ProjectionName(static_cast<Projection>(p)),
                         " has lora_", pair.a.defined() ? "A" : "B", " but no lora_",
                         pair.a.defined() ? "B" : "A"));
      }
    }
  }
  if (loaded == 0) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": holds no LoRA tensors"));
  }
  if (config_out != nullptr) *config_out = *lora_config;
  return lora;
}

}  // namespace llm2vec
