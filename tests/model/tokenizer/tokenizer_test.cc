// Tokenizer tests against the shared golden files (tokenizers/, vocab/,
// models/, goldens/ of the test data pack; see its README), plus error and
// Unicode unit tests.
#include "model/tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/mapped_file.h"
#include "model/formats/gguf.h"
#include "model/tokenizer/tokenizer_gguf.h"
#include "model/tokenizer/unicode.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::LoadJson;
using ::llm2vec::testing::TestdataPath;

std::unique_ptr<Tokenizer> LoadJsonTokenizer(const std::string& relative) {
  auto tok = Tokenizer::FromJsonFile(TestdataPath(relative));
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? *std::move(tok) : nullptr;
}

std::unique_ptr<GgufTokenizer> LoadGgufTokenizer(const std::string& relative) {
  auto file = GgufFile::Open(TestdataPath(relative));
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return nullptr;
  auto vocab = ReadGgufVocab(**file);
  EXPECT_TRUE(vocab.ok()) << vocab.status();
  if (!vocab.ok()) return nullptr;
  auto tok = GgufTokenizer::Create(*vocab);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? *std::move(tok) : nullptr;
}

std::string Ids(const std::vector<int32_t>& ids) { return "[" + absl::StrJoin(ids, ", ") + "]"; }

