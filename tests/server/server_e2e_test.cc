// End-to-end: the real llm2vec-server binary on loopback with the demo
// model (stories260K), driven through the C++ client library, raw HTTP and
// signals. Checks every RPC, the status-code table, health transitions,
// deadlines, cancellation, overload, adapters under traffic, stream order,
// metrics, and that served embeddings equal the offline encoder's.
#include <arpa/inet.h>
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/embedding_client.h"
#include "model/formats/safetensors.h"
#include "model/nn/encoder.h"
#include "model/nn/model_loader.h"
#include "tests/server/server_process.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::DemoModel;
using ::llm2vec::testing::Http;
using ::llm2vec::testing::RunCommand;
using ::llm2vec::testing::Sample;
using ::llm2vec::testing::ServerProcess;
using ::llm2vec::testing::TempDir;
using ::llm2vec::testing::TestdataPath;
using ::llm2vec::testing::UnitVector;

v1::EmbedRequest Texts(const std::vector<std::string>& texts) {
  v1::EmbedRequest request;
  for (const auto& t : texts) request.add_inputs()->set_text(t);
  return request;
}

const std::vector<std::string> kTexts = {
    "Once upon a time, there was a little girl named Lily.",
    "The cat sat on the mat.",
    "Tom and his dog went to the park to play with a big red ball.",
    "She was happy.",
};

TEST(ServerE2eTest, EveryRpcAndEmbeddingsEqualTheOfflineEncoder) {
  LLM2VEC_REQUIRE_TESTDATA();
  // One input per batch, so the served forward passes are the offline ones.
  ServerProcess server({"--max-batch-requests", "1"});
  auto serving = server.client().Serving();
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_TRUE(*serving);

  auto info = server.client().Info();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->architecture(), "llama");
  EXPECT_EQ(info->hidden_size(), 64u);
  EXPECT_EQ(info->attention(), "bidirectional");
  EXPECT_EQ(info->default_pooling(), "mean");
  EXPECT_EQ(info->format(), "gguf");

  auto served = server.client().Embed(Texts(kTexts));
  ASSERT_TRUE(served.ok()) << served.status();
  ASSERT_EQ(served->embeddings_size(), static_cast<int>(kTexts.size()));
  auto model = LoadModel(DemoModel(), LoadOptions());
  ASSERT_TRUE(model.ok());
  Encoder::Options options;
  options.max_batch_tokens = 1;  // each text alone, as the server ran them
  options.num_threads = 1;       // as the server (--threads 1): same GEMM partitioning
  auto encoder = Encoder::Create(std::move(*model), options);
  ASSERT_TRUE(encoder.ok());
  std::vector<EncodeInput> inputs;
  for (const auto& t : kTexts) inputs.push_back({t, ""});
  auto offline = (*encoder)->Encode(inputs, EncodeOptions());
  ASSERT_TRUE(offline.ok());
  int64_t tokens = 0;
  for (size_t i = 0; i < kTexts.size(); ++i) {
    const auto& e = served->embeddings(static_cast<int>(i));
    EXPECT_EQ(std::vector<float>(e.values().begin(), e.values().end()), (*offline)[i].values)
        << kTexts[i];
    EXPECT_EQ(e.tokens(), (*offline)[i].tokens);
    tokens += (*offline)[i].tokens;
  }
  EXPECT_EQ(served->usage().total_tokens(), static_cast<uint64_t>(tokens));
  EXPECT_GE(served->timing().total_ms(), served->timing().inference_ms());

  // Options: Matryoshka + normalisation, int8 and binary encodings.
  v1::EmbedRequest cut = Texts({kTexts[0]});
  cut.mutable_options()->set_dimensions(16);
  cut.mutable_options()->set_normalize(true);
  auto cut_out = server.client().Embed(cut);
  ASSERT_TRUE(cut_out.ok());
  ASSERT_EQ(cut_out->embeddings(0).values_size(), 16);
  double norm = 0;
  for (float v : cut_out->embeddings(0).values()) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  v1::EmbedRequest int8 = Texts({kTexts[0]});
  int8.mutable_options()->set_encoding(v1::ENCODING_INT8);
  auto int8_out = server.client().Embed(int8);
  ASSERT_TRUE(int8_out.ok());
  const auto& q = int8_out->embeddings(0);
  ASSERT_EQ(q.packed().size(), 64u);
  for (int d = 0; d < 64; ++d) {
    EXPECT_NEAR(static_cast<int8_t>(q.packed()[d]) * q.scale(), (*offline)[0].values[d],
                q.scale() * 0.51);
  }
  v1::EmbedRequest binary = Texts({kTexts[0]});
  binary.mutable_options()->set_encoding(v1::ENCODING_BINARY);
  auto bin_out = server.client().Embed(binary);
  ASSERT_TRUE(bin_out.ok());
  ASSERT_EQ(bin_out->embeddings(0).packed().size(), 8u);
  for (int d = 0; d < 64; ++d) {
    const bool bit = (static_cast<uint8_t>(bin_out->embeddings(0).packed()[d / 8]) >> (7 - d % 8)) & 1;
    EXPECT_EQ(bit, (*offline)[0].values[d] > 0);
  }

  // Similarity: pairs and query ranking.
  v1::SimilarityRequest pairs;
  auto* p = pairs.add_pairs();
  p->mutable_a()->set_text(kTexts[0]);
  p->mutable_b()->set_text(kTexts[0]);
  auto sim = server.client().Similarity(pairs);
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_NEAR(sim->scores(0), 1.0, 1e-5);
  v1::SimilarityRequest ranking;
  ranking.mutable_query()->set_text(kTexts[1]);
  for (const auto& t : kTexts) ranking.add_candidates()->set_text(t);
  ranking.set_top_k(2);
  auto ranked = server.client().Similarity(ranking);
  ASSERT_TRUE(ranked.ok());
  ASSERT_EQ(ranked->ranking_size(), 2);
  EXPECT_EQ(ranked->ranking(0).index(), 1u);  // the query itself is the best match
  EXPECT_EQ(ranked->scores_size(), static_cast<int>(kTexts.size()));

  // Tokenize: the model's tokenizer, BOS first.
  v1::TokenizeRequest tok;
  tok.add_inputs()->set_text("Once upon a time");
  tok.set_add_special_tokens(true);
  auto ids = server.client().Tokenize(tok);
  ASSERT_TRUE(ids.ok());
  const auto want = (*encoder)->tokenizer().Encode("Once upon a time", true);
  EXPECT_EQ(std::vector<int32_t>(ids->tokens(0).ids().begin(), ids->tokens(0).ids().end()), want);

  // The OpenAI-compatible endpoint answers a real HTTP client with OpenAI's
  // unit-length vectors: the offline embedding, cut to `dimensions`, then
  // normalised.
  const auto expect_near = [](const std::vector<float>& got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size());
    double sum = 0;
    for (size_t d = 0; d < got.size(); ++d) {
      EXPECT_NEAR(got[d], want[d], 1e-6) << "dimension " << d;
      sum += static_cast<double>(got[d]) * got[d];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
  };
  auto [code, body] = Http(server.http_port(), "POST", "/v1/embeddings",
                           R"({"input": ["Once upon a time, there was a little girl named Lily."],
                               "model": "any"})");
  ASSERT_EQ(code, 200) << body;
  nlohmann::json j = nlohmann::json::parse(body);
  expect_near(j["data"][0]["embedding"].get<std::vector<float>>(), UnitVector((*offline)[0].values));
  // Token ids (OpenAI's token-array input): the text's ids, as the
  // tokenizer gives them without BOS, embed as the text; over gRPC too,
  // bit for bit.
  const std::vector<int32_t> text_ids = (*encoder)->tokenizer().Encode(kTexts[0], false);
  std::tie(code, body) = Http(
      server.http_port(), "POST", "/v1/embeddings",
      absl::StrCat(R"({"input": [[)", absl::StrJoin(text_ids, ","), R"(]], "dimensions": 16})"));
  ASSERT_EQ(code, 200) << body;
  j = nlohmann::json::parse(body);
  expect_near(j["data"][0]["embedding"].get<std::vector<float>>(), UnitVector((*offline)[0].values, 16));
  v1::EmbedRequest by_ids;
  v1::EmbedInput* ids_input = by_ids.add_inputs();
  for (int32_t id : text_ids) ids_input->add_token_ids(static_cast<uint32_t>(id));
  auto by_ids_out = server.client().Embed(by_ids);
  ASSERT_TRUE(by_ids_out.ok()) << by_ids_out.status();
  EXPECT_EQ(std::vector<float>(by_ids_out->embeddings(0).values().begin(),
                               by_ids_out->embeddings(0).values().end()),
            (*offline)[0].values);
  EXPECT_EQ(Http(server.http_port(), "GET", "/health").first, 200);
}

