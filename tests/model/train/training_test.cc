// Adapter training: MNTP masking statistics, the MNTP and contrastive losses
// against values computed by hand from the model's own outputs, gradients
// reaching only the adapter, AdamW and the schedule against their formulas,
// PEFT save/reload, checkpoints and exact resume, data streaming, and short
// MNTP / SimCSE runs on stories260K that lower a held-out loss.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/atomic_dir.h"
#include "model/formats/safetensors.h"
#include "model/nn/lora.h"
#include "model/nn/model_loader.h"
#include "model/train/adamw.h"
#include "model/train/contrastive.h"
#include "model/train/mntp.h"
#include "model/train/trainable_lora.h"
#include "model/train/trainer.h"
#include "model/train/training_data.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

namespace fs = std::filesystem;
using ::llm2vec::testing::TestdataPath;

constexpr char kModel[] = "models/stories260k-hf";
constexpr char kText[] = "data/tinystories/tinystories_val_slice.txt";

using ::llm2vec::testing::TempDir;

LoadedModel LoadStories() {
  auto model = LoadModel(TestdataPath(kModel), LoadOptions());
  EXPECT_TRUE(model.ok()) << model.status();
  return std::move(*model);
}

// Small, fast runs on stories260K.
TrainerOptions SmallOptions(Objective objective) {
  TrainerOptions o = TrainerOptions::Defaults(objective);
  o.data_path = TestdataPath(kText);
  o.steps = 20;
  o.batch_size = 8;
  o.max_length = 64;
  o.lr = 2e-3;
  return o;
}

std::unique_ptr<Trainer> MakeTrainer(const TrainerOptions& options) {
  auto trainer = Trainer::Create(LoadStories(), options);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  return trainer.ok() ? std::move(*trainer) : nullptr;
}

// log(sum_j exp(x_j)) - x_target, in double.
double CrossEntropy(const std::vector<double>& x, size_t target) {
  double m = -INFINITY;
  for (double v : x) m = std::max(m, v);
  double s = 0;
  for (double v : x) s += std::exp(v - m);
  return m + std::log(s) - x[target];
}

// ---------------------------------------------------------------- masking

MaskingVocab SyntheticVocab() {
  MaskingVocab v;
  v.special.assign(100, false);
  v.special[0] = v.special[1] = v.special[2] = true;
  for (int32_t id = 3; id < 100; ++id) v.random_pool.push_back(id);
  v.mask_id = 99;
  return v;
}

// BOS, then ids from 3..98 with an EOS or UNK every 10th position.
std::vector<std::vector<int32_t>> SyntheticSequences(int n, int len, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> id(3, 98);
  std::vector<std::vector<int32_t>> out(n);
  for (auto& seq : out) {
    seq.push_back(1);
    for (int i = 1; i < len; ++i) seq.push_back(i % 10 == 0 ? (i % 20 == 0 ? 2 : 0) : id(rng));
  }
  return out;
}

TEST(MntpMaskingTest, RatioAnd801010OverManyDraws) {
  const MaskingVocab vocab = SyntheticVocab();
  std::mt19937_64 rng(42);
  int64_t eligible = 0, chosen = 0, masked = 0, random = 0, unchanged = 0;
  for (const auto& seq : SyntheticSequences(2000, 128, 7)) {
    MaskedSequence m = MaskSequence(seq, vocab, MaskOptions(), rng);
    ASSERT_EQ(m.ids.size(), seq.size());
    int64_t labelled = 0;
    for (size_t i = 0; i < seq.size(); ++i) {
      const bool special = vocab.special[seq[i]];
      if (!special && i > 0) ++eligible;
      if (m.labels[i] == kIgnoreLabel) {
        // Not chosen: never changed. Specials and position 0 are never chosen.
        EXPECT_EQ(m.ids[i], seq[i]);
        continue;
      }
      ++labelled;
      ASSERT_FALSE(special) << "special id " << seq[i] << " chosen at " << i;
      ASSERT_GT(i, 0u);
      EXPECT_EQ(m.labels[i], seq[i]);
      ++chosen;
      if (m.ids[i] == vocab.mask_id) {
        ++masked;
      } else if (m.ids[i] == seq[i]) {
        ++unchanged;
      } else {
        ++random;
        EXPECT_FALSE(vocab.special[m.ids[i]]) << "random replacement drew special " << m.ids[i];
      }
    }
    EXPECT_EQ(labelled, m.chosen);
  }
  const double ratio = static_cast<double>(chosen) / static_cast<double>(eligible);
  EXPECT_NEAR(ratio, 0.2, 0.01);
  const double c = static_cast<double>(chosen);
  EXPECT_NEAR(masked / c, 0.8, 0.015);
  // A random draw equals the original (or the mask id) 1 time in 97.
  EXPECT_NEAR(random / c, 0.1 * 95.0 / 97.0, 0.01);
  EXPECT_NEAR(unchanged / c, 0.1 + 0.1 / 97.0, 0.01);
}

TEST(MntpMaskingTest, AllMaskReplacesEveryChosenToken) {
  const MaskingVocab vocab = SyntheticVocab();
  std::mt19937_64 rng(3);
  MaskOptions options;
  options.mask_ratio = 0.8;
  options.all_mask = true;
  int64_t eligible = 0, chosen = 0;
  for (const auto& seq : SyntheticSequences(500, 64, 11)) {
    MaskedSequence m = MaskSequence(seq, vocab, options, rng);
    for (size_t i = 0; i < seq.size(); ++i) {
      if (i > 0 && !vocab.special[seq[i]]) ++eligible;
      if (m.labels[i] == kIgnoreLabel) {
        EXPECT_EQ(m.ids[i], seq[i]);
      } else {
        ASSERT_FALSE(vocab.special[seq[i]]);
        EXPECT_EQ(m.ids[i], vocab.mask_id);
        ++chosen;
      }
    }
  }
  EXPECT_NEAR(static_cast<double>(chosen) / static_cast<double>(eligible), 0.8, 0.01);
}