std::string ReadText(const std::string& relative) {
  auto text = ReadFileToString(TestdataPath(relative));
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

// Compares `got` with `expected`; the first few mismatches are reported with
// the text. Returns the number of mismatches.
class MismatchReporter {
 public:
  explicit MismatchReporter(std::string what) : what_(std::move(what)) {}
  void Check(const std::string& text, const std::string& mode, const std::vector<int32_t>& expected,
             const std::vector<int32_t>& got) {
    ++total_;
    if (expected == got) return;
    if (++failures_ <= 10) {
      ADD_FAILURE() << what_ << " (" << mode << ") text " << nlohmann::json(text).dump() << "\n  expected "
                    << Ids(expected) << "\n  got      " << Ids(got);
    }
  }
  ~MismatchReporter() {
    EXPECT_EQ(failures_, 0) << what_ << ": " << failures_ << " of " << total_ << " tokenizations differ";
    std::printf("[ tokenizer ] %s: %d/%d exact\n", what_.c_str(), total_ - failures_, total_);
  }

 private:
  std::string what_;
  int total_ = 0;
  int failures_ = 0;
};

// ---------------------------------------------------------------------------
// tokenizers/*/expected_ids.json with their tokenizer.json

struct JsonGolden {
  const char* name;
  const char* tokenizer_json;
  const char* expected;
};

void PrintTo(const JsonGolden& golden, std::ostream* os) { *os << golden.name; }

class TokenizerJsonGoldenTest : public ::testing::TestWithParam<JsonGolden> {};

TEST_P(TokenizerJsonGoldenTest, MatchesExpectedIds) {
  LLM2VEC_REQUIRE_TESTDATA();
  const JsonGolden& golden = GetParam();
  auto tok = LoadJsonTokenizer(golden.tokenizer_json);
  ASSERT_NE(tok, nullptr);
  const nlohmann::json expected = LoadJson(golden.expected);
  const auto& cases = expected.at("cases");
  ASSERT_GT(cases.size(), 0u);
  MismatchReporter report(golden.name);
  for (const auto& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    report.Check(text, "add_special_tokens=true", c.at("ids_add_special_true").get<std::vector<int32_t>>(),
                 tok->Encode(text, true));
    report.Check(text, "add_special_tokens=false", c.at("ids_add_special_false").get<std::vector<int32_t>>(),
                 tok->Encode(text, false));
  }
}

// The special tokens found around one letter are the ones Hugging Face puts
// around every golden text: token-id inputs (which arrive without them)
// get exactly what their text would have had.
TEST_P(TokenizerJsonGoldenTest, SpecialTokenFrameIsTheOneAroundEveryText) {
  LLM2VEC_REQUIRE_TESTDATA();
  const JsonGolden& golden = GetParam();
  auto tok = LoadJsonTokenizer(golden.tokenizer_json);
  ASSERT_NE(tok, nullptr);
  const SpecialTokenFrame frame = FindSpecialTokenFrame(*tok);
  const nlohmann::json expected = LoadJson(golden.expected);
  int checked = 0;
  for (const auto& c : expected.at("cases")) {
    std::vector<int32_t> framed = frame.before;
    const auto plain = c.at("ids_add_special_false").get<std::vector<int32_t>>();
    framed.insert(framed.end(), plain.begin(), plain.end());
    framed.insert(framed.end(), frame.after.begin(), frame.after.end());
    EXPECT_EQ(framed, c.at("ids_add_special_true").get<std::vector<int32_t>>())
        << golden.name << ": " << c.at("text").get<std::string>();
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Tokenizers, TokenizerJsonGoldenTest,
    ::testing::Values(
        JsonGolden{"llama3", "tokenizers/llama3/tokenizer.json", "tokenizers/llama3/expected_ids.json"},
        JsonGolden{"qwen3", "tokenizers/qwen3/tokenizer.json", "tokenizers/qwen3/expected_ids.json"},
        JsonGolden{"mistral", "tokenizers/mistral-7b-v0.1/tokenizer.json",
                   "tokenizers/mistral-7b-v0.1/expected_ids.json"},
        JsonGolden{"llama2_from_gguf", "tokenizers/llama2-from-gguf/tokenizer.json",
                   "tokenizers/llama2-from-gguf/expected_ids.json"},
        JsonGolden{"stories260k", "models/stories260k-hf/tokenizer.json",
                   "tokenizers/stories260k/expected_ids.json"}),
    [](const ::testing::TestParamInfo<JsonGolden>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// llama.cpp's vocab test vectors (vocab/*.inp / *.out)

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<VocabCase> LoadVocabCases(const std::string& stem) {
  const std::string inp = ReadText("vocab/" + stem + ".inp");
  const std::string out = ReadText("vocab/" + stem + ".out");
  std::vector<std::string> texts = absl::StrSplit(inp, "\n__ggml_vocab_test__\n");
  EXPECT_TRUE(!texts.empty() && texts.back().empty()) << stem << ".inp does not end with the separator";
  if (!texts.empty()) texts.pop_back();
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  EXPECT_EQ(texts.size(), lines.size()) << stem;
  std::vector<VocabCase> cases;
  for (size_t i = 0; i < texts.size() && i < lines.size(); ++i) {
    VocabCase c{texts[i], {}};
    for (absl::string_view id : absl::StrSplit(lines[i], ' ', absl::SkipEmpty())) {
      c.ids.push_back(std::stoi(std::string(id)));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

class TokenizerGgufVocabTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenizerGgufVocabTest, MatchesLlamaCppTestVectors) {
  LLM2VEC_REQUIRE_TESTDATA();
  const std::string stem = GetParam();
  auto tok = LoadGgufTokenizer("vocab/" + stem);
  ASSERT_NE(tok, nullptr);
  const auto cases = LoadVocabCases(stem);
  ASSERT_EQ(cases.size(), 46u);
  MismatchReporter report(stem);
  for (const auto& c : cases) {
    // test-tokenizer-0: add_special=false, parse_special=false.
    report.Check(c.text, "no special", c.ids, tok->EncodeWithOptions(c.text, false, false));
    // Special-token parsing changes nothing here: no test string has one.
    report.Check(c.text, "parse special", c.ids, tok->Encode(c.text, false));
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, TokenizerGgufVocabTest,
                         ::testing::Values("ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf",
                                           "ggml-vocab-gpt-2.gguf"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(TokenizerJsonVocabTest, Llama3MatchesLlamaBpeTestVectors) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto tok = LoadJsonTokenizer("tokenizers/llama3/tokenizer.json");
  ASSERT_NE(tok, nullptr);
  const auto cases = LoadVocabCases("ggml-vocab-llama-bpe.gguf");
  ASSERT_EQ(cases.size(), 46u);
  MismatchReporter report("llama3 vs ggml-vocab-llama-bpe");
  for (const auto& c : cases)
    report.Check(c.text, "add_special_tokens=false", c.ids, tok->Encode(c.text, false));
}

TEST(TokenizerJsonVocabTest, Qwen3MatchesQwen2TestVectors) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto tok = LoadJsonTokenizer("tokenizers/qwen3/tokenizer.json");
  ASSERT_NE(tok, nullptr);
  const auto cases = LoadVocabCases("ggml-vocab-qwen2.gguf");
  ASSERT_EQ(cases.size(), 46u);
  MismatchReporter report("qwen3 vs ggml-vocab-qwen2");
  for (const auto& c : cases)
    report.Check(c.text, "add_special_tokens=false", c.ids, tok->Encode(c.text, false));
}

// ---------------------------------------------------------------------------
// stories260K: GGUF vocabulary vs the HF goldens, and decoding

TEST(TokenizerStoriesGgufTest, MatchesExpectedIds) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto tok = LoadGgufTokenizer("models/stories260k-gguf/stories260K.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->pad_id(), -1);
  const nlohmann::json expected = LoadJson("tokenizers/stories260k/expected_ids.json");
  MismatchReporter report("stories260K.gguf");
  for (const auto& c : expected.at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    report.Check(text, "add_special_tokens=true", c.at("ids_add_special_true").get<std::vector<int32_t>>(),
                 tok->Encode(text, true));
    report.Check(text, "add_special_tokens=false", c.at("ids_add_special_false").get<std::vector<int32_t>>(),
                 tok->Encode(text, false));
  }
}

TEST(TokenizerStoriesGgufTest, FromFileDispatchesOnContent) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto gguf = Tokenizer::FromFile(TestdataPath("models/stories260k-gguf/stories260K.gguf"));
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  auto json = Tokenizer::FromFile(TestdataPath("models/stories260k-hf/tokenizer.json"));
  ASSERT_TRUE(json.ok()) << json.status();
  auto folder = Tokenizer::FromFile(TestdataPath("models/stories260k-hf"));
  ASSERT_TRUE(folder.ok()) << folder.status();
  const std::string text = "Once upon a time, there was a <unk> dog.";
  EXPECT_EQ((*gguf)->Encode(text, true), (*json)->Encode(text, true));
  EXPECT_EQ((*folder)->Encode(text, true), (*json)->Encode(text, true));
}

TEST(TokenizerDecodeTest, StoriesGreedyOutput) {
  LLM2VEC_REQUIRE_TESTDATA();
  const nlohmann::json greedy = LoadJson("goldens/stories260k_greedy.json");
  const auto ids = greedy.at("ids").get<std::vector<int32_t>>();
  ASSERT_EQ(ids.size(), 201u);
  const std::string expected = ReadText("goldens/stories260k_greedy.txt");
  ASSERT_EQ(expected.size(), 464u);
  auto json_tok = LoadJsonTokenizer("models/stories260k-hf/tokenizer.json");
  ASSERT_NE(json_tok, nullptr);
  EXPECT_EQ(json_tok->Decode(ids, /*skip_special_tokens=*/true), expected);
  auto gguf_tok = LoadGgufTokenizer("models/stories260k-gguf/stories260K.gguf");
  ASSERT_NE(gguf_tok, nullptr);
  EXPECT_EQ(gguf_tok->Decode(ids, /*skip_special_tokens=*/true), expected);
  // Without skipping, BOS stays as its piece.
  EXPECT_EQ(json_tok->Decode(ids, false).substr(0, 3), "<s>");
  EXPECT_EQ(gguf_tok->Decode(ids, false).substr(0, 3), "<s>");
}

class TokenizerRoundTripTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenizerRoundTripTest, DecodeInvertsEncode) {
  LLM2VEC_REQUIRE_TESTDATA();
  const std::string name = GetParam();
  auto tok = LoadJsonTokenizer("tokenizers/" + name + "/tokenizer.json");
  ASSERT_NE(tok, nullptr);
  const nlohmann::json expected = LoadJson("tokenizers/" + name + "/expected_ids.json");
  int failures = 0;
  for (const auto& c : expected.at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    const std::string decoded = tok->Decode(tok->Encode(text, false), false);
    if (decoded != text && ++failures <= 5) {
      ADD_FAILURE() << name << ": " << nlohmann::json(text).dump() << " decodes to "
                    << nlohmann::json(decoded).dump();
    }
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(ByteLevel, TokenizerRoundTripTest, ::testing::Values("llama3", "qwen3"));

TEST(TokenizerDecodeTest, GgufGpt2RoundTrip) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto tok = LoadGgufTokenizer("vocab/ggml-vocab-gpt-2.gguf");
  ASSERT_NE(tok, nullptr);
  for (const auto& c : LoadVocabCases("ggml-vocab-gpt-2.gguf")) {
    EXPECT_EQ(tok->Decode(c.ids, false), c.text);
  }
}

TEST(TokenizerDecodeTest, SkipsSpecialTokensOnRequest) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto tok = LoadJsonTokenizer("tokenizers/qwen3/tokenizer.json");
  ASSERT_NE(tok, nullptr);
  const std::string text = "<|im_start|>user\nHi there<|im_end|>";
  const auto ids = tok->Encode(text, false);
  EXPECT_EQ(ids.front(), tok->TokenToId("<|im_start|>"));
  EXPECT_TRUE(tok->IsSpecial(ids.front()));
  EXPECT_EQ(tok->Decode(ids, false), text);
  EXPECT_EQ(tok->Decode(ids, true), "user\nHi there");
}

// ---------------------------------------------------------------------------
// Special ids and piece lookups

TEST(TokenizerInfoTest, SpecialIdsFromConfigAndTemplate) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto llama3 = LoadJsonTokenizer("tokenizers/llama3/tokenizer.json");
  ASSERT_NE(llama3, nullptr);
  EXPECT_EQ(llama3->bos_id(), 128000);
  EXPECT_EQ(llama3->eos_id(), 128001);
  EXPECT_EQ(llama3->vocab_size(), 128256);
  EXPECT_EQ(llama3->IdToPiece(128000), "<|begin_of_text|>");
  EXPECT_TRUE(llama3->IsSpecial(128000));
  EXPECT_FALSE(llama3->IsSpecial(100));
  auto qwen3 = LoadJsonTokenizer("tokenizers/qwen3/tokenizer.json");
  ASSERT_NE(qwen3, nullptr);
  EXPECT_EQ(qwen3->bos_id(), -1);
  EXPECT_EQ(qwen3->eos_id(), qwen3->TokenToId("<|im_end|>"));
  EXPECT_EQ(qwen3->pad_id(), qwen3->TokenToId("<|endoftext|>"));
  auto stories = LoadJsonTokenizer("models/stories260k-hf/tokenizer.json");
  ASSERT_NE(stories, nullptr);
  EXPECT_EQ(stories->bos_id(), 1);
  EXPECT_EQ(stories->eos_id(), 2);
  EXPECT_EQ(stories->vocab_size(), 512);
  EXPECT_EQ(stories->TokenToId("<0x41>"), 3 + 0x41);
  EXPECT_EQ(stories->TokenToId("no such piece"), -1);
  EXPECT_EQ(stories->IdToPiece(100000), "");
}

// ---------------------------------------------------------------------------
// Errors

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/tokenizer_test_XXXXXX";
    const int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr char kMinimalBpe[] =
    R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})";

TEST(TokenizerErrorTest, MissingFile) {
  auto tok = Tokenizer::FromJsonFile("/nonexistent/tokenizer.json");
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("/nonexistent/tokenizer.json"), absl::string_view::npos)
      << tok.status();
  EXPECT_FALSE(Tokenizer::FromFile("/nonexistent/model.gguf").ok());
}

TEST(TokenizerErrorTest, MalformedJson) {
  TempFile file("{\"model\": {\"type\": \"BPE\", ");
  auto tok = Tokenizer::FromJsonFile(file.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tok.status().message().find(file.path()), absl::string_view::npos) << tok.status();
  EXPECT_NE(tok.status().message().find("malformed"), absl::string_view::npos) << tok.status();
}

TEST(TokenizerErrorTest, WrongFieldType) {
  TempFile file(R"({"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}})");
  auto tok = Tokenizer::FromJsonFile(file.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find(file.path()), absl::string_view::npos) << tok.status();
}

