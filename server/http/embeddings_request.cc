#include "server/http/embeddings_request.h"

#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/http/json_inputs.h"

namespace llm2vec {

using json = nlohmann::json;

absl::Status ParseEmbeddingsRequest(const std::string& body, const InputLimits& limits,
                                    EmbeddingsRequest* request, std::string* param) {
  json root;
  *param = "input";
  if (absl::Status s = ParseBoundedBody(body, "input", limits, &root); !s.ok()) {
    // Not JSON, or not an object: the body as a whole (else too many
    // inputs or ids).
    if (absl::StartsWith(s.message(), "request body")) param->clear();
    return s;
  }
  const auto input = root.find("input");
  if (absl::Status s = ReadInputs(input == root.end() ? json() : *input, "input",
                                  /*mixed=*/false, &request->call.inputs);
      !s.ok()) {
    return s;
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
          absl::StrCat("'encoding_format' is ", JsonText(*format),
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
