#include "model/tokenizer/json_numbers.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace llm2vec {

absl::StatusOr<int64_t> JsonInteger(const nlohmann::json& value, int64_t lo, int64_t hi,
                                    const std::string& what) {
  const auto bad = [&] {
    std::string text = value.dump();
    if (text.size() > 64) text = text.substr(0, 64) + "...";
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", text, ", not an integer in [", lo, ", ", hi, "]"));
  };
  if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    if (hi < 0 || u > static_cast<uint64_t>(hi)) return bad();
    const int64_t x = static_cast<int64_t>(u);
    if (x < lo) return bad();
    return x;
  }
  if (!value.is_number_integer()) return bad();
  const int64_t x = value.get<int64_t>();
  if (x < lo || x > hi) return bad();
  return x;
}

absl::StatusOr<std::vector<int32_t>> JsonIntegers(const nlohmann::json& value, int64_t lo,
                                                  int64_t hi, const std::string& what) {
  if (!value.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not an array of integers"));
  }
  std::vector<int32_t> out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    auto x = JsonInteger(value[i], lo, hi, absl::StrCat(what, "[", i, "]"));
    if (!x.ok()) return x.status();
    out.push_back(static_cast<int32_t>(*x));
  }
  return out;
}

}  // namespace llm2vec