TEST(MntpMaskingTest, DeterministicGivenTheSeed) {
  const MaskingVocab vocab = SyntheticVocab();
  const auto seqs = SyntheticSequences(20, 64, 5);
  std::mt19937_64 a(9), b(9), c(10);
  bool differs = false;
  for (const auto& seq : seqs) {
    MaskedSequence ma = MaskSequence(seq, vocab, MaskOptions(), a);
    MaskedSequence mb = MaskSequence(seq, vocab, MaskOptions(), b);
    MaskedSequence mc = MaskSequence(seq, vocab, MaskOptions(), c);
    EXPECT_EQ(ma.ids, mb.ids);
    EXPECT_EQ(ma.labels, mb.labels);
    differs = differs || ma.labels != mc.labels;
  }
  EXPECT_TRUE(differs);
}

TEST(MntpMaskingTest, VocabularyOfStories260k) {
  LLM2VEC_REQUIRE_TESTDATA();
  LoadedModel model = LoadStories();
  const Tokenizer& tok = *model.tokenizer;
  MaskingVocab v = MaskingVocab::FromTokenizer(tok, model.transformer->config().vocab_size);
  // No "<mask>" and no "_" piece: the byte-fallback piece of "_".
  EXPECT_EQ(tok.TokenToId("_"), -1);
  EXPECT_EQ(v.mask_id, tok.TokenToId("<0x5F>"));
  EXPECT_EQ(tok.Decode({v.mask_id}, false), "_");
  for (int32_t id : {0, 1, 2}) EXPECT_TRUE(v.special[id]) << id;
  EXPECT_EQ(v.random_pool.size(), 509u);
}

// ------------------------------------------------------------------- losses

TEST(MntpLossTest, EqualsCrossEntropyComputedByHand) {
  LLM2VEC_REQUIRE_TESTDATA();
  LoadedModel model = LoadStories();
  const Transformer& tr = *model.transformer;
  const Tokenizer& tok = *model.tokenizer;
  const int32_t mask = MaskingVocab::FromTokenizer(tok, tr.config().vocab_size).mask_id;
  std::vector<std::vector<int32_t>> originals = {
      tok.Encode("Once upon a time, there was a little cat named Tom.", true),
      tok.Encode("The dog ran to the park.", true)};
  ASSERT_GT(originals[0].size(), originals[1].size());
  // Hand-picked targets; position 0's label has no previous position and
  // must be ignored.
  std::vector<std::vector<int>> targets = {{0, 2, 3, 7, static_cast<int>(originals[0].size()) - 1},
                                           {0, 1, 4}};
  std::vector<std::vector<int32_t>> inputs = originals, labels(2);
  for (int b = 0; b < 2; ++b) {
    labels[b].assign(originals[b].size(), kIgnoreLabel);
    for (int i : targets[b]) {
      labels[b][i] = originals[b][i];
      inputs[b][i] = mask;
    }
  }
  inputs[1][2] = 300;  // a "random" replacement that is not a target
  TokenBatch batch = MakeTokenBatch(inputs, {0, 0}, 0);
  const int64_t T = batch.ids.size(1);
  std::vector<int64_t> flat(2 * T, kIgnoreLabel);
  for (int b = 0; b < 2; ++b) std::copy(labels[b].begin(), labels[b].end(), flat.begin() + b * T);
  at::Tensor label_tensor = at::tensor(flat, at::kLong).view({2, T});
  ForwardOptions fwd;  // bidirectional, no dropout
  MntpLoss loss;
  {
    c10::InferenceMode guard;
    loss = ComputeMntpLoss(tr, batch.ids, batch.lengths, label_tensor, fwd);
  }
  // By hand: each row alone (no padding), logits of every position, then
  // -log softmax(logits[i-1])[label_i] in double for every target i >= 1.
  double sum = 0;
  int count = 0;
  for (int b = 0; b < 2; ++b) {
    const int64_t L = static_cast<int64_t>(inputs[b].size());
    std::vector<int64_t> ids(inputs[b].begin(), inputs[b].end());
    at::Tensor logits;
    {
      c10::InferenceMode guard;
      logits = tr.Logits(tr.Forward(at::tensor(ids, at::kLong).view({1, L}),
                                    at::full({1}, L, at::kLong), fwd))
                   .to(at::kDouble)
                   .contiguous();  // (1, L, V)
    }
    auto acc = logits.accessor<double, 3>();
    for (int i : targets[b]) {
      if (i == 0) continue;
      std::vector<double> row(logits.size(2));
      for (int64_t v = 0; v < logits.size(2); ++v) row[v] = acc[0][i - 1][v];
      sum += CrossEntropy(row, static_cast<size_t>(labels[b][i]));
      ++count;
    }
  }
  EXPECT_EQ(loss.targets, count);
  EXPECT_EQ(count, 6);
  const double want = sum / count;
  EXPECT_GT(want, 0.1);
  EXPECT_NEAR(loss.loss.item<double>(), want, 1e-5 * want);
}

// Per-text mean of hidden states over positions 1..L-1 (BOS not pooled),
// each text run alone; (B, C) double.
std::vector<std::vector<double>> MeanEmbeddingsByHand(const Transformer& tr,
                                                      const std::vector<std::vector<int32_t>>& rows) {
  std::vector<std::vector<double>> out;
  for (const auto& r : rows) {
    const int64_t L = static_cast<int64_t>(r.size());
    std::vector<int64_t> ids(r.begin(), r.end());
    c10::InferenceMode guard;
    at::Tensor h = tr.Forward(at::tensor(ids, at::kLong).view({1, L}), at::full({1}, L, at::kLong),
                              ForwardOptions())
                       .to(at::kDouble)
                       .contiguous();
    auto acc = h.accessor<double, 3>();
    std::vector<double> e(h.size(2), 0.0);
    for (int64_t t = 1; t < L; ++t) {
      for (int64_t c = 0; c < h.size(2); ++c) e[c] += acc[0][t][c] / static_cast<double>(L - 1);
    }
    out.push_back(e);
  }
  return out;
}

