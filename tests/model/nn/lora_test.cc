// LoRA adapters: PEFT names and config parsing, merged vs unmerged
// equivalence with a test adapter of known A and B, a PEFT adapter folder
// given as the model.
#include "model/nn/lora.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "model/formats/safetensors.h"
#include "model/nn/encoder.h"
#include "model/nn/model_loader.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::TestdataPath;

TEST(PeftNameTest, ParsesPeftTensorNames) {
  auto a = ParsePeftTensorName("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->layer, 3);
  EXPECT_EQ(a->projection, kQProj);
  EXPECT_FALSE(a->is_b);
  // LLM2Vec's MNTP checkpoints wrap the bare model: no inner "model.".
  auto b = ParsePeftTensorName("base_model.model.layers.12.mlp.down_proj.lora_B.weight");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->layer, 12);
  EXPECT_EQ(b->projection, kDownProj);
  EXPECT_TRUE(b->is_b);
  auto c = ParsePeftTensorName("base_model.model.model.layers.0.mlp.gate_proj.lora_A.default.weight");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->projection, kGateProj);
  EXPECT_FALSE(ParsePeftTensorName("base_model.model.model.embed_tokens.weight").has_value());
  EXPECT_FALSE(ParsePeftTensorName("base_model.model.model.layers.0.self_attn.rotary.lora_A.weight")
                   .has_value());
  // Hostile names from a file: huge layer numbers, odd suffixes, long names.
  for (const std::string& bad :
       {std::string("base_model.model.layers.99999999999999999999.mlp.up_proj.lora_A.weight"),
        std::string("base_model.model.layers..mlp.up_proj.lora_A.weight"),
        std::string("base_model.model.layers.1.mlp.up_proj.lora_C.weight"),
        std::string("base_model.model.layers.1.mlp.up_proj.lora_A.weight.x"),
        std::string("base_model.model.layers.1.mlp.up_proj.lora_A..weight"),
        std::string("base_model.model.layers.1.mlp.up_proj.lora_A.a-b.weight"),
        std::string("base_model.model.layers.1.attn.up_proj.lora_A.weight"),
        "base_model.model.layers.1.mlp." + std::string(1 << 20, 'a') + ".lora_A.weight"}) {
    EXPECT_FALSE(ParsePeftTensorName(bad).has_value()) << bad.substr(0, 80);
  }
}

// Writes a PEFT adapter for stories260K with seeded A and B on the given
// modules; returns its folder.
std::string WriteTestAdapter(const ModelConfig& config, int64_t r, double alpha, bool rslora,
                             const std::vector<std::string>& modules, uint64_t seed,
                             const std::string& base = "") {
  char dir_template[] = "/tmp/llm2vec_lora_XXXXXX";
  EXPECT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  nlohmann::json cfg = {{"peft_type", "LORA"}, {"r", r}, {"lora_alpha", alpha},
                        {"lora_dropout", 0.0}, {"use_rslora", rslora},
                        {"target_modules", modules}, {"fan_in_fan_out", false}};
  if (!base.empty()) cfg["base_model_name_or_path"] = base;
  std::ofstream(dir + "/adapter_config.json") << cfg.dump(2);
  at::manual_seed(seed);
  std::map<std::string, SafetensorsEntry> tensors;
  std::vector<at::Tensor> storage;  // keeps the bytes alive until written
  for (int64_t l = 0; l < config.num_layers; ++l) {
    for (const std::string& m : modules) {
      const bool attn = m == "q_proj" || m == "k_proj" || m == "v_proj" || m == "o_proj";
      const std::string hf =
          "model.layers." + std::to_string(l) + (attn ? ".self_attn." : ".mlp.") + m + ".weight";
      const std::vector<int64_t> shape = ExpectedShape(config, hf);
      const std::string prefix = "base_model.model." + hf.substr(0, hf.size() - 7);
      for (bool is_b : {false, true}) {
        std::vector<int64_t> s = is_b ? std::vector<int64_t>{shape[0], r}
                                      : std::vector<int64_t>{r, shape[1]};
        at::Tensor t = at::randn(s, at::kFloat) * 0.1;
        storage.push_back(t);
        tensors[prefix + (is_b ? ".lora_B.weight" : ".lora_A.weight")] = {
            "F32", s, t.data_ptr(), static_cast<uint64_t>(t.numel() * sizeof(float))};
      }
    }
  }
  EXPECT_TRUE(WriteSafetensors(dir + "/adapter_model.safetensors", tensors).ok());
  return dir;
}

void RemoveDir(const std::string& dir) {
  std::remove((dir + "/adapter_config.json").c_str());
  std::remove((dir + "/adapter_model.safetensors").c_str());
  ::rmdir(dir.c_str());
}

at::Tensor Forward(const Transformer& t, const std::vector<int64_t>& ids, const LoraWeights* lora) {
  c10::InferenceMode guard;
  ForwardOptions fwd;
  fwd.lora = lora;
  const int64_t T = static_cast<int64_t>(ids.size());
  return t.Forward(at::tensor(ids, at::kLong).view({1, T}), at::full({1}, T, at::kLong), fwd);
}

