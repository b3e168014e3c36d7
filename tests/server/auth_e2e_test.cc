// End-to-end: API keys and roles on the real server. Every RPC of both
// services (the table is checked against the services' descriptors, so a
// new RPC without an entry fails here) is called without a key, with an
// unknown key and with a key of each role; HTTP the same; job owners;
// SIGHUP reloading the key file; the command line clients' --api-key.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/sha256.h"
#include "llm2vec/v1/embedding.grpc.pb.h"
#include "llm2vec/v1/training.grpc.pb.h"
#include "tests/server/server_process.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::Http;
using ::llm2vec::testing::RunCommand;
using ::llm2vec::testing::ServerProcess;
using ::llm2vec::testing::TempDir;
using ::llm2vec::testing::WriteStories;
using ::llm2vec::testing::TestdataPath;

struct Key {
  std::string name, roles, secret;
};
const Key kReader{"reader", "embed", "l2v_reader-0123456789"};
const Key kTrainer{"trainer", "train", "l2v_trainer-0123456789"};
const Key kOther{"other-trainer", "train", "l2v_other-0123456789"};
const Key kOps{"ops", "admin", "l2v_ops-0123456789"};
const Key kUrgent{"urgent", "embed,priority", "l2v_urgent-0123456789"};

void WriteKeyFile(const std::string& path, const std::vector<Key>& keys) {
  std::ofstream out(path, std::ios::trunc);
  out << "# name roles sha256\n";
  for (const Key& k : keys) out << k.name << " " << k.roles << " " << Sha256Hex(k.secret) << "\n";
  ASSERT_TRUE(out.good());
}

// A call's context with a deadline and, unless `secret` is "", the key.
void Prepare(grpc::ClientContext* context, const std::string& secret) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!secret.empty()) context->AddMetadata("authorization", "Bearer " + secret);
}

// Every RPC of both services, called with an empty request and `secret`.
struct Rpc {
  const char* role;  // the role it needs
  std::function<grpc::Status(const std::string& secret)> call;
};

std::map<std::string, Rpc> EveryRpc(const std::shared_ptr<grpc::Channel>& channel) {
  auto e = std::shared_ptr<v1::EmbeddingService::Stub>(v1::EmbeddingService::NewStub(channel));
  auto t = std::shared_ptr<v1::TrainingService::Stub>(v1::TrainingService::NewStub(channel));
  // A unary call of `method` on `stub`.
  auto unary = [](auto stub, auto method, auto request, auto response) {
    return [stub, method, request, response](const std::string& secret) mutable {
      grpc::ClientContext context;
      Prepare(&context, secret);
      return ((*stub).*method)(&context, request, &response);
    };
  };
  using E = v1::EmbeddingService::Stub;
  using T = v1::TrainingService::Stub;
  std::map<std::string, Rpc> rpcs;
  rpcs["llm2vec.v1.EmbeddingService.Embed"] = {
      "embed", unary(e, &E::Embed, v1::EmbedRequest(), v1::EmbedResponse())};
  rpcs["llm2vec.v1.EmbeddingService.EmbedStream"] = {"embed", [e](const std::string& secret) {
                                                       grpc::ClientContext context;
                                                       Prepare(&context, secret);
                                                       auto stream = e->EmbedStream(&context);
                                                       stream->WritesDone();
                                                       v1::EmbedResponse r;
                                                       while (stream->Read(&r)) {
                                                       }
                                                       return stream->Finish();
                                                     }};
  rpcs["llm2vec.v1.EmbeddingService.Similarity"] = {
      "embed", unary(e, &E::Similarity, v1::SimilarityRequest(), v1::SimilarityResponse())};
  rpcs["llm2vec.v1.EmbeddingService.Tokenize"] = {
      "embed", unary(e, &E::Tokenize, v1::TokenizeRequest(), v1::TokenizeResponse())};
  rpcs["llm2vec.v1.EmbeddingService.Info"] = {
      "embed", unary(e, &E::Info, v1::InfoRequest(), v1::InfoResponse())};
  rpcs["llm2vec.v1.EmbeddingService.LoadAdapter"] = {
      "admin", unary(e, &E::LoadAdapter, v1::LoadAdapterRequest(), v1::LoadAdapterResponse())};
  rpcs["llm2vec.v1.EmbeddingService.UnloadAdapter"] = {
      "admin",
      unary(e, &E::UnloadAdapter, v1::UnloadAdapterRequest(), v1::UnloadAdapterResponse())};
  rpcs["llm2vec.v1.TrainingService.Train"] = {
      "train", unary(t, &T::Train, v1::TrainRequest(), v1::TrainResponse())};
  rpcs["llm2vec.v1.TrainingService.GetJob"] = {
      "train", unary(t, &T::GetJob, v1::GetJobRequest(), v1::Job())};
  rpcs["llm2vec.v1.TrainingService.ListJobs"] = {
      "train", unary(t, &T::ListJobs, v1::ListJobsRequest(), v1::ListJobsResponse())};
  rpcs["llm2vec.v1.TrainingService.CancelJob"] = {
      "train", unary(t, &T::CancelJob, v1::CancelJobRequest(), v1::Job())};
  rpcs["llm2vec.v1.TrainingService.ResumeJob"] = {
      "train", unary(t, &T::ResumeJob, v1::ResumeJobRequest(), v1::Job())};
  rpcs["llm2vec.v1.TrainingService.WatchJob"] = {"train", [t](const std::string& secret) {
                                                   grpc::ClientContext context;
                                                   Prepare(&context, secret);
                                                   auto reader =
                                                       t->WatchJob(&context, v1::WatchJobRequest());
                                                   v1::JobEvent event;
                                                   while (reader->Read(&event)) {
                                                   }
                                                   return reader->Finish();
                                                 }};
  return rpcs;
}