double Cosine(const std::vector<double>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

TEST(SimCseLossTest, EqualsCrossEntropyOfScaledCosinesByHand) {
  LLM2VEC_REQUIRE_TESTDATA();
  LoadedModel model = LoadStories();
  const Transformer& tr = *model.transformer;
  const Tokenizer& tok = *model.tokenizer;
  std::vector<std::vector<int32_t>> rows;
  std::vector<int64_t> pooled;
  for (const char* s : {"Tom saw a big red ball in the garden.", "The sun was hot.",
                        "Lily and her mom baked a cake for the party."}) {
    rows.push_back(tok.Encode(s, true));
    pooled.push_back(static_cast<int64_t>(rows.back().size()) - 1);  // all but BOS
  }
  TokenBatch batch = MakeTokenBatch(rows, pooled, 2);
  ForwardOptions no_dropout;  // train = false: both views are equal
  double got;
  {
    c10::InferenceMode guard;
    got = SimCseLoss(tr, batch, no_dropout, 20.0).item<double>();
  }
  auto emb = MeanEmbeddingsByHand(tr, rows);
  double want = 0;
  for (size_t i = 0; i < emb.size(); ++i) {
    std::vector<double> scores;
    for (size_t j = 0; j < emb.size(); ++j) scores.push_back(20.0 * Cosine(emb[i], emb[j]));
    want += CrossEntropy(scores, i);
  }
  want /= static_cast<double>(emb.size());
  EXPECT_GT(want, 1e-3);
  EXPECT_NEAR(got, want, 1e-4 * want);
  // With dropout the two views differ, and so does the loss.
  ForwardOptions dropout;
  dropout.train = true;
  dropout.attention_dropout = 0.3;
  at::manual_seed(1);
  c10::InferenceMode guard;
  EXPECT_GT(std::abs(SimCseLoss(tr, batch, dropout, 20.0).item<double>() - got), 1e-4);
}

TEST(ContrastiveLossTest, HardNegativesJoinTheCandidates) {
  at::manual_seed(5);
  at::Tensor q = at::randn({2, 4}, at::kDouble);
  at::Tensor d = at::randn({4, 4}, at::kDouble);  // 2 positives, then 2 negatives
  const double got = InBatchContrastiveLoss(q, d, 50.0).item<double>();
  auto vec = [](const at::Tensor& t, int64_t i) {
    std::vector<double> v(t.size(1));
    for (int64_t c = 0; c < t.size(1); ++c) v[c] = t[i][c].item<double>();
    return v;
  };
  double want = 0;
  for (int64_t i = 0; i < 2; ++i) {
    std::vector<double> scores;
    for (int64_t j = 0; j < 4; ++j) scores.push_back(50.0 * Cosine(vec(q, i), vec(d, j)));
    want += CrossEntropy(scores, static_cast<size_t>(i));
  }
  EXPECT_NEAR(got, want / 2, 1e-9 * std::max(1.0, want));
}

// --------------------------------------------------------- optimizer, schedule

TEST(AdamWTest, MatchesTheUpdateFormula) {
  at::Tensor p = at::tensor(std::vector<float>{1.0f, -2.0f}).requires_grad_(true);
  AdamW::Options o;
  o.weight_decay = 0.01;
  AdamW opt({p}, o);
  const double lr = 0.1;
  std::vector<std::vector<double>> grads = {{0.5, 0.1}, {-0.3, 0.2}};
  std::vector<double> x = {1.0, -2.0}, m = {0, 0}, v = {0, 0};
  for (int t = 1; t <= 2; ++t) {
    p.mutable_grad() = at::tensor(std::vector<float>{static_cast<float>(grads[t - 1][0]),
                                                     static_cast<float>(grads[t - 1][1])});
    opt.Step(lr);
    for (int i = 0; i < 2; ++i) {
      const double g = static_cast<float>(grads[t - 1][i]);
      x[i] *= 1 - lr * o.weight_decay;
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      const double mhat = m[i] / (1 - std::pow(0.9, t));
      const double vhat = v[i] / (1 - std::pow(0.999, t));
      x[i] -= lr * mhat / (std::sqrt(vhat) + 1e-8);
    }
  }
  EXPECT_NEAR(p[0].item<double>(), x[0], 1e-6);
  EXPECT_NEAR(p[1].item<double>(), x[1], 1e-6);
  EXPECT_EQ(opt.state().step[0], 2);
  opt.ZeroGrad();
  EXPECT_FALSE(p.grad().defined());
}

TEST(AdamWTest, ClipGradNormScalesToTheLimit) {
  at::Tensor a = at::zeros({1}).requires_grad_(true), b = at::zeros({1}).requires_grad_(true);
  a.mutable_grad() = at::full({1}, 3.0f);
  b.mutable_grad() = at::full({1}, 4.0f);
  EXPECT_NEAR(ClipGradNorm({a, b}, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad().item<double>(), 0.6, 1e-5);
  EXPECT_NEAR(b.grad().item<double>(), 0.8, 1e-5);
  EXPECT_NEAR(ClipGradNorm({a, b}, 10.0), 1.0, 1e-5);  // under the limit: unchanged
  EXPECT_NEAR(a.grad().item<double>(), 0.6, 1e-5);
}

TEST(TrainerTest, LinearWarmupThenLinearDecayToZero) {
  LLM2VEC_REQUIRE_TESTDATA();
  TrainerOptions o = SmallOptions(Objective::kSupervised);
  o.data_path = TestdataPath(kText);  // not read until a step runs
  o.steps = 10;
  o.warmup_steps = 2;
  o.lr = 1.0;
  auto t = MakeTrainer(o);
  ASSERT_NE(t, nullptr);
  EXPECT_DOUBLE_EQ(t->LearningRate(0), 0.0);
  EXPECT_DOUBLE_EQ(t->LearningRate(1), 0.5);
  EXPECT_DOUBLE_EQ(t->LearningRate(2), 1.0);
  EXPECT_DOUBLE_EQ(t->LearningRate(6), 0.5);
  EXPECT_DOUBLE_EQ(t->LearningRate(9), 0.125);
  EXPECT_EQ(TrainerOptions::Defaults(Objective::kMntp).lr, 5e-5);
  EXPECT_EQ(TrainerOptions::Defaults(Objective::kSimCse).lr, 3e-5);
  EXPECT_EQ(TrainerOptions::Defaults(Objective::kSimCse).attention_dropout, 0.3);
  EXPECT_EQ(TrainerOptions::Defaults(Objective::kSupervised).scale, 50.0);
}

// ------------------------------------------------------------ the adapter

TEST(TrainableLoraTest, InitialisedAsPeftDoes) {
  LLM2VEC_REQUIRE_TESTDATA();
  LoadedModel model = LoadStories();
  LoraConfig config;  // r 16, alpha 32, all seven projections
  auto lora = TrainableLora::Create(*model.transformer, config, 42);
  ASSERT_TRUE(lora.ok()) << lora.status();
  const ModelConfig& mc = model.transformer->config();
  EXPECT_EQ((*lora)->parameters().size(), static_cast<size_t>(mc.num_layers * 7 * 2));
  int64_t expected = 0;
  for (int l = 0; l < mc.num_layers; ++l) {
    for (int p = 0; p < kNumProjections; ++p) {
      const LoraPair& pair = (*lora)->weights().layers[l][p];
      ASSERT_TRUE(pair.defined());
      const at::Tensor& w = model.transformer->weights().layers[l].proj[p];  // (out, in)
      ASSERT_EQ(pair.a.sizes(), (std::vector<int64_t>{16, w.size(1)}));
      ASSERT_EQ(pair.b.sizes(), (std::vector<int64_t>{w.size(0), 16}));
      EXPECT_TRUE(pair.a.requires_grad() && pair.b.requires_grad());
      EXPECT_EQ(pair.a.scalar_type(), at::kFloat);
      EXPECT_DOUBLE_EQ(pair.scale, 2.0);
      // kaiming_uniform(a=sqrt(5)): U(-1/sqrt(in), 1/sqrt(in)), spread over it.
      const double bound = 1.0 / std::sqrt(static_cast<double>(w.size(1)));
      EXPECT_LE(pair.a.abs().max().item<double>(), bound);
      EXPECT_GT(pair.a.abs().max().item<double>(), 0.9 * bound);
      EXPECT_EQ(pair.b.abs().max().item<double>(), 0.0);
      expected += pair.a.numel() + pair.b.numel();
    }
  }
  EXPECT_EQ((*lora)->num_parameters(), expected);
  // Same seed, same init.
  auto again = TrainableLora::Create(*model.transformer, config, 42);
  EXPECT_TRUE((*again)->weights().layers[3][kUpProj].a.equal((*lora)->weights().layers[3][kUpProj].a));
  // A base weight that requires grad is refused.
  model.transformer->mutable_weights().layers[1].proj[kVProj].requires_grad_(true);
  auto refused = TrainableLora::Create(*model.transformer, config, 42);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("v_proj"), std::string::npos);
}

std::vector<at::Tensor> BaseWeights(const Transformer& tr) {
  const TransformerWeights& w = tr.weights();
  std::vector<at::Tensor> out = {w.embed_tokens, w.norm};
  for (const LayerWeights& l : w.layers) {
    out.push_back(l.input_layernorm);
    out.push_back(l.post_attention_layernorm);
    for (const at::Tensor& p : l.proj) out.push_back(p);
  }
  return out;
}

TEST(TrainerTest, GradientsReachOnlyTheAdapter) {
  LLM2VEC_REQUIRE_TESTDATA();
  TrainerOptions o = SmallOptions(Objective::kMntp);
  o.batch_size = 4;
  auto t = MakeTrainer(o);
  ASSERT_NE(t, nullptr);
  std::vector<at::Tensor> before;
  for (const at::Tensor& w : BaseWeights(t->transformer())) before.push_back(w.clone());
  auto backward = [&](const TrainingBatch& batch) {
    ForwardOptions fwd;
    fwd.lora = &t->lora().weights();
    fwd.train = true;
    ComputeMntpLoss(t->transformer(), batch.inputs.ids, batch.inputs.lengths, batch.labels, fwd)
        .loss.backward();
  };
  auto batch = t->NextBatch();
  ASSERT_TRUE(batch.ok()) << batch.status();
  backward(*batch);
  for (const at::Tensor& w : BaseWeights(t->transformer())) {
    EXPECT_FALSE(w.requires_grad());
    EXPECT_FALSE(w.grad().defined());
  }
  // B starts at zero: every B gets a gradient, every A exactly zero (dL/dA
  // = scale * B^T dL/dy x^T).
  const auto& params = t->lora().parameters();
  const auto& names = t->lora().parameter_names();
  for (size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(params[i].grad().defined()) << names[i];
    const double g = params[i].grad().abs().max().item<double>();
    if (names[i].find("lora_B") != std::string::npos) {
      EXPECT_GT(g, 0.0) << names[i];
    } else {
      EXPECT_EQ(g, 0.0) << names[i];
    }
    params[i].mutable_grad().reset();
  }
  // One optimizer step moves B only (A's gradient was zero) ...
  std::vector<at::Tensor> a_before;
  for (size_t i = 0; i < params.size(); i += 2) a_before.push_back(params[i].detach().clone());
  auto step = t->Step();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(std::isfinite(step->loss));
  for (size_t i = 0; i < params.size(); i += 2) {
    EXPECT_TRUE(params[i].detach().equal(a_before[i / 2])) << names[i];
    EXPECT_GT(params[i + 1].detach().abs().max().item<double>(), 0.0) << names[i + 1];
  }
  // ... after which A gets gradients too.
  backward(*batch);
  for (size_t i = 0; i < params.size(); i += 2) {
    EXPECT_GT(params[i].grad().abs().max().item<double>(), 0.0) << names[i];
  }
  // The base weights never changed.
  std::vector<at::Tensor> after = BaseWeights(t->transformer());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_TRUE(after[i].equal(before[i])) << i;
}

TEST(TrainableLoraTest, SavedAdapterReloadsBitIdentically) {
  LLM2VEC_REQUIRE_TESTDATA();
  TrainerOptions o = SmallOptions(Objective::kMntp);
  o.batch_size = 2;
  auto t = MakeTrainer(o);
  ASSERT_NE(t, nullptr);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(t->Step().ok());
  TempDir tmp;
  const std::string out = tmp.Join("adapter");
  ASSERT_TRUE(t->SaveAdapter(out).ok());
  ASSERT_TRUE(t->SaveAdapter(out).ok());  // replacing an adapter works too
  // Only the adapter folder is left: no staging or set-aside folders.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(tmp.path())) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "adapter");
  }
  EXPECT_EQ(entries, 1);
  LoraConfig config;
  const ModelConfig& mc = t->transformer().config();
  auto loaded = LoadLoraAdapter(out, mc, at::kCPU, at::kFloat, &config);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(config.r, 16);
  EXPECT_DOUBLE_EQ(config.lora_alpha, 32);
  EXPECT_DOUBLE_EQ(config.lora_dropout, 0.05);
  EXPECT_EQ(config.target_modules.size(), 7u);
  EXPECT_EQ(config.base_model_name_or_path, TestdataPath(kModel));
  for (int l = 0; l < mc.num_layers; ++l) {
    for (int p = 0; p < kNumProjections; ++p) {
      const LoraPair& mine = t->lora().weights().layers[l][p];
      const LoraPair& theirs = loaded->layers[l][p];
      ASSERT_TRUE(theirs.defined());
      EXPECT_TRUE(theirs.a.equal(mine.a.detach())) << l << " " << p;
      EXPECT_TRUE(theirs.b.equal(mine.b.detach())) << l << " " << p;
      EXPECT_DOUBLE_EQ(theirs.scale, mine.scale);
    }
  }
  std::ifstream in(out + "/adapter_config.json");
  nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["task_type"], "FEATURE_EXTRACTION");
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["fan_in_fan_out"], false);
  EXPECT_EQ(j["use_rslora"], false);
  auto archive = SafetensorsArchive::OpenFolder(out, "adapter_model");
  ASSERT_TRUE(archive.ok());
  ASSERT_NE((*archive)->Find("base_model.model.model.layers.4.mlp.down_proj.lora_B.weight"), nullptr);
  EXPECT_EQ((*archive)->Find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")->dtype,
            "F32");
  auto l2v = LoadLlm2VecConfig(out);
  ASSERT_TRUE(l2v.ok());
  EXPECT_EQ(l2v->pooling_mode, PoolingMode::kMean);
  // The base model's serving lengths (the method's defaults), not the
  // 64-token training sequences.
  EXPECT_EQ(l2v->max_length, 512);
  EXPECT_EQ(l2v->doc_max_length, 400);
  // The folder works as a model (its base merged with it), equal to the
  // unmerged adapter on the base.
  auto merged = LoadModel(out, LoadOptions());
  ASSERT_TRUE(merged.ok()) << merged.status();
  c10::InferenceMode guard;
  const std::vector<int64_t> ids = {1, 400, 300, 450, 260, 270};
  at::Tensor x = at::tensor(ids, at::kLong).view({1, 6});
  at::Tensor len = at::full({1}, 6, at::kLong);
  ForwardOptions unmerged;
  unmerged.lora = &*loaded;
  at::Tensor want = t->transformer().Forward(x, len, unmerged);
  at::Tensor got = merged->transformer->Forward(x, len, ForwardOptions());
  EXPECT_LE((got - want).abs().max().item<double>(), 1e-4 * want.abs().max().item<double>());
}

