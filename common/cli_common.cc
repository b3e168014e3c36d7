#include "common/cli_common.h"

#include <fstream>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace llm2vec {

std::string FormatDuration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

namespace {
const char* g_program_name = "llm2vec";
}  // namespace

void SetCliProgramName(const char* name) { g_program_name = name; }

int CliFail(const std::string& message) {
  std::cerr << g_program_name << ": " << message << "\n";
  return kExitFailure;
}

int CliUsage(const std::string& message) {
  std::cerr << g_program_name << ": " << message << "\n";
  return kExitUsage;
}

int ParseSubcommandFlags(FlagSet& flags, int argc, char** argv) {
  if (auto s = flags.Parse(argc, argv, 2); !s.ok()) return CliUsage(std::string(s.message()));
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  return -1;
}

absl::StatusOr<std::vector<TextRecord>> ReadInputRecords(const std::string& input, bool jsonl) {
  const bool as_jsonl = jsonl || IsJsonlPath(input);
  if (input.empty() || input == "-") return ReadTextRecords(std::cin, as_jsonl, "<stdin>");
  std::ifstream in(input, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--input: cannot open '", input, "'"));
  return ReadTextRecords(in, as_jsonl, input);
}

}  // namespace llm2vec
