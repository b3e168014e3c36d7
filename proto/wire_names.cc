#include "proto/wire_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace llm2vec {
namespace {

std::string LowerName(const std::string& name, absl::string_view prefix, int value) {
  if (name.empty()) return absl::StrCat("unknown_", value);
  return absl::AsciiStrToLower(absl::StripPrefix(name, prefix));
}

}  // namespace

std::string JobStateName(v1::JobState state) {
  return LowerName(v1::JobState_Name(state), "JOB_STATE_", state);
}

std::string ObjectiveName(v1::Objective objective) {
  return LowerName(v1::Objective_Name(objective), "OBJECTIVE_", objective);
}

bool IsFinalJobState(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED || state == v1::JOB_STATE_INTERRUPTED;
}

}  // namespace llm2vec