TEST(TrainerTest, MicroStepsMakeUpExactlyOneStep) {
  LLM2VEC_REQUIRE_TESTDATA();
  TrainerOptions o = SmallOptions(Objective::kMntp);
  o.steps = 2;
  o.batch_size = 2;
  o.max_length = 32;
  o.grad_accum = 3;
  // One after the other: dropout draws from libtorch's global generator,
  // which Create seeds.
  auto whole = MakeTrainer(o);
  ASSERT_NE(whole, nullptr);
  std::vector<TrainProgress> steps;
  for (int step = 1; step <= 2; ++step) {
    auto p = whole->Step();
    ASSERT_TRUE(p.ok()) << p.status();
    steps.push_back(*p);
  }
  auto micro = MakeTrainer(o);
  ASSERT_NE(micro, nullptr);
  for (int step = 1; step <= 2; ++step) {
    // grad_accum micro-batches; only the last one finishes the step.
    for (int m = 0; m < 2; ++m) {
      auto unit = micro->MicroStep();
      ASSERT_TRUE(unit.ok()) << unit.status();
      EXPECT_FALSE(unit->has_value());
      EXPECT_TRUE(micro->mid_step());
    }
    auto last = micro->MicroStep();
    ASSERT_TRUE(last.ok()) << last.status();
    ASSERT_TRUE(last->has_value());
    EXPECT_FALSE(micro->mid_step());
    EXPECT_EQ((*last)->step, step);
    EXPECT_EQ((*last)->loss, steps[step - 1].loss);
    EXPECT_EQ((*last)->tokens, steps[step - 1].tokens);
  }
  const auto& a = whole->lora().parameters();
  const auto& b = micro->lora().parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].detach().equal(b[i].detach()));
  // Done: a further unit is refused.
  EXPECT_EQ(micro->MicroStep().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TrainerTest, GradientCheckpointingGivesTheSameSteps) {
  LLM2VEC_REQUIRE_TESTDATA();
  // MNTP (LoRA dropout) and SimCSE (attention dropout too): the recomputed
  // layers must replay the same random numbers.
  for (Objective objective : {Objective::kMntp, Objective::kSimCse}) {
    SCOPED_TRACE(ObjectiveName(objective));
    TrainerOptions o = SmallOptions(objective);
    o.steps = 2;
    o.batch_size = 4;
    o.max_length = 32;
    std::vector<TrainProgress> plain_steps;
    std::vector<at::Tensor> plain;
    {
      auto t = MakeTrainer(o);
      ASSERT_NE(t, nullptr);
      for (int i = 0; i < 2; ++i) {
        auto p = t->Step();
        ASSERT_TRUE(p.ok()) << p.status();
        plain_steps.push_back(*p);
      }
      for (const at::Tensor& p : t->lora().parameters()) plain.push_back(p.detach().clone());
    }
    o.gradient_checkpointing = true;
    auto t = MakeTrainer(o);
    ASSERT_NE(t, nullptr);
    for (int i = 0; i < 2; ++i) {
      auto p = t->Step();
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_NEAR(p->loss, plain_steps[i].loss, 1e-6 * std::abs(plain_steps[i].loss));
      EXPECT_NEAR(p->grad_norm, plain_steps[i].grad_norm, 1e-5 * plain_steps[i].grad_norm);
    }
    const auto& params = t->lora().parameters();
    ASSERT_EQ(params.size(), plain.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const double scale = std::max(1e-3, plain[i].abs().max().item<double>());
      EXPECT_LE((params[i].detach() - plain[i]).abs().max().item<double>(), 1e-5 * scale)
          << t->lora().parameter_names()[i];
    }
  }
}

