// The transformer and encoder against the llama.cpp / llama2.c goldens in
// ../shared/testdata (never regenerated from this project's code).
//
// Tolerances (testdata README, float32 column): hidden states and pooled
// vectors max|ours - golden| / max|golden| <= 1e-4 per text and mode,
// per-token cosine >= 0.99999; logits 1e-4 of max|logit|; greedy text exact.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "model/nn/encoder.h"
#include "model/nn/model_loader.h"
#include "model/nn/tensor_io.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::LoadJson;
using ::llm2vec::testing::TestdataPath;

// The device and dtype under test: $LLM2VEC_TEST_DEVICE (cpu) and
// $LLM2VEC_TEST_DTYPE (float32), so the same goldens check a GPU build.
LoadOptions TestLoadOptions() {
  LoadOptions options;
  if (const char* d = std::getenv("LLM2VEC_TEST_DEVICE")) options.device = d;
  if (const char* t = std::getenv("LLM2VEC_TEST_DTYPE")) options.dtype = t;
  return options;
}

// The testdata README's recommended tolerances per compute dtype.
struct Tolerance {
  double hidden_rel, min_cosine, mean_rel, logits_rel;
  bool exact_greedy;
};
Tolerance TestTolerance() {
  if (TestLoadOptions().dtype == "float32") return {1e-4, 0.99999, 1e-4, 1e-4, true};
  return {1e-1, 0.99, 5e-2, -1, false};  // bf16 / fp16: logits argmax only
}

at::Tensor JsonMatrix(const nlohmann::json& rows) {
  std::vector<float> flat;
  int64_t cols = 0;
  for (const auto& row : rows) {
    cols = static_cast<int64_t>(row.size());
    for (const auto& v : row) flat.push_back(v.get<float>());
  }
  return at::tensor(flat, at::kFloat).view({static_cast<int64_t>(rows.size()), cols});
}

at::Tensor JsonVector(const nlohmann::json& values) {
  std::vector<float> flat;
  for (const auto& v : values) flat.push_back(v.get<float>());
  return at::tensor(flat, at::kFloat);
}

double RelErr(const at::Tensor& ours, const at::Tensor& golden) {
  return (ours - golden).abs().max().item<double>() / golden.abs().max().item<double>();
}

double MinRowCosine(const at::Tensor& a, const at::Tensor& b) {
  return at::cosine_similarity(a.to(at::kDouble), b.to(at::kDouble), 1).min().item<double>();
}

struct GoldenCase {
  std::string golden;  // goldens/<name>.json
  std::string model;   // relative to testdata
};
void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.model; }

std::unique_ptr<Encoder> LoadEncoder(const std::string& model_rel) {
  auto model = LoadModel(TestdataPath(model_rel), TestLoadOptions());
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return nullptr;
  auto encoder = Encoder::Create(std::move(*model), Encoder::Options());
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  return encoder.ok() ? std::move(*encoder) : nullptr;
}

at::Tensor HiddenOf(const Encoder& encoder, const std::vector<int32_t>& ids, AttentionMode mode) {
  c10::InferenceMode guard;
  std::vector<int64_t> ids64(ids.begin(), ids.end());
  const int64_t T = static_cast<int64_t>(ids64.size());
  ForwardOptions fwd;
  fwd.attention = mode;
  return encoder.transformer()
      .Forward(at::tensor(ids64, at::kLong).view({1, T}), at::full({1}, T, at::kLong), fwd)
      .squeeze(0)
      .to(at::kFloat)
      .to(at::kCPU);
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, HiddenStatesMatchLlamaCpp) {
  LLM2VEC_REQUIRE_TESTDATA();
  const nlohmann::json golden = LoadJson("goldens/" + GetParam().golden + ".json");
  auto encoder = LoadEncoder(GetParam().model);
  ASSERT_NE(encoder, nullptr);
  const Tolerance tol = TestTolerance();
  int checked = 0;
  for (const auto& t : golden["texts"]) {
    SCOPED_TRACE(t["name"].get<std::string>());
    const std::vector<int32_t> ids = t["ids"].get<std::vector<int32_t>>();
    // The model's own tokenizer gives the golden ids (BOS included).
    EXPECT_EQ(encoder->tokenizer().Encode(t["text"].get<std::string>(), true), ids);
    for (auto [mode, key] : {std::pair{AttentionMode::kCausal, "hidden_causal"},
                             std::pair{AttentionMode::kBidirectional, "hidden_non_causal"}}) {
      SCOPED_TRACE(key);
      at::Tensor ours = HiddenOf(*encoder, ids, mode);
      at::Tensor want = JsonMatrix(t[key]);
      ASSERT_EQ(ours.sizes(), want.sizes());
      EXPECT_LE(RelErr(ours, want), tol.hidden_rel);
      EXPECT_GE(MinRowCosine(ours, want), tol.min_cosine);
    }
    // llama.cpp's mean pooling includes BOS: the mean of our own states.
    at::Tensor bidi = HiddenOf(*encoder, ids, AttentionMode::kBidirectional);
    EXPECT_LE(RelErr(bidi.mean(0), JsonVector(t["mean_non_causal"])), tol.mean_rel);
    if (t.contains("logits_last_causal")) {
      at::Tensor last = HiddenOf(*encoder, ids, AttentionMode::kCausal)[-1];
      at::Tensor logits = encoder->transformer().Logits(last.to(encoder->transformer().device()))
                              .to(at::kCPU);
      if (tol.logits_rel > 0) {
        EXPECT_LE(RelErr(logits, JsonVector(t["logits_last_causal"])), tol.logits_rel);
      }
      EXPECT_EQ(logits.argmax().item<int64_t>(), t["argmax_last_causal"].get<int64_t>());
    }
    ++checked;
  }
  EXPECT_EQ(checked, 24);
}