TEST(TokenizerErrorTest, UnsupportedModelType) {
  TempFile file(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})");
  auto tok = Tokenizer::FromJsonFile(file.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find(file.path()), absl::string_view::npos) << tok.status();
  EXPECT_NE(tok.status().message().find("WordPiece"), absl::string_view::npos) << tok.status();
}

TEST(TokenizerErrorTest, UnsupportedComponents) {
  const std::string base = R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, )";
  for (const auto& [section, type] :
       std::vector<std::pair<std::string, std::string>>{{"normalizer", "BertNormalizer"},
                                                        {"pre_tokenizer", "CharDelimiterSplit"},
                                                        {"decoder", "WordPiece"},
                                                        {"post_processor", "Mystery"}}) {
    TempFile file(base + "\"" + section + "\": {\"type\": \"" + type + "\"}}");
    auto tok = Tokenizer::FromJsonFile(file.path());
    ASSERT_FALSE(tok.ok()) << section;
    EXPECT_NE(tok.status().message().find(type), absl::string_view::npos) << tok.status();
    EXPECT_NE(tok.status().message().find(section), absl::string_view::npos) << tok.status();
  }
}

TEST(TokenizerErrorTest, MergeOutsideVocabulary) {
  TempFile file(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})");
  auto tok = Tokenizer::FromJsonFile(file.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("'ab' is not in the vocabulary"), absl::string_view::npos)
      << tok.status();
}

