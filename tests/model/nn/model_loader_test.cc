// Model loading: the Hugging Face cache layout, and clear errors (naming the
// file and the problem) on every kind of malformed input.
#include "model/nn/model_loader.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "model/formats/safetensors.h"
#include "model/hub/hf_hub.h"
#include "model/hub/resolve_model_path.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::LoadJson;
using ::llm2vec::testing::TestdataPath;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A scratch copy of a model folder that a test may corrupt.
class ScratchModel {
 public:
  explicit ScratchModel(const std::string& source) {
    char dir_template[] = "/tmp/llm2vec_model_XXXXXX";
    EXPECT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"}) {
      WriteAll(dir_ + "/" + f, ReadAll(source + "/" + f));
    }
  }
  ~ScratchModel() {
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "model.gguf"}) {
      std::remove((dir_ + "/" + f).c_str());
    }
    ::rmdir(dir_.c_str());
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// Expects `path` to fail to load with a message containing every needle.
void ExpectLoadError(const std::string& path, const std::vector<std::string>& needles) {
  auto model = LoadModel(path, LoadOptions());
  ASSERT_FALSE(model.ok()) << "loaded " << path;
  const std::string message(model.status().message());
  for (const std::string& n : needles) {
    EXPECT_NE(message.find(n), std::string::npos) << "'" << n << "' not in: " << message;
  }
}

TEST(ModelLoaderTest, SharesWeightsInsteadOfReadingThem) {
  LLM2VEC_REQUIRE_TESTDATA();
  for (const char* path : {"models/stories260k-gguf/stories260K.gguf", "models/stories260k-hf"}) {
    SCOPED_TRACE(path);
    auto served = LoadModel(TestdataPath(path), LoadOptions());
    ASSERT_TRUE(served.ok()) << served.status();
    LoadOptions options;
    options.shared_weights = served->transformer.get();
    auto job = LoadModel(TestdataPath(path), options);
    ASSERT_TRUE(job.ok()) << job.status();
    // The same memory, not a copy; a tokenizer of its own that works.
    const TransformerWeights& a = served->transformer->weights();
    const TransformerWeights& b = job->transformer->weights();
    EXPECT_EQ(a.embed_tokens.data_ptr(), b.embed_tokens.data_ptr());
    EXPECT_EQ(a.layers[2].proj[kDownProj].data_ptr(), b.layers[2].proj[kDownProj].data_ptr());
    EXPECT_NE(served->tokenizer.get(), job->tokenizer.get());
    EXPECT_EQ(job->tokenizer->Encode("Once upon a time", true),
              served->tokenizer->Encode("Once upon a time", true));
    EXPECT_EQ(job->format, served->format);
    // Weights of another dtype cannot stand in.
    options.dtype = "bfloat16";
    auto mismatch = LoadModel(TestdataPath(path), options);
    EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ModelLoaderTest, ErrorsOnMalformedSafetensors) {
  LLM2VEC_REQUIRE_TESTDATA();
  ScratchModel m(TestdataPath("models/stories260k-hf"));
  const std::string weights = m.dir() + "/model.safetensors";
  const std::string good = ReadAll(weights);
  // Truncated file: tensor data past the end.
  WriteAll(weights, good.substr(0, good.size() / 2));
  ExpectLoadError(m.dir(), {"model.safetensors", "truncated"});
  // Header length past the end of the file.
  std::string bad_len = good.substr(0, 64);
  const uint64_t huge = 1ull << 40;
  std::memcpy(bad_len.data(), &huge, 8);
  WriteAll(weights, bad_len);
  ExpectLoadError(m.dir(), {"model.safetensors", "header length"});
  // Too short to hold a header.
  WriteAll(weights, "abc");
  ExpectLoadError(m.dir(), {"model.safetensors", "truncated"});
  // Header that is not JSON.
  std::string not_json(8, '\0');
  const uint64_t four = 4;
  std::memcpy(not_json.data(), &four, 8);
  WriteAll(weights, not_json + "{{{{");
  ExpectLoadError(m.dir(), {"model.safetensors", "JSON"});
}

TEST(ModelLoaderTest, ErrorsOnMissingTensorAndShapeMismatch) {
  LLM2VEC_REQUIRE_TESTDATA();
  ScratchModel m(TestdataPath("models/stories260k-hf"));
  // Missing tensor: rewrite the file without one of them.
  {
    auto archive = SafetensorsArchive::OpenFile(m.dir() + "/model.safetensors");
    ASSERT_TRUE(archive.ok());
    std::map<std::string, SafetensorsEntry> kept;
    for (const auto& [name, v] : (*archive)->tensors()) {
      if (name == "model.layers.2.mlp.up_proj.weight") continue;
      kept[name] = {v.dtype, v.shape, v.data, v.nbytes};
    }
    // The write goes to a temp file renamed over the mapped one, so the
    // map stays valid while it streams from it.
    ASSERT_TRUE(WriteSafetensors(m.dir() + "/model.safetensors", kept).ok());
    archive->reset();
  }
  ExpectLoadError(m.dir(), {"model.layers.2.mlp.up_proj.weight", "missing"});
  // Shape disagreeing with config.json.
  std::string config = ReadAll(TestdataPath("models/stories260k-hf/config.json"));
  WriteAll(m.dir() + "/model.safetensors",
           ReadAll(TestdataPath("models/stories260k-hf/model.safetensors")));
  const size_t at = config.find("\"intermediate_size\": 172");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, 24, "\"intermediate_size\": 170");
  WriteAll(m.dir() + "/config.json", config);
  ExpectLoadError(m.dir(), {"model.safetensors", "has shape", "172]", "170]", "config.json"});
}