TEST_P(GoldenTest, Llm2VecMeanPoolsTextTokensOnly) {
  LLM2VEC_REQUIRE_TESTDATA();
  const nlohmann::json golden = LoadJson("goldens/" + GetParam().golden + ".json");
  auto encoder = LoadEncoder(GetParam().model);
  ASSERT_NE(encoder, nullptr);
  std::vector<EncodeInput> inputs;
  std::vector<at::Tensor> wants;
  for (const auto& t : golden["texts"]) {
    if (t["n_tokens"].get<int>() < 2) continue;  // "" has no text token to pool
    inputs.push_back({t["text"].get<std::string>(), ""});
    // LLM2Vec's mean = mean of the golden states without BOS.
    wants.push_back(JsonMatrix(t["hidden_non_causal"]).narrow(0, 1, t["n_tokens"].get<int>() - 1)
                        .mean(0));
  }
  EncodeOptions options;  // defaults: bidirectional, mean
  auto embeddings = encoder->Encode(inputs, options);
  ASSERT_TRUE(embeddings.ok()) << embeddings.status();
  ASSERT_EQ(embeddings->size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE(inputs[i].text);
    at::Tensor ours = at::tensor((*embeddings)[i].values, at::kFloat);
    EXPECT_LE(RelErr(ours, wants[i]), TestTolerance().mean_rel);
  }
  // The empty text has nothing to pool: a clear error, not NaN.
  auto empty = encoder->Encode({{"", ""}}, options);
  EXPECT_FALSE(empty.ok());
}

INSTANTIATE_TEST_SUITE_P(
    Models, GoldenTest,
    ::testing::Values(GoldenCase{"stories260k", "models/stories260k-gguf/stories260K.gguf"},
                      GoldenCase{"stories260k", "models/stories260k-hf"},
                      GoldenCase{"tiny-qwen2", "models/tiny-qwen2-gguf/tiny-qwen2.gguf"},
                      GoldenCase{"tiny-qwen2", "models/tiny-qwen2-hf"}),
    [](const auto& info) {
      std::string name = info.param.model;
      for (char& c : name) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

class GreedyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GreedyTest, MatchesLlama2cByteForByte) {
  LLM2VEC_REQUIRE_TESTDATA();
  const nlohmann::json golden = LoadJson("goldens/stories260k_greedy.json");
  std::ifstream in(TestdataPath("goldens/stories260k_greedy.txt"), std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!TestTolerance().exact_greedy) GTEST_SKIP() << "greedy text is exact only in float32";
  auto encoder = LoadEncoder(GetParam());
  ASSERT_NE(encoder, nullptr);
  const std::vector<int32_t> want = golden["ids"].get<std::vector<int32_t>>();
  auto generated = encoder->Generate({want[0]}, 200);
  ASSERT_TRUE(generated.ok()) << generated.status();
  std::vector<int32_t> ids = {want[0]};
  ids.insert(ids.end(), generated->begin(), generated->end());
  EXPECT_EQ(ids, want);
  EXPECT_EQ(encoder->tokenizer().Decode(ids, /*skip_special_tokens=*/true), text.str());
}

INSTANTIATE_TEST_SUITE_P(Stories260k, GreedyTest,
                         ::testing::Values("models/stories260k-gguf/stories260K.gguf",
                                           "models/stories260k-hf"),
                         [](const auto& info) {
                           return info.param.find("gguf") != std::string::npos ? "gguf" : "hf";
                         });

// The device-memory gauge's source: nothing on the CPU; on CUDA at least
// the weights of a model loaded there (tests/gpu/run_gpu_checks.sh runs it
// with LLM2VEC_TEST_DEVICE=cuda).
TEST(DeviceMemoryTest, ReportedOnlyOnCudaAndCoversTheWeights) {
  LLM2VEC_REQUIRE_TESTDATA();
  const LoadOptions options = TestLoadOptions();
  auto model = LoadModel(TestdataPath("models/stories260k-hf"), options);
  ASSERT_TRUE(model.ok()) << model.status();
  const std::optional<int64_t> bytes = DeviceMemoryInUse(model->transformer->device());
  if (options.device == "cpu") {
    EXPECT_FALSE(bytes.has_value());
  } else {
    ASSERT_TRUE(bytes.has_value());
    EXPECT_GE(*bytes, model->transformer->WeightBytes());
  }
}

}  // namespace
}  // namespace llm2vec