// Hostile files: a Sequence nested a thousand deep would recurse the
// parser off its stack; an added token at INT32_MAX overflowed `id + 1`.
TEST(TokenizerErrorTest, DeepNestingAndHugeIdsAreRefused) {
  std::string nested = R"({"type": "Lowercase"})";
  for (int i = 0; i < 1000; ++i) nested = R"({"type": "Sequence", "normalizers": [)" + nested + "]}";
  TempFile deep(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "normalizer": )" +
                nested + "}");
  auto tok = Tokenizer::FromJsonFile(deep.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("nests deeper than 64 levels"), absl::string_view::npos)
      << tok.status();
  TempFile huge(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                   "added_tokens": [{"id": 2147483647, "content": "<x>", "special": true}]})");
  tok = Tokenizer::FromJsonFile(huge.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find(
                "added token '<x>': id is 2147483647, not an integer in [0, 10000000]"),
            absl::string_view::npos)
      << tok.status();
}

// Numbers that are not the integers a field needs: reading 1e76 or 2.5 as
// an int, or -1 as a size, was undefined behaviour (fuzz_tokenizer_json,
// under UBSan). Each is refused, naming the field.
TEST(TokenizerErrorTest, IdsAndCountsMustBeIntegersInRange) {
  const std::string model = R"("model": {"type": "BPE", "vocab": {"a": 0}, "merges": []})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"model": {"type": "BPE", "vocab": {"a": 1e76}, "merges": []}})",
       "model.vocab: the id of 'a' is 1e+76"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0.5}, "merges": []}})",
       "model.vocab: the id of 'a' is 0.5"},
      {"{" + model + R"(, "added_tokens": [{"id": 1.2222e76, "content": "<s>"}]})",
       "added token '<s>': id is 1.2222e+76"},
      {"{" + model + R"(, "added_tokens": [{"id": 18446744073709551615, "content": "<s>"}]})",
       "added token '<s>': id is 18446744073709551615"},
      {"{" + model + R"(, "decoder": {"type": "Strip", "content": " ", "start": -1, "stop": 0}})",
       "Strip: start is -1"},
      {"{" + model + R"(, "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 2.5],
                        "sep": ["[SEP]", 1]}})",
       "BertProcessing: cls id is 2.5"},
  };
  for (const auto& [text, expected] : cases) {
    TempFile file(text);
    auto tok = Tokenizer::FromJsonFile(file.path());
    ASSERT_FALSE(tok.ok()) << text;
    EXPECT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument) << tok.status();
    EXPECT_NE(tok.status().message().find(expected), absl::string_view::npos) << tok.status();
  }
}