// -------------------------------------------------- checkpoints and resume

TEST(TrainerTest, ResumedRunEqualsUninterruptedRun) {
  LLM2VEC_REQUIRE_TESTDATA();
  for (Objective objective : {Objective::kMntp, Objective::kSimCse}) {
    SCOPED_TRACE(ObjectiveName(objective));
    TrainerOptions o = SmallOptions(objective);
    o.steps = 4;
    o.batch_size = 3;
    o.max_length = 32;
    o.warmup_steps = 1;
    auto straight = MakeTrainer(o);
    ASSERT_NE(straight, nullptr);
    ASSERT_TRUE(straight->Train().ok());
    TempDir tmp;
    {
      auto first = MakeTrainer(o);
      ASSERT_NE(first, nullptr);
      for (int i = 0; i < 2; ++i) ASSERT_TRUE(first->Step().ok());
      ASSERT_TRUE(first->SaveCheckpoint(tmp.Join("checkpoint-2")).ok());
    }
    auto resumed = MakeTrainer(o);
    ASSERT_NE(resumed, nullptr);
    auto dir = Trainer::LatestCheckpoint(tmp.path());
    ASSERT_TRUE(dir.ok()) << dir.status();
    ASSERT_TRUE(resumed->Resume(*dir).ok());
    EXPECT_EQ(resumed->step(), 2);
    ASSERT_TRUE(resumed->Train().ok());
    EXPECT_EQ(resumed->step(), 4);
    const auto& a = straight->lora().parameters();
    const auto& b = resumed->lora().parameters();
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(a[i].detach().equal(b[i].detach())) << resumed->lora().parameter_names()[i];
    }
  }
}

