// Integers read from tokenizer JSON files: only a JSON integer within the
// range is taken. nlohmann's get<int>() on 1e76 or -1 read as size_t would
// be undefined behaviour (the tokenizer.json fuzz target found the first).
//
// Threading: pure functions.
#ifndef LLM2VEC_MODEL_TOKENIZER_JSON_NUMBERS_H_
#define LLM2VEC_MODEL_TOKENIZER_JSON_NUMBERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace llm2vec {

// `value` if it is an integer in [lo, hi]; INVALID_ARGUMENT naming `what`
// and the value otherwise.
absl::StatusOr<int64_t> JsonInteger(const nlohmann::json& value, int64_t lo, int64_t hi,
                                    const std::string& what);
// An array of such integers.
absl::StatusOr<std::vector<int32_t>> JsonIntegers(const nlohmann::json& value, int64_t lo,
                                                  int64_t hi, const std::string& what);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_JSON_NUMBERS_H_
