// Encoder behaviour on the real stories260K model: attention really is
// bidirectional, batching does not change results, instructions and the
// pooling modes follow the LLM2Vec reference.
#include "model/nn/encoder.h"

#include <cmath>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "model/nn/model_loader.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::LoadJson;
using ::llm2vec::testing::TestdataPath;

std::unique_ptr<Encoder> LoadStories(Encoder::Options options = Encoder::Options()) {
  auto model = LoadModel(TestdataPath("models/stories260k-hf"), LoadOptions());
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return nullptr;
  auto encoder = Encoder::Create(std::move(*model), options);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  return encoder.ok() ? std::move(*encoder) : nullptr;
}

at::Tensor Hidden(const Encoder& encoder, const std::vector<int32_t>& ids, AttentionMode mode) {
  c10::InferenceMode guard;
  std::vector<int64_t> ids64(ids.begin(), ids.end());
  const int64_t T = static_cast<int64_t>(ids64.size());
  ForwardOptions fwd;
  fwd.attention = mode;
  return encoder.transformer()
      .Forward(at::tensor(ids64, at::kLong).view({1, T}), at::full({1}, T, at::kLong), fwd)
      .squeeze(0);
}

at::Tensor Vec(const Embedding& e) { return at::tensor(e.values, at::kFloat); }

TEST(EncoderTest, BidirectionalReallyIsBidirectional) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto encoder = LoadStories();
  ASSERT_NE(encoder, nullptr);
  std::vector<int32_t> a = encoder->tokenizer().Encode("Once upon a time there was a cat", true);
  std::vector<int32_t> b = a;
  b.back() = encoder->tokenizer().Encode("dog", false).back();  // change only the last token
  ASSERT_NE(a.back(), b.back());
  const int64_t first = static_cast<int64_t>(a.size()) - 1;  // positions before the change
  // Bidirectional: earlier tokens see the later change.
  at::Tensor bi_a = Hidden(*encoder, a, AttentionMode::kBidirectional).narrow(0, 1, first - 1);
  at::Tensor bi_b = Hidden(*encoder, b, AttentionMode::kBidirectional).narrow(0, 1, first - 1);
  EXPECT_GT((bi_a - bi_b).abs().max().item<double>(), 1e-2);
  // Causal: they do not.
  at::Tensor ca_a = Hidden(*encoder, a, AttentionMode::kCausal).narrow(0, 0, first);
  at::Tensor ca_b = Hidden(*encoder, b, AttentionMode::kCausal).narrow(0, 0, first);
  EXPECT_EQ((ca_a - ca_b).abs().max().item<double>(), 0.0);
}

TEST(EncoderTest, BatchingDoesNotChangeResults) {
  LLM2VEC_REQUIRE_TESTDATA();
  const nlohmann::json golden = LoadJson("goldens/stories260k.json");
  auto encoder = LoadStories();
  ASSERT_NE(encoder, nullptr);
  std::vector<EncodeInput> inputs;
  for (const auto& t : golden["texts"]) {
    if (t["n_tokens"].get<int>() >= 2) inputs.push_back({t["text"].get<std::string>(), ""});
  }
  for (PoolingMode pooling : {PoolingMode::kMean, PoolingMode::kWeightedMean,
                              PoolingMode::kLastToken, PoolingMode::kNone}) {
    for (AttentionMode attention : {AttentionMode::kBidirectional, AttentionMode::kCausal}) {
      SCOPED_TRACE(PoolingModeName(pooling));
      EncodeOptions options;
      options.pooling = pooling;
      options.attention = attention;
      auto together = encoder->Encode(inputs, options);  // one padded batch of mixed lengths
      ASSERT_TRUE(together.ok()) << together.status();
      for (size_t i = 0; i < inputs.size(); ++i) {
        auto alone = encoder->Encode({inputs[i]}, options);
        ASSERT_TRUE(alone.ok()) << alone.status();
        at::Tensor x = Vec((*alone)[0]), y = Vec((*together)[i]);
        ASSERT_EQ(x.numel(), y.numel());
        EXPECT_LE((x - y).abs().max().item<double>() / x.abs().max().item<double>(), 1e-5)
            << inputs[i].text;
      }
    }
  }
}

