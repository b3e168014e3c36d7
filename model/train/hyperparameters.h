// The training hyperparameters in one table: for each, its flag on both
// command lines (`llm2vec train`, `llm2vec-train`), its field in the wire
// contract (llm2vec.v1.Hyperparameters), its type and range, its help, and
// where it lives in TrainerOptions. Defaults per objective come from
// TrainerOptions::Defaults. The flags, the server's request mapping and
// validation (hyperparameters_proto.h), GetJob's view and --help are all
// produced from this table, so a hyperparameter is added in one place.
//
// Threading: the table is immutable; the functions are pure.
// HyperparameterFlags is used by one thread (a command line's main).
#ifndef LLM2VEC_MODEL_TRAIN_HYPERPARAMETERS_H_
#define LLM2VEC_MODEL_TRAIN_HYPERPARAMETERS_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/flags.h"
#include "model/train/trainer_options.h"

namespace llm2vec {

struct Hyperparameter {
  enum class Type { kInt, kUint, kReal, kBool };
  // The value, as the type says: int64_t, uint64_t, double or bool.
  using Value = std::variant<int64_t, uint64_t, double, bool>;

  std::string flag;   // "lora-r"
  std::string field;  // "lora_r", in llm2vec.v1.Hyperparameters
  Type type = Type::kInt;
  std::string metavar;  // "N", "X"
  // The allowed range (numbers): [min, max], open at an end when its flag
  // says so. Upper bounds keep one request from allocating without limit.
  double min = 0, max = 0;
  bool min_open = false, max_open = false;
  std::string help;
  // Replaces the per-objective defaults in --help when they do not apply
  // (e.g. a server default).
  std::string default_note;
  std::function<Value(const TrainerOptions&)> get;
  std::function<void(TrainerOptions*, const Value&)> set;
};

// Every hyperparameter, in the order --help lists them.
const std::vector<Hyperparameter>& TrainingHyperparameters();

// The value as text ("16", "3e-05", "true").
std::string HyperparameterText(const Hyperparameter::Value& value);
// The range as text: "[1, 4096]", "(0, 1]"; "" for booleans.
std::string RangeText(const Hyperparameter& h);
// InvalidArgument "<field> <value> is outside <range>" when out of range.
absl::Status CheckHyperparameter(const Hyperparameter& h, const Hyperparameter::Value& value);
// Parses `text` as the row's type and checks the range; the error names
// the value ("'x' is not an integer", "0 is outside [1, 4096]").
absl::StatusOr<Hyperparameter::Value> ParseHyperparameter(const Hyperparameter& h,
                                                          absl::string_view text);
// Every hyperparameter of `options` in range; the error names the field.
absl::Status ValidateHyperparameters(const TrainerOptions& options);
// Help text with the defaults: "LoRA rank r [default: 16]", or per
// objective "[default: mntp 5e-05, simcse 3e-05, supervised 0.0002]".
std::string HyperparameterHelp(const Hyperparameter& h);

// The hyperparameters as command line flags. Numbers are taken as text
// and parsed here, so only the flags given count (the objective's defaults
// fill in the rest) and --help shows no misleading default.
class HyperparameterFlags {
 public:
  // Adds one flag per hyperparameter to `flags` (which must outlive this).
  void Register(FlagSet& flags);
  // The hyperparameters given on the command line, parsed and checked, in
  // table order; InvalidArgument naming the flag ("--lora-r: 0 is outside
  // [1, 4096]").
  absl::StatusOr<std::vector<std::pair<const Hyperparameter*, Hyperparameter::Value>>> Given(
      const FlagSet& flags) const;

  // Implementation details follow.
 private:
  // Stable addresses for FlagSet: one text or bool per row.
  std::deque<std::string> texts_;
  std::deque<bool> bools_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_HYPERPARAMETERS_H_
