#include "model/nn/encode_types.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace llm2vec {

absl::StatusOr<PoolingMode> ParsePoolingMode(const std::string& name) {
  if (name == "mean") return PoolingMode::kMean;
  if (name == "weighted_mean") return PoolingMode::kWeightedMean;
  if (name == "last_token" || name == "eos_token") return PoolingMode::kLastToken;
  if (name == "bos_token") return PoolingMode::kBosToken;
  if (name == "none") return PoolingMode::kNone;
  return absl::InvalidArgumentError(absl::StrCat(
      "pooling '", name,
      "' is not one of mean, weighted_mean, last_token, eos_token, bos_token, none"));
}

std::string PoolingModeName(PoolingMode mode) {
  switch (mode) {
    case PoolingMode::kMean: return "mean";
    case PoolingMode::kWeightedMean: return "weighted_mean";
    case PoolingMode::kLastToken: return "last_token";
    case PoolingMode::kBosToken: return "bos_token";
    case PoolingMode::kNone: return "none";
  }
  return "?";
}

std::string ModelText(const EncodeInput& input) {
  const std::string instruction(absl::StripAsciiWhitespace(input.instruction));
  return instruction.empty() ? input.text : absl::StrCat(instruction, " ", input.text);
}

}  // namespace llm2vec
