#include "model/train/hyperparameters.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace llm2vec {
namespace {

using Type = Hyperparameter::Type;
using Value = Hyperparameter::Value;

constexpr double kUnbounded = std::numeric_limits<double>::infinity();

// A row whose option is `ref(options)` (a generic lambda, so one accessor
// serves const and mutable options).
template <typename Ref>
Hyperparameter Row(std::string flag, std::string field, Type type, std::string metavar,
                   double min, double max, std::string help, Ref ref) {
  Hyperparameter h;
  h.flag = std::move(flag);
  h.field = std::move(field);
  h.type = type;
  h.metavar = std::move(metavar);
  h.min = min;
  h.max = max;
  h.help = std::move(help);
  h.get = [ref, type](const TrainerOptions& o) -> Value {
    const auto v = ref(o);
    switch (type) {
      case Type::kInt: return static_cast<int64_t>(v);
      case Type::kUint: return static_cast<uint64_t>(v);
      case Type::kReal: return static_cast<double>(v);
      case Type::kBool: return static_cast<bool>(v);
    }
    return static_cast<int64_t>(v);
  };
  h.set = [ref](TrainerOptions* o, const Value& value) {
    auto& target = ref(*o);
    using T = std::decay_t<decltype(target)>;
    std::visit([&target](auto v) { target = static_cast<T>(v); }, value);
  };
  return h;
}

Hyperparameter Open(Hyperparameter h, bool min_open, bool max_open) {
  h.min_open = min_open;
  h.max_open = max_open;
  return h;
}

std::vector<Hyperparameter> MakeTable() {
  constexpr double kMaxSteps = 1e7;
  std::vector<Hyperparameter> t;
  t.push_back(Row("steps", "steps", Type::kInt, "N", 1, kMaxSteps, "optimizer steps",
                  [](auto& o) -> auto& { return o.steps; }));
  t.push_back(Row("batch-size", "batch_size", Type::kInt, "N", 1, 65536,
                  "examples per micro-batch: packed sequences (MNTP), sentences (SimCSE), "
                  "triples (supervised)",
                  [](auto& o) -> auto& { return o.batch_size; }));
  t.push_back(Row("grad-accum", "grad_accum", Type::kInt, "N", 1, 65536,
                  "micro-batches per optimizer step (a server serves requests between them)",
                  [](auto& o) -> auto& { return o.grad_accum; }));
  t.push_back(Row("max-length", "max_length", Type::kInt, "N", 2, 1 << 20,
                  "tokens per sequence, BOS included (at most the model's positions)",
                  [](auto& o) -> auto& { return o.max_length; }));
  t.push_back(Open(Row("lr", "learning_rate", Type::kReal, "X", 0, 1, "peak learning rate",
                       [](auto& o) -> auto& { return o.lr; }),
                   true, false));
  t.push_back(Row("warmup-steps", "warmup_steps", Type::kInt, "N", 0, kMaxSteps,
                  "linear warmup steps, then linear decay to 0",
                  [](auto& o) -> auto& { return o.warmup_steps; }));
  t.push_back(Row("weight-decay", "weight_decay", Type::kReal, "X", 0, 10,
                  "AdamW's decoupled weight decay",
                  [](auto& o) -> auto& { return o.weight_decay; }));
  t.push_back(Row("max-grad-norm", "max_grad_norm", Type::kReal, "X", 0, 1e6,
                  "gradient clipping norm (0 disables)",
                  [](auto& o) -> auto& { return o.max_grad_norm; }));
  t.push_back(Row("seed", "seed", Type::kUint, "N", 0, kUnbounded,
                  "seed of the LoRA init, dropout and masking",
                  [](auto& o) -> auto& { return o.seed; }));
  t.push_back(Open(Row("mask-ratio", "mask_ratio", Type::kReal, "X", 0, 1,
                       "MNTP: share of tokens chosen as targets",
                       [](auto& o) -> auto& { return o.mask.mask_ratio; }),
                   true, false));
  t.push_back(Row("all-mask", "all_mask", Type::kBool, "", 0, 1,
                  "MNTP: replace every chosen token by the mask token (no 80/10/10)",
                  [](auto& o) -> auto& { return o.mask.all_mask; }));
  t.push_back(Open(Row("scale", "scale", Type::kReal, "X", 0, 1000,
                       "contrastive: cosine similarity multiplier (1 / temperature)",
                       [](auto& o) -> auto& { return o.scale; }),
                   true, false));
  t.push_back(Open(Row("attention-dropout", "attention_dropout", Type::kReal, "X", 0, 1,
                       "dropout on attention probabilities in training",
                       [](auto& o) -> auto& { return o.attention_dropout; }),
                   false, true));
  t.push_back(Row("lora-r", "lora_r", Type::kInt, "N", 1, 4096, "LoRA rank r",
                  [](auto& o) -> auto& { return o.lora.r; }));
  t.push_back(Open(Row("lora-alpha", "lora_alpha", Type::kReal, "X", 0, 1e6,
                       "LoRA alpha (scale = alpha / r)",
                       [](auto& o) -> auto& { return o.lora.lora_alpha; }),
                   true, false));
  t.push_back(Open(Row("lora-dropout", "lora_dropout", Type::kReal, "X", 0, 1,
                       "dropout on the LoRA input in training",
                       [](auto& o) -> auto& { return o.lora.lora_dropout; }),
                   false, true));
  Hyperparameter every = Row("checkpoint-every", "checkpoint_every", Type::kInt, "N", 0,
                             kMaxSteps, "steps between checkpoints (0: none)",
                             [](auto& o) -> auto& { return o.checkpoint_every; });
  every.default_note = "llm2vec-train 0; a server job the server's --checkpoint-every";
  t.push_back(std::move(every));
  t.push_back(Row("gradient-checkpointing", "gradient_checkpointing", Type::kBool, "", 0, 1,
                  "recompute each layer in backward instead of keeping its activations (far "
                  "less memory for long sequences and big batches, ~1/3 more compute)",
                  [](auto& o) -> auto& { return o.gradient_checkpointing; }));
  return t;
}

double AsDouble(const Value& v) {
  return std::visit([](auto x) { return static_cast<double>(x); }, v);
}

}  // namespace