// Inference skips the padding: the token-wise layers see only real tokens.
// Padding ids outside the vocabulary would fail the embedding lookup if
// they reached it; the outputs equal the padded computation's.
TEST(EncoderTest, InferenceSkipsPaddingWithTheSameResults) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto encoder = LoadStories();
  ASSERT_NE(encoder, nullptr);
  const Transformer& model = encoder->transformer();
  const std::vector<std::string> texts = {"Tom ran.", "The sun was warm and the birds sang.",
                                          "Lily liked to play with her red ball."};
  std::vector<std::vector<int32_t>> rows;
  int64_t T = 0;
  for (const auto& t : texts) {
    rows.push_back(encoder->tokenizer().Encode(t, true));
    T = std::max<int64_t>(T, static_cast<int64_t>(rows.back().size()));
  }
  const int64_t B = static_cast<int64_t>(rows.size());
  const int64_t oov = model.config().vocab_size;  // not a token: fails if embedded
  std::vector<int64_t> ids(static_cast<size_t>(B * T), oov), padded_ids(ids.size(), 0);
  std::vector<int64_t> lengths;
  for (int64_t b = 0; b < B; ++b) {
    std::copy(rows[b].begin(), rows[b].end(), ids.begin() + b * T);
    std::copy(rows[b].begin(), rows[b].end(), padded_ids.begin() + b * T);
    lengths.push_back(static_cast<int64_t>(rows[b].size()));
  }
  ASSERT_LT(lengths[0], T);
  c10::InferenceMode guard;
  const at::Tensor len = at::tensor(lengths, at::kLong);
  for (AttentionMode attention : {AttentionMode::kBidirectional, AttentionMode::kCausal}) {
    ForwardOptions skip;
    skip.attention = attention;
    ForwardOptions full = skip;
    full.skip_padding = false;
    at::Tensor packed = model.Forward(at::tensor(ids, at::kLong).view({B, T}), len, skip);
    at::Tensor padded = model.Forward(at::tensor(padded_ids, at::kLong).view({B, T}), len, full);
    EXPECT_THROW(model.Forward(at::tensor(ids, at::kLong).view({B, T}), len, full), c10::Error);
    ASSERT_EQ(packed.sizes(), padded.sizes());
    for (int64_t b = 0; b < B; ++b) {
      at::Tensor real_packed = packed[b].narrow(0, 0, lengths[b]);
      at::Tensor real_padded = padded[b].narrow(0, 0, lengths[b]);
      EXPECT_LE((real_packed - real_padded).abs().max().item<double>(),
                1e-5 * real_padded.abs().max().item<double>());
      if (lengths[b] < T) {
        EXPECT_EQ(packed[b].narrow(0, lengths[b], T - lengths[b]).abs().max().item<double>(), 0.0);
      }
    }
  }
}

TEST(EncoderTest, SmallTokenBudgetSplitsBatchesWithSameResults) {
  LLM2VEC_REQUIRE_TESTDATA();
  Encoder::Options small;
  small.max_batch_tokens = 40;  // forces many small batches
  auto encoder = LoadStories(small);
  auto reference = LoadStories();
  ASSERT_NE(encoder, nullptr);
  std::vector<EncodeInput> inputs = {{"Lily liked to play.", ""},
                                     {"The sun was warm and the birds sang in the tall tree.", ""},
                                     {"Tom ran.", ""}};
  auto a = encoder->Encode(inputs, EncodeOptions());
  auto b = reference->Encode(inputs, EncodeOptions());
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_LE((Vec((*a)[i]) - Vec((*b)[i])).abs().max().item<double>(), 1e-5);
  }
}