// text-embeddings-inference's routes on the real server: /embed is the
// offline embedding, normalised; /embed_all the offline per-token states;
// prompt_name the instruction it names; /similarity, /tokenize, /decode
// and /info as the gRPC service and the tokenizer answer.
TEST(ServerE2eTest, TeiRoutesAnswerAsTheOfflineEncoder) {
  LLM2VEC_REQUIRE_TESTDATA();
  ServerProcess server({"--max-batch-requests", "1", "--prompt", "story=Retrieve a story"});
  auto model = LoadModel(DemoModel(), LoadOptions());
  ASSERT_TRUE(model.ok());
  Encoder::Options options;
  options.max_batch_tokens = 1;
  options.num_threads = 1;
  auto encoder = Encoder::Create(std::move(*model), options);
  ASSERT_TRUE(encoder.ok());
  const std::string text = kTexts[0];
  auto offline = (*encoder)->Encode({{text, ""}, {text, "Retrieve a story"}}, EncodeOptions());
  ASSERT_TRUE(offline.ok());
  const auto near = [](const std::vector<float>& got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t d = 0; d < got.size(); ++d) EXPECT_NEAR(got[d], want[d], 1e-6) << d;
  };
  const int port = server.http_port();

  auto [code, body] = Http(port, "POST", "/embed",
                           absl::StrCat(R"({"inputs": [")", text, R"("]})"));
  ASSERT_EQ(code, 200) << body;
  near(nlohmann::json::parse(body)[0].get<std::vector<float>>(), UnitVector((*offline)[0].values));
  std::tie(code, body) = Http(port, "POST", "/embed",
                              absl::StrCat(R"({"inputs": ")", text,
                                           R"(", "normalize": false, "prompt_name": "story"})"));
  ASSERT_EQ(code, 200) << body;
  EXPECT_EQ(nlohmann::json::parse(body)[0].get<std::vector<float>>(), (*offline)[1].values);
  std::tie(code, body) = Http(port, "POST", "/embed",
                              absl::StrCat(R"({"inputs": ")", text, R"(", "prompt_name": "x"})"));
  EXPECT_EQ(code, 422) << body;
  EXPECT_NE(body.find("prompt_name 'x' is not one of this server's prompts"), std::string::npos)
      << body;

  // Every token's state, BOS included: the transformer's own output.
  EncodeOptions none;
  none.pooling = PoolingMode::kNone;
  auto states = (*encoder)->Encode({{text, ""}}, none);
  ASSERT_TRUE(states.ok());
  std::tie(code, body) = Http(port, "POST", "/embed_all",
                              absl::StrCat(R"({"inputs": ")", text, R"("})"));
  ASSERT_EQ(code, 200) << body;
  const nlohmann::json all = nlohmann::json::parse(body);
  ASSERT_EQ(all.size(), 1u);
  ASSERT_EQ(static_cast<int64_t>(all[0].size()), (*states)[0].tokens);
  std::vector<float> flat;
  for (const auto& token : all[0]) {
    ASSERT_EQ(token.size(), 64u);
    for (float x : token.get<std::vector<float>>()) flat.push_back(x);
  }
  EXPECT_EQ(flat, (*states)[0].values);

  v1::SimilarityRequest similarity;
  similarity.mutable_query()->set_text(kTexts[0]);
  similarity.add_candidates()->set_text(kTexts[1]);
  similarity.add_candidates()->set_text(kTexts[2]);
  auto scores = server.client().Similarity(similarity);
  ASSERT_TRUE(scores.ok()) << scores.status();
  std::tie(code, body) =
      Http(port, "POST", "/similarity",
           absl::StrCat(R"({"inputs": {"source_sentence": ")", kTexts[0], R"(", "sentences": [")",
                        kTexts[1], R"(", ")", kTexts[2], R"("]}})"));
  ASSERT_EQ(code, 200) << body;
  EXPECT_EQ(nlohmann::json::parse(body).get<std::vector<float>>(),
            std::vector<float>(scores->scores().begin(), scores->scores().end()));

  const std::vector<int32_t> ids = (*encoder)->tokenizer().Encode("Once upon a time", true);
  std::tie(code, body) = Http(port, "POST", "/tokenize", R"({"inputs": "Once upon a time"})");
  ASSERT_EQ(code, 200) << body;
  const nlohmann::json tokens = nlohmann::json::parse(body)[0];
  ASSERT_EQ(tokens.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(tokens[i]["id"], ids[i]);
    EXPECT_EQ(tokens[i]["special"], (*encoder)->tokenizer().IsSpecial(ids[i]));
    EXPECT_EQ(tokens[i]["text"], (*encoder)->tokenizer().Decode({ids[i]}, false));
  }
  std::tie(code, body) =
      Http(port, "POST", "/decode", absl::StrCat(R"({"ids": [)", absl::StrJoin(ids, ","), "]}"));
  ASSERT_EQ(code, 200) << body;
  EXPECT_EQ(nlohmann::json::parse(body)[0], "Once upon a time");
  std::tie(code, body) = Http(port, "POST", "/decode", R"({"ids": [5, 512]})");
  EXPECT_EQ(code, 413) << body;
  EXPECT_NE(body.find("token id 512 at position 1 is outside the vocabulary of 512"),
            std::string::npos)
      << body;

  std::tie(code, body) = Http(port, "GET", "/info");
  ASSERT_EQ(code, 200) << body;
  const nlohmann::json info = nlohmann::json::parse(body);
  EXPECT_EQ(info["model_type"]["embedding"]["pooling"], "mean");
  EXPECT_EQ(info["model_dtype"], "float32");
  EXPECT_GT(info["max_input_length"].get<int64_t>(), 0);
}

