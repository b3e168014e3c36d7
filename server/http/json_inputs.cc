#include "server/http/json_inputs.h"

#include <charconv>
#include <limits>

#include "absl/strings/str_cat.h"

namespace llm2vec {

using json = nlohmann::json;

namespace {

// Thrown from the parser callback to stop parsing past a limit.
struct TooManyInputs {};
struct TooManyIds {};

// A token id: an integer in [0, 2^31).
bool IsTokenId(const json& v) {
  return (v.is_number_unsigned() &&
          v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) ||
         (v.is_number_integer() && v.get<int64_t>() >= 0 &&
          v.get<int64_t>() <= std::numeric_limits<int32_t>::max());
}

}  // namespace

std::string TypeWithArticle(const json& v) {
  const std::string name = v.type_name();
  return absl::StrCat(name[0] == 'a' || name[0] == 'o' ? "an " : "a ", name);
}

std::string JsonText(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

void AppendJsonFloat(float v, std::string* out) {
  char buffer[32];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), v);
  out->append(buffer, result.ptr);
}

void AppendJsonFloats(const float* v, size_t n, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonFloat(v[i], out);
  }
  out->push_back(']');
}

absl::Status ParseBoundedBody(const std::string& body, absl::string_view key,
                              const InputLimits& limits, json* root) {
  // nlohmann's callback depth: 1 for the body's keys and their values,
  // 2 for what those values hold, and so on. A token array counts as an
  // input at its first id (an array may also just hold inputs, as
  // /similarity's "sentences" does); an object counts as an input (it is
  // refused later, but is bounded here).
  int64_t inputs_seen = 0;
  int64_t ids_seen = 0;
  int array_depth = 0;  // of the innermost array begun last
  bool in_key = false;
  const auto count_input = [&] {
    if (limits.max_inputs > 0 && ++inputs_seen > limits.max_inputs) throw TooManyInputs();
  };
  const json::parser_callback_t count = [&](int depth, json::parse_event_t event,
                                            json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      in_key = parsed.is_string() && parsed.get_ref<const std::string&>() == key;
      return true;
    }
    if (!in_key) return true;  // other fields are not counted
    if (event == json::parse_event_t::array_start) {
      ids_seen = 0;
      array_depth = depth;
    } else if (event == json::parse_event_t::object_start && depth >= 2) {
      count_input();
    } else if (event == json::parse_event_t::value && depth >= 2) {
      if (parsed.is_number()) {
        if (ids_seen == 0 && array_depth >= 2) count_input();
        if (limits.max_token_ids > 0 && ++ids_seen > limits.max_token_ids) throw TooManyIds();
      } else {
        count_input();
      }
    }
    return true;
  };
  try {
    *root = json::parse(body, count);
  } catch (const TooManyInputs&) {
    return absl::InvalidArgumentError(absl::StrCat("'", key, "' has more than ", limits.max_inputs,
                                                   " entries; max_inputs_per_request is ",
                                                   limits.max_inputs));
  } catch (const TooManyIds&) {
    return absl::InvalidArgumentError(absl::StrCat("a token array in '", key, "' has more than ",
                                                   limits.max_token_ids,
                                                   " ids (max_input_bytes / 4)"));
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number beyond double's range.
    return absl::InvalidArgumentError(absl::StrCat("request body is not valid JSON: ", e.what()));
  }
  if (!root->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body must be a JSON object; got ", root->type_name()));
  }
  return absl::OkStatus();
}

absl::Status ReadTokenIds(const json& ids, const std::string& name, std::vector<int32_t>* out) {
  if (ids.empty()) return absl::InvalidArgumentError(absl::StrCat("'", name, "' is an empty array"));
  out->reserve(ids.size());
  for (size_t j = 0; j < ids.size(); ++j) {
    if (!IsTokenId(ids[j])) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", name, "[", j, "]' is ", JsonText(ids[j]),
                       "; expected a token id (an integer from 0 to 2147483647)"));
    }
    out->push_back(static_cast<int32_t>(ids[j].get<int64_t>()));
  }
  return absl::OkStatus();
}

absl::Status ReadInputs(const json& value, const std::string& name, bool mixed,
                        std::vector<HttpInput>* out) {
  const std::string shapes =
      mixed ? "a string, an array of token ids, or an array of strings and arrays of token ids"
            : "a string, an array of strings, an array of token ids or an array of arrays of "
              "token ids";
  if (value.is_null()) {
    return absl::InvalidArgumentError(absl::StrCat("'", name, "' is required: ", shapes));
  }
  if (value.is_string()) {
    if (value.get_ref<const std::string&>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("'", name, "' is an empty string"));
    }
    out->push_back({value.get<std::string>(), {}});
    return absl::OkStatus();
  }
  if (!value.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' is ", value.type_name(), "; expected ", shapes));
  }
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("'", name, "' is an empty array"));
  if (value.front().is_number()) {
    // One input as token ids.
    out->emplace_back();
    return ReadTokenIds(value, name, &out->back().token_ids);
  }
  const bool strings = value.front().is_string();
  out->reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const json& entry = value[i];
    const std::string entry_name = absl::StrCat(name, "[", i, "]");
    const bool ok_kind = mixed ? (entry.is_string() || entry.is_array())
                               : (strings ? entry.is_string() : entry.is_array());
    if (!ok_kind) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", entry_name, "' is ", TypeWithArticle(entry), "; expected ",
          mixed     ? "a string or an array of token ids"
          : strings ? "a string like the entries before it"
                    : "an array of token ids like the entries before it"));
    }
    out->emplace_back();
    if (entry.is_string()) {
      out->back().text = entry.get<std::string>();
      if (out->back().text.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("'", entry_name, "' is an empty string"));
      }
    } else if (absl::Status s = ReadTokenIds(entry, entry_name, &out->back().token_ids); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ReadOptionalBool(const json& root, const std::string& name, bool* out) {
  const auto it = root.find(name);
  if (it == root.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' is ", JsonText(*it), "; expected true or false"));
  }
  *out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status ReadOptionalString(const json& root, const std::string& name, std::string* out) {
  const auto it = root.find(name);
  if (it == root.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' is ", it->type_name(), "; expected a string"));
  }
  *out = it->get<std::string>();
  return absl::OkStatus();
}

}  // namespace llm2vec
