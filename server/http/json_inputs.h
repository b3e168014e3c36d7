// JSON request bodies of the HTTP APIs (OpenAI's and TEI's): parsed with
// their inputs counted as they arrive, and the input shapes both APIs
// share. No civetweb, no model.
//
// Threading: pure functions.
#ifndef LLM2VEC_SERVER_HTTP_JSON_INPUTS_H_
#define LLM2VEC_SERVER_HTTP_JSON_INPUTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "server/http/http_api.h"

namespace llm2vec {

// Bounds checked while a body is parsed (0: none), so that a body of a
// million tiny inputs or token ids stops at the bound, before the rest is
// built or copied.
struct InputLimits {
  // Inputs in one request.
  int64_t max_inputs = 0;
  // Token ids in one token array.
  int64_t max_token_ids = 0;
};

// Parses `body` into *root, an object. Under the top-level key `key`, every
// string or array nested below the key's own value counts as an input, and
// every number as a token id of the innermost array. InvalidArgument when
// the body is not JSON, not an object, or goes past a limit (naming `key`).
absl::Status ParseBoundedBody(const std::string& body, absl::string_view key,
                              const InputLimits& limits, nlohmann::json* root);

// The inputs in `value`, called `name` in errors: a string, an array of
// token ids (one input), or an array of strings and token arrays. With
// `mixed` (TEI) strings and token arrays may alternate; without (OpenAI)
// every entry is of the first one's kind. Empty strings and arrays are
// refused. InvalidArgument naming the entry and what it is.
absl::Status ReadInputs(const nlohmann::json& value, const std::string& name, bool mixed,
                        std::vector<HttpInput>* out);

// A token array: non-negative integers below 2^31, at least one.
absl::Status ReadTokenIds(const nlohmann::json& ids, const std::string& name,
                          std::vector<int32_t>* out);

// An optional field of `root` (absent or null: *out unchanged), else
// InvalidArgument naming it and what it is.
absl::Status ReadOptionalBool(const nlohmann::json& root, const std::string& name, bool* out);
absl::Status ReadOptionalString(const nlohmann::json& root, const std::string& name,
                                std::string* out);

// "a number", "an array": the JSON type of `v` with its article.
std::string TypeWithArticle(const nlohmann::json& v);

// `v` as JSON text, invalid UTF-8 replaced (messages quote what clients
// sent).
std::string JsonText(const nlohmann::json& v);

// Appends `v` as the shortest decimal text that reads back as the same
// float (nlohmann::json would write a double's 17 digits); a non-finite
// value is the caller's to refuse first.
void AppendJsonFloat(float v, std::string* out);
// Appends [v0,v1,...].
void AppendJsonFloats(const float* v, size_t n, std::string* out);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_HTTP_JSON_INPUTS_H_