TEST(TokenizerErrorTest, BadRegex) {
  TempFile file(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                   "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"},
                                     "behavior": "Isolated", "invert": false}})");
  auto tok = Tokenizer::FromJsonFile(file.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("(unclosed"), absl::string_view::npos) << tok.status();
}

TEST(TokenizerErrorTest, UnsupportedGgufModel) {
  GgufVocab vocab;
  vocab.model = "bert";
  vocab.tokens = {"a"};
  auto tok = Tokenizer::FromGgufVocab(vocab);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("bert"), absl::string_view::npos) << tok.status();
  vocab.model = "gpt2";
  vocab.pre = "mystery-pre";
  tok = Tokenizer::FromGgufVocab(vocab);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("mystery-pre"), absl::string_view::npos) << tok.status();
}

TEST(TokenizerBehaviorTest, MinimalBpeAndInvalidUtf8) {
  TempFile file(kMinimalBpe);
  auto tok = Tokenizer::FromJsonFile(file.path());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->Encode("abab", true), (std::vector<int32_t>{2, 2}));
  EXPECT_EQ((*tok)->Encode("ba", false), (std::vector<int32_t>{1, 0}));
  // Characters without a token (no unk, no byte fallback) are dropped;
  // ill-formed UTF-8 is repaired first instead of crashing.
  EXPECT_EQ((*tok)->Encode("a\xff\xfe"
                           "b",
                           false),
            (std::vector<int32_t>{2}));
  EXPECT_EQ((*tok)->Decode({2, 0}, false), "ab a");  // no decoder: pieces joined by spaces
}