TEST(TrainerTest, CheckpointsEveryNStepsKeepTheNewest) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  TrainerOptions o = SmallOptions(Objective::kMntp);
  o.steps = 3;
  o.batch_size = 2;
  o.max_length = 32;
  o.checkpoint_every = 1;
  o.checkpoint_dir = tmp.Join("ckpt");
  auto t = MakeTrainer(o);
  ASSERT_NE(t, nullptr);
  std::vector<std::string> reported;
  ASSERT_TRUE(t->Train([&](const TrainProgress& p) { reported.push_back(p.checkpoint); }).ok());
  ASSERT_EQ(reported.size(), 3u);
  EXPECT_EQ(reported[2], tmp.Join("ckpt/checkpoint-3"));
  EXPECT_FALSE(fs::exists(tmp.Join("ckpt/checkpoint-1")));
  EXPECT_TRUE(fs::exists(tmp.Join("ckpt/checkpoint-2/trainer_state.json")));
  auto latest = Trainer::LatestCheckpoint(tmp.Join("ckpt"));
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, tmp.Join("ckpt/checkpoint-3"));
  // A checkpoint is a loadable adapter.
  EXPECT_TRUE(LoadLoraAdapter(*latest, t->transformer().config(), at::kCPU, at::kFloat).ok());
  // A checkpoint of another objective is refused.
  TrainerOptions s = SmallOptions(Objective::kSimCse);
  auto other = MakeTrainer(s);
  ASSERT_NE(other, nullptr);
  absl::Status refused = other->Resume(*latest);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.message()).find("mntp"), std::string::npos) << refused;
}

// A checkpoint records the data order; one written in another order (file
// order, by a build before shuffling) cannot continue a shuffled run: its
// position would name other lines.
TEST(TrainerTest, ACheckpointOfAnotherDataOrderIsRefused) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  TrainerOptions o = SmallOptions(Objective::kSimCse);
  o.steps = 1;
  o.batch_size = 2;
  o.max_length = 16;
  auto t = MakeTrainer(o);
  ASSERT_NE(t, nullptr);
  EXPECT_NE(t->data_order().find("an exact shuffle of"), std::string::npos) << t->data_order();
  ASSERT_TRUE(t->Step().ok());
  const std::string dir = tmp.Join("checkpoint-1");
  ASSERT_TRUE(t->SaveCheckpoint(dir).ok());
  nlohmann::json state = nlohmann::json::parse(std::ifstream(dir + "/trainer_state.json"));
  EXPECT_EQ(state["data"]["order"], "exact");
  state["data"]["order"] = "file";
  std::ofstream(dir + "/trainer_state.json") << state.dump();
  auto resumed = MakeTrainer(o);
  ASSERT_NE(resumed, nullptr);
  const absl::Status s = resumed->Resume(dir);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("it read the data in 'file' order; this run reads in "
                                          "'exact' order"),
            std::string::npos)
      << s;
}

