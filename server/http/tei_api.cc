#include "server/http/tei_api.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace llm2vec {

using json = nlohmann::json;

namespace {

// "truncate" and "truncation_direction" of `root` (an object or null).
absl::Status ReadTruncation(const json& root, HttpTruncation* out) {
  bool truncate = false;
  if (absl::Status s = ReadOptionalBool(root, "truncate", &truncate); !s.ok()) return s;
  std::string direction = "right";
  if (absl::Status s = ReadOptionalString(root, "truncation_direction", &direction); !s.ok()) {
    return s;
  }
  // TEI's enum is "Left"/"Right"; its defaults are written "right".
  const std::string lower = absl::AsciiStrToLower(direction);
  if (lower != "left" && lower != "right") {
    return absl::InvalidArgumentError(absl::StrCat("'truncation_direction' is ",
                                                   JsonText(json(direction)),
                                                   "; expected \"right\" or \"left\""));
  }
  *out = !truncate ? HttpTruncation::kNone
                   : (lower == "right" ? HttpTruncation::kEnd : HttpTruncation::kStart);
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseTeiEmbed(const std::string& body, const InputLimits& limits, bool per_token,
                           HttpEmbedCall* call) {
  json root;
  if (absl::Status s = ParseBoundedBody(body, "inputs", limits, &root); !s.ok()) return s;
  const auto inputs = root.find("inputs");
  if (absl::Status s = ReadInputs(inputs == root.end() ? json() : *inputs, "inputs",
                                  /*mixed=*/true, &call->inputs);
      !s.ok()) {
    return s;
  }
  call->per_token = per_token;
  if (per_token) {
    call->normalize = false;  // /embed_all has no "normalize": the model's states
  } else {
    call->normalize = true;
    if (absl::Status s = ReadOptionalBool(root, "normalize", &call->normalize); !s.ok()) return s;
  }
  if (absl::Status s = ReadTruncation(root, &call->truncation); !s.ok()) return s;
  return ReadOptionalString(root, "prompt_name", &call->prompt_name);
}

absl::Status ParseTeiSimilarity(const std::string& body, const InputLimits& limits,
                                HttpSimilarityCall* call) {
  json root;
  if (absl::Status s = ParseBoundedBody(body, "inputs", limits, &root); !s.ok()) return s;
  const auto inputs = root.find("inputs");
  if (inputs == root.end() || !inputs->is_object()) {
    return absl::InvalidArgumentError(
        "'inputs' is required: {\"source_sentence\": string, \"sentences\": [string, ...]}");
  }
  const auto source = inputs->find("source_sentence");
  if (source == inputs->end() || !source->is_string() ||
      source->get_ref<const std::string&>().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'inputs.source_sentence' is ",
        source == inputs->end() ? "missing" : source->is_string() ? "empty" : source->type_name(),
        "; expected a non-empty string"));
  }
  call->source = source->get<std::string>();
  const auto sentences = inputs->find("sentences");
  if (sentences == inputs->end() || !sentences->is_array() || sentences->empty()) {
    return absl::InvalidArgumentError(
        "'inputs.sentences' must be a non-empty array of strings");
  }
  for (size_t i = 0; i < sentences->size(); ++i) {
    const json& s = (*sentences)[i];
    if (!s.is_string() || s.get_ref<const std::string&>().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'inputs.sentences[", i, "]' is ",
                       s.is_string() ? "an empty string" : TypeWithArticle(s),
                       "; expected a non-empty string"));
    }
    call->sentences.push_back(s.get<std::string>());
  }
  const auto parameters = root.find("parameters");
  if (parameters != root.end() && !parameters->is_null()) {
    if (!parameters->is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'parameters' is ", TypeWithArticle(*parameters), "; expected an object"));
    }
    if (absl::Status s = ReadTruncation(*parameters, &call->truncation); !s.ok()) return s;
    return ReadOptionalString(*parameters, "prompt_name", &call->prompt_name);
  }
  return absl::OkStatus();
}

absl::Status ParseTeiTokenize(const std::string& body, const InputLimits& limits,
                              HttpTokenizeCall* call) {
  json root;
  if (absl::Status s = ParseBoundedBody(body, "inputs", limits, &root); !s.ok()) return s;
  const auto inputs = root.find("inputs");
  std::vector<HttpInput> read;
  if (absl::Status s = ReadInputs(inputs == root.end() ? json() : *inputs, "inputs",
                                  /*mixed=*/false, &read);
      !s.ok()) {
    return s;
  }
  for (size_t i = 0; i < read.size(); ++i) {
    if (!read[i].token_ids.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'inputs", read.size() > 1 ? absl::StrCat("[", i, "]") : "",
                       "' is an array of token ids; /tokenize takes text"));
    }
    call->texts.push_back(std::move(read[i].text));
  }
  if (absl::Status s = ReadOptionalBool(root, "add_special_tokens", &call->add_special_tokens);
      !s.ok()) {
    return s;
  }
  return ReadOptionalString(root, "prompt_name", &call->prompt_name);
}

