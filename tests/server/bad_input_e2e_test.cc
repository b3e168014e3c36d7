// End-to-end: one table of bad values for every client-controlled field of
// every RPC and of the HTTP endpoint (empty, huge, negative, NaN, unknown
// enum, invalid UTF-8, NUL, unknown adapter, too many inputs, 0 and too many
// dimensions, one 100 kB word). Each row states the code it must get and a
// text its message must hold (the field's name); after every row the
// server must still be healthy and still embed.
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "llm2vec/v1/embedding.grpc.pb.h"
#include "llm2vec/v1/training.grpc.pb.h"
#include "tests/server/server_process.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::Http;
using ::llm2vec::testing::ServerProcess;
using ::llm2vec::testing::TempDir;

constexpr int kMaxInputs = 8;
constexpr int kMaxInputBytes = 200000;

v1::EmbedRequest One(const std::string& text) {
  v1::EmbedRequest r;
  r.add_inputs()->set_text(text);
  return r;
}

struct GrpcRow {
  std::string name;
  std::function<grpc::Status(grpc::ClientContext*, v1::EmbeddingService::Stub*,
                             v1::TrainingService::Stub*)>
      call;
  grpc::StatusCode code;
  std::string message;  // must appear in the error message ("" with OK)
};

// Embed with `request`.
std::function<grpc::Status(grpc::ClientContext*, v1::EmbeddingService::Stub*,
                           v1::TrainingService::Stub*)>
Embed(v1::EmbedRequest request) {
  return [request](grpc::ClientContext* c, v1::EmbeddingService::Stub* e,
                   v1::TrainingService::Stub*) {
    v1::EmbedResponse response;
    return e->Embed(c, request, &response);
  };
}

// Embed of "hello" with options changed by `change`.
std::function<grpc::Status(grpc::ClientContext*, v1::EmbeddingService::Stub*,
                           v1::TrainingService::Stub*)>
EmbedWith(std::function<void(v1::EmbedOptions*)> change) {
  v1::EmbedRequest r = One("hello");
  change(r.mutable_options());
  return Embed(r);
}

std::function<grpc::Status(grpc::ClientContext*, v1::EmbeddingService::Stub*,
                           v1::TrainingService::Stub*)>
Similarity(v1::SimilarityRequest request) {
  return [request](grpc::ClientContext* c, v1::EmbeddingService::Stub* e,
                   v1::TrainingService::Stub*) {
    v1::SimilarityResponse response;
    return e->Similarity(c, request, &response);
  };
}

std::function<grpc::Status(grpc::ClientContext*, v1::EmbeddingService::Stub*,
                           v1::TrainingService::Stub*)>
Tokenize(v1::TokenizeRequest request) {
  return [request](grpc::ClientContext* c, v1::EmbeddingService::Stub* e,
                   v1::TrainingService::Stub*) {
    v1::TokenizeResponse response;
    return e->Tokenize(c, request, &response);
  };
}

std::function<grpc::Status(grpc::ClientContext*, v1::EmbeddingService::Stub*,
                           v1::TrainingService::Stub*)>
Train(std::function<void(v1::TrainRequest*)> change) {
  v1::TrainRequest r;
  r.set_objective(v1::OBJECTIVE_MNTP);
  r.set_data_path("stories.txt");
  r.set_output_adapter("fresh");
  r.mutable_hyperparameters()->set_steps(2);
  change(&r);
  return [r](grpc::ClientContext* c, v1::EmbeddingService::Stub*, v1::TrainingService::Stub* t) {
    v1::TrainResponse response;
    return t->Train(c, r, &response);
  };
}

