// The hyperparameter table: in step with the wire contract, ranges with
// upper bounds, one mapping both ways, and the flags made from it.
#include "model/train/hyperparameters.h"

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "common/flags.h"
#include "gtest/gtest.h"
#include "llm2vec/v1/training.pb.h"
#include "model/train/hyperparameters_proto.h"
#include "model/train/training_memory.h"

namespace llm2vec {
namespace {

using google::protobuf::FieldDescriptor;

TEST(HyperparametersTest, EveryWireFieldHasOneRowOfTheSameType) {
  const auto* d = v1::Hyperparameters::descriptor();
  std::set<std::string> rows;
  for (const Hyperparameter& h : TrainingHyperparameters()) {
    EXPECT_TRUE(rows.insert(h.field).second) << "two rows for " << h.field;
    const FieldDescriptor* f = d->FindFieldByName(h.field);
    ASSERT_NE(f, nullptr) << h.field << " is not a field of llm2vec.v1.Hyperparameters";
    EXPECT_TRUE(f->has_presence()) << h.field << " must be optional (unset = the default)";
    switch (h.type) {
      case Hyperparameter::Type::kInt: EXPECT_EQ(f->cpp_type(), FieldDescriptor::CPPTYPE_INT64); break;
      case Hyperparameter::Type::kUint: EXPECT_EQ(f->cpp_type(), FieldDescriptor::CPPTYPE_UINT64); break;
      case Hyperparameter::Type::kReal: EXPECT_EQ(f->cpp_type(), FieldDescriptor::CPPTYPE_DOUBLE); break;
      case Hyperparameter::Type::kBool: EXPECT_EQ(f->cpp_type(), FieldDescriptor::CPPTYPE_BOOL); break;
    }
  }
  for (int i = 0; i < d->field_count(); ++i) {
    EXPECT_EQ(rows.count(d->field(i)->name()), 1u) << d->field(i)->name() << " has no row";
  }
}

TEST(HyperparametersTest, TheWireMappingRoundTrips) {
  // GetJob's view of a SimCSE job's options, applied over MNTP's defaults,
  // gives SimCSE's options back, row for row.
  const TrainerOptions simcse = TrainerOptions::Defaults(Objective::kSimCse);
  v1::Hyperparameters wire;
  FillHyperparameters(simcse, &wire);
  EXPECT_EQ(wire.batch_size(), simcse.batch_size);
  EXPECT_DOUBLE_EQ(wire.learning_rate(), simcse.lr);
  EXPECT_DOUBLE_EQ(wire.attention_dropout(), simcse.attention_dropout);
  TrainerOptions o = TrainerOptions::Defaults(Objective::kMntp);
  ASSERT_TRUE(ApplyHyperparameters(wire, &o).ok());
  for (const Hyperparameter& h : TrainingHyperparameters()) {
    EXPECT_EQ(HyperparameterText(h.get(o)), HyperparameterText(h.get(simcse))) << h.field;
  }
  // Only the fields set are applied.
  v1::Hyperparameters one;
  one.set_lora_r(8);
  TrainerOptions mntp = TrainerOptions::Defaults(Objective::kMntp);
  ASSERT_TRUE(ApplyHyperparameters(one, &mntp).ok());
  EXPECT_EQ(mntp.lora.r, 8);
  EXPECT_EQ(mntp.batch_size, TrainerOptions::Defaults(Objective::kMntp).batch_size);
}

TEST(HyperparametersTest, RequestsOutsideTheRangesAreRefusedNamingFieldAndLimit) {
  struct Case {
    std::function<void(v1::Hyperparameters*)> set;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto* h) { h->set_batch_size(100000000); }, "hyperparameters.batch_size 100000000 is outside [1, 65536]"},
      {[](auto* h) { h->set_max_length(100000000); }, "hyperparameters.max_length 100000000 is outside [2, 1048576]"},
      {[](auto* h) { h->set_lora_r(0); }, "hyperparameters.lora_r 0 is outside [1, 4096]"},
      {[](auto* h) { h->set_grad_accum(100000000); }, "hyperparameters.grad_accum 100000000 is outside [1, 65536]"},
      {[](auto* h) { h->set_steps(-1); }, "hyperparameters.steps -1 is outside [1, 10000000]"},
      {[](auto* h) { h->set_learning_rate(std::nan("")); }, "hyperparameters.learning_rate nan is outside (0, 1]"},
      {[](auto* h) { h->set_lora_dropout(1); }, "hyperparameters.lora_dropout 1 is outside [0, 1)"},
      {[](auto* h) { h->set_mask_ratio(0); }, "hyperparameters.mask_ratio 0 is outside (0, 1]"},
  };
  for (const Case& c : cases) {
    v1::Hyperparameters wire;
    c.set(&wire);
    TrainerOptions o = TrainerOptions::Defaults(Objective::kMntp);
    absl::Status s = ApplyHyperparameters(wire, &o);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_EQ(s.message(), c.message);
  }
  // The trainer's own validation uses the same ranges.
  TrainerOptions o = TrainerOptions::Defaults(Objective::kMntp);
  o.data_path = "x";
  o.batch_size = 100000000;
  absl::Status s = ValidateTrainerOptions(o);
  EXPECT_EQ(s.message(), "batch_size 100000000 is outside [1, 65536]") << s;
}

