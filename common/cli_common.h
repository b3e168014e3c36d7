// Pieces shared by the `llm2vec` subcommands: the error exits, flag parsing
// with --help, and reading the input texts (--input FILE, or stdin).
//
// Exit codes, every subcommand: 0 success, 1 the work failed (a server or
// file error, bad input data, a failed job), 2 the command line is wrong
// (unknown flag, bad or conflicting flag values).
#ifndef LLM2VEC_COMMON_CLI_COMMON_H_
#define LLM2VEC_COMMON_CLI_COMMON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/flags.h"
#include "common/text_input.h"

namespace llm2vec {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// The program name that prefixes error messages ("llm2vec" unless set;
// call once at the start of main, before any other thread runs).
void SetCliProgramName(const char* name);
// Prints "<program>: <message>" to stderr; returns kExitFailure.
int CliFail(const std::string& message);
// Prints "<program>: <message>" to stderr; returns kExitUsage.
int CliUsage(const std::string& message);

// "42s", "3m20s", "1h05m"; "?" when negative, NaN or absurd.
std::string FormatDuration(double seconds);

// Parses a subcommand's flags (argv[2...]). Returns -1 to go on, else the
// exit code (0 after printing --help, kExitUsage after a bad flag).
int ParseSubcommandFlags(FlagSet& flags, int argc, char** argv);

// Reads records from `input` ("" or "-": stdin); JSON lines when `jsonl`
// or the file name ends in .jsonl.
absl::StatusOr<std::vector<TextRecord>> ReadInputRecords(const std::string& input, bool jsonl);

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_CLI_COMMON_H_
