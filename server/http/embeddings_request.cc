#include "server/http/embeddings_request.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace llm2vec {

using json = nlohmann::json;

namespace {

// Thrown from the parser callback to stop parsing an over-long 'input'.
struct TooManyInputs {};

}  // namespace

absl::Status ParseEmbeddingsRequest(const std::string& body, int64_t max_inputs,
                                    EmbeddingsRequest* request, std::string* param) {
  json root;
  // The entries of the top-level "input" array are counted as they are
  // parsed: a body of a million tiny inputs stops at max_inputs + 1, before
  // the rest is built or copied.
  int64_t inputs_seen = 0;
  bool in_input = false;
  const json::parser_callback_t count = [&](int depth, json::parse_event_t event,
                                            json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      in_input = parsed.is_string() && parsed.get_ref<const std::string&>() == "input";
    } else if (in_input && depth == 2 && max_inputs > 0 &&
               (event == json::parse_event_t::value ||
                event == json::parse_event_t::object_start ||
                event == json::parse_event_t::array_start)) {
      if (++inputs_seen > max_inputs) throw TooManyInputs();
    }
    return true;
  };
  try {
    root = json::parse(body, count);
  } catch (const TooManyInputs&) {
    *param = "input";
    return absl::InvalidArgumentError(absl::StrCat(
        "'input' has more than ", max_inputs, " entries; max_inputs_per_request is ",
        max_inputs));
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number beyond double's range.
    return absl::InvalidArgumentError(absl::StrCat("request body is not valid JSON: ", e.what()));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body must be a JSON object; got ", root.type_name()));
  }

  // input: a string or a non-empty list of strings, none empty.
  *param = "input";
  const auto input = root.find("input");
  if (input == root.end() || input->is_null()) {
    return absl::InvalidArgumentError("'input' is required: a string or an array of strings");
  }
  if (input->is_string()) {
    request->call.texts.push_back(input->get<std::string>());
    if (request->call.texts.back().empty()) {
      return absl::InvalidArgumentError("'input' is an empty string");
    }
  } else if (input->is_array()) {
    if (input->empty()) return absl::InvalidArgumentError("'input' is an empty array");
    request->call.texts.reserve(input->size());
    for (size_t i = 0; i < input->size(); ++i) {
      const json& text = (*input)[i];
      if (!text.is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("'input[", i, "]' is ", text.is_number() ? "a " : "an ", text.type_name(),
                         "; expected a string (token id arrays are not supported)"));
      }
      request->call.texts.push_back(text.get<std::string>());
      if (request->call.texts.back().empty()) {
        return absl::InvalidArgumentError(absl::StrCat("'input[", i, "]' is an empty string"));
      }
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "'input' is ", input->type_name(), "; expected a string or an array of strings"));
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

  param->clear();
  return absl::OkStatus();
}

}  // namespace llm2vec
