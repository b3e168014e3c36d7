// A small command-line flag set for the project's binaries: long flags
// (`--name value`, `--name=value`, booleans as `--name`), repeatable
// flags, an environment-variable fallback for every flag, and `--help`
// text generated from the definitions.
//
// Usage (in a binary's main.cc only):
//   FlagSet flags("llm2vec encode", "Embeds texts offline.", "LLM2VEC_");
//   std::string model;
//   flags.String("model", &model, "PATH_OR_ID", "model folder, .gguf or hub id", true);
//   if (auto s = flags.Parse(argc, argv); !s.ok()) ...
#ifndef LLM2VEC_COMMON_FLAGS_H_
#define LLM2VEC_COMMON_FLAGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace llm2vec {

// "16 GiB", "1.5 MiB", "512 B": bytes for people, three significant digits.
std::string BytesText(int64_t bytes);
// "512M", "16GiB", "1048576" (powers of 1024) to bytes; InvalidArgument
// naming the text when it is not a size or exceeds int64.
absl::Status ParseBytes(const std::string& text, int64_t* out);

class FlagSet {
 public:
  // `env_prefix`: flag --max-tokens falls back to $<PREFIX>MAX_TOKENS; ""
  // disables the environment fallback.
  FlagSet(std::string command, std::string summary, std::string env_prefix);

  void String(const std::string& name, std::string* out, const std::string& metavar,
              const std::string& help, bool required = false);
  void Int(const std::string& name, int64_t* out, const std::string& metavar,
           const std::string& help, int64_t min = INT64_MIN, int64_t max = INT64_MAX);
  // A size in bytes: "1048576", "512M", "16G", "1.5GiB" (K, M, G, T are
  // powers of 1024, with or without "iB"); at least `min`.
  void Bytes(const std::string& name, int64_t* out, const std::string& help, int64_t min = 0);
  void Double(const std::string& name, double* out, const std::string& metavar,
              const std::string& help);
  void Bool(const std::string& name, bool* out, const std::string& help);
  // Repeatable: every occurrence is appended.
  void List(const std::string& name, std::vector<std::string>* out, const std::string& metavar,
            const std::string& help);
  // Restricts a string flag to `choices` (checked at Parse).
  void Choices(const std::string& name, std::vector<std::string> choices);

  // Parses argv[first..argc). Returns InvalidArgument with a one-line
  // message naming the flag on any error. Sets help_requested() on --help.
  absl::Status Parse(int argc, char** argv, int first = 1);
  bool help_requested() const { return help_requested_; }
  std::string Help() const;
  // Whether `name` was given on the command line or through the environment.
  bool IsSet(const std::string& name) const;

  // Implementation details follow.
 private:
  struct Flag {
    std::string name;
    std::string metavar;  // "" for booleans
    std::string help;
    std::string default_text;
    bool required = false;
    bool repeatable = false;
    bool set = false;
    std::vector<std::string> choices;
    std::function<absl::Status(const std::string&)> assign;
  };
  static Flag MakeFlag(const std::string& name, const std::string& metavar,
                       const std::string& help, const std::string& default_text);
  Flag* Find(const std::string& name);
  void Add(Flag flag);

  std::string command_, summary_, env_prefix_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_FLAGS_H_
