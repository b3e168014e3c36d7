// Clients nobody here wrote, against the real server on loopback: the
// official OpenAI Node client (/v1/embeddings), Node's official gRPC stack
// (@grpc/grpc-js with @grpc/proto-loader, from proto/ alone), Hugging
// Face's @huggingface/inference and fetch as TEI's documentation writes it
// (text-embeddings-inference's routes). The scripts (tests/clients/*.mjs) print what their client got;
// the values are checked against `llm2vec encode` on the same model.
// setup.sh installs the pinned packages (tests/clients/package-lock.json).
#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/server/server_process.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using nlohmann::json;
using ::llm2vec::testing::DemoModel;
using ::llm2vec::testing::RunCommand;
using ::llm2vec::testing::ServerProcess;
using ::llm2vec::testing::UnitVector;

const std::vector<std::string> kTexts = {
    "Once upon a time, there was a little girl named Lily.",
    "Tom and his dog went to the park to play with a big red ball.",
    "She was happy.",
};

// What `llm2vec encode` writes for kTexts: one thread, one text per
// forward pass, as the server (one thread, --max-batch-requests 1) runs them.
struct Offline {
  std::vector<std::vector<float>> embeddings;
  int64_t tokens = 0;
};

Offline EncodeOffline(const std::string& dir) {
  const std::string input = dir + "/texts.txt";
  {
    std::ofstream f(input);
    for (const std::string& t : kTexts) f << t << "\n";
  }
  auto [code, out] = RunCommand(absl::StrCat(LLM2VEC_CLI_BIN, " encode --threads 1 --batch-tokens 1 --model ",
                                             DemoModel(), " --input ", input),
                                dir + "/encode.err");
  EXPECT_EQ(code, 0) << out;
  Offline offline;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    const json j = json::parse(line);
    offline.embeddings.push_back(j["embedding"].get<std::vector<float>>());
    offline.tokens += j["tokens"].get<int64_t>();
  }
  EXPECT_EQ(offline.embeddings.size(), kTexts.size());
  return offline;
}

void ExpectNear(const json& got, const std::vector<float>& want, double tolerance,
                const std::string& what) {
  ASSERT_TRUE(got.is_array()) << what << ": " << got.dump();
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t d = 0; d < want.size(); ++d) {
    EXPECT_NEAR(got[d].get<double>(), want[d], tolerance) << what << " dimension " << d;
  }
}

// Runs tests/clients/SCRIPT with `port` and kTexts; its stdout as JSON.
json RunClient(const std::string& script, int port, const std::string& dir) {
  const std::string clients = LLM2VEC_CLIENTS_DIR;
  struct stat st;
  if (stat((clients + "/node_modules").c_str(), &st) != 0) {
    ADD_FAILURE() << clients << "/node_modules is missing: run ./setup.sh (it runs npm ci there)";
    return json();
  }
  std::string command = absl::StrCat("node ", clients, "/", script, " ", port);
  for (const std::string& t : kTexts) absl::StrAppend(&command, " '", t, "'");
  auto [code, out] = RunCommand(command, dir + "/client.err");
  std::ifstream err(dir + "/client.err");
  const std::string err_text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_EQ(code, 0) << script << " failed:\n" << err_text;
  if (code != 0) return json();
  return json::parse(out);
}

int GrpcPort(const ServerProcess& server) {
  const std::string target = server.grpc_target();
  return std::atoi(target.substr(target.rfind(':') + 1).c_str());
}

class ClientsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LLM2VEC_REQUIRE_TESTDATA();
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{"--max-batch-requests", "1"});
    offline_ = EncodeOffline(server_->dir());
  }
  std::unique_ptr<ServerProcess> server_;
  Offline offline_;
};

// OpenAI's client: its default (base64 asked for and decoded), float,
// base64 decoded here, and dimensions: unit vectors of the offline
// embeddings (cut first), and the token usage.
TEST_F(ClientsE2eTest, OpenAiNodeClientGetsUnitVectorsOfTheOfflineEmbeddings) {
  const json out = RunClient("openai_client.mjs", server_->http_port(), server_->dir());
  ASSERT_TRUE(out.is_object());
  for (size_t i = 0; i < kTexts.size(); ++i) {
    const std::vector<float> unit = UnitVector(offline_.embeddings[i]);
    for (const char* form : {"default", "float", "base64"}) {
      ExpectNear(out[form][i], unit, 1e-6, absl::StrCat(form, " ", i));
    }
    ExpectNear(out["dims16"][i], UnitVector(offline_.embeddings[i], 16), 1e-6, absl::StrCat("dims16 ", i));
  }
  EXPECT_EQ(out["usage"]["prompt_tokens"], offline_.tokens);
  EXPECT_EQ(out["usage"]["total_tokens"], offline_.tokens);
}