TEST(EncoderTest, InstructionIsAttendedButNotPooled) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto encoder = LoadStories();
  ASSERT_NE(encoder, nullptr);
  const std::string instruction = "  Retrieve a story: ";
  const std::string text = "The cat sat on the mat.";
  auto prepared = encoder->Prepare({text, instruction});
  ASSERT_TRUE(prepared.ok());
  // The model sees "{instruction.strip()} {text}" with BOS, as the reference.
  EXPECT_EQ(prepared->ids,
            encoder->tokenizer().Encode("Retrieve a story: The cat sat on the mat.", true));
  const int64_t n_text = static_cast<int64_t>(encoder->tokenizer().Encode(text, false).size());
  EXPECT_EQ(prepared->pooled, n_text);
  // Mean over exactly the last n_text positions of the full sequence.
  at::Tensor hidden = Hidden(*encoder, prepared->ids, AttentionMode::kBidirectional);
  const int64_t T = hidden.size(0);
  at::Tensor want = hidden.narrow(0, T - n_text, n_text).mean(0);
  auto got = encoder->Encode({{text, instruction}}, EncodeOptions());
  ASSERT_TRUE(got.ok());
  EXPECT_LE((Vec((*got)[0]) - want).abs().max().item<double>(), 1e-5);
  // And it differs from the embedding without the instruction.
  auto plain = encoder->Encode({{text, ""}}, EncodeOptions());
  ASSERT_TRUE(plain.ok());
  EXPECT_GT((Vec((*got)[0]) - Vec((*plain)[0])).abs().max().item<double>(), 1e-3);
}

TEST(EncoderTest, PoolingModesNormalizeAndDimensions) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto encoder = LoadStories();
  ASSERT_NE(encoder, nullptr);
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  std::vector<int32_t> ids = encoder->tokenizer().Encode(text, true);
  at::Tensor hidden = Hidden(*encoder, ids, AttentionMode::kBidirectional);  // (T, C)
  const int64_t T = hidden.size(0), n = T - 1;                                // BOS not pooled
  at::Tensor text_rows = hidden.narrow(0, 1, n);
  at::Tensor w = at::arange(1, n + 1, at::kFloat);
  w = w / w.sum();
  const std::vector<std::pair<PoolingMode, at::Tensor>> cases = {
      {PoolingMode::kMean, text_rows.mean(0)},
      {PoolingMode::kWeightedMean, (text_rows * w.unsqueeze(1)).sum(0)},
      {PoolingMode::kLastToken, hidden[T - 1]},
      {PoolingMode::kBosToken, hidden[0]},
  };
  for (const auto& [mode, want] : cases) {
    SCOPED_TRACE(PoolingModeName(mode));
    EncodeOptions options;
    options.pooling = mode;
    auto got = encoder->Encode({{text, ""}}, options);
    ASSERT_TRUE(got.ok());
    EXPECT_LE((Vec((*got)[0]) - want).abs().max().item<double>(), 1e-5);
    // Matryoshka: the first 16 values, then L2-normalised.
    options.dimensions = 16;
    options.normalize = true;
    got = encoder->Encode({{text, ""}}, options);
    ASSERT_TRUE(got.ok());
    at::Tensor cut = want.narrow(0, 0, 16);
    EXPECT_EQ((*got)[0].values.size(), 16u);
    EXPECT_LE((Vec((*got)[0]) - cut / cut.norm()).abs().max().item<double>(), 1e-6);
  }
  // kNone: every token's state, BOS included.
  EncodeOptions none;
  none.pooling = PoolingMode::kNone;
  auto states = encoder->Encode({{text, ""}}, none);
  ASSERT_TRUE(states.ok());
  EXPECT_EQ((*states)[0].tokens, T);
  EXPECT_LE((Vec((*states)[0]).view({T, -1}) - hidden).abs().max().item<double>(), 1e-6);
  // Out-of-range dimensions are refused with the value named.
  EncodeOptions bad;
  bad.dimensions = 65;
  auto refused = encoder->Encode({{text, ""}}, bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("65"), std::string::npos);
}

TEST(EncoderTest, Llm2VecConfigIsHonoured) {
  char dir_template[] = "/tmp/llm2vec_cfg_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  {
    std::ofstream out(dir + "/llm2vec_config.json");
    out << R"({"pooling_mode": "weighted_mean", "max_length": 64, "doc_max_length": 32,
               "skip_instruction": false})";
  }
  auto cfg = LoadLlm2VecConfig(dir);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pooling_mode, PoolingMode::kWeightedMean);
  EXPECT_EQ(cfg->max_length, 64);
  EXPECT_EQ(cfg->doc_max_length, 32);
  EXPECT_FALSE(cfg->skip_instruction);
  {
    std::ofstream out(dir + "/llm2vec_config.json");
    out << R"({"pooling_mode": "median"})";
  }
  EXPECT_FALSE(LoadLlm2VecConfig(dir).ok());
  std::remove((dir + "/llm2vec_config.json").c_str());
  auto defaults = LoadLlm2VecConfig(dir);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->max_length, 512);
  EXPECT_EQ(defaults->doc_max_length, 400);
  ::rmdir(dir.c_str());
}