std::unique_ptr<Tokenizer> FromJsonText(const std::string& json_text) {
  TempFile file(json_text);
  auto tok = Tokenizer::FromJsonFile(file.path());
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? *std::move(tok) : nullptr;
}

TEST(TokenizerBehaviorTest, DigitsPreTokenizerKeepsMergesApart) {
  const std::string model =
      R"("model": {"type": "BPE", "vocab": {"1": 0, "2": 1, "12": 2}, "merges": ["1 2"]})";
  auto plain = FromJsonText("{" + model + "}");
  auto digits =
      FromJsonText("{" + model + R"(, "pre_tokenizer": {"type": "Digits", "individual_digits": true}})");
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(digits, nullptr);
  EXPECT_EQ(plain->Encode("12", false), (std::vector<int32_t>{2}));
  EXPECT_EQ(digits->Encode("12", false), (std::vector<int32_t>{0, 1}));
}

TEST(TokenizerBehaviorTest, MetaspacePreTokenizerAndDecoder) {
  // "a ▁" has the best rank: it would win without the split at each "▁".
  auto tok = FromJsonText(R"({
    "model": {"type": "BPE", "vocab": {"▁": 0, "a": 1, "b": 2, "▁a": 3, "▁b": 4, "a▁": 5},
              "merges": ["a ▁", "▁ a", "▁ b"]},
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true},
    "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}})");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("a b", false), (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(tok->Decode({3, 4}, false), "a b");
}