// `llm2vec eval` records what it ran, in its JSON and above its table:
// the attention, the pooling used (the server's default with --server),
// dtype, max length, data and test files; a classifier stopped at its
// iteration cap is said.
TEST(ServerE2eTest, EvalRecordsWhatItRan) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  const std::string sts = tmp.Join("sts.tsv");
  std::ofstream(sts) << "5.0\tA cat sat.\tA cat sat down.\n1.0\tA dog ran.\tThe sun is hot.\n"
                     << "3.0\tShe was happy.\tShe smiled.\n";
  const std::string train = tmp.Join("train.csv"), test = tmp.Join("test.csv");
  std::ofstream(train) << "text,label\nthe cat sat,cats\na cat slept,cats\nthe dog ran,dogs\n"
                       << "a dog barked,dogs\n";
  std::ofstream(test) << "text,label\na cat ran,cats\nthe dog slept,dogs\n";
  const std::string cli = absl::StrCat(LLM2VEC_CLI_BIN, " eval ");
  const std::string err = tmp.Join("stderr.txt");
  const std::string json_file = tmp.Join("out.json");
  auto [code, table] = RunCommand(cli + "--task sts --threads 1 --attention causal --data " + sts +
                                      " --model " + DemoModel() + " --output " + json_file,
                                  err);
  ASSERT_EQ(code, 0) << table;
  nlohmann::json j = nlohmann::json::parse(std::ifstream(json_file));
  EXPECT_EQ(j["attention"], "causal");
  EXPECT_EQ(j["pooling"], "mean");
  EXPECT_EQ(j["dtype"], "float32");
  EXPECT_EQ(j["device"], "cpu");
  EXPECT_GT(j["max_length"].get<int64_t>(), 0);
  EXPECT_TRUE(j["test"].is_null());
  EXPECT_EQ(j["warnings"], nlohmann::json::array());
  EXPECT_NE(table.find("causal attention, mean pooling, float32 on cpu"), std::string::npos)
      << table;

  std::tie(code, table) =
      RunCommand(cli + "--task classification --threads 1 --max-iterations 1 --data " + train +
                     " --test " + test + " --model " + DemoModel() + " --output " + json_file,
                 err);
  ASSERT_EQ(code, 0) << table;
  j = nlohmann::json::parse(std::ifstream(json_file));
  EXPECT_EQ(j["test"], test);
  EXPECT_EQ(j["attention"], "bidirectional");
  ASSERT_EQ(j["warnings"].size(), 1u);
  EXPECT_NE(j["warnings"][0].get<std::string>().find("stopped at its cap of 1"), std::string::npos);
  EXPECT_NE(table.find("test.csv (trained on train.csv)"), std::string::npos) << table;
  std::ifstream err_in(err);
  const std::string err_text((std::istreambuf_iterator<char>(err_in)),
                             std::istreambuf_iterator<char>());
  EXPECT_NE(err_text.find("warning: the logistic regression stopped at its cap"),
            std::string::npos)
      << err_text;

  // Several data files: one embedder, one table, a JSON array.
  const std::string sts2 = tmp.Join("sts2.tsv");
  std::ofstream(sts2) << "4.0\tA boy ran.\tA boy ran fast.\n0.5\tA cat sat.\tRain fell.\n"
                      << "2.0\tShe sang.\tShe sang a song.\n";
  std::tie(code, table) = RunCommand(cli + "--task sts --threads 1 --data " + sts + " --data " +
                                         sts2 + " --model " + DemoModel() + " --output " + json_file,
                                     err);
  ASSERT_EQ(code, 0) << table;
  j = nlohmann::json::parse(std::ifstream(json_file));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["data"], sts);
  EXPECT_EQ(j[1]["data"], sts2);
  EXPECT_EQ(j[1]["counts"]["pairs"], 3);
  EXPECT_NE(table.find("sts.tsv"), std::string::npos) << table;
  EXPECT_NE(table.find("sts2.tsv"), std::string::npos) << table;
  EXPECT_EQ(RunCommand(cli + "--task classification --data " + train + " --data " + train +
                           " --test " + test + " --model " + DemoModel(),
                       err)
                .first,
            2);

  // Through a server: the server's settings.
  ServerProcess server({});
  std::tie(code, table) = RunCommand(cli + "--task sts --data " + sts + " --server " +
                                         server.grpc_target() + " --output " + json_file,
                                     err);
  ASSERT_EQ(code, 0) << table;
  j = nlohmann::json::parse(std::ifstream(json_file));
  EXPECT_EQ(j["attention"], "bidirectional");
  EXPECT_EQ(j["pooling"], "mean");
  EXPECT_EQ(j["dtype"], "float32");
  EXPECT_EQ(j["server"], server.grpc_target());
}