TEST(ModelLoaderTest, ErrorsOnBadConfig) {
  LLM2VEC_REQUIRE_TESTDATA();
  ScratchModel m(TestdataPath("models/stories260k-hf"));
  WriteAll(m.dir() + "/config.json", "{\"model_type\": \"llama\",");
  ExpectLoadError(m.dir(), {"config.json", "not valid JSON"});
  WriteAll(m.dir() + "/config.json", R"({"model_type": "gpt2", "hidden_size": 64})");
  ExpectLoadError(m.dir(), {"config.json", "'gpt2'", "llama, mistral, qwen2"});
  WriteAll(m.dir() + "/config.json", R"({"model_type": "llama", "hidden_size": "64"})");
  ExpectLoadError(m.dir(), {"config.json", "hidden_size"});
}

// A tokenizer that can produce ids past the embedding's rows is refused at
// load (an out-of-range read on the CPU, a device-side assert on CUDA).
TEST(ModelLoaderTest, TokenIdsBeyondTheEmbeddingAreRefused) {
  LLM2VEC_REQUIRE_TESTDATA();
  ScratchModel m(TestdataPath("models/stories260k-hf"));
  auto tokenizer = LoadJson("models/stories260k-hf/tokenizer.json");
  tokenizer["added_tokens"].push_back(
      {{"id", 600}, {"content", "<beyond>"}, {"special", true}, {"normalized", false}});
  WriteAll(m.dir() + "/tokenizer.json", tokenizer.dump());
  ExpectLoadError(m.dir(), {"the tokenizer produces ids up to 600", "has 512 rows"});
}