TEST(TokenizerBehaviorTest, AddedTokenFlags) {
  const std::string model =
      R"("model": {"type": "BPE", "vocab": {"a": 0, " ": 1, "<": 2, "x": 3, ">": 4}, "merges": []})";
  auto added = [&](const std::string& flags) {
    return FromJsonText("{" + model + R"(, "added_tokens": [{"id": 5, "content": "<x>", "special": true, )" +
                        flags + "}]}");
  };
  auto plain = added(R"("lstrip": false, "rstrip": false, "single_word": false, "normalized": false)");
  auto strip = added(R"("lstrip": true, "rstrip": true, "single_word": false, "normalized": false)");
  auto word = added(R"("lstrip": false, "rstrip": false, "single_word": true, "normalized": false)");
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(strip, nullptr);
  ASSERT_NE(word, nullptr);
  EXPECT_EQ(plain->Encode("a <x> a", false), (std::vector<int32_t>{0, 1, 5, 1, 0}));
  EXPECT_EQ(strip->Encode("a  <x>  a", false), (std::vector<int32_t>{0, 5, 0}));
  EXPECT_EQ(word->Encode("a <x> a", false), (std::vector<int32_t>{0, 1, 5, 1, 0}));
  EXPECT_EQ(word->Encode("a<x>", false), (std::vector<int32_t>{0, 2, 3, 4}));
  EXPECT_TRUE(plain->IsSpecial(5));
  EXPECT_EQ(plain->Decode({0, 5, 0}, true), "a a");  // no decoder: joined by spaces
}

TEST(TokenizerBehaviorTest, Qwen3NormalizesToNfc) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto tok = LoadJsonTokenizer("tokenizers/qwen3/tokenizer.json");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("Cafe\xCC\x81 cre\xCC\x80me", false), tok->Encode("Caf\xC3\xA9 cr\xC3\xA8me", false));
}