absl::Status ParseTeiDecode(const std::string& body, const InputLimits& limits,
                            HttpDecodeCall* call) {
  json root;
  if (absl::Status s = ParseBoundedBody(body, "ids", limits, &root); !s.ok()) return s;
  const auto ids = root.find("ids");
  if (ids == root.end() || !ids->is_array() || ids->empty()) {
    return absl::InvalidArgumentError(
        "'ids' is required: an array of token ids, or an array of such arrays");
  }
  if (ids->front().is_array()) {
    for (size_t i = 0; i < ids->size(); ++i) {
      const json& list = (*ids)[i];
      const std::string name = absl::StrCat("ids[", i, "]");
      if (!list.is_array()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "'", name, "' is ", TypeWithArticle(list), "; expected an array of token ids"));
      }
      call->ids.emplace_back();
      if (absl::Status s = ReadTokenIds(list, name, &call->ids.back()); !s.ok()) return s;
    }
  } else {
    call->ids.emplace_back();
    if (absl::Status s = ReadTokenIds(*ids, "ids", &call->ids.back()); !s.ok()) return s;
  }
  return ReadOptionalBool(root, "skip_special_tokens", &call->skip_special_tokens);
}

std::string TeiEmbeddingsJson(const HttpEmbedResult& result, bool per_token) {
  std::string out = "[";
  for (size_t i = 0; i < result.embeddings.size(); ++i) {
    if (i > 0) out += ',';
    const std::vector<float>& v = result.embeddings[i];
    if (!per_token) {
      AppendJsonFloats(v.data(), v.size(), &out);
      continue;
    }
    const int64_t tokens = i < result.tokens.size() ? result.tokens[i] : 0;
    const size_t width = tokens > 0 ? v.size() / static_cast<size_t>(tokens) : 0;
    out += '[';
    for (int64_t t = 0; t < tokens; ++t) {
      if (t > 0) out += ',';
      AppendJsonFloats(v.data() + static_cast<size_t>(t) * width, width, &out);
    }
    out += ']';
  }
  out += ']';
  return out;
}

std::string TeiFloatsJson(const std::vector<float>& values) {
  std::string out;
  AppendJsonFloats(values.data(), values.size(), &out);
  return out;
}

std::string TeiTokensJson(const std::vector<std::vector<HttpToken>>& tokens) {
  json out = json::array();
  for (const auto& list : tokens) {
    json row = json::array();
    for (const HttpToken& t : list) {
      row.push_back({{"id", t.id},
                     {"text", t.text},
                     {"special", t.special},
                     {"start", nullptr},
                     {"stop", nullptr}});
    }
    out.push_back(std::move(row));
  }
  return JsonText(out);
}

std::string TeiStringsJson(const std::vector<std::string>& texts) { return JsonText(json(texts)); }

std::string TeiInfoJson(const HttpInfo& info, int threads) {
  return JsonText(json{{"model_id", info.model_id},
                       {"model_sha", nullptr},
                       {"model_dtype", info.dtype},
                       {"model_type", {{"embedding", {{"pooling", info.pooling}}}}},
                       {"max_concurrent_requests", threads},
                       {"max_input_length", info.max_input_length},
                       {"max_batch_tokens", info.max_batch_tokens},
                       {"max_batch_requests", info.max_batch_requests},
                       {"max_client_batch_size", info.max_client_batch_size},
                       {"auto_truncate", false},
                       {"tokenization_workers", threads},
                       {"version", info.version},
                       {"sha", nullptr},
                       {"docker_label", nullptr}});
}

namespace {

const char* TeiErrorType(const absl::Status& status, TeiErrorSource source) {
  if (source == TeiErrorSource::kRequest) return "validation";
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument: return "validation";
    case absl::StatusCode::kNotFound: return "tokenizer";
    case absl::StatusCode::kResourceExhausted: return "overloaded";
    case absl::StatusCode::kUnavailable: return "unhealthy";
    case absl::StatusCode::kUnauthenticated: return "unauthorized";
    case absl::StatusCode::kPermissionDenied: return "forbidden";
    default: return "backend";
  }
}

}  // namespace

int TeiStatusFor(const absl::Status& status, TeiErrorSource source) {
  if (source == TeiErrorSource::kRequest) return 422;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument: return 413;
    case absl::StatusCode::kNotFound: return 422;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    default: return 424;
  }
}

std::string TeiErrorJson(const absl::Status& status, TeiErrorSource source) {
  return JsonText(
      json{{"error", std::string(status.message())}, {"error_type", TeiErrorType(status, source)}});
}

}  // namespace llm2vec