const std::vector<Hyperparameter>& TrainingHyperparameters() {
  static const std::vector<Hyperparameter>* const kTable =
      new std::vector<Hyperparameter>(MakeTable());
  return *kTable;
}

std::string HyperparameterText(const Value& value) {
  struct Text {
    std::string operator()(int64_t v) const { return absl::StrCat(v); }
    std::string operator()(uint64_t v) const { return absl::StrCat(v); }
    std::string operator()(double v) const { return absl::StrCat(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
  };
  return std::visit(Text{}, value);
}

std::string RangeText(const Hyperparameter& h) {
  if (h.type == Type::kBool) return "";
  const bool integer = h.type == Type::kInt || h.type == Type::kUint;
  auto bound = [integer](double x) {
    return integer ? absl::StrCat(static_cast<int64_t>(x)) : absl::StrCat(x);
  };
  if (std::isinf(h.max)) return absl::StrCat(h.min_open ? "> " : ">= ", bound(h.min));
  return absl::StrCat(h.min_open ? "(" : "[", bound(h.min), ", ", bound(h.max),
                      h.max_open ? ")" : "]");
}

absl::Status CheckHyperparameter(const Hyperparameter& h, const Value& value) {
  if (h.type == Type::kBool) return absl::OkStatus();
  const double x = AsDouble(value);
  const bool above_min = h.min_open ? x > h.min : x >= h.min;
  const bool below_max = h.max_open ? x < h.max : x <= h.max;
  if (above_min && below_max) return absl::OkStatus();  // false for NaN
  return absl::InvalidArgumentError(
      absl::StrCat(h.field, " ", HyperparameterText(value), " is outside ", RangeText(h)));
}

absl::StatusOr<Value> ParseHyperparameter(const Hyperparameter& h, absl::string_view text) {
  Value value;
  switch (h.type) {
    case Type::kInt: {
      int64_t v = 0;
      if (!absl::SimpleAtoi(text, &v)) {
        return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not an integer"));
      }
      value = v;
      break;
    }
    case Type::kUint: {
      uint64_t v = 0;
      if (!absl::SimpleAtoi(text, &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", text, "' is not a non-negative integer"));
      }
      value = v;
      break;
    }
    case Type::kReal: {
      double v = 0;
      if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
        return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a finite number"));
      }
      value = v;
      break;
    }
    case Type::kBool: {
      bool v = false;
      if (!absl::SimpleAtob(text, &v)) {
        return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not true or false"));
      }
      value = v;
      break;
    }
  }
  if (h.type != Type::kBool && !CheckHyperparameter(h, value).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(HyperparameterText(value), " is outside ", RangeText(h)));
  }
  return value;
}

absl::Status ValidateHyperparameters(const TrainerOptions& options) {
  for (const Hyperparameter& h : TrainingHyperparameters()) {
    if (auto s = CheckHyperparameter(h, h.get(options)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string HyperparameterHelp(const Hyperparameter& h) {
  std::string defaults = h.default_note;
  if (defaults.empty()) {
    std::vector<std::pair<std::string, std::string>> per;
    for (Objective o : {Objective::kMntp, Objective::kSimCse, Objective::kSupervised}) {
      per.emplace_back(ObjectiveName(o), HyperparameterText(h.get(TrainerOptions::Defaults(o))));
    }
    const bool same = per[0].second == per[1].second && per[1].second == per[2].second;
    if (same) {
      defaults = per[0].second;
    } else {
      defaults = absl::StrJoin(per, ", ", [](std::string* out, const auto& p) {
        absl::StrAppend(out, p.first, " ", p.second);
      });
    }
  }
  const std::string range = RangeText(h);
  return absl::StrCat(h.help, range.empty() ? "" : absl::StrCat(", ", range),
                      " [default: ", defaults, "]");
}

void HyperparameterFlags::Register(FlagSet& flags) {
  for (const Hyperparameter& h : TrainingHyperparameters()) {
    if (h.type == Type::kBool) {
      bools_.push_back(false);
      flags.Bool(h.flag, &bools_.back(), HyperparameterHelp(h));
    } else {
      texts_.emplace_back();
      flags.String(h.flag, &texts_.back(), h.metavar, HyperparameterHelp(h));
    }
  }
}

absl::StatusOr<std::vector<std::pair<const Hyperparameter*, Value>>> HyperparameterFlags::Given(
    const FlagSet& flags) const {
  std::vector<std::pair<const Hyperparameter*, Value>> given;
  size_t text = 0, boolean = 0;
  for (const Hyperparameter& h : TrainingHyperparameters()) {
    const bool is_bool = h.type == Type::kBool;
    const size_t index = is_bool ? boolean++ : text++;
    if (!flags.IsSet(h.flag)) continue;
    if (is_bool) {
      given.emplace_back(&h, Value(bools_[index]));
      continue;
    }
    auto value = ParseHyperparameter(h, texts_[index]);
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", h.flag, ": ", value.status().message()));
    }
    given.emplace_back(&h, *value);
  }
  return given;
}

}  // namespace llm2vec