TEST(TokenizerBehaviorTest, GgufParseSpecialOption) {
  LLM2VEC_REQUIRE_TESTDATA();
  auto tok = LoadGgufTokenizer("vocab/ggml-vocab-llama-spm.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("<s>", false), (std::vector<int32_t>{1}));
  EXPECT_EQ(tok->EncodeWithOptions("<s>", true, true), (std::vector<int32_t>{1, 1}));
  const auto literal = tok->EncodeWithOptions("<s>", false, false);
  EXPECT_GT(literal.size(), 1u);
  EXPECT_EQ(tok->Decode(literal, false), "<s>");
  EXPECT_TRUE(tok->IsSpecial(1));
  EXPECT_FALSE(tok->IsSpecial(1000));
}

TEST(TokenizerBehaviorTest, LongRunsAndArbitraryBytes) {
  LLM2VEC_REQUIRE_TESTDATA();
  std::string bytes;
  uint32_t state = 12345;
  for (int i = 0; i < 20000; ++i) {
    state = state * 1664525u + 1013904223u;
    bytes.push_back(static_cast<char>(state >> 24));
  }
  const std::vector<std::string> inputs = {std::string(100000, ' '), std::string(100000, 'a'),
                                           std::string(30000, '\n') + "x", bytes};
  std::vector<std::unique_ptr<Tokenizer>> toks;
  toks.push_back(LoadJsonTokenizer("tokenizers/llama3/tokenizer.json"));
  toks.push_back(LoadJsonTokenizer("tokenizers/llama2-from-gguf/tokenizer.json"));
  toks.push_back(LoadGgufTokenizer("vocab/ggml-vocab-llama-spm.gguf"));
  toks.push_back(LoadGgufTokenizer("vocab/ggml-vocab-gpt-2.gguf"));
  for (const auto& tok : toks) {
    ASSERT_NE(tok, nullptr);
    for (const std::string& input : inputs) {
      const auto ids = tok->Encode(input, true);
      EXPECT_FALSE(ids.empty());
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok->vocab_size());
      const std::string decoded = tok->Decode(ids, true);
      EXPECT_TRUE(unicode::IsValidUtf8(decoded));
      if (unicode::IsValidUtf8(input)) {
        EXPECT_EQ(decoded, input);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Unicode

TEST(TokenizerUnicodeTest, Nfc) {
  EXPECT_EQ(unicode::NormalizeNfc("Cafe\xCC\x81"), "Caf\xC3\xA9");                           // e + acute
  EXPECT_EQ(unicode::NormalizeNfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // Hangul L V T
  EXPECT_EQ(unicode::NormalizeNfc("\xE1\xB8\x8B\xCC\xA3"), "\xE1\xB8\x8D\xCC\x87");          // reordering
  EXPECT_EQ(unicode::NormalizeNfc("A\xCC\x8A\xCC\x81"), "\xC7\xBA");                         // two steps
  EXPECT_EQ(unicode::NormalizeNfc("\xE2\x84\xAB"), "\xC3\x85");                              // singleton
  EXPECT_EQ(unicode::NormalizeNfc("q\xCC\x87\xCC\xA3"), "q\xCC\xA3\xCC\x87");                // no composite
  EXPECT_EQ(unicode::NormalizeNfd("Caf\xC3\xA9"), "Cafe\xCC\x81");
  EXPECT_EQ(unicode::NormalizeNfc("plain ascii"), "plain ascii");
}

TEST(TokenizerUnicodeTest, Utf8Repair) {
  EXPECT_TRUE(unicode::IsValidUtf8("h\xC3\xA9llo \xF0\x9F\xA6\x99"));
  EXPECT_FALSE(unicode::IsValidUtf8("\xC3"));
  EXPECT_FALSE(unicode::IsValidUtf8("\xED\xA0\x80"));  // surrogate
  EXPECT_EQ(unicode::RepairUtf8("a\xF0\x9F\xA6"
                                "b"),
            "a\xEF\xBF\xBD"
            "b");  // truncated: one U+FFFD
  EXPECT_EQ(unicode::RepairUtf8("\xFF\xFE"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TokenizerUnicodeTest, ByteLevelAlphabet) {
  EXPECT_EQ(unicode::ByteToUnicode(' '), "\xC4\xA0");   // Ġ
  EXPECT_EQ(unicode::ByteToUnicode('\n'), "\xC4\x8A");  // Ċ
  EXPECT_EQ(unicode::ByteToUnicode('a'), "a");
  for (int b = 0; b < 256; ++b) {
    char32_t cp;
    const absl::string_view s = unicode::ByteToUnicode(static_cast<uint8_t>(b));
    unicode::DecodeUtf8(s, 0, &cp);
    EXPECT_EQ(unicode::UnicodeToByte(cp), b);
  }
}

// ---------------------------------------------------------------------------
// Throughput (informative; prints MB/s)

TEST(TokenizerThroughput, WikitextAndTinyStories) {
  LLM2VEC_REQUIRE_TESTDATA();
  std::string text = ReadText("data/wikitext-2/wiki.test.raw");
  text += ReadText("data/tinystories/tinystories_val_slice.txt");
  ASSERT_GT(text.size(), 1000000u);
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  struct Named {
    const char* name;
    std::unique_ptr<Tokenizer> tok;
  };
  std::vector<Named> toks;
  toks.push_back({"llama3 json", LoadJsonTokenizer("tokenizers/llama3/tokenizer.json")});
  toks.push_back({"qwen3 json", LoadJsonTokenizer("tokenizers/qwen3/tokenizer.json")});
  toks.push_back({"llama2 json", LoadJsonTokenizer("tokenizers/llama2-from-gguf/tokenizer.json")});
  toks.push_back({"llama-spm gguf", LoadGgufTokenizer("vocab/ggml-vocab-llama-spm.gguf")});
  toks.push_back({"gpt-2 gguf", LoadGgufTokenizer("vocab/ggml-vocab-gpt-2.gguf")});
  for (const auto& [name, tok] : toks) {
    ASSERT_NE(tok, nullptr) << name;
    size_t n_ids = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& line : lines) n_ids += tok->Encode(line, false).size();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ throughput ] %-15s %6.2f MB/s (%zu bytes, %zu lines, %zu ids, %.2f s)\n", name,
                text.size() / seconds / 1e6, text.size(), lines.size(), n_ids, seconds);
    EXPECT_GT(n_ids, text.size() / 10);
  }
}

}  // namespace
}  // namespace llm2vec
