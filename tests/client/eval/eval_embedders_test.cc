#include "client/eval/eval_embedders.h"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::TestdataPath;

// BOS pooling isolates attention: under causal attention the BOS state
// cannot see the text after it, under bidirectional attention it does.
std::vector<float> BosEmbedding(bool causal, const std::string& text) {
  LocalEmbedderOptions o;
  o.model = TestdataPath("models/stories260k-gguf/stories260K.gguf");
  o.pooling = "bos_token";
  o.threads = 1;
  o.causal = causal;
  auto embedder = CreateLocalEmbedder(o);
  EXPECT_TRUE(embedder.ok()) << embedder.status();
  if (!embedder.ok()) return {};
  auto rows = (*embedder)->Embed({{text, ""}});
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? rows->front() : std::vector<float>();
}

double MaxAbsDiff(const std::vector<float>& x, const std::vector<float>& y) {
  EXPECT_EQ(x.size(), y.size());
  double d = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) d = std::max(d, std::abs(double(x[i]) - y[i]));
  return d;
}

TEST(LocalEmbedderTest, CausalAttentionIsCausalAndBidirectionalIsNot) {
  LLM2VEC_REQUIRE_TESTDATA();
  const std::string a = "The cat sat on the mat.", b = "A dog ran in the park.";
  const std::vector<float> causal_a = BosEmbedding(true, a), causal_b = BosEmbedding(true, b);
  ASSERT_FALSE(causal_a.empty());
  // Equal up to float rounding (the two texts' lengths block the GEMMs
  // differently); values are O(1).
  EXPECT_LT(MaxAbsDiff(causal_a, causal_b), 1e-4);
  EXPECT_GT(MaxAbsDiff(BosEmbedding(false, a), BosEmbedding(false, b)), 1e-2);
}

// The setup a run records is what the embedder runs: the model's default
// pooling when none was asked for, the attention, dtype and token limit.
TEST(LocalEmbedderTest, SetupSaysWhatRuns) {
  LLM2VEC_REQUIRE_TESTDATA();
  LocalEmbedderOptions o;
  o.model = TestdataPath("models/stories260k-gguf/stories260K.gguf");
  o.threads = 1;
  o.causal = true;
  o.max_length = 64;
  auto embedder = CreateLocalEmbedder(o);
  ASSERT_TRUE(embedder.ok()) << embedder.status();
  const TextEmbedder::Setup setup = (*embedder)->setup();
  EXPECT_EQ(setup.attention, "causal");
  EXPECT_EQ(setup.pooling, "mean");
  EXPECT_EQ(setup.dtype, "float32");
  EXPECT_EQ(setup.device, "cpu");
  EXPECT_EQ(setup.max_length, 64);
}

}  // namespace
}  // namespace llm2vec