// `llm2vec sentences` writes SimCSE's one-sentence-per-line data from
// documents; on the TinyStories slice it makes EVALUATION.md's SimCSE file
// (14,485 sentences, made by the session-2 script with the same rule).
TEST(ServerE2eTest, SentencesCommandMakesSimCsesDataFromDocuments) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  const std::string docs = tmp.Join("docs.txt"), out = tmp.Join("sentences.txt");
  std::ofstream(docs) << "Tom ran home. He was very happy! Hi.\n\n"
                      << "  \"Look at the dog,\" said Mom. The dog ran away fast.  \n";
  const std::string cli = absl::StrCat(LLM2VEC_CLI_BIN, " sentences ");
  const std::string err = tmp.Join("stderr.txt");
  ASSERT_EQ(RunCommand(cli + "--input " + docs + " --output " + out, err).first, 0);
  std::ifstream in(out);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, "He was very happy!\n\"Look at the dog,\" said Mom.\nThe dog ran away fast.\n");
  std::ifstream err_in(err);
  const std::string summary((std::istreambuf_iterator<char>(err_in)),
                            std::istreambuf_iterator<char>());
  EXPECT_NE(summary.find("3 lines -> 3 sentences (2 under 4 words dropped)"), std::string::npos)
      << summary;

  ASSERT_EQ(RunCommand(cli + "--input " + TestdataPath("data/tinystories/tinystories_val_slice.txt") +
                           " --output " + out,
                       err)
                .first,
            0);
  std::ifstream sentences(out);
  int64_t lines = 0;
  for (std::string line; std::getline(sentences, line);) ++lines;
  EXPECT_EQ(lines, 14485);
  EXPECT_EQ(RunCommand(cli + "--input " + tmp.Join("missing.txt"), err).first, 1);
}

