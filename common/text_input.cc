#include "common/text_input.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace llm2vec {

bool IsJsonlPath(const std::string& path) { return absl::EndsWith(path, ".jsonl"); }

absl::StatusOr<std::vector<TextRecord>> ReadTextRecords(std::istream& in, bool jsonl,
                                                        const std::string& source) {
  std::vector<TextRecord> records;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!jsonl) {
      records.push_back({line, ""});
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line_no, ": not a JSON object"));
    }
    if (!j.contains("text") || !j["text"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line_no, ": needs a string field \"text\""));
    }
    TextRecord r;
    r.text = j["text"].get<std::string>();
    if (j.contains("instruction") && !j["instruction"].is_null()) {
      if (!j["instruction"].is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ":", line_no, ": \"instruction\" must be a string"));
      }
      r.instruction = j["instruction"].get<std::string>();
    }
    records.push_back(std::move(r));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(source, ": read error"));
  return records;
}

}  // namespace llm2vec