TEST(BadInputE2eTest, EveryFieldRefusesBadValuesByNameAndTheServerStaysHealthy) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  ASSERT_EQ(::system(("mkdir -p " + tmp.Join("data") + " " + tmp.Join("adapters")).c_str()), 0);
  {
    std::ofstream data(tmp.Join("data/stories.txt"));
    for (int i = 0; i < 20; ++i) data << "Once upon a time there was a little dog.\n";
  }
  ServerProcess server({"--max-inputs-per-request", std::to_string(kMaxInputs),
                        "--max-input-bytes", std::to_string(kMaxInputBytes),
                        "--training-data-root", tmp.Join("data"), "--adapter-root",
                        tmp.Join("adapters"), "--max-training-memory", "1G"});
  auto channel = grpc::CreateChannel(server.grpc_target(), grpc::InsecureChannelCredentials());
  auto embedding = v1::EmbeddingService::NewStub(channel);
  auto training = v1::TrainingService::NewStub(channel);

  const std::string word(100000, 'x');  // one 100 kB word: embeds (cut by tokens)
  v1::EmbedRequest too_many;
  for (int i = 0; i <= kMaxInputs; ++i) too_many.add_inputs()->set_text("a");
  v1::EmbedRequest long_instruction = One("a");
  long_instruction.mutable_inputs(0)->set_instruction(std::string(kMaxInputBytes, 'i'));
  v1::EmbedRequest empty_second = One("a");
  empty_second.add_inputs()->set_text("");
  v1::EmbedRequest long_id = One("a");
  long_id.set_request_id(std::string(1000, 'r'));
  v1::SimilarityRequest both;
  both.add_pairs();
  both.mutable_query()->set_text("q");
  v1::SimilarityRequest no_candidates;
  no_candidates.mutable_query()->set_text("q");
  v1::TokenizeRequest no_inputs;
  v1::TokenizeRequest huge_tokenize;
  huge_tokenize.add_inputs()->set_text(std::string(kMaxInputBytes + 1, 'a'));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Token-id inputs (the demo model's vocabulary has 512 tokens).
  v1::EmbedRequest outside_vocab;
  outside_vocab.add_inputs()->add_token_ids(5);
  outside_vocab.mutable_inputs(0)->add_token_ids(512);
  v1::EmbedRequest ids_and_text = outside_vocab;
  ids_and_text.mutable_inputs(0)->set_token_ids(1, 6);
  ids_and_text.mutable_inputs(0)->set_text("a");
  v1::EmbedRequest huge_id;
  huge_id.add_inputs()->add_token_ids(4294967295u);
  v1::EmbedRequest too_many_ids;
  too_many_ids.add_inputs();
  for (int i = 0; i <= kMaxInputBytes / 4; ++i) too_many_ids.mutable_inputs(0)->add_token_ids(7);
  v1::TokenizeRequest tokenize_ids;
  tokenize_ids.add_inputs()->add_token_ids(5);

  using C = grpc::StatusCode;
  const std::vector<GrpcRow> rows = {
      {"Embed: no inputs", Embed(v1::EmbedRequest()), C::INVALID_ARGUMENT, "inputs is empty"},
      {"Embed: too many inputs", Embed(too_many), C::INVALID_ARGUMENT, "inputs has 9 entries"},
      {"Embed: empty text", Embed(empty_second), C::INVALID_ARGUMENT, "inputs[1]"},
      {"Embed: huge text", Embed(One(std::string(kMaxInputBytes + 1, 'a'))), C::INVALID_ARGUMENT,
       "inputs[0] is 200001 bytes; max_input_bytes is 200000"},
      {"Embed: huge instruction", Embed(long_instruction), C::INVALID_ARGUMENT,
       "inputs[0] is 200001 bytes"},
      {"Embed: one 100 kB word", Embed(One(word)), C::OK, ""},
      {"Embed: token id outside the vocabulary", Embed(outside_vocab), C::INVALID_ARGUMENT,
       "inputs[0] token_ids[1] is 512; the vocabulary has 512 tokens"},
      {"Embed: token ids and text", Embed(ids_and_text), C::INVALID_ARGUMENT,
       "inputs[0] has token ids and text or an instruction; send one"},
      {"Embed: token id above 2^31", Embed(huge_id), C::INVALID_ARGUMENT,
       "inputs[0].token_ids[0] is 4294967295; token ids are below 2^31"},
      {"Embed: too many token ids", Embed(too_many_ids), C::INVALID_ARGUMENT,
       "inputs[0] is 200004 bytes (4 per token id); max_input_bytes is 200000"},
      // A proto3 string must be UTF-8: gRPC's own parsing refuses the
      // message (INTERNAL, no message) before any handler runs.
      {"Embed: invalid UTF-8", Embed(One("a\xff\xfe")), C::INTERNAL, ""},
      {"Embed: NUL in the text", Embed(One(std::string("a\0b", 3))), C::OK, ""},
      {"Embed: request_id too long", Embed(long_id), C::INVALID_ARGUMENT, "request_id"},
      {"Embed: unknown pooling",
       EmbedWith([](v1::EmbedOptions* o) { o->set_pooling(static_cast<v1::Pooling>(42)); }),
       C::INVALID_ARGUMENT, "options.pooling 42"},
      {"Embed: negative pooling",
       EmbedWith([](v1::EmbedOptions* o) { o->set_pooling(static_cast<v1::Pooling>(-1)); }),
       C::INVALID_ARGUMENT, "options.pooling -1"},
      {"Embed: unknown truncate",
       EmbedWith([](v1::EmbedOptions* o) { o->set_truncate(static_cast<v1::Truncate>(9)); }),
       C::INVALID_ARGUMENT, "options.truncate 9"},
      {"Embed: unknown encoding",
       EmbedWith([](v1::EmbedOptions* o) { o->set_encoding(static_cast<v1::Encoding>(7)); }),
       C::INVALID_ARGUMENT, "options.encoding 7"},
      {"Embed: negative priority", EmbedWith([](v1::EmbedOptions* o) { o->set_priority(-1); }),
       C::INVALID_ARGUMENT, "options.priority -1"},
      {"Embed: huge priority",
       EmbedWith([](v1::EmbedOptions* o) { o->set_priority(std::numeric_limits<int32_t>::max()); }),
       C::INVALID_ARGUMENT, "options.priority 2147483647"},
      {"Embed: too many dimensions", EmbedWith([](v1::EmbedOptions* o) { o->set_dimensions(65); }),
       C::INVALID_ARGUMENT, "options.dimensions 65 exceeds the embedding size 64"},
      {"Embed: max dimensions",
       EmbedWith([](v1::EmbedOptions* o) { o->set_dimensions(4294967295u); }),
       C::INVALID_ARGUMENT, "options.dimensions 4294967295"},
      {"Embed: 0 dimensions (the full size)",
       EmbedWith([](v1::EmbedOptions* o) { o->set_dimensions(0); }), C::OK, ""},
      {"Embed: unknown adapter", EmbedWith([](v1::EmbedOptions* o) { o->set_adapter("ghost"); }),
       C::NOT_FOUND, "options.adapter 'ghost' is not loaded"},
      {"Similarity: nothing", Similarity(v1::SimilarityRequest()), C::INVALID_ARGUMENT,
       "pairs, query"},
      {"Similarity: pairs and query", Similarity(both), C::INVALID_ARGUMENT, "pairs, query"},
      {"Similarity: query without candidates", Similarity(no_candidates), C::INVALID_ARGUMENT,
       "candidates is empty"},
      {"Tokenize: no inputs", Tokenize(no_inputs), C::INVALID_ARGUMENT, "inputs is empty"},
      {"Tokenize: token ids", Tokenize(tokenize_ids), C::INVALID_ARGUMENT,
       "inputs[0].token_ids: Tokenize takes text"},
      {"Tokenize: huge input", Tokenize(huge_tokenize), C::INVALID_ARGUMENT,
       "inputs[0] is 200001 bytes"},
      {"LoadAdapter: empty name",
       [](grpc::ClientContext* c, v1::EmbeddingService::Stub* e, v1::TrainingService::Stub*) {
         v1::LoadAdapterRequest r;
         r.set_path(".");
         v1::LoadAdapterResponse response;
         return e->LoadAdapter(c, r, &response);
       },
       C::INVALID_ARGUMENT, "adapter name ''"},
      {"LoadAdapter: path outside the root",
       [](grpc::ClientContext* c, v1::EmbeddingService::Stub* e, v1::TrainingService::Stub*) {
         v1::LoadAdapterRequest r;
         r.set_name("a");
         r.set_path("../../etc");
         v1::LoadAdapterResponse response;
         return e->LoadAdapter(c, r, &response);
       },
       C::NOT_FOUND, "path '../../etc' is not a folder under the server's adapter root"},
      {"UnloadAdapter: unknown name",
       [](grpc::ClientContext* c, v1::EmbeddingService::Stub* e, v1::TrainingService::Stub*) {
         v1::UnloadAdapterRequest r;
         r.set_name("ghost");
         v1::UnloadAdapterResponse response;
         return e->UnloadAdapter(c, r, &response);
       },
       C::NOT_FOUND, "adapter 'ghost' is not loaded"},
      {"Train: unknown objective",
       Train([](v1::TrainRequest* r) { r->set_objective(static_cast<v1::Objective>(77)); }),
       C::INVALID_ARGUMENT, "objective"},
      {"Train: huge batch_size",
       Train([](v1::TrainRequest* r) { r->mutable_hyperparameters()->set_batch_size(100000000); }),
       C::INVALID_ARGUMENT, "batch_size"},
      {"Train: negative steps",
       Train([](v1::TrainRequest* r) { r->mutable_hyperparameters()->set_steps(-5); }),
       C::INVALID_ARGUMENT, "steps"},
      {"Train: NaN learning_rate",
       Train([nan](v1::TrainRequest* r) { r->mutable_hyperparameters()->set_learning_rate(nan); }),
       C::INVALID_ARGUMENT, "learning_rate"},
      {"Train: huge max_length",
       Train([](v1::TrainRequest* r) { r->mutable_hyperparameters()->set_max_length(1 << 30); }),
       C::INVALID_ARGUMENT, "max_length"},
      {"Train: huge lora_r",
       Train([](v1::TrainRequest* r) { r->mutable_hyperparameters()->set_lora_r(1 << 20); }),
       C::INVALID_ARGUMENT, "lora_r"},
      // In the table's ranges but beyond what this model or machine allows.
      {"Train: max_length over the model's positions",
       Train([](v1::TrainRequest* r) { r->mutable_hyperparameters()->set_max_length(65536); }),
       C::INVALID_ARGUMENT, "hyperparameters.max_length 65536 exceeds the model's"},
      {"Train: lora_r over the hidden size",
       Train([](v1::TrainRequest* r) { r->mutable_hyperparameters()->set_lora_r(4096); }),
       C::INVALID_ARGUMENT, "hyperparameters.lora_r 4096 exceeds the model's hidden size"},
      {"Train: batch x length over --max-training-memory",
       Train([](v1::TrainRequest* r) {
         r->mutable_hyperparameters()->set_batch_size(65536);
         r->mutable_hyperparameters()->set_max_length(256);
       }),
       C::INVALID_ARGUMENT, "over the server's limit of 1.00 GiB (--max-training-memory)"},
      {"Train: empty data_path", Train([](v1::TrainRequest* r) { r->set_data_path(""); }),
       C::INVALID_ARGUMENT, "data_path"},
      {"Train: NUL in output_adapter",
       Train([](v1::TrainRequest* r) { r->set_output_adapter(std::string("a\0b", 3)); }),
       C::INVALID_ARGUMENT, "output_adapter"},
      {"GetJob: unknown id",
       [](grpc::ClientContext* c, v1::EmbeddingService::Stub*, v1::TrainingService::Stub* t) {
         v1::GetJobRequest r;
         r.set_id(std::string(100000, 'j'));
         v1::Job job;
         return t->GetJob(c, r, &job);
       },
       C::INVALID_ARGUMENT, "id is 100000 bytes; job ids are at most 64"},
      {"LoadAdapter: a 1 MB path (the echo is cut)",
       [](grpc::ClientContext* c, v1::EmbeddingService::Stub* e, v1::TrainingService::Stub*) {
         v1::LoadAdapterRequest r;
         r.set_name("a");
         r.set_path(std::string(1 << 20, 'p'));
         v1::LoadAdapterResponse response;
         return e->LoadAdapter(c, r, &response);
       },
       C::NOT_FOUND, "more bytes)"},
      {"ListJobs: negative limit",
       [](grpc::ClientContext* c, v1::EmbeddingService::Stub*, v1::TrainingService::Stub* t) {
         v1::ListJobsRequest r;
         r.set_limit(-1);
         v1::ListJobsResponse response;
         return t->ListJobs(c, r, &response);
       },
       C::INVALID_ARGUMENT, "limit -1"},
      {"ListJobs: unknown state",
       [](grpc::ClientContext* c, v1::EmbeddingService::Stub*, v1::TrainingService::Stub* t) {
         v1::ListJobsRequest r;
         r.add_states(static_cast<v1::JobState>(99));
         v1::ListJobsResponse response;
         return t->ListJobs(c, r, &response);
       },
       C::INVALID_ARGUMENT, "states: 99"},
  };
  for (const GrpcRow& row : rows) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    const grpc::Status s = row.call(&context, embedding.get(), training.get());
    EXPECT_EQ(s.error_code(), row.code) << row.name << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(row.message), std::string::npos)
        << row.name << ": " << s.error_message();
    // Still healthy, still embedding.
    auto serving = server.client().Serving();
    ASSERT_TRUE(serving.ok() && *serving) << row.name << "\n" << server.Log();
    ASSERT_TRUE(server.client().Embed(One("still here")).ok()) << row.name;
  }

  // HTTP: the same kinds of values in /v1/embeddings; "param" names the field.
  struct HttpRow {
    std::string name, body;
    int status;
    std::string param;  // expected "param" (or a text of the message)
  };
  const std::string many = [] {
    std::string s = "[";
    for (int i = 0; i <= kMaxInputs; ++i) s += std::string(i ? "," : "") + "\"a\"";
    return s + "]";
  }();
  std::string ids_over;  // a token array one id over max_input_bytes / 4, with the 1 before
  for (int i = 0; i < kMaxInputBytes / 4; ++i) ids_over += ",2";
  std::string hundred_thousand = "\"a\"";
  for (int i = 1; i < 100000; ++i) hundred_thousand += ",\"a\"";
  const std::vector<HttpRow> http_rows = {
      {"no body", "", 400, ""},
      {"not JSON", "{", 400, ""},
      {"not an object", "[1]", 400, ""},
      {"no input", "{}", 400, "\"param\":\"input\""},
      {"empty list", R"({"input": []})", 400, "\"param\":\"input\""},
      {"empty string", R"({"input": ""})", 400, "\"param\":\"input\""},
      {"number", R"({"input": 5})", 400, "\"param\":\"input\""},
      {"too many", absl::StrCat(R"({"input": )", many, "}"), 400,
       "'input' has more than 8 entries; max_inputs_per_request is 8"},
      // Counted while parsing: refused at the ninth of 100000 entries.
      {"100000 inputs", absl::StrCat(R"({"input": [)", hundred_thousand, "]}"), 400,
       "'input' has more than 8 entries"},
      {"token id outside the vocabulary", R"({"input": [[1, 512]]})", 400,
       "inputs[0] token_ids[1] is 512; the vocabulary has 512 tokens"},
      {"negative token id", R"({"input": [1, -1]})", 400, "\"param\":\"input\""},
      {"too many token ids", absl::StrCat(R"({"input": [1)", ids_over, "]}"), 400,
       "more than 50000 ids (max_input_bytes / 4)"},
      {"invalid UTF-8", "{\"input\": \"a\xff\xfe\"}", 400, ""},
      {"NUL", R"({"input": "a\u0000b"})", 200, ""},
      {"100 kB word", absl::StrCat(R"({"input": ")", word, R"("})"), 200, ""},
      {"huge text", absl::StrCat(R"({"input": ")", std::string(kMaxInputBytes + 1, 'a'), R"("})"),
       400, "max_input_bytes"},
      {"0 dimensions", R"({"input": "a", "dimensions": 0})", 400, "\"param\":\"dimensions\""},
      {"negative dimensions", R"({"input": "a", "dimensions": -3})", 400,
       "\"param\":\"dimensions\""},
      {"too many dimensions", R"({"input": "a", "dimensions": 65})", 400, "dimensions 65"},
      {"huge dimensions", R"({"input": "a", "dimensions": 18446744073709551615})", 400,
       "\"param\":\"dimensions\""},
      {"NaN dimensions", R"({"input": "a", "dimensions": NaN})", 400, ""},
      {"float dimensions", R"({"input": "a", "dimensions": 1.5})", 400,
       "\"param\":\"dimensions\""},
      {"unknown encoding", R"({"input": "a", "encoding_format": "hex"})", 400,
       "\"param\":\"encoding_format\""},
  };
  for (const HttpRow& row : http_rows) {
    auto [status, body] = Http(server.http_port(), "POST", "/v1/embeddings", row.body);
    EXPECT_EQ(status, row.status) << row.name << ": " << body;
    EXPECT_NE(body.find(row.param), std::string::npos) << row.name << ": " << body;
    if (status != 200) {
      EXPECT_NE(body.find("\"error\""), std::string::npos) << row.name << ": " << body;
    }
    auto serving = server.client().Serving();
    ASSERT_TRUE(serving.ok() && *serving) << row.name << "\n" << server.Log();
  }
}

}  // namespace
}  // namespace llm2vec