bool AuthRefusal(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED;
}

class AuthE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LLM2VEC_REQUIRE_TESTDATA();
    key_file_ = tmp_.Join("keys");
    WriteKeyFile(key_file_, {kReader, kTrainer, kOther, kOps, kUrgent});
    WriteStories(tmp_.Join("data"), 100);
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{
        "--api-keys", key_file_, "--training-data-root", tmp_.Join("data"), "--adapter-root",
        tmp_.Join("adapters")});
    channel_ = grpc::CreateChannel(server_->grpc_target(), grpc::InsecureChannelCredentials());
  }

  TempDir tmp_;
  std::string key_file_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(AuthE2eTest, TheTableCoversEveryRpcOfBothServices) {
  std::set<std::string> served;
  for (const char* name : {"llm2vec.v1.EmbeddingService", "llm2vec.v1.TrainingService"}) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) served.insert(service->method(i)->full_name());
  }
  std::set<std::string> tested;
  for (const auto& [name, rpc] : EveryRpc(channel_)) tested.insert(name);
  EXPECT_EQ(served, tested);
}

TEST_F(AuthE2eTest, EveryRpcRefusesCallsWithoutAKnownKeyOrWithoutTheRole) {
  const std::vector<std::string> no_key = {"", "l2v_not-a-key", kReader.secret + "x"};
  for (auto& [name, rpc] : EveryRpc(channel_)) {
    for (const std::string& secret : no_key) {
      const grpc::Status s = rpc.call(secret);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << name << " key '" << secret
                                                                   << "': " << s.error_message();
      // Nothing about the keys the server knows.
      for (const Key& k : {kReader, kTrainer, kOther, kOps}) {
        EXPECT_EQ(s.error_message().find(k.name), std::string::npos) << s.error_message();
      }
    }
    for (const Key& key : {kReader, kTrainer, kOps}) {
      const grpc::Status s = rpc.call(key.secret);
      const bool allowed = key.roles == "admin" || key.roles == rpc.role;
      if (allowed) {
        EXPECT_FALSE(AuthRefusal(s.error_code()))
            << name << " as " << key.name << ": " << s.error_code() << " " << s.error_message();
      } else {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << name << " as " << key.name << ": " << s.error_message();
        EXPECT_NE(s.error_message().find(absl::StrCat("needs the role '", rpc.role, "'")),
                  std::string::npos)
            << s.error_message();
      }
    }
  }
  // Health needs no key (probes), and the server is still serving.
  auto serving = server_->client().Serving();
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_TRUE(*serving);
}