// ----------------------------------------------------------------- data

TEST(TrainingDataTest, LinesSkipBlanksCycleAndSeek) {
  TempDir tmp;
  const std::string path = tmp.Join("lines.txt");
  std::ofstream(path) << "a b\n\n   \nc d e\r\nlast";
  auto r = LineReader::Open(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*(*r)->Next(), "a b");
  EXPECT_EQ(*(*r)->Next(), "c d e");
  EXPECT_EQ((*r)->last_line_number(), 4);
  const DataPosition pos = (*r)->position();
  EXPECT_EQ(*(*r)->Next(), "last");
  EXPECT_EQ(*(*r)->Next(), "a b");  // second pass
  EXPECT_EQ((*r)->position().epoch, 1);
  ASSERT_TRUE((*r)->Seek(pos).ok());
  EXPECT_EQ(*(*r)->Next(), "last");
  std::ofstream(tmp.Join("empty.txt")) << "\n  \n";
  auto e = LineReader::Open(tmp.Join("empty.txt"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->Next().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LineReader::Open(tmp.Join("missing.txt")).status().code(), absl::StatusCode::kNotFound);
}

TEST(TrainingDataTest, MntpPacksTheTokenStreamBehindBos) {
  LLM2VEC_REQUIRE_TESTDATA();
  LoadedModel model = LoadStories();
  const Tokenizer& tok = *model.tokenizer;
  TempDir tmp;
  const std::string path = tmp.Join("docs.txt");
  const std::vector<std::string> lines = {"Once upon a time there was a dog.", "It liked to run.",
                                          "The end."};
  {
    std::ofstream out(path);
    for (const auto& l : lines) out << l << "\n\n";
  }
  std::vector<int32_t> stream;
  for (int pass = 0; pass < 3; ++pass) {
    for (const auto& l : lines) {
      auto ids = tok.Encode(l, false);
      stream.insert(stream.end(), ids.begin(), ids.end());
    }
  }
  auto p = MntpPacker::Open(path, tok, 7);
  ASSERT_TRUE(p.ok());
  std::vector<int32_t> text;
  for (int i = 0; i < 6; ++i) {
    auto seq = (*p)->Next();
    ASSERT_TRUE(seq.ok());
    ASSERT_EQ(seq->size(), 7u);
    EXPECT_EQ(seq->front(), tok.bos_id());
    text.insert(text.end(), seq->begin() + 1, seq->end());
  }
  EXPECT_EQ(text, std::vector<int32_t>(stream.begin(), stream.begin() + 36));
}

// Reads `n` lines.
std::vector<std::string> ReadLines(LineReader& r, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    auto line = r.Next();
    EXPECT_TRUE(line.ok()) << line.status();
    out.push_back(line.ok() ? *line : "");
  }
  return out;
}

// A file of 50 numbered lines, with blank ones between.
std::string FiftyLines(const TempDir& tmp, std::vector<std::string>* lines) {
  const std::string path = tmp.Join("fifty.txt");
  std::ofstream out(path);
  for (int i = 0; i < 50; ++i) {
    lines->push_back(absl::StrCat("line ", i));
    out << lines->back() << (i % 7 == 0 ? "\n\n" : "\n");
  }
  return path;
}

// Shuffled lines, as the reference's Trainer draws them, in both modes: an
// exact permutation (an index of the lines) and a shuffle buffer (a file
// over the index bound). Each epoch holds every line once, in an order not
// the file's, new every epoch, the same for the same seed, and a reader
// that seeks to a saved position mid-epoch reads on exactly as the saver.
TEST(TrainingDataTest, ShuffledLinesCoverEveryLineOncePerEpochAndResumeExactly) {
  TempDir tmp;
  std::vector<std::string> file_order;
  const std::string path = FiftyLines(tmp, &file_order);
  const std::set<std::string> all(file_order.begin(), file_order.end());
  LineShuffle exact;
  exact.enabled = true;
  exact.seed = 7;
  LineShuffle buffered = exact;
  buffered.max_index_lines = 10;  // 50 lines are too many to index
  buffered.buffer_lines = 8;
  for (const LineShuffle& shuffle : {exact, buffered}) {
    SCOPED_TRACE(shuffle.max_index_lines);
    auto r = LineReader::Open(path, "", shuffle);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)->order_kind(), std::string(shuffle.max_index_lines == 10 ? "buffer" : "exact"));
    const std::vector<std::string> epoch0 = ReadLines(**r, 50);
    const std::vector<std::string> epoch1 = ReadLines(**r, 50);
    EXPECT_EQ(std::set<std::string>(epoch0.begin(), epoch0.end()), all);
    EXPECT_EQ(std::set<std::string>(epoch1.begin(), epoch1.end()), all);
    EXPECT_NE(epoch0, file_order);
    EXPECT_NE(epoch1, epoch0);
    EXPECT_EQ((*r)->position().epoch, 1);
    // The line numbers of messages are the file's (1-based, blanks counted).
    const std::string last = epoch1.back();
    const int i = std::stoi(last.substr(5));
    EXPECT_EQ((*r)->last_line_number(), i + 1 + (i + 6) / 7);

    // The same seed: the same order; another seed: another.
    auto same = LineReader::Open(path, "", shuffle);
    ASSERT_TRUE(same.ok());
    EXPECT_EQ(ReadLines(**same, 100), [&] {
      std::vector<std::string> both = epoch0;
      both.insert(both.end(), epoch1.begin(), epoch1.end());
      return both;
    }());
    LineShuffle other_seed = shuffle;
    other_seed.seed = 8;
    auto other = LineReader::Open(path, "", other_seed);
    ASSERT_TRUE(other.ok());
    EXPECT_NE(ReadLines(**other, 50), epoch0);

    // Saved mid-epoch (several places, the buffer's last lines among them),
    // resumed by a new reader: the same lines follow.
    for (int at : {3, 47, 71}) {
      auto saver = LineReader::Open(path, "", shuffle);
      ASSERT_TRUE(saver.ok());
      ReadLines(**saver, at);
      const DataPosition pos = (*saver)->position();
      auto resumed = LineReader::Open(path, "", shuffle);
      ASSERT_TRUE(resumed.ok());
      ASSERT_TRUE((*resumed)->Seek(pos).ok());
      EXPECT_EQ(ReadLines(**resumed, 60), ReadLines(**saver, 60)) << "from line " << at;
    }
  }
  EXPECT_EQ((*LineReader::Open(path, "", exact))->order(),
            "an exact shuffle of 50 lines per epoch (seed 7)");
  EXPECT_EQ((*LineReader::Open(path, "", buffered))->order(),
            "a shuffle buffer of 8 lines (the file has over 10 lines; seed 7)");
  // No text at all is an error in both modes.
  std::ofstream(tmp.Join("empty.txt")) << "\n  \n";
  for (const LineShuffle& shuffle : {exact, buffered}) {
    auto e = LineReader::Open(tmp.Join("empty.txt"), "", shuffle);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ((*e)->Next().status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(TrainingDataTest, TriplesNeedTheirFieldsAndNameTheLine) {
  TempDir tmp;
  const std::string path = tmp.Join("t.jsonl");
  std::ofstream(path) << R"({"query": "q", "positive": "p", "negative": "n", "instruction": "i"})"
                      << "\n" << R"({"query": "q", "positive": 3, "negative": "n"})" << "\n";
  auto r = TripleReader::Open(path);
  ASSERT_TRUE(r.ok());
  auto t = (*r)->Next();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->instruction, "i");
  auto bad = (*r)->Next();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("line 2"), std::string::npos) << bad.status();
  EXPECT_NE(std::string(bad.status().message()).find("positive"), std::string::npos);
}