TEST(HyperparametersTest, FlagsComeFromTheTable) {
  FlagSet flags("test", "", "");
  HyperparameterFlags hyperparameters;
  hyperparameters.Register(flags);
  const std::string help = flags.Help();
  EXPECT_TRUE(absl::StrContains(help, "--lora-r")) << help;
  EXPECT_TRUE(absl::StrContains(help, "[default: mntp 5e-05, simcse 3e-05, supervised 0.0002]"))
      << help;
  EXPECT_TRUE(absl::StrContains(help, "LoRA rank r, [1, 4096] [default: 16]")) << help;

  std::vector<std::string> args = {"test", "--lora-r", "8", "--all-mask", "--lr", "1e-4"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ASSERT_TRUE(flags.Parse(static_cast<int>(argv.size()), argv.data()).ok());
  auto given = hyperparameters.Given(flags);
  ASSERT_TRUE(given.ok()) << given.status();
  ASSERT_EQ(given->size(), 3u);
  TrainerOptions o = TrainerOptions::Defaults(Objective::kSimCse);
  for (const auto& [h, v] : *given) h->set(&o, v);
  EXPECT_EQ(o.lora.r, 8);
  EXPECT_TRUE(o.mask.all_mask);
  EXPECT_DOUBLE_EQ(o.lr, 1e-4);
  EXPECT_EQ(o.batch_size, TrainerOptions::Defaults(Objective::kSimCse).batch_size);

  for (const auto& [flag, value, message] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--lora-r", "0", "--lora-r: 0 is outside [1, 4096]"},
           {"--lr", "abc", "--lr: 'abc' is not a finite number"},
           {"--seed", "-1", "--seed: '-1' is not a non-negative integer"}}) {
    FlagSet f("test", "", "");
    HyperparameterFlags hp;
    hp.Register(f);
    std::vector<std::string> a = {"test", flag, value};
    std::vector<char*> av;
    for (auto& x : a) av.push_back(x.data());
    ASSERT_TRUE(f.Parse(static_cast<int>(av.size()), av.data()).ok());
    auto bad = hp.Given(f);
    EXPECT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().message(), message);
  }
}

// The 1.3B shape (Sheared-LLaMA): hidden 2048, 24 layers, 16 heads.
ModelConfig ShearedLlamaShape() {
  ModelConfig c;
  c.hidden_size = 2048;
  c.intermediate_size = 5504;
  c.num_layers = 24;
  c.num_heads = 16;
  c.num_kv_heads = 16;
  c.head_dim = 128;
  c.vocab_size = 32000;
  c.max_position_embeddings = 4096;
  return c;
}

TEST(TrainingMemoryTest, TheLargestRequestTheTableAllowsSaturatesInsteadOfOverflowing) {
  TrainerOptions o = TrainerOptions::Defaults(Objective::kSupervised);
  o.batch_size = 65536;
  o.max_length = 1 << 20;
  o.lora.r = 4096;
  EXPECT_EQ(EstimateTrainingBytes(o, ShearedLlamaShape()), std::numeric_limits<int64_t>::max());
}

TEST(TrainingMemoryTest, GrowsWithTheBatchAndQuadraticallyWithLengthInAttention) {
  const ModelConfig c = ShearedLlamaShape();
  TrainerOptions o = TrainerOptions::Defaults(Objective::kMntp);
  o.batch_size = 8;
  o.max_length = 512;
  const int64_t base = EstimateTrainingBytes(o, c);
  // Hand count for this shape: per layer 4096 tokens x 4 B x (10 x 2048 +
  // 4 x 5504 + 7 x (2048 + 16)) + 3 x 4 B x 8 x 16 x 512^2 attention, times
  // 24 layers; MNTP logits 3 x 4 B x 819.2 masked x 32000; LoRA state
  // 16 x 24 x 7 x 16 x 2 x 5504.
  const double per_layer = 4096.0 * 4 * (10 * 2048 + 4 * 5504 + 7 * (2048 + 16)) +
                           12.0 * 8 * 16 * 512 * 512;
  const double expected = 24 * per_layer + 12.0 * 4096 * 0.2 * 32000 + 16.0 * 24 * 7 * 16 * 2 * 5504;
  EXPECT_NEAR(static_cast<double>(base), expected, 1.0);
  // About 30 GiB. Korthikanti et al. (2022) count 34 h + 5 a s bytes per
  // token and layer at 16 bits (h hidden, a heads, s length): in float32
  // 24 x 4096 x 2 x (34 x 2048 + 5 x 16 x 512) = 21 GiB without the MLP's
  // wider intermediate and LoRA; the estimate must be of that order.
  EXPECT_GT(base, int64_t{21} << 30);
  EXPECT_LT(base, int64_t{42} << 30);

  o.batch_size = 16;  // doubles all but the LoRA state (1.5% here)
  EXPECT_NEAR(static_cast<double>(EstimateTrainingBytes(o, c)), 2.0 * base,
              0.02 * static_cast<double>(base));
  o.batch_size = 8;
  o.max_length = 1024;
  EXPECT_GT(EstimateTrainingBytes(o, c), 2 * base);  // the T^2 term
}

TEST(TrainingMemoryTest, CheckpointingKeepsOneLayerAndContrastiveCountsEveryView) {
  const ModelConfig c = ShearedLlamaShape();
  TrainerOptions o = TrainerOptions::Defaults(Objective::kSimCse);
  o.batch_size = 64;
  o.max_length = 128;
  const int64_t simcse = EstimateTrainingBytes(o, c);
  o.gradient_checkpointing = true;
  EXPECT_LT(EstimateTrainingBytes(o, c), simcse / 8);
  o.gradient_checkpointing = false;
  // Supervised triples: three sequences per example against SimCSE's two.
  o.objective = Objective::kSupervised;
  EXPECT_NEAR(static_cast<double>(EstimateTrainingBytes(o, c)), 1.5 * simcse,
              0.01 * static_cast<double>(simcse));
}

}  // namespace
}  // namespace llm2vec
