#include "server/http/embeddings_request.h"

#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace llm2vec {

using json = nlohmann::json;

namespace {

// Thrown from the parser callback to stop parsing an over-long 'input' or
// token array.
struct TooManyInputs {};
struct TooManyIds {};

// "a number", "an array": the type of `v` with its article.
std::string TypeWithArticle(const json& v) {
  const std::string name = v.type_name();
  return absl::StrCat(name[0] == 'a' || name[0] == 'o' ? "an " : "a ", name);
}

// A token id: an integer in [0, 2^31).
bool IsTokenId(const json& v) {
  return (v.is_number_unsigned() &&
          v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) ||
         (v.is_number_integer() && v.get<int64_t>() >= 0 &&
          v.get<int64_t>() <= std::numeric_limits<int32_t>::max());
}

// The ids of a token-array input `ids` (named `name` in errors).
absl::Status ReadTokenIds(const json& ids, const std::string& name, std::vector<int32_t>* out) {
  if (ids.empty()) return absl::InvalidArgumentError(absl::StrCat("'", name, "' is an empty array"));
  out->reserve(ids.size());
  for (size_t j = 0; j < ids.size(); ++j) {
    if (!IsTokenId(ids[j])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", name, "[", j, "]' is ", ids[j].dump(-1, ' ', false, json::error_handler_t::replace),
          "; expected a token id (an integer from 0 to 2147483647)"));
    }
    out->push_back(static_cast<int32_t>(ids[j].get<int64_t>()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseEmbeddingsRequest(const std::string& body, const EmbeddingsLimits& limits,
                                    EmbeddingsRequest* request, std::string* param) {
  json root;
  // The entries of the top-level "input" array, and the ids of each token
  // array, are counted as they are parsed: depth 1 is the body's keys,
  // depth 2 the entries of "input" (or the ids of its one token array),
  // depth 3 the ids of a token array among several.
  int64_t inputs_seen = 0;
  int64_t ids_seen = 0;
  bool in_input = false;
  const json::parser_callback_t count = [&](int depth, json::parse_event_t event,
                                            json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      in_input = parsed.is_string() && parsed.get_ref<const std::string&>() == "input";
      ids_seen = 0;
    } else if (in_input && depth == 2 && event == json::parse_event_t::value &&
               parsed.is_number()) {
      if (limits.max_token_ids > 0 && ++ids_seen > limits.max_token_ids) throw TooManyIds();
    } else if (in_input && depth == 2 &&
               (event == json::parse_event_t::value ||
                event == json::parse_event_t::object_start ||
                event == json::parse_event_t::array_start)) {
      ids_seen = 0;
      if (limits.max_inputs > 0 && ++inputs_seen > limits.max_inputs) throw TooManyInputs();
    } else if (in_input && depth == 3 && event == json::parse_event_t::value &&
               parsed.is_number()) {
      if (limits.max_token_ids > 0 && ++ids_seen > limits.max_token_ids) throw TooManyIds();
    }
    return true;
  };
  try {
    root = json::parse(body, count);
  } catch (const TooManyInputs&) {
    *param = "input";
    return absl::InvalidArgumentError(absl::StrCat(
        "'input' has more than ", limits.max_inputs, " entries; max_inputs_per_request is ",
        limits.max_inputs));
  } catch (const TooManyIds&) {
    *param = "input";
    return absl::InvalidArgumentError(
        absl::StrCat("a token array in 'input' has more than ", limits.max_token_ids,
                     " ids (max_input_bytes / 4)"));
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number beyond double's range.
    return absl::InvalidArgumentError(absl::StrCat("request body is not valid JSON: ", e.what()));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body must be a JSON object; got ", root.type_name()));
  }

  // input: a string, a non-empty list of strings (none empty), a token
  // array, or a non-empty list of token arrays.
  *param = "input";
  const auto input = root.find("input");
  constexpr absl::string_view kShapes =
      "a string, an array of strings, an array of token ids or an array of arrays of token ids";
  if (input == root.end() || input->is_null()) {
    return absl::InvalidArgumentError(absl::StrCat("'input' is required: ", kShapes));
  }
  if (input->is_string()) {
    request->call.texts.push_back(input->get<std::string>());
    if (request->call.texts.back().empty()) {
      return absl::InvalidArgumentError("'input' is an empty string");
    }
  } else if (input->is_array()) {
    if (input->empty()) return absl::InvalidArgumentError("'input' is an empty array");
    if (input->front().is_number()) {
      // One input as token ids.
      request->call.token_ids.emplace_back();
      if (absl::Status s = ReadTokenIds(*input, "input", &request->call.token_ids.back());
          !s.ok()) {
        return s;
      }
    } else if (input->front().is_array()) {
      request->call.token_ids.reserve(input->size());
      for (size_t i = 0; i < input->size(); ++i) {
        const json& ids = (*input)[i];
        if (!ids.is_array()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "'input[", i, "]' is ", TypeWithArticle(ids),
              "; expected an array of token ids like the entries before it"));
        }
        request->call.token_ids.emplace_back();
        if (absl::Status s = ReadTokenIds(ids, absl::StrCat("input[", i, "]"),
                                          &request->call.token_ids.back());
            !s.ok()) {
          return s;
        }
      }
    } else {
      request->call.texts.reserve(input->size());
      for (size_t i = 0; i < input->size(); ++i) {
        const json& text = (*input)[i];
        if (!text.is_string()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "'input[", i, "]' is ", TypeWithArticle(text),
              "; expected a string like the entries before it"));
        }
        request->call.texts.push_back(text.get<std::string>());
        if (request->call.texts.back().empty()) {
          return absl::InvalidArgumentError(absl::StrCat("'input[", i, "]' is an empty string"));
        }
      }
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("'input' is ", input->type_name(), "; expected ", kShapes));
  }

  // model: optional string.
  *param = "model";
  const auto model = root.find("model");
  if (model != root.end() && !model->is_null()) {
    if (!model->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'model' is ", model->type_name(), "; expected a string"));
    }
    request->call.model = model->get<std::string>();
  }

  // encoding_format: "float" (default) or "base64".
  *param = "encoding_format";
  const auto format = root.find("encoding_format");
  if (format != root.end() && !format->is_null()) {
    if (format->is_string() && format->get<std::string>() == "base64") {
      request->base64 = true;
    } else if (!format->is_string() || format->get<std::string>() != "float") {
      return absl::InvalidArgumentError(
          absl::StrCat("'encoding_format' is ",
                       format->dump(-1, ' ', false, json::error_handler_t::replace),
                       "; expected \"float\" or \"base64\""));
    }
  }

  // dimensions: optional positive integer.
  *param = "dimensions";
  const auto dimensions = root.find("dimensions");
  if (dimensions != root.end() && !dimensions->is_null()) {
    const bool positive_int =
        (dimensions->is_number_unsigned() &&
         dimensions->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
         dimensions->get<uint64_t>() > 0) ||
        (dimensions->is_number_integer() && dimensions->get<int64_t>() > 0);
    if (!positive_int) {
      return absl::InvalidArgumentError(
          absl::StrCat("'dimensions' is ", dimensions->dump(), "; expected a positive integer"));
    }
    request->call.dimensions = dimensions->get<int64_t>();
  }

  // user: optional string, accepted and not used (OpenAI's end-user id).
  *param = "user";
  const auto user = root.find("user");
  if (user != root.end() && !user->is_null() && !user->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'user' is ", user->type_name(), "; expected a string"));
  }

  param->clear();
  return absl::OkStatus();
}

}  // namespace llm2vec
