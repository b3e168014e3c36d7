#include "model/nn/lora.h"

#include <ATen/ATen.h>

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/mapped_file.h"
#include "model/formats/safetensors.h"
#include "model/nn/tensor_io.h"

namespace llm2vec {

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
  return LoadLoraAdapter(*FolderReader::AtPath(dir), config, device, dtype, config_out);
}

absl::StatusOr<LoraWeights> LoadLoraAdapter(const FolderReader& folder, const ModelConfig& config,
                                            at::Device device, at::ScalarType dtype,
                                            LoraConfig* config_out) {
  auto config_text = folder.ReadFile("adapter_config.json", int64_t{1} << 20);
  if (!config_text.ok()) return config_text.status();
  auto lora_config = ParseLoraConfig(*config_text, folder.FilePath("adapter_config.json"));
  if (!lora_config.ok()) return lora_config.status();
  auto archive = SafetensorsArchive::OpenFolder(folder, "adapter_model");
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