// `llm2vec embed` against the server writes what `llm2vec encode` writes
// offline (so scripts can switch), and every command exits 1 when the work
// fails and 2 when the command line is wrong.
TEST(ServerE2eTest, CliEmbedMatchesEncodeAndExitCodesSayWhy) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  ServerProcess server({"--max-batch-requests", "1"});
  const std::string texts = tmp.path() + "/texts.txt";
  {
    std::ofstream f(texts);
    for (const auto& t : kTexts) f << t << "\n";
  }
  const std::string cli = absl::StrCat(LLM2VEC_CLI_BIN, " ");
  const std::string at = " --server " + server.grpc_target();
  const std::string err = tmp.path() + "/stderr.txt";
  // One text per forward pass and one thread, as the server runs them.
  auto [encode_code, encoded] = RunCommand(
      cli + "encode --threads 1 --batch-tokens 1 --model " + DemoModel() + " --input " + texts, err);
  EXPECT_EQ(encode_code, 0);
  auto [embed_code, embedded] = RunCommand(cli + "embed" + at + " --input " + texts, err);
  EXPECT_EQ(embed_code, 0);
  EXPECT_EQ(std::count(embedded.begin(), embedded.end(), '\n'),
            static_cast<std::ptrdiff_t>(kTexts.size()));
  EXPECT_EQ(embedded, encoded);

  // The work fails: exit 1.
  EXPECT_EQ(RunCommand(cli + "embed --server 127.0.0.1:1 --input " + texts, err).first, 1);
  EXPECT_EQ(RunCommand(cli + "embed" + at + " --adapter no-such --input " + texts, err).first, 1);
  EXPECT_EQ(RunCommand(cli + "info" + at, err).first, 0);
  EXPECT_EQ(RunCommand(cli + "encode --model /no/such/model --input " + texts, err).first, 1);
  EXPECT_EQ(RunCommand(cli + "jobs get job-404" + at, err).first, 1);
  // The command line is wrong: exit 2.
  EXPECT_EQ(RunCommand(cli + "embed --no-such-flag", err).first, 2);
  EXPECT_EQ(RunCommand(cli + "frobnicate", err).first, 2);
  EXPECT_EQ(RunCommand(cli + "jobs" + at, err).first, 2);
  EXPECT_EQ(RunCommand(cli + "eval --task sts" + at + " --model " + DemoModel(), err).first, 2);
}

TEST(ServerE2eTest, StatusCodesFollowTheTable) {
  LLM2VEC_REQUIRE_TESTDATA();
  ServerProcess server({"--max-input-tokens", "16"});
  auto code_of = [&](const v1::EmbedRequest& r) { return server.client().Embed(r).status().code(); };
  // INVALID_ARGUMENT: empty request, too many tokens without truncation,
  // dimensions beyond the model, with the offending index and value named.
  EXPECT_EQ(code_of(v1::EmbedRequest()), absl::StatusCode::kInvalidArgument);
  v1::EmbedRequest long_text = Texts({"short", kTexts[2]});
  long_text.mutable_options()->set_truncate(v1::TRUNCATE_NONE);
  auto refused = server.client().Embed(long_text);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(refused.status().message()).find("inputs[1]"), std::string::npos)
      << refused.status();
  EXPECT_NE(std::string(refused.status().message()).find("16"), std::string::npos);
  long_text.mutable_options()->set_truncate(v1::TRUNCATE_END);
  auto truncated = server.client().Embed(long_text);
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_EQ(truncated->embeddings(1).tokens(), 16u);
  v1::EmbedRequest wide = Texts({"hello"});
  wide.mutable_options()->set_dimensions(65);
  auto too_wide = server.client().Embed(wide);
  EXPECT_EQ(too_wide.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(too_wide.status().message()).find("65"), std::string::npos);
  // NOT_FOUND: an adapter that is not loaded.
  v1::EmbedRequest adapter = Texts({"hello"});
  adapter.mutable_options()->set_adapter("nope");
  EXPECT_EQ(code_of(adapter), absl::StatusCode::kNotFound);
  EXPECT_EQ(server.client().UnloadAdapter("nope").code(), absl::StatusCode::kNotFound);
  // HTTP maps the same table.
  EXPECT_EQ(Http(server.http_port(), "POST", "/v1/embeddings", R"({"input": []})").first, 400);
}