TEST(LoraTest, MergedAndUnmergedGiveTheSameOutputs) {
  LLM2VEC_REQUIRE_TESTDATA();
  const std::string model_dir = TestdataPath("models/stories260k-hf");
  auto base = LoadModel(model_dir, LoadOptions());
  ASSERT_TRUE(base.ok()) << base.status();
  const ModelConfig config = base->transformer->config();
  const std::string adapter =
      WriteTestAdapter(config, 4, 8, /*rslora=*/false,
                       {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"},
                       7);
  LoraConfig lora_config;
  auto lora = LoadLoraAdapter(adapter, config, at::kCPU, at::kFloat, &lora_config);
  ASSERT_TRUE(lora.ok()) << lora.status();
  EXPECT_DOUBLE_EQ(lora_config.scale(), 2.0);
  const std::vector<int64_t> ids = {1, 400, 300, 450, 260, 270, 500, 280};
  at::Tensor plain = Forward(*base->transformer, ids, nullptr);
  at::Tensor unmerged = Forward(*base->transformer, ids, &*lora);
  // The adapter matters...
  EXPECT_GT((plain - unmerged).abs().max().item<double>(), 1e-2);
  // ... and merging it gives the same function.
  LoadOptions merge;
  merge.merge_adapters = {adapter};
  auto merged = LoadModel(model_dir, merge);
  ASSERT_TRUE(merged.ok()) << merged.status();
  at::Tensor out = Forward(*merged->transformer, ids, nullptr);
  EXPECT_LE((out - unmerged).abs().max().item<double>() / unmerged.abs().max().item<double>(), 1e-5);
  // The merged weight is W + (alpha / r) * B @ A, computed here by hand.
  const at::Tensor& w0 = base->transformer->weights().layers[2].proj[kVProj];
  const LoraPair& pair = lora->layers[2][kVProj];
  at::Tensor want = w0 + 2.0 * at::matmul(pair.b, pair.a);
  EXPECT_LE((merged->transformer->weights().layers[2].proj[kVProj] - want).abs().max().item<double>(),
            1e-6);
  RemoveDir(adapter);
}

TEST(LoraTest, StackedAdaptersMntpMergedSimcseOnTop) {
  LLM2VEC_REQUIRE_TESTDATA();
  const std::string model_dir = TestdataPath("models/stories260k-hf");
  auto probe = LoadModel(model_dir, LoadOptions());
  ASSERT_TRUE(probe.ok());
  const ModelConfig config = probe->transformer->config();
  const std::string mntp = WriteTestAdapter(config, 8, 16, false, {"q_proj", "v_proj", "up_proj"}, 1);
  const std::string simcse =
      WriteTestAdapter(config, 4, 16, /*rslora=*/true, {"k_proj", "o_proj", "down_proj"}, 2);
  // Both merged.
  LoadOptions both;
  both.merge_adapters = {mntp, simcse};
  auto all_merged = LoadModel(model_dir, both);
  ASSERT_TRUE(all_merged.ok()) << all_merged.status();
  // MNTP merged, SimCSE unmerged on top.
  LoadOptions first;
  first.merge_adapters = {mntp};
  auto stacked = LoadModel(model_dir, first);
  ASSERT_TRUE(stacked.ok());
  LoraConfig simcse_config;
  auto top = LoadLoraAdapter(simcse, config, at::kCPU, at::kFloat, &simcse_config);
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_DOUBLE_EQ(simcse_config.scale(), 16.0 / 2.0);  // rsLoRA: alpha / sqrt(r)
  const std::vector<int64_t> ids = {1, 259, 300, 301, 302, 420, 333};
  at::Tensor a = Forward(*all_merged->transformer, ids, nullptr);
  at::Tensor b = Forward(*stacked->transformer, ids, &*top);
  EXPECT_LE((a - b).abs().max().item<double>() / a.abs().max().item<double>(), 1e-5);
  RemoveDir(mntp);
  RemoveDir(simcse);
}

TEST(LoraTest, AdapterFolderAsModelLoadsItsBase) {
  LLM2VEC_REQUIRE_TESTDATA();
  const std::string model_dir = TestdataPath("models/stories260k-hf");
  auto base = LoadModel(model_dir, LoadOptions());
  ASSERT_TRUE(base.ok());
  const std::string adapter = WriteTestAdapter(base->transformer->config(), 4, 8, false,
                                               {"q_proj", "gate_proj"}, 3, model_dir);
  auto via_adapter = LoadModel(adapter, LoadOptions());
  ASSERT_TRUE(via_adapter.ok()) << via_adapter.status();
  LoadOptions merge;
  merge.merge_adapters = {adapter};
  auto explicit_merge = LoadModel(model_dir, merge);
  ASSERT_TRUE(explicit_merge.ok());
  const std::vector<int64_t> ids = {1, 290, 310, 330};
  EXPECT_TRUE(Forward(*via_adapter->transformer, ids, nullptr)
                  .equal(Forward(*explicit_merge->transformer, ids, nullptr)));
  EXPECT_FALSE(Forward(*via_adapter->transformer, ids, nullptr)
                   .equal(Forward(*base->transformer, ids, nullptr)));
  RemoveDir(adapter);
}

TEST(LoraTest, BadAdaptersAreRefusedWithTheReason) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto base = LoadModel(TestdataPath("models/stories260k-hf"), LoadOptions());
  ASSERT_TRUE(base.ok());
  ModelConfig config = base->transformer->config();
  // An adapter made for a wider model: shapes disagree.
  ModelConfig wide = config;
  wide.hidden_size = 128;
  const std::string adapter = WriteTestAdapter(wide, 4, 8, false, {"q_proj"}, 5);
  auto lora = LoadLoraAdapter(adapter, config, at::kCPU, at::kFloat);
  ASSERT_FALSE(lora.ok());
  EXPECT_NE(std::string(lora.status().message()).find("q_proj.lora_A"), std::string::npos)
      << lora.status();
  // An unknown target module.
  std::ofstream(adapter + "/adapter_config.json")
      << R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["fc1"]})";
  lora = LoadLoraAdapter(adapter, config, at::kCPU, at::kFloat);
  ASSERT_FALSE(lora.ok());
  EXPECT_NE(std::string(lora.status().message()).find("fc1"), std::string::npos);
  RemoveDir(adapter);
}

}  // namespace
}  // namespace llm2vec