TEST(TrainerTest, SupervisedBatchesPoolTheQueryTextOnly) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  const std::string path = tmp.Join("triples.jsonl");
  {
    std::ofstream out(path);
    const char* rows[][3] = {{"a dog in the park", "The dog ran in the park.", "The sun was hot."},
                             {"a cake", "Mom baked a big cake.", "Tom lost his red ball."},
                             {"a boat", "The boat went on the lake.", "Lily sang a song."},
                             {"the moon", "The moon was bright at night.", "He ate an apple."}};
    for (const auto& r : rows) {
      out << nlohmann::json{{"query", r[0]}, {"positive", r[1]}, {"negative", r[2]},
                            {"instruction", "Find the story sentence about"}}
                 .dump()
          << "\n";
    }
  }
  TrainerOptions o = SmallOptions(Objective::kSupervised);
  o.data_path = path;
  o.batch_size = 2;
  o.steps = 3;
  auto t = MakeTrainer(o);
  ASSERT_NE(t, nullptr);
  auto batch = t->NextBatch();
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->inputs.size(), 2);
  ASSERT_EQ(batch->documents.size(), 4);
  // The query pools its own tokens, not the instruction's (nor BOS); the
  // triples come shuffled, so the first may be any of the four.
  std::set<int64_t> query_tokens;
  for (const char* q : {"a dog in the park", "a cake", "a boat", "the moon"}) {
    query_tokens.insert(static_cast<int64_t>(t->tokenizer().Encode(q, false).size()));
  }
  EXPECT_EQ(query_tokens.count(batch->inputs.spans[0].pooled), 1u) << batch->inputs.spans[0].pooled;
  EXPECT_GT(batch->inputs.spans[0].length, batch->inputs.spans[0].pooled + 3);
  // Documents carry no instruction: all but BOS pooled.
  EXPECT_EQ(batch->documents.spans[2].pooled, batch->documents.spans[2].length - 1);
  ASSERT_TRUE(t->Train().ok());
  EXPECT_EQ(t->step(), 3);
}

// ----------------------------------------------------- short training runs

// Trains `options` and returns (held-out loss before, after).
std::pair<double, double> HeldOutLossBeforeAndAfter(const TrainerOptions& options) {
  auto t = MakeTrainer(options);
  if (t == nullptr) return {0, 0};
  auto held_out = t->NextBatch();  // never trained on: the run reads on
  EXPECT_TRUE(held_out.ok());
  auto before = t->EvaluateLoss(*held_out);
  EXPECT_TRUE(before.ok());
  double first_train = 0, last_train = 0;
  EXPECT_TRUE(t->Train([&](const TrainProgress& p) {
                 if (p.step == 1) first_train = p.loss;
                 last_train = p.loss;
                 EXPECT_GT(p.tokens, 0);
                 EXPECT_GT(p.tokens_per_second, 0);
               }).ok());
  auto after = t->EvaluateLoss(*held_out);
  EXPECT_TRUE(after.ok());
  std::cerr << ObjectiveName(options.objective) << ": held-out loss " << *before << " -> "
            << *after << ", train loss " << first_train << " -> " << last_train << "\n";
  return {*before, *after};
}

TEST(TrainerTest, MntpLowersTheHeldOutLoss) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto [before, after] = HeldOutLossBeforeAndAfter(SmallOptions(Objective::kMntp));
  EXPECT_LT(after, before * 0.95);
}

TEST(TrainerTest, SimCseLowersTheHeldOutLoss) {
  LLM2VEC_REQUIRE_TESTDATA();
  TrainerOptions o = SmallOptions(Objective::kSimCse);
  o.batch_size = 16;
  auto [before, after] = HeldOutLossBeforeAndAfter(o);
  EXPECT_LT(after, before * 0.95);
}

}  // namespace
}  // namespace llm2vec