TEST(EncoderTest, LongTextsAreCutByWordsToDocMaxLength) {
  LLM2VEC_REQUIRE_TESTDATA();
  Encoder::Options options;
  options.llm2vec.doc_max_length = 20;
  auto encoder = LoadStories(options);
  ASSERT_NE(encoder, nullptr);
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the little dog ran fast ";
  auto prepared = encoder->Prepare({text, ""});
  ASSERT_TRUE(prepared.ok());
  EXPECT_LE(prepared->pooled, 20);
  EXPECT_GT(prepared->pooled, 10);
  EXPECT_EQ(static_cast<int64_t>(prepared->ids.size()), prepared->pooled + 1);  // + BOS
}

// A text's token ids (as the tokenizer gives them, without special tokens)
// are prepared and embedded exactly as the text; ids outside the
// vocabulary, or beside text, are refused.
TEST(EncoderTest, TokenIdsAreTheirTextsTokens) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto encoder = LoadStories();
  ASSERT_NE(encoder, nullptr);
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  EncodeInput ids_input;
  ids_input.token_ids = encoder->tokenizer().Encode(text, /*add_special_tokens=*/false);
  auto from_text = encoder->Prepare({text, ""});
  auto from_ids = encoder->Prepare(ids_input);
  ASSERT_TRUE(from_text.ok() && from_ids.ok()) << from_ids.status();
  EXPECT_EQ(from_ids->ids, from_text->ids);  // BOS added, as for the text
  EXPECT_EQ(from_ids->pooled, from_text->pooled);
  auto embedded = encoder->Encode({{text, ""}, ids_input}, EncodeOptions());
  ASSERT_TRUE(embedded.ok()) << embedded.status();
  EXPECT_EQ((*embedded)[0].values, (*embedded)[1].values);

  // The stories260K vocabulary has 512 tokens.
  EncodeInput outside;
  outside.token_ids = {5, 512};
  absl::Status s = encoder->Prepare(outside).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(), "token_ids[1] is 512; the vocabulary has 512 tokens");
  outside.token_ids = {-1};
  EXPECT_TRUE(absl::IsInvalidArgument(encoder->Prepare(outside).status()));
  EncodeInput both = ids_input;
  both.instruction = "Retrieve stories";
  s = encoder->Prepare(both).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(), "has token ids and text or an instruction; send one");
}

// One word longer than doc_max_length (a URL, base64, a DNA string) keeps
// its first tokens: cutting by words alone would leave nothing to pool.
TEST(EncoderTest, OneWordLongerThanTheBudgetKeepsItsFirstTokens) {
  LLM2VEC_REQUIRE_TESTDATA();
  Encoder::Options options;
  options.llm2vec.doc_max_length = 20;
  auto encoder = LoadStories(options);
  ASSERT_NE(encoder, nullptr);
  const std::string word = "https://example.com/" + std::string(3000, 'x') + "\xc3\xa9";
  auto prepared = encoder->Prepare({word, ""});
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_GT(prepared->pooled, 10);
  EXPECT_LE(prepared->pooled, 20);
  // The kept tokens are the word's first tokens.
  const std::vector<int32_t> all = encoder->tokenizer().Encode(word, false);
  ASSERT_GE(static_cast<int64_t>(all.size()), prepared->pooled);
  const std::vector<int32_t> kept(prepared->ids.end() - prepared->pooled, prepared->ids.end());
  EXPECT_EQ(std::vector<int32_t>(all.begin(), all.begin() + 5),
            std::vector<int32_t>(kept.begin(), kept.begin() + 5));
  // And it embeds.
  auto embedding = encoder->EncodePrepared({*prepared}, EncodeOptions());
  ASSERT_TRUE(embedding.ok()) << embedding.status();
  EXPECT_TRUE(std::isfinite((*embedding)[0].values[0]));
}

}  // namespace
}  // namespace llm2vec
