#include "model/formats/model_config.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/mapped_file.h"

namespace llm2vec {
namespace {

bool IsSupported(const std::string& arch) {
  return arch == "llama" || arch == "mistral" || arch == "qwen2";
}

absl::Status Unsupported(const std::string& source, const std::string& arch) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": architecture '", arch,
                                                 "' is not supported (supported: ",
                                                 kSupportedArchitectures, ")"));
}

}  // namespace

absl::Status ModelConfig::Validate(const std::string& source) const {
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
  };
  if (!IsSupported(architecture)) return Unsupported(source, architecture);
  if (hidden_size <= 0) return bad(absl::StrCat("hidden_size ", hidden_size, " must be > 0"));
  if (intermediate_size <= 0) {
    return bad(absl::StrCat("intermediate_size ", intermediate_size, " must be > 0"));
  }
  if (num_layers <= 0) return bad(absl::StrCat("num_hidden_layers ", num_layers, " must be > 0"));
  if (num_heads <= 0) return bad(absl::StrCat("num_attention_heads ", num_heads, " must be > 0"));
  if (num_kv_heads <= 0 || num_heads % num_kv_heads != 0) {
    return bad(absl::StrCat("num_key_value_heads ", num_kv_heads,
                            " must divide num_attention_heads ", num_heads));
  }
  if (head_dim <= 0 || head_dim % 2 != 0) {
    return bad(absl::StrCat("head_dim ", head_dim, " must be even and > 0"));
  }
  if (vocab_size <= 0) return bad(absl::StrCat("vocab_size ", vocab_size, " must be > 0"));
  if (!(rms_norm_eps > 0)) return bad(absl::StrCat("rms_norm_eps ", rms_norm_eps, " must be > 0"));
  if (!(rope_theta > 0)) return bad(absl::StrCat("rope_theta ", rope_theta, " must be > 0"));
  if (!rope_scaling.type.empty() && rope_scaling.type != "llama3" &&
      rope_scaling.type != "linear") {
    return bad(absl::StrCat("rope_scaling type '", rope_scaling.type,
                            "' is not supported (supported: llama3, linear)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelConfig> ParseHfConfig(const std::string& json_text, const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not valid JSON"));
  }
  ModelConfig c;
  // Reads an optional field of `o` (named `where` + key in errors), refusing
  // one of the wrong JSON type: a config.json may come from anyone.
  absl::Status status;
  using json = nlohmann::json;
  auto field = [](const json& o, const char* key) -> const json* {
    auto it = o.find(key);
    return it == o.end() || it->is_null() ? nullptr : &*it;
  };
  auto wrong = [&](const std::string& where, const char* key, const char* what, const json& v) {
    status.Update(absl::InvalidArgumentError(
        absl::StrCat(path, ": '", where, key, "' must be ", what, ", got ",
                     v.dump(-1, ' ', false, json::error_handler_t::replace))));
  };
  auto int_of = [&](const json& o, const std::string& where, const char* key,
                    int64_t fallback) -> int64_t {
    const json* v = field(o, key);
    if (v == nullptr) return fallback;
    if (!v->is_number_integer()) {
      wrong(where, key, "an integer", *v);
      return fallback;
    }
    return v->get<int64_t>();
  };
  auto float_of = [&](const json& o, const std::string& where, const char* key,
                      double fallback) -> double {
    const json* v = field(o, key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) {
      wrong(where, key, "a number", *v);
      return fallback;
    }
    return v->get<double>();
  };
  auto string_of = [&](const json& o, const std::string& where, const char* key,
                       const std::string& fallback) -> std::string {
    const json* v = field(o, key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) {
      wrong(where, key, "a string", *v);
      return fallback;
    }
    return v->get<std::string>();
  };
  auto get_int = [&](const char* key, int64_t fallback) { return int_of(j, "", key, fallback); };
  auto get_float = [&](const char* key, double fallback) {
    return float_of(j, "", key, fallback);
  };
  auto get_bool = [&](const char* key, bool fallback) -> bool {
    const json* v = field(j, key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) {
      wrong("", key, "true or false", *v);
      return fallback;
    }
    return v->get<bool>();
  };
  c.architecture = string_of(j, "", "model_type", "");
  if (!status.ok()) return status;
  if (!IsSupported(c.architecture)) return Unsupported(path, c.architecture);
  c.hidden_size = get_int("hidden_size", 0);
  c.intermediate_size = get_int("intermediate_size", 0);
  c.num_layers = get_int("num_hidden_layers", 0);
  c.num_heads = get_int("num_attention_heads", 0);
  c.num_kv_heads = get_int("num_key_value_heads", c.num_heads);
  c.head_dim = get_int("head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
  c.vocab_size = get_int("vocab_size", 0);
  c.max_position_embeddings = get_int("max_position_embeddings", 2048);
  c.rms_norm_eps = get_float("rms_norm_eps", 1e-6);
  c.rope_theta = get_float("rope_theta", 10000.0);
  c.attention_bias = get_bool("attention_bias", c.architecture == "qwen2");
  c.tie_word_embeddings = get_bool("tie_word_embeddings", false);
  c.bos_token_id = get_int("bos_token_id", -1);
  // Llama-3 lists several EOS ids; the first is the one used for padding.
  if (j.contains("eos_token_id") && j["eos_token_id"].is_array() &&
      !j["eos_token_id"].empty() && j["eos_token_id"][0].is_number_integer()) {
    c.eos_token_id = j["eos_token_id"][0].get<int64_t>();
  } else {
    c.eos_token_id = get_int("eos_token_id", -1);
  }
  c.pad_token_id = get_int("pad_token_id", -1);
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const auto& rs = j["rope_scaling"];
    if (!rs.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": 'rope_scaling' must be an object"));
    }
    const std::string where = "rope_scaling.";
    c.rope_scaling.type =
        string_of(rs, where, "rope_type", string_of(rs, where, "type", ""));
    c.rope_scaling.factor = float_of(rs, where, "factor", 1.0);
    c.rope_scaling.low_freq_factor = float_of(rs, where, "low_freq_factor", 1.0);
    c.rope_scaling.high_freq_factor = float_of(rs, where, "high_freq_factor", 4.0);
    c.rope_scaling.original_max_position_embeddings =
        int_of(rs, where, "original_max_position_embeddings", 8192);
    if (c.rope_scaling.type == "default") c.rope_scaling.type = "";
  }
  if (!status.ok()) return status;
  if (auto s = c.Validate(path); !s.ok()) return s;
  return c;
}

