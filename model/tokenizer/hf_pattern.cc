#include "model/tokenizer/hf_pattern.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace llm2vec {

absl::StatusOr<std::unique_ptr<Regex>> CompileHfPattern(const nlohmann::json& pattern) {
  if (pattern.is_object() && pattern.size() == 1) {
    if (pattern.contains("String") && pattern["String"].is_string()) {
      return Regex::Compile(pattern["String"].get<std::string>(), /*literal=*/true);
    }
    if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
      return Regex::Compile(pattern["Regex"].get<std::string>());
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported pattern ", pattern.dump(),
                                                 " (expected {\"String\": ...} or {\"Regex\": ...})"));
}

}  // namespace llm2vec