TEST(ServerE2eTest, OverloadDeadlinesCancellationAndMetrics) {
  LLM2VEC_REQUIRE_TESTDATA();
  // A slow device (the test build of the server) and a queue of two inputs.
  ServerProcess server({"--max-batch-requests", "1", "--max-queue-requests", "2"},
                       absl::Milliseconds(400));
  // Occupy the device, then fill the queue from several clients at once.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, exhausted{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i]() {
      auto r = server.client().Embed(Texts({kTexts[i % kTexts.size()]}));
      if (r.ok()) ++ok;
      if (r.status().code() == absl::StatusCode::kResourceExhausted) ++exhausted;
    });
  }
  for (auto& t : threads) t.join();
  // One runs, two wait, the rest are refused at once; nothing is lost.
  EXPECT_GE(exhausted.load(), 1);
  EXPECT_EQ(ok.load() + exhausted.load(), 6);

  // DEADLINE_EXCEEDED while queued behind a slow batch: dropped before compute.
  std::thread busy([&]() { (void)server.client().Embed(Texts({"busy"})); });
  absl::SleepFor(absl::Milliseconds(50));  // setup only: let "busy" reach the device
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(150));
    v1::EmbedResponse response;
    grpc::Status s = server.client().stub().Embed(&context, Texts({"late"}), &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // Cancellation while queued.
  {
    grpc::ClientContext context;
    std::thread canceller([&]() {
      absl::SleepFor(absl::Milliseconds(50));
      context.TryCancel();
    });
    v1::EmbedResponse response;
    grpc::Status s = server.client().stub().Embed(&context, Texts({"cancel me"}), &response);
    canceller.join();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED);
  }
  busy.join();
  // Let the server notice (the queue drops expired/cancelled tasks when the
  // device frees up), then read the counters.
  absl::Time until = absl::Now() + absl::Seconds(10);
  std::string text;
  do {
    text = Http(server.metrics_port(), "GET", "/metrics").second;
  } while ((Sample(text, R"(llm2vec_dropped_tasks_total{reason="deadline"})") < 1 ||
            Sample(text, R"(llm2vec_dropped_tasks_total{reason="cancelled"})") < 1) &&
           absl::Now() < until && (absl::SleepFor(absl::Milliseconds(100)), true));
  EXPECT_GE(Sample(text, R"(llm2vec_dropped_tasks_total{reason="deadline"})"), 1) << text;
  EXPECT_GE(Sample(text, R"(llm2vec_dropped_tasks_total{reason="cancelled"})"), 1);
  EXPECT_GE(Sample(text, R"(llm2vec_rejected_requests_total{reason="queue_full"})"), 1);
  EXPECT_GE(Sample(text, R"(llm2vec_requests_total{method="Embed",outcome="OK"})"), 1);
  // The exposition parses (promtool, installed by setup.sh).
  if (system("command -v promtool >/dev/null 2>&1") == 0) {
    const std::string file = server.dir() + "/metrics.txt";
    std::ofstream(file) << text;
    EXPECT_EQ(system(("promtool check metrics < " + file + " >/dev/null").c_str()), 0);
  }
}

// An HTTP client that hangs up while its request is queued cancels it: the
// queue drops the work before compute, as for a cancelled gRPC call.
TEST(ServerE2eTest, HttpClientThatHangsUpCancelsItsQueuedWork) {
  LLM2VEC_REQUIRE_TESTDATA();
  ServerProcess server({"--max-batch-requests", "1"}, absl::Milliseconds(1000));
  const double batches_before = Sample(Http(server.metrics_port(), "GET", "/metrics").second,
                                       "llm2vec_inference_duration_seconds_count");
  std::thread busy([&]() { (void)server.client().Embed(Texts({"busy"})); });
  absl::SleepFor(absl::Milliseconds(50));  // setup only: let "busy" reach the device
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server.http_port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string body = R"({"input": "hang up on me"})";
  const std::string request = absl::StrCat("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n",
                                           "Content-Type: application/json\r\nContent-Length: ",
                                           body.size(), "\r\n\r\n", body);
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  absl::SleepFor(absl::Milliseconds(50));  // setup only: let the request queue
  close(fd);
  busy.join();
  // The call ends when the watcher sees the hang-up; the queue drops its
  // task when the device next looks (after "busy"): wait for both.
  const absl::Time until = absl::Now() + absl::Seconds(10);
  std::string text;
  do {
    text = Http(server.metrics_port(), "GET", "/metrics").second;
  } while ((Sample(text, R"(llm2vec_requests_total{method="http_embeddings",outcome="CANCELLED"})") <
                1 ||
            Sample(text, R"(llm2vec_dropped_tasks_total{reason="cancelled"})") < 1) &&
           absl::Now() < until && (absl::SleepFor(absl::Milliseconds(100)), true));
  EXPECT_EQ(Sample(text, R"(llm2vec_requests_total{method="http_embeddings",outcome="CANCELLED"})"),
            1)
      << text;
  EXPECT_EQ(Sample(text, R"(llm2vec_dropped_tasks_total{reason="cancelled"})"), 1);
  // Only "busy" was computed.
  EXPECT_EQ(Sample(text, "llm2vec_inference_duration_seconds_count"), batches_before + 1);
}

// The thread ids of process `pid`.
std::set<std::string> ThreadIds(pid_t pid) {
  std::set<std::string> ids;
  const std::string dir = absl::StrCat("/proc/", pid, "/task");
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ids.insert(entry.path().filename().string());
  }
  return ids;
}