// Node's gRPC stack from the .proto files: health, Info, Embed, EmbedStream,
// Similarity, Tokenize, and a refusal's code and message.
TEST_F(ClientsE2eTest, GrpcJsClientCallsEveryEmbeddingRpcFromTheProtoFiles) {
  const json out = RunClient("grpc_client.mjs", GrpcPort(*server_), server_->dir());
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out["health"], "SERVING");
  EXPECT_EQ(out["info"]["hidden_size"], 64);
  EXPECT_EQ(out["info"]["attention"], "bidirectional");
  for (size_t i = 0; i < kTexts.size(); ++i) {
    ExpectNear(out["embed"][i], offline_.embeddings[i], 1e-5, absl::StrCat("Embed ", i));
    ExpectNear(out["stream"][i], offline_.embeddings[i], 1e-5, absl::StrCat("EmbedStream ", i));
  }
  v1::SimilarityRequest similarity;
  similarity.mutable_query()->set_text(kTexts[0]);
  for (size_t i = 1; i < kTexts.size(); ++i) similarity.add_candidates()->set_text(kTexts[i]);
  auto scores = server_->client().Similarity(similarity);
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(out["similarity"]["scores"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FLOAT_EQ(out["similarity"]["scores"][i].get<float>(), scores->scores(i));
  }
  ASSERT_EQ(out["similarity"]["ranking"].size(), 1u);  // top_k 1
  EXPECT_EQ(out["similarity"]["ranking"][0]["index"], scores->ranking(0).index());
  v1::TokenizeRequest tokenize;
  tokenize.add_inputs()->set_text(kTexts[0]);
  tokenize.set_add_special_tokens(true);
  auto tokens = server_->client().Tokenize(tokenize);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(out["tokenize"]["ids"].get<std::vector<int32_t>>(),
            std::vector<int32_t>(tokens->tokens(0).ids().begin(), tokens->tokens(0).ids().end()));
  EXPECT_EQ(out["tokenize"]["special"][0], true);  // BOS
  EXPECT_EQ(out["empty"]["code"], 3);               // INVALID_ARGUMENT
  EXPECT_EQ(out["empty"]["details"], "inputs is empty");
}

// Text-embeddings-inference clients: Hugging Face's @huggingface/inference
// (featureExtraction and sentenceSimilarity pointed at the server) and
// fetch as TEI's docs write it: /info, /health, /embed (unit vectors of the
// offline embeddings), /embed_all, /similarity, /tokenize, /decode, and an
// unknown prompt_name refused as TEI refuses it.
TEST_F(ClientsE2eTest, TeiClientGetsTheOfflineEmbeddingsThroughTeisRoutes) {
  const json out = RunClient("tei_client.mjs", server_->http_port(), server_->dir());
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out["info"]["model_type"]["embedding"]["pooling"], "mean");
  EXPECT_EQ(out["health"], 200);
  for (size_t i = 0; i < kTexts.size(); ++i) {
    ExpectNear(out["embed"][i], UnitVector(offline_.embeddings[i]), 1e-6, absl::StrCat("/embed ", i));
    ExpectNear(out["hf_embed"][i], UnitVector(offline_.embeddings[i]), 1e-6,
               absl::StrCat("@huggingface/inference featureExtraction ", i));
  }
  v1::TokenizeRequest tokenize;
  tokenize.add_inputs()->set_text(kTexts[0]);
  tokenize.set_add_special_tokens(true);
  auto tokens = server_->client().Tokenize(tokenize);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(out["embed_all_tokens"], tokens->tokens(0).ids_size());
  ASSERT_EQ(out["tokenize"].size(), static_cast<size_t>(tokens->tokens(0).ids_size()));
  for (int i = 0; i < tokens->tokens(0).ids_size(); ++i) {
    EXPECT_EQ(out["tokenize"][i]["id"], tokens->tokens(0).ids(i));
  }
  EXPECT_EQ(out["decode"], kTexts[0]);
  v1::SimilarityRequest similarity;
  similarity.mutable_query()->set_text(kTexts[0]);
  for (size_t i = 1; i < kTexts.size(); ++i) similarity.add_candidates()->set_text(kTexts[i]);
  auto scores = server_->client().Similarity(similarity);
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(out["similarity"].size(), 2u);
  ASSERT_EQ(out["hf_similarity"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FLOAT_EQ(out["similarity"][i].get<float>(), scores->scores(i));
    EXPECT_FLOAT_EQ(out["hf_similarity"][i].get<float>(), scores->scores(i));
  }
  EXPECT_EQ(out["bad_prompt"]["status"], 422);
  EXPECT_EQ(out["bad_prompt"]["body"]["error_type"], "tokenizer");
}

}  // namespace
}  // namespace llm2vec