absl::StatusOr<ModelConfig> LoadHfConfig(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParseHfConfig(*text, path);
}

absl::StatusOr<ModelConfig> ConfigFromGguf(const GgufFile& file) {
  auto arch = file.GetString("general.architecture");
  if (!arch.ok()) return arch.status();
  if (!IsSupported(*arch)) return Unsupported(file.path(), *arch);
  ModelConfig c;
  c.architecture = *arch;
  const std::string p = *arch + ".";
  absl::Status status;
  auto get_int = [&](const std::string& key, int64_t fallback, bool required) -> int64_t {
    auto v = required ? file.GetInt(p + key) : file.GetIntOr(p + key, fallback);
    status.Update(v.status());
    return v.ok() ? *v : fallback;
  };
  auto get_float = [&](const std::string& key, double fallback) -> double {
    auto v = file.GetFloatOr(p + key, fallback);
    status.Update(v.status());
    return v.ok() ? *v : fallback;
  };
  c.hidden_size = get_int("embedding_length", 0, true);
  c.intermediate_size = get_int("feed_forward_length", 0, true);
  c.num_layers = get_int("block_count", 0, true);
  c.num_heads = get_int("attention.head_count", 0, true);
  c.num_kv_heads = get_int("attention.head_count_kv", c.num_heads, false);
  c.head_dim = get_int("attention.key_length", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0,
                       false);
  c.max_position_embeddings = get_int("context_length", 2048, false);
  c.rms_norm_eps = get_float("attention.layer_norm_rms_epsilon", 1e-5);
  c.rope_theta = get_float("rope.freq_base", 10000.0);
  c.attention_bias = c.architecture == "qwen2";
  if (!status.ok()) return status;
  const GgufTensorInfo* embd = file.FindTensor("token_embd.weight");
  if (embd == nullptr || embd->ne.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(file.path(), ": tensor 'token_embd.weight' is missing or not 2-D"));
  }
  c.vocab_size = embd->ne[1];
  c.tie_word_embeddings = file.FindTensor("output.weight") == nullptr;
  // Special ids; llama.cpp writes uint32 -1 for "none".
  auto token_id = [&](const char* key) -> int64_t {
    const GgufValue* v = file.Find(key);
    if (v == nullptr || v->i < 0 || v->i >= c.vocab_size) return -1;
    return v->i;
  };
  c.bos_token_id = token_id("tokenizer.ggml.bos_token_id");
  c.eos_token_id = token_id("tokenizer.ggml.eos_token_id");
  c.pad_token_id = token_id("tokenizer.ggml.padding_token_id");
  if (auto st = file.GetString(p + "rope.scaling.type"); st.ok() && *st != "none") {
    c.rope_scaling.type = *st;
    c.rope_scaling.factor = get_float("rope.scaling.factor", 1.0);
  }
  if (auto s = c.Validate(file.path()); !s.ok()) return s;
  return c;
}

}  // namespace llm2vec