// The threads that served one burst of concurrent calls serve the next
// (--rpc-threads): with gRPC's default of two idle threads, every call of a
// burst started a thread and ended it afterwards, which cost 5-9% of the
// throughput at 64 clients on a 2-vCPU host.
TEST(ServerE2eTest, RpcThreadsServeBurstAfterBurst) {
  LLM2VEC_REQUIRE_TESTDATA();
  // Slow batches keep every call of a burst in flight for 200-400 ms.
  ServerProcess server({}, absl::Milliseconds(200));
  constexpr int kCalls = 12;
  auto burst = [&]() {
    std::vector<std::thread> calls;
    for (int i = 0; i < kCalls; ++i) {
      calls.emplace_back([&, i]() {
        EXPECT_TRUE(server.client().Embed(Texts({kTexts[i % kTexts.size()]})).ok());
      });
    }
    for (auto& t : calls) t.join();
  };
  burst();
  const std::set<std::string> before = ThreadIds(server.pid());
  // Every thread that exists at any time during the second burst (a thread
  // started for a call lives as long as the call, far longer than a scan).
  std::atomic<bool> done{false};
  std::set<std::string> seen;
  std::thread scanner([&]() {
    while (!done.load()) {
      for (const std::string& id : ThreadIds(server.pid())) seen.insert(id);
      absl::SleepFor(absl::Milliseconds(1));
    }
  });
  burst();
  done.store(true);
  scanner.join();
  std::vector<std::string> started;
  for (const std::string& id : seen) {
    if (before.count(id) == 0) started.push_back(id);
  }
  EXPECT_LE(started.size(), 2u) << "threads started by the second burst of " << kCalls
                                << " calls: " << absl::StrJoin(started, " ");
}

// Without keys or TLS, listening beyond this machine must be asked for.
TEST(ServerE2eTest, ANonLoopbackHostNeedsAllowUnauthenticated) {
  LLM2VEC_REQUIRE_TESTDATA();
  char dir[] = "/tmp/llm2vec_host_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string err = std::string(dir) + "/err.txt";
  const auto [code, out] = RunCommand(
      absl::StrCat(LLM2VEC_SERVER_BIN, " --model ", DemoModel(),
                   " --host 0.0.0.0 --port 0 --http-port -1 --metrics-port -1 --state-dir none"),
      err);
  std::ifstream in(err);
  const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  (void)::system(absl::StrCat("rm -rf ", dir).c_str());
  EXPECT_EQ(code, 2) << message;
  EXPECT_NE(message.find("--host 0.0.0.0 accepts connections from other machines"),
            std::string::npos)
      << message;
  ServerProcess server({"--host", "0.0.0.0", "--allow-unauthenticated"});
  EXPECT_TRUE(server.client().Info().ok());
  EXPECT_NE(server.Log().find("WARNING: listening on 0.0.0.0 without authentication"),
            std::string::npos)
      << server.Log();
}