// High priority is served first, so it is a role: a key without it may
// not jump the queue (on Embed, Similarity, or inside a stream).
TEST_F(AuthE2eTest, HighPriorityNeedsThePriorityRole) {
  auto stub = v1::EmbeddingService::NewStub(channel_);
  v1::EmbedRequest embed;
  embed.add_inputs()->set_text("The cat sat on the mat.");
  embed.mutable_options()->set_priority(1);
  v1::SimilarityRequest similarity;
  similarity.add_pairs()->mutable_a()->set_text("a cat");
  similarity.mutable_pairs(0)->mutable_b()->set_text("a dog");
  similarity.mutable_options()->set_priority(1);
  for (const Key* key : {&kReader, &kUrgent, &kOps}) {
    SCOPED_TRACE(key->name);
    const bool allowed = key != &kReader;
    grpc::ClientContext c1, c2, c3;
    Prepare(&c1, key->secret);
    v1::EmbedResponse embedded;
    grpc::Status s = stub->Embed(&c1, embed, &embedded);
    EXPECT_EQ(s.error_code(), allowed ? grpc::StatusCode::OK : grpc::StatusCode::PERMISSION_DENIED)
        << s.error_message();
    if (!allowed) {
      EXPECT_EQ(s.error_message(),
                "options.priority 1 (high) needs the role 'priority'; this API key has: embed");
    }
    Prepare(&c2, key->secret);
    v1::SimilarityResponse scored;
    s = stub->Similarity(&c2, similarity, &scored);
    EXPECT_EQ(s.error_code(), allowed ? grpc::StatusCode::OK : grpc::StatusCode::PERMISSION_DENIED)
        << s.error_message();
    Prepare(&c3, key->secret);
    auto stream = stub->EmbedStream(&c3);
    v1::EmbedRequest normal = embed;
    normal.mutable_options()->set_priority(0);
    ASSERT_TRUE(stream->Write(normal));
    ASSERT_TRUE(stream->Write(embed));
    stream->WritesDone();
    int answers = 0;
    v1::EmbedResponse response;
    while (stream->Read(&response)) ++answers;
    s = stream->Finish();
    EXPECT_EQ(s.error_code(), allowed ? grpc::StatusCode::OK : grpc::StatusCode::PERMISSION_DENIED)
        << s.error_message();
    EXPECT_EQ(answers, allowed ? 2 : 1);  // the normal one is answered first
  }
  // A normal priority needs no more than embed.
  grpc::ClientContext c;
  Prepare(&c, kReader.secret);
  embed.mutable_options()->set_priority(0);
  v1::EmbedResponse embedded;
  EXPECT_TRUE(stub->Embed(&c, embed, &embedded).ok());
}

TEST_F(AuthE2eTest, HttpNeedsAKeyWithTheEmbedRoleExceptHealth) {
  const std::string body = R"({"input": ["Once upon a time"]})";
  auto bearer = [](const Key& k) { return "Authorization: Bearer " + k.secret + "\r\n"; };
  const int port = server_->http_port();

  auto none = Http(port, "POST", "/v1/embeddings", body);
  EXPECT_EQ(none.first, 401) << none.second;
  EXPECT_NE(none.second.find("\"code\":\"invalid_api_key\""), std::string::npos) << none.second;
  EXPECT_EQ(Http(port, "GET", "/v1/models").first, 401);
  EXPECT_EQ(Http(port, "POST", "/v1/embeddings", body, "Authorization: Bearer l2v_nope\r\n").first,
            401);

  auto trainer = Http(port, "POST", "/v1/embeddings", body, bearer(kTrainer));
  EXPECT_EQ(trainer.first, 403) << trainer.second;
  EXPECT_NE(trainer.second.find("needs the role 'embed'"), std::string::npos) << trainer.second;

  auto reader = Http(port, "POST", "/v1/embeddings", body, bearer(kReader));
  EXPECT_EQ(reader.first, 200) << reader.second;
  EXPECT_NE(reader.second.find("\"embedding\""), std::string::npos);
  EXPECT_EQ(Http(port, "GET", "/v1/models", "", bearer(kOps)).first, 200);
  EXPECT_EQ(Http(port, "GET", "/health").first, 200);
}

