// The `pattern` objects of tokenizer.json components (Split pre-tokenizer,
// Replace normalizer and decoder): {"String": "literal"} or
// {"Regex": "pcre-compatible pattern"}, compiled to a Regex.
//
// Threading: a plain function.
#ifndef LLM2VEC_MODEL_TOKENIZER_HF_PATTERN_H_
#define LLM2VEC_MODEL_TOKENIZER_HF_PATTERN_H_

#include <memory>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "model/tokenizer/regex.h"

namespace llm2vec {

// InvalidArgument for any other shape or a pattern PCRE2 rejects.
absl::StatusOr<std::unique_ptr<Regex>> CompileHfPattern(const nlohmann::json& pattern);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_HF_PATTERN_H_
