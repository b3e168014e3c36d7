#include "model/formats/adapter_config.h"

#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/mapped_file.h"

namespace llm2vec {
namespace {

constexpr const char* kProjections[] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                        "gate_proj", "up_proj", "down_proj"};

bool KnownProjection(const std::string& name) {
  for (const char* p : kProjections) {
    if (name == p) return true;
  }
  return false;
}

}  // namespace

double LoraConfig::scale() const {
  return use_rslora ? lora_alpha / std::sqrt(static_cast<double>(r))
                    : lora_alpha / static_cast<double>(r);
}

absl::StatusOr<LoraConfig> ParseLoraConfig(const std::string& json_text, const std::string& path) {
  using json = nlohmann::json;
  const json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": not valid JSON"));
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
  };
  // The field `key` when present and not null, else null.
  auto field = [&](const char* key) -> const json* {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  LoraConfig c;
  if (const json* t = field("peft_type")) {
    if (!t->is_string()) return bad("'peft_type' must be a string");
    if (t->get<std::string>() != "LORA") {
      return bad(absl::StrCat("peft_type '", t->get<std::string>(),
                              "' is not supported (LORA)"));
    }
  }
  if (const json* f = field("fan_in_fan_out")) {
    if (!f->is_boolean()) return bad("'fan_in_fan_out' must be true or false");
    if (f->get<bool>()) return bad("fan_in_fan_out adapters are not supported");
  }
  const json* r = field("r");
  if (r == nullptr || !r->is_number_integer() || r->get<int64_t>() <= 0 ||
      r->get<int64_t>() > kMaxLoraRank) {
    return bad(absl::StrCat("'r' must be an integer in 1..", kMaxLoraRank));
  }
  c.r = r->get<int64_t>();
  if (const json* a = field("lora_alpha")) {
    if (!a->is_number() || !std::isfinite(a->get<double>())) {
      return bad("'lora_alpha' must be a finite number");
    }
    c.lora_alpha = a->get<double>();
  }
  if (const json* d = field("lora_dropout")) {
    if (!d->is_number() || !(d->get<double>() >= 0 && d->get<double>() < 1)) {
      return bad("'lora_dropout' must be a number in [0, 1)");
    }
    c.lora_dropout = d->get<double>();
  }
  if (const json* u = field("use_rslora")) {
    if (!u->is_boolean()) return bad("'use_rslora' must be true or false");
    c.use_rslora = u->get<bool>();
  }
  if (const json* t = field("target_modules")) {
    c.target_modules.clear();
    if (t->is_string()) {
      c.target_modules.push_back(t->get<std::string>());
    } else if (t->is_array()) {
      for (const json& m : *t) {
        if (!m.is_string()) return bad("'target_modules' must hold strings");
        c.target_modules.push_back(m.get<std::string>());
      }
    } else {
      return bad("'target_modules' must be a string or a list");
    }
    for (const std::string& m : c.target_modules) {
      if (!KnownProjection(m)) {
        return bad(absl::StrCat("target module '", m, "' is not supported (supported: ",
                                "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)"));
      }
    }
  }
  if (const json* b = field("base_model_name_or_path")) {
    if (!b->is_string()) return bad("'base_model_name_or_path' must be a string");
    c.base_model_name_or_path = b->get<std::string>();
  }
  return c;
}

bool ValidAdapterName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<LoraConfig> LoadLoraConfig(const std::string& path) {
  auto text = ReadFileToString(path, int64_t{1} << 20);
  if (!text.ok()) return text.status();
  return ParseLoraConfig(*text, path);
}

}  // namespace llm2vec