TEST_F(AuthE2eTest, JobsBelongToTheKeyThatSubmittedThem) {
  auto stub = v1::TrainingService::NewStub(channel_);
  v1::TrainRequest request;
  request.set_objective(v1::OBJECTIVE_MNTP);
  request.set_data_path("stories.txt");
  request.set_output_adapter("owned");
  request.mutable_hyperparameters()->set_steps(2);
  request.mutable_hyperparameters()->set_batch_size(2);
  request.mutable_hyperparameters()->set_max_length(32);
  v1::TrainResponse submitted;
  {
    grpc::ClientContext context;
    Prepare(&context, kTrainer.secret);
    grpc::Status s = stub->Train(&context, request, &submitted);
    ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << server_->Log();
  }
  const std::string id = submitted.job().id();
  EXPECT_EQ(submitted.job().owner(), "trainer");

  auto get = [&](const Key& key, const std::string& job_id, v1::Job* job) {
    grpc::ClientContext context;
    Prepare(&context, key.secret);
    v1::GetJobRequest r;
    r.set_id(job_id);
    return stub->GetJob(&context, r, job);
  };
  auto list = [&](const Key& key) {
    grpc::ClientContext context;
    Prepare(&context, key.secret);
    v1::ListJobsResponse response;
    EXPECT_TRUE(stub->ListJobs(&context, v1::ListJobsRequest(), &response).ok());
    return response;
  };
  v1::Job job;
  EXPECT_TRUE(get(kTrainer, id, &job).ok());
  EXPECT_TRUE(get(kOps, id, &job).ok());
  // To another train key the job does not exist: the same answer as a
  // missing one, to every call that names it.
  const grpc::Status theirs = get(kOther, id, &job);
  const grpc::Status missing = get(kOther, "job-999", &job);
  EXPECT_EQ(theirs.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(theirs.error_message(), absl::StrCat("no job '", id, "'"));
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  {
    grpc::ClientContext context;
    Prepare(&context, kOther.secret);
    v1::CancelJobRequest r;
    r.set_id(id);
    v1::Job cancelled;
    EXPECT_EQ(stub->CancelJob(&context, r, &cancelled).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    Prepare(&context, kOther.secret);
    v1::WatchJobRequest r;
    r.set_id(id);
    auto reader = stub->WatchJob(&context, r);
    v1::JobEvent event;
    EXPECT_FALSE(reader->Read(&event));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(list(kOther).jobs_size(), 0);
  ASSERT_EQ(list(kTrainer).jobs_size(), 1);
  EXPECT_EQ(list(kTrainer).jobs(0).owner(), "trainer");
  EXPECT_EQ(list(kOps).jobs_size(), 1);
}

TEST_F(AuthE2eTest, SighupReloadsTheKeysAndABadFileKeepsThem) {
  auto info = [&](const Key& key) {
    auto stub = v1::EmbeddingService::NewStub(channel_);
    grpc::ClientContext context;
    Prepare(&context, key.secret);
    v1::InfoResponse response;
    return stub->Info(&context, v1::InfoRequest(), &response).error_code();
  };
  const Key late{"late", "embed", "l2v_late-0123456789"};
  EXPECT_EQ(info(late), grpc::StatusCode::UNAUTHENTICATED);
  WriteKeyFile(key_file_, {late, kOps});
  server_->Signal(SIGHUP, /*wait=*/false);
  // The reload is done when the log says so (polled, with a deadline).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (server_->Log().find("reloaded the API keys") == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_NE(server_->Log().find("reloaded the API keys"), std::string::npos) << server_->Log();
  EXPECT_EQ(info(late), grpc::StatusCode::OK);
  EXPECT_EQ(info(kReader), grpc::StatusCode::UNAUTHENTICATED);  // removed from the file

  std::ofstream(key_file_, std::ios::trunc) << "late embed not-a-hash\n";
  server_->Signal(SIGHUP, /*wait=*/false);
  while (server_->Log().find("keeping the previous API keys") == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_NE(server_->Log().find("keeping the previous API keys"), std::string::npos)
      << server_->Log();
  EXPECT_EQ(info(late), grpc::StatusCode::OK);
  EXPECT_EQ(server_->Log().find("not-a-hash"), std::string::npos);
}

TEST_F(AuthE2eTest, TheCommandLineClientsSendTheKeyFromTheEnvironmentOrTheFlag) {
  const std::string cli = LLM2VEC_CLI_BIN;
  const std::string err = tmp_.Join("cli.err");
  const std::string server = " --server " + server_->grpc_target();

  auto without = RunCommand(cli + " info" + server, err);
  EXPECT_EQ(without.first, 1);
  auto with_env = RunCommand("LLM2VEC_API_KEY=" + kReader.secret + " " + cli + " info" + server, err);
  EXPECT_EQ(with_env.first, 0) << with_env.second;
  EXPECT_NE(with_env.second.find("\"architecture\""), std::string::npos);

  auto embed = RunCommand("echo 'Once upon a time' | " + cli + " embed" + server + " --api-key " +
                              kReader.secret,
                          err);
  EXPECT_EQ(embed.first, 0);
  // adapters load needs admin: the reader is refused, ops is not.
  auto refused = RunCommand(cli + " adapters unload ghost --api-key " + kReader.secret + server, err);
  EXPECT_EQ(refused.first, 1);
  std::ifstream in(err);
  const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(message.find("PERMISSION_DENIED"), std::string::npos) << message;
  auto listed = RunCommand(cli + " adapters list --api-key " + kOps.secret + server, err);
  EXPECT_EQ(listed.first, 0);
  auto jobs = RunCommand(cli + " jobs list --json --api-key " + kTrainer.secret + server, err);
  EXPECT_EQ(jobs.first, 0);
}

}  // namespace
}  // namespace llm2vec