TEST(ModelLoaderTest, ErrorsOnMalformedGguf) {
  LLM2VEC_REQUIRE_TESTDATA();
  ScratchModel m(TestdataPath("models/stories260k-hf"));
  const std::string gguf = m.dir() + "/model.gguf";
  const std::string good = ReadAll(TestdataPath("models/stories260k-gguf/stories260K.gguf"));
  // Truncated: tensor data past the end.
  WriteAll(gguf, good.substr(0, good.size() * 2 / 3));
  ExpectLoadError(gguf, {"model.gguf", "past the end"});
  // Truncated inside the header.
  WriteAll(gguf, good.substr(0, 100));
  ExpectLoadError(gguf, {"model.gguf", "truncated"});
  // Not a GGUF file.
  WriteAll(gguf, "GGML" + good.substr(4));
  ExpectLoadError(gguf, {"model.gguf", "magic"});
  // A quantized tensor: patch token_embd.weight's type to Q4_0 (id 2).
  std::string quantized = good;
  const std::string name = "token_embd.weight";
  const size_t pos = quantized.find(name);
  ASSERT_NE(pos, std::string::npos);
  const size_t type_at = pos + name.size() + 4 + 2 * 8;  // rank u32, 2 dims u64
  const uint32_t q4_0 = 2;
  std::memcpy(quantized.data() + type_at, &q4_0, 4);
  WriteAll(gguf, quantized);
  ExpectLoadError(gguf, {"model.gguf", "token_embd.weight", "Q4_0", "quantized"});
}

TEST(ModelLoaderTest, ResolvesHubIdsThroughTheHuggingFaceCache) {
  LLM2VEC_REQUIRE_TESTDATA();
  char dir_template[] = "/tmp/llm2vec_hub_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string cache = dir_template;
  const std::string repo = cache + "/models--test-org--stories260k";
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  const std::string snapshot = repo + "/snapshots/" + commit;
  ASSERT_EQ(::system(("mkdir -p " + snapshot + " " + repo + "/refs").c_str()), 0);
  WriteAll(repo + "/refs/main", commit + "\n");
  // Python's hub cache stores files as links into blobs/; links work too.
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"}) {
    ASSERT_EQ(::symlink(TestdataPath(std::string("models/stories260k-hf/") + f).c_str(),
                        (snapshot + "/" + f).c_str()),
              0);
  }
  ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
  EXPECT_EQ(HfHubCacheDir(), cache);
  auto main_rev = ResolveModelPath("test-org/stories260k");
  ASSERT_TRUE(main_rev.ok()) << main_rev.status();
  EXPECT_EQ(*main_rev, snapshot);
  auto by_commit = ResolveModelPath("test-org/stories260k@" + commit);
  ASSERT_TRUE(by_commit.ok()) << by_commit.status();
  EXPECT_EQ(*by_commit, snapshot);
  auto model = LoadModel("test-org/stories260k", LoadOptions());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->transformer->config().num_layers, 5);
  auto missing = ResolveModelPath("test-org/absent-model");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("models--test-org--absent-model"),
            std::string::npos);
  auto bad_rev = ResolveModelPath("test-org/stories260k@v9");
  ASSERT_FALSE(bad_rev.ok());
  EXPECT_NE(std::string(bad_rev.status().message()).find("'v9'"), std::string::npos);
  ::unsetenv("HF_HUB_CACHE");
  ASSERT_EQ(::system(("rm -rf " + cache).c_str()), 0);
}

TEST(ModelLoaderTest, DeviceAndDtypeAreOptions) {
  LLM2VEC_REQUIRE_TESTDATA();
  LoadOptions bf16;
  bf16.dtype = "bfloat16";
  auto model = LoadModel(TestdataPath("models/tiny-qwen2-hf"), bf16);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->transformer->dtype(), at::kBFloat16);
  EXPECT_EQ(model->transformer->WeightBytes() % 2, 0);
  LoadOptions fp16_cpu;
  fp16_cpu.dtype = "float16";
  auto refused = LoadModel(TestdataPath("models/tiny-qwen2-hf"), fp16_cpu);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("float16"), std::string::npos);
  LoadOptions bad_dtype;
  bad_dtype.dtype = "int4";
  refused = LoadModel(TestdataPath("models/tiny-qwen2-hf"), bad_dtype);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("'int4'"), std::string::npos);
}

}  // namespace
}  // namespace llm2vec