TEST(ServerE2eTest, StreamKeepsRequestOrder) {
  LLM2VEC_REQUIRE_TESTDATA();
  ServerProcess server({});
  grpc::ClientContext context;
  auto stream = server.client().stub().EmbedStream(&context);
  const int n = 40;
  std::thread writer([&]() {
    for (int i = 0; i < n; ++i) {
      v1::EmbedRequest r = Texts({kTexts[i % kTexts.size()] + std::string(i % 7, '!')});
      r.set_request_id(std::to_string(i));
      stream->Write(r);
    }
    stream->WritesDone();
  });
  std::vector<std::string> ids;
  v1::EmbedResponse response;
  while (stream->Read(&response)) ids.push_back(response.request_id());
  writer.join();
  EXPECT_TRUE(stream->Finish().ok());
  ASSERT_EQ(ids.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(ids[i], std::to_string(i));
}

int ThreadCount(pid_t pid) {
  int n = 0;
  if (DIR* d = opendir(absl::StrCat("/proc/", pid, "/task").c_str())) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

// A stream's in-flight requests run on the server's stream pool: twenty
// waiting requests do not make twenty threads (they used to).
TEST(ServerE2eTest, StreamRequestsInFlightDoNotEachTakeAThread) {
  LLM2VEC_REQUIRE_TESTDATA();
  // One request per batch, each batch 100 ms: the requests behind the
  // first stay in flight for about two seconds.
  ServerProcess server({"--stream-threads", "2", "--max-batch-requests", "1"},
                       absl::Milliseconds(100));
  ASSERT_TRUE(server.client().Info().ok());
  const int before = ThreadCount(server.pid());
  grpc::ClientContext context;
  auto stream = server.client().stub().EmbedStream(&context);
  const int n = 20;
  for (int i = 0; i < n; ++i) {
    v1::EmbedRequest r = Texts({kTexts[i % kTexts.size()]});
    r.set_request_id(std::to_string(i));
    ASSERT_TRUE(stream->Write(r));
  }
  stream->WritesDone();
  v1::EmbedResponse response;
  ASSERT_TRUE(stream->Read(&response));  // the first answer; the others wait
  const int during = ThreadCount(server.pid());
  int answered = 1;
  while (stream->Read(&response)) ++answered;
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answered, n);
  // The stream's call and writer threads; not one per request.
  EXPECT_LE(during - before, 4) << before << " threads before the stream, " << during
                                << " while " << n - 1 << " requests were in flight";
}

// Writes a PEFT LoRA adapter for stories260K (seeded random A, B).
std::string WriteAdapter(const std::string& dir) {
  auto model = LoadModel(DemoModel(), LoadOptions());
  const ModelConfig config = model->transformer->config();
  (void)::system(("mkdir -p " + dir).c_str());
  std::ofstream(dir + "/adapter_config.json")
      << R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]})";
  std::vector<std::vector<float>> storage;
  std::map<std::string, SafetensorsEntry> tensors;
  uint32_t seed = 1;
  for (int64_t l = 0; l < config.num_layers; ++l) {
    for (const char* m : {"q_proj", "v_proj"}) {
      const std::string hf = absl::StrCat("model.layers.", l, ".self_attn.", m, ".weight");
      const auto shape = ExpectedShape(config, hf);
      for (bool b : {false, true}) {
        std::vector<int64_t> s = b ? std::vector<int64_t>{shape[0], 4} : std::vector<int64_t>{4, shape[1]};
        storage.emplace_back(s[0] * s[1]);
        for (float& v : storage.back()) v = ((seed = seed * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
        tensors[absl::StrCat("base_model.model.model.layers.", l, ".self_attn.", m,
                             b ? ".lora_B.weight" : ".lora_A.weight")] = {
            "F32", s, storage.back().data(), storage.back().size() * sizeof(float)};
      }
    }
  }
  EXPECT_TRUE(WriteSafetensors(dir + "/adapter_model.safetensors", tensors).ok());
  return dir;
}

TEST(ServerE2eTest, AdaptersLoadAndUnloadUnderTraffic) {
  LLM2VEC_REQUIRE_TESTDATA();
  ServerProcess server({});
  // Under the adapter root (the state dir's adapters/): LoadAdapter reads
  // nowhere else.
  const std::string adapter = WriteAdapter(server.dir() + "/state/adapters/tuned-src");
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, done{0};
  std::thread traffic([&]() {
    while (!stop.load()) {
      auto r = server.client().Embed(Texts(kTexts));
      if (!r.ok()) ++failures;
      ++done;
    }
  });
  auto base = server.client().Embed(Texts({kTexts[0]}));
  ASSERT_TRUE(base.ok());
  ASSERT_TRUE(server.client().LoadAdapter("tuned", adapter).ok());
  EXPECT_EQ(server.client().LoadAdapter("tuned", adapter).code(), absl::StatusCode::kAlreadyExists);
  v1::EmbedRequest with = Texts({kTexts[0]});
  with.mutable_options()->set_adapter("tuned");
  auto tuned = server.client().Embed(with);
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  float diff = 0;
  for (int d = 0; d < 64; ++d) {
    diff = std::max(diff, std::fabs(tuned->embeddings(0).values(d) - base->embeddings(0).values(d)));
  }
  EXPECT_GT(diff, 1e-3);
  auto info = server.client().Info();
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->adapters_size(), 1);
  EXPECT_EQ(info->adapters(0), "tuned");
  ASSERT_TRUE(server.client().UnloadAdapter("tuned").ok());
  EXPECT_EQ(server.client().Embed(with).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(server.client().LoadAdapter("bad", server.dir() + "/missing").code(),
            absl::StatusCode::kNotFound);
  // Relative to the root works too; outside it, existing or not, one answer.
  ASSERT_TRUE(server.client().LoadAdapter("relative", "tuned-src").ok());
  const absl::Status etc = server.client().LoadAdapter("probe", "/etc");
  EXPECT_EQ(etc.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(etc.message(), "path '/etc' is not a folder under the server's adapter root; give it "
                           "relative to the root");
  while (done.load() < 3) absl::SleepFor(absl::Milliseconds(10));
  stop.store(true);
  traffic.join();
  EXPECT_EQ(failures.load(), 0);  // base traffic never disturbed
}

TEST(ServerE2eTest, SigtermDrainsQueuedWorkAndRefusesNewWork) {
  LLM2VEC_REQUIRE_TESTDATA();
  ServerProcess server({"--max-batch-requests", "1"}, absl::Milliseconds(300));
  std::atomic<int> ok{0};
  std::vector<std::thread> queued;
  for (int i = 0; i < 3; ++i) {
    queued.emplace_back([&]() {
      if (server.client().Embed(Texts({"queued before the signal"})).ok()) ++ok;
    });
  }
  absl::SleepFor(absl::Milliseconds(100));  // setup only: let them queue
  server.Signal(SIGTERM, /*wait=*/false);
  absl::SleepFor(absl::Milliseconds(100));
  // New work is refused (or the port is already closed) and health says so.
  auto late = server.client().Embed(Texts({"after the signal"}));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnavailable) << late.status();
  EXPECT_NE(Http(server.http_port(), "GET", "/health").first, 200);
  for (auto& t : queued) t.join();
  EXPECT_EQ(ok.load(), 3);  // queued work finished
  const int status = server.Signal(0, /*wait=*/true);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server.Log();
}

}  // namespace
}  // namespace llm2vec
