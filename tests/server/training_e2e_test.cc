// Training jobs end to end: the real llm2vec-server trains LoRA adapters on
// its device worker while serving. Checks the job life cycle through every
// TrainingService RPC, watch events, metrics, path confinement and limits,
// cancellation, resume after kill -9 and after SIGTERM, and that a job's
// adapter is bit-identical to build/llm2vec-train's with the same options.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "llm2vec/v1/training.grpc.pb.h"
#include "model/formats/safetensors.h"
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
using ::llm2vec::testing::WriteStories;
using ::llm2vec::testing::TestdataPath;

// data/stories.txt: the first 300 lines of the TinyStories slice.
std::unique_ptr<v1::TrainingService::Stub> Stub(const ServerProcess& server) {
  return v1::TrainingService::NewStub(
      grpc::CreateChannel(server.grpc_target(), grpc::InsecureChannelCredentials()));
}

void SetDeadline(grpc::ClientContext* context, int seconds = 30) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

// A small MNTP job: 4 sequences of 64 tokens, lr 1e-3, checkpoints every 2.
v1::TrainRequest SmallMntp(const std::string& output, int64_t steps) {
  v1::TrainRequest r;
  r.set_objective(v1::OBJECTIVE_MNTP);
  r.set_data_path("stories.txt");
  r.set_output_adapter(output);
  v1::Hyperparameters* h = r.mutable_hyperparameters();
  h->set_steps(steps);
  h->set_batch_size(4);
  h->set_max_length(64);
  h->set_learning_rate(1e-3);
  h->set_checkpoint_every(2);
  h->set_seed(7);
  return r;
}

grpc::Status Train(v1::TrainingService::Stub* stub, const v1::TrainRequest& request,
                   v1::Job* job) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::TrainResponse response;
  grpc::Status s = stub->Train(&context, request, &response);
  *job = response.job();
  return s;
}

v1::Job GetJob(v1::TrainingService::Stub* stub, const std::string& id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::GetJobRequest request;
  request.set_id(id);
  v1::Job job;
  grpc::Status s = stub->GetJob(&context, request, &job);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return job;
}

// Watches `id`, calling `on_event` for each event until the stream ends or
// on_event returns false. Returns the events seen.
std::vector<v1::JobEvent> Watch(v1::TrainingService::Stub* stub, const std::string& id,
                                const std::function<bool(const v1::JobEvent&)>& on_event = {}) {
  grpc::ClientContext context;
  SetDeadline(&context, 240);
  v1::WatchJobRequest request;
  request.set_id(id);
  auto reader = stub->WatchJob(&context, request);
  std::vector<v1::JobEvent> events;
  v1::JobEvent event;
  while (reader->Read(&event)) {
    events.push_back(event);
    if (on_event && !on_event(event)) {
      context.TryCancel();
      break;
    }
  }
  reader->Finish().IgnoreError();
  return events;
}

// Polls until the job is in `state` (bounded).
v1::Job WaitForState(v1::TrainingService::Stub* stub, const std::string& id, v1::JobState state) {
  v1::Job job;
  for (int i = 0; i < 1200; ++i) {
    job = GetJob(stub, id);
    if (job.state() == state) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return job;
}

// The adapter's tensors, name -> raw bytes.
std::map<std::string, std::string> AdapterTensors(const std::string& dir) {
  std::map<std::string, std::string> out;
  auto archive = SafetensorsArchive::OpenFolder(dir, "adapter_model");
  EXPECT_TRUE(archive.ok()) << archive.status();
  if (!archive.ok()) return out;
  for (const auto& [name, view] : (*archive)->tensors()) {
    out[name] = std::string(reinterpret_cast<const char*>(view.data), view.nbytes);
  }
  return out;
}

// build/llm2vec-train with the options of SmallMntp(steps), one thread.
std::string TrainOffline(const std::string& data, const std::string& out, int64_t steps) {
  const std::string command = absl::StrJoin(
      {std::string(LLM2VEC_TRAIN_BIN), std::string("--objective mntp --model"), DemoModel(),
       std::string("--data"), data, std::string("--output"), out,
       absl::StrCat("--steps ", steps,
                    " --batch-size 4 --max-length 64 --lr 1e-3 --seed 7 --threads 1 "
                    "> /dev/null 2>&1")},
      " ");
  EXPECT_EQ(::system(command.c_str()), 0) << command;
  return out;
}

std::string Metrics(const ServerProcess& server) {
  return Http(server.metrics_port(), "GET", "/metrics").second;
}

// The metric `series` once it reads `expected` (bounded): job counts are
// refreshed just after a job's record changes, so a client that saw the
// change can look a moment before the count follows.
double AwaitSample(const ServerProcess& server, const std::string& series, double expected) {
  double value = -1;
  for (int i = 0; i < 300; ++i) {
    value = Sample(Metrics(server), series);
    if (value == expected) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return value;
}

TEST(TrainingE2eTest, JobRunsWhileServingAndItsAdapterIsServedAndEqualsOffline) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  WriteStories(tmp.path() + "/data", 300);
  ServerProcess server({"--training-data-root", tmp.path() + "/data", "--adapter-root",
                        tmp.path() + "/adapters"});
  auto stub = Stub(server);
  v1::TrainRequest request = SmallMntp("mntp-small", 6);
  request.set_load_when_done(true);
  v1::Job job;
  grpc::Status s = Train(stub.get(), request, &job);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << server.Log();
  EXPECT_EQ(job.id(), "job-1");
  EXPECT_EQ(job.total_steps(), 6);
  // Unset hyperparameters come back resolved to the method's defaults.
  EXPECT_DOUBLE_EQ(job.request().hyperparameters().mask_ratio(), 0.2);
  EXPECT_EQ(job.request().hyperparameters().lora_r(), 16);
  EXPECT_EQ(job.request().hyperparameters().grad_accum(), 1);

  // Inference is served while the job runs.
  auto embedded = server.client().Embed([] {
    v1::EmbedRequest r;
    r.add_inputs()->set_text("The cat sat on the mat.");
    return r;
  }());
  ASSERT_TRUE(embedded.ok()) << embedded.status();

  std::vector<v1::JobEvent> events = Watch(stub.get(), job.id());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().kind(), v1::JobEvent::KIND_SNAPSHOT);
  std::vector<int64_t> progress_steps, checkpoint_steps;
  for (const v1::JobEvent& e : events) {
    if (e.kind() == v1::JobEvent::KIND_PROGRESS) {
      progress_steps.push_back(e.job().step());
      EXPECT_GT(e.job().loss(), 0);
      EXPECT_GT(e.job().tokens_per_second(), 0);
    }
    if (e.kind() == v1::JobEvent::KIND_CHECKPOINT) checkpoint_steps.push_back(e.job().step());
  }
  // Every step reported once, in order (the watch may start after step 1).
  ASSERT_FALSE(progress_steps.empty());
  for (size_t i = 1; i < progress_steps.size(); ++i) {
    EXPECT_EQ(progress_steps[i], progress_steps[i - 1] + 1);
  }
  EXPECT_EQ(progress_steps.back(), 6);
  EXPECT_EQ(checkpoint_steps.back(), 6);
  const v1::Job& last = events.back().job();
  ASSERT_EQ(last.state(), v1::JOB_STATE_SUCCEEDED) << last.error() << "\n" << server.Log();
  EXPECT_EQ(last.step(), 6);
  EXPECT_EQ(last.adapter_path(), tmp.path() + "/adapters/mntp-small");
  EXPECT_TRUE(last.adapter_loaded());
  EXPECT_GT(last.finished_unix_ms(), 0);

  // Served under its name; it changes the embedding.
  auto info = server.client().Info();
  ASSERT_TRUE(info.ok());
  EXPECT_NE(std::find(info->adapters().begin(), info->adapters().end(), "mntp-small"),
            info->adapters().end());
  v1::EmbedRequest with;
  with.add_inputs()->set_text("The cat sat on the mat.");
  with.mutable_options()->set_adapter("mntp-small");
  auto adapted = server.client().Embed(with);
  ASSERT_TRUE(adapted.ok()) << adapted.status();
  EXPECT_NE(adapted->embeddings(0).values(0), embedded->embeddings(0).values(0));

  // The same training offline gives the same bytes.
  auto served = AdapterTensors(last.adapter_path());
  auto offline = AdapterTensors(TrainOffline(tmp.path() + "/data/stories.txt",
                                             tmp.path() + "/offline", 6));
  ASSERT_EQ(served.size(), 70u);  // 5 layers x 7 projections x (A, B)
  EXPECT_TRUE(served == offline);

  // Listed, counted in the metrics.
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub->ListJobs(&context, v1::ListJobsRequest(), &list).ok());
  ASSERT_EQ(list.jobs_size(), 1);
  EXPECT_EQ(list.jobs(0).id(), job.id());
  EXPECT_EQ(AwaitSample(server, "llm2vec_training_jobs{state=\"succeeded\"}", 1), 1);
  const std::string metrics = Metrics(server);
  EXPECT_EQ(Sample(metrics, "llm2vec_training_steps_total"), 6);
  EXPECT_EQ(Sample(metrics, "llm2vec_training_step"), 6);
  EXPECT_EQ(Sample(metrics, "llm2vec_requests_total{method=\"Train\",outcome=\"OK\"}"), 1);
}

TEST(TrainingE2eTest, BadRequestsAreRefusedWithTheStatusTable) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  WriteStories(tmp.path() + "/data", 300);
  ASSERT_EQ(::symlink("/etc/hostname", (tmp.path() + "/data/escape.txt").c_str()), 0);
  ASSERT_EQ(::system(("mkdir -p " + tmp.path() + "/adapters/taken").c_str()), 0);
  ServerProcess server({"--training-data-root", tmp.path() + "/data", "--adapter-root",
                        tmp.path() + "/adapters", "--max-training-steps", "50",
                        "--max-training-data-bytes", "100000"});
  auto stub = Stub(server);
  struct Case {
    std::string name;
    std::function<void(v1::TrainRequest*)> change;
    grpc::StatusCode code;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {"parent", [](v1::TrainRequest* r) { r->set_data_path("../data/stories.txt"); },
       grpc::StatusCode::INVALID_ARGUMENT, "'..'"},
      {"absolute", [](v1::TrainRequest* r) { r->set_data_path("/etc/hostname"); },
       grpc::StatusCode::INVALID_ARGUMENT, "must be relative"},
      {"symlink out", [](v1::TrainRequest* r) { r->set_data_path("escape.txt"); },
       grpc::StatusCode::INVALID_ARGUMENT, "outside"},
      {"missing", [](v1::TrainRequest* r) { r->set_data_path("nope.txt"); },
       grpc::StatusCode::NOT_FOUND, "nope.txt"},
      {"output traversal", [](v1::TrainRequest* r) { r->set_output_adapter(".."); },
       grpc::StatusCode::INVALID_ARGUMENT, "output_adapter '..'"},
      {"output slash", [](v1::TrainRequest* r) { r->set_output_adapter("a/b"); },
       grpc::StatusCode::INVALID_ARGUMENT, "output_adapter 'a/b'"},
      {"output taken", [](v1::TrainRequest* r) { r->set_output_adapter("taken"); },
       grpc::StatusCode::ALREADY_EXISTS, "taken"},
      {"too many steps", [](v1::TrainRequest* r) { r->mutable_hyperparameters()->set_steps(51); },
       grpc::StatusCode::INVALID_ARGUMENT, "--max-training-steps"},
      {"bad lr",
       [](v1::TrainRequest* r) { r->mutable_hyperparameters()->set_learning_rate(-1); },
       grpc::StatusCode::INVALID_ARGUMENT, "hyperparameters.learning_rate -1 is outside (0, 1]"},
      {"no objective", [](v1::TrainRequest* r) { r->set_objective(v1::OBJECTIVE_UNSPECIFIED); },
       grpc::StatusCode::INVALID_ARGUMENT, "objective"},
      {"unknown base", [](v1::TrainRequest* r) { r->set_base_adapter("ghost"); },
       grpc::StatusCode::NOT_FOUND, "ghost"},
  };
  for (const Case& c : cases) {
    v1::TrainRequest r = SmallMntp("fresh", 4);
    c.change(&r);
    v1::Job job;
    grpc::Status s = Train(stub.get(), r, &job);
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.mentions), std::string::npos)
        << c.name << ": " << s.error_message();
  }
  // A data file over the size limit.
  {
    std::ofstream big(tmp.path() + "/data/big.txt");
    big << std::string(100001, 'a') << "\n";
  }
  v1::TrainRequest r = SmallMntp("fresh", 4);
  r.set_data_path("big.txt");
  v1::Job job;
  grpc::Status s = Train(stub.get(), r, &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("--max-training-data-bytes"), std::string::npos);

  grpc::ClientContext context;
  SetDeadline(&context);
  v1::GetJobRequest get;
  get.set_id("job-404");
  v1::Job none;
  EXPECT_EQ(stub->GetJob(&context, get, &none).error_code(), grpc::StatusCode::NOT_FOUND);
  // Nothing was queued.
  grpc::ClientContext list_context;
  SetDeadline(&list_context);
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub->ListJobs(&list_context, v1::ListJobsRequest(), &list).ok());
  EXPECT_EQ(list.jobs_size(), 0);
}

// Names in `dir` (none when it does not exist).
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
  }
  return names;
}

// A full disk (the server's file size limit, so writes fail with EFBIG as
// they would with ENOSPC) while a checkpoint or the final adapter is
// written: the job fails naming the write and the reason, nothing
// half-written is left where a reader would take it for whole, and the
// server goes on serving and takes the next job.
TEST(TrainingE2eTest, AFullDiskFailsTheJobCleanlyAndTheServerGoesOn) {
  LLM2VEC_REQUIRE_TESTDATA();
  struct Case {
    const char* what;
    int64_t checkpoint_every;
    const char* error;  // in the job's error
  };
  for (const Case& c : {Case{"checkpoint", 1, "File too large"},
                        Case{"adapter", 0, "writing the adapter failed"}}) {
    SCOPED_TRACE(c.what);
    TempDir tmp;
    WriteStories(tmp.path() + "/data", 300);
    // rank 64: the adapter is 1.5 MB, its checkpoint 4.5 MB; the limit
    // leaves room for the job database and the log.
    ServerProcess server({"--training-data-root", tmp.path() + "/data", "--adapter-root",
                          tmp.path() + "/adapters", "--state-dir", tmp.path() + "/state"},
                         absl::ZeroDuration(), int64_t{1} << 20);
    auto stub = Stub(server);
    v1::TrainRequest request = SmallMntp("big", 2);
    request.mutable_hyperparameters()->set_lora_r(64);
    request.mutable_hyperparameters()->set_checkpoint_every(c.checkpoint_every);
    v1::Job job;
    ASSERT_TRUE(Train(stub.get(), request, &job).ok()) << server.Log();
    const v1::Job failed = WaitForState(stub.get(), job.id(), v1::JOB_STATE_FAILED);
    ASSERT_EQ(failed.state(), v1::JOB_STATE_FAILED) << failed.DebugString() << server.Log();
    EXPECT_NE(failed.error().find(c.error), std::string::npos) << failed.error();
    EXPECT_NE(failed.error().find("File too large"), std::string::npos) << failed.error();
    EXPECT_EQ(failed.error().find(tmp.path()), std::string::npos) << failed.error();
    // Nothing partial: no adapter folder, no staging folder, no checkpoint.
    EXPECT_EQ(ListDir(tmp.path() + "/adapters"), std::vector<std::string>());
    EXPECT_EQ(ListDir(tmp.path() + "/state/jobs/" + job.id() + "/checkpoints"),
              std::vector<std::string>());
    // Still serving, and a job that fits runs.
    auto embedded = server.client().Embed([] {
      v1::EmbedRequest r;
      r.add_inputs()->set_text("The cat sat on the mat.");
      return r;
    }());
    ASSERT_TRUE(embedded.ok()) << embedded.status();
    v1::Job small;
    v1::TrainRequest fits = SmallMntp("small", 2);
    fits.mutable_hyperparameters()->set_lora_r(4);
    fits.mutable_hyperparameters()->set_checkpoint_every(0);
    ASSERT_TRUE(Train(stub.get(), fits, &small).ok());
    EXPECT_EQ(WaitForState(stub.get(), small.id(), v1::JOB_STATE_SUCCEEDED).state(),
              v1::JOB_STATE_SUCCEEDED)
        << server.Log();
  }
}

TEST(TrainingE2eTest, CancelRunningAndQueuedJobs) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  WriteStories(tmp.path() + "/data", 300);
  ServerProcess server({"--training-data-root", tmp.path() + "/data", "--adapter-root",
                        tmp.path() + "/adapters"});
  auto stub = Stub(server);
  v1::Job first, second;
  ASSERT_TRUE(Train(stub.get(), SmallMntp("long", 5000), &first).ok());
  ASSERT_TRUE(Train(stub.get(), SmallMntp("next", 5), &second).ok());
  EXPECT_EQ(second.state(), v1::JOB_STATE_QUEUED);
  // Two jobs may not write one adapter.
  v1::Job clash;
  EXPECT_EQ(Train(stub.get(), SmallMntp("next", 5), &clash).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  // The queued one is cancelled at once.
  grpc::ClientContext c1;
  SetDeadline(&c1);
  v1::CancelJobRequest cancel;
  cancel.set_id(second.id());
  v1::Job cancelled;
  ASSERT_TRUE(stub->CancelJob(&c1, cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.state(), v1::JOB_STATE_CANCELLED);

  // The running one after its current step, once it made progress.
  Watch(stub.get(), first.id(), [](const v1::JobEvent& e) { return e.job().step() < 2; });
  grpc::ClientContext c2;
  SetDeadline(&c2);
  cancel.set_id(first.id());
  ASSERT_TRUE(stub->CancelJob(&c2, cancel, &cancelled).ok());
  v1::Job done = WaitForState(stub.get(), first.id(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(done.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_LT(done.step(), 5000);
  EXPECT_FALSE(ServerProcess::Exists(tmp.path() + "/adapters/long"));
  // Cancelling again is refused.
  grpc::ClientContext c3;
  SetDeadline(&c3);
  EXPECT_EQ(stub->CancelJob(&c3, cancel, &cancelled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(AwaitSample(server, "llm2vec_training_jobs{state=\"cancelled\"}", 2), 2);
}

TEST(TrainingE2eTest, KilledServerResumesTheJobFromItsCheckpointWithNoLostSteps) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  WriteStories(tmp.path() + "/data", 300);
  const std::vector<std::string> flags = {"--training-data-root", tmp.path() + "/data",
                                          "--adapter-root", tmp.path() + "/adapters",
                                          "--state-dir", tmp.path() + "/state"};
  constexpr int64_t kSteps = 40;
  std::string id;
  int64_t killed_at = 0;
  {
    ServerProcess server(flags);
    auto stub = Stub(server);
    v1::Job job;
    ASSERT_TRUE(Train(stub.get(), SmallMntp("resumed", kSteps), &job).ok());
    id = job.id();
    // kill -9 once a checkpoint exists and the job is between checkpoints.
    Watch(stub.get(), id, [&](const v1::JobEvent& e) {
      if (e.job().checkpoint_step() >= 4 && e.job().step() % 2 == 1) {
        killed_at = e.job().step();
        server.Signal(SIGKILL, /*wait=*/true);
        return false;
      }
      return e.job().state() != v1::JOB_STATE_SUCCEEDED;
    });
  }
  ASSERT_GT(killed_at, 0) << "the job finished before it could be killed";
  ASSERT_LT(killed_at, kSteps);

  ServerProcess restarted(flags);
  auto stub = Stub(restarted);
  std::vector<v1::JobEvent> events = Watch(stub.get(), id);
  ASSERT_FALSE(events.empty());
  const v1::Job& last = events.back().job();
  ASSERT_EQ(last.state(), v1::JOB_STATE_SUCCEEDED) << last.error() << "\n" << restarted.Log();
  EXPECT_EQ(last.step(), kSteps);
  EXPECT_EQ(last.resumes(), 1);
  EXPECT_NE(restarted.Log().find(id + " resumed from"), std::string::npos) << restarted.Log();
  // No lost (or repeated) steps: the adapter is the uninterrupted run's.
  auto served = AdapterTensors(last.adapter_path());
  auto offline = AdapterTensors(
      TrainOffline(tmp.path() + "/data/stories.txt", tmp.path() + "/offline", kSteps));
  ASSERT_FALSE(served.empty());
  EXPECT_TRUE(served == offline);
}

TEST(TrainingE2eTest, SigtermCheckpointsTheRunningJobAndResumeJobFinishesIt) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  WriteStories(tmp.path() + "/data", 300);
  std::vector<std::string> flags = {"--training-data-root", tmp.path() + "/data",
                                    "--adapter-root", tmp.path() + "/adapters",
                                    "--state-dir", tmp.path() + "/state",
                                    "--resume-interrupted-jobs=false"};
  constexpr int64_t kSteps = 400;
  std::string id;
  {
    ServerProcess server(flags);
    auto stub = Stub(server);
    v1::TrainRequest request = SmallMntp("graceful", kSteps);
    request.mutable_hyperparameters()->set_checkpoint_every(1000);  // none before SIGTERM
    v1::Job job;
    ASSERT_TRUE(Train(stub.get(), request, &job).ok());
    id = job.id();
    Watch(stub.get(), id, [](const v1::JobEvent& e) { return e.job().step() < 3; });
    const int status = server.Signal(SIGTERM, /*wait=*/true);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server.Log();
  }
  ServerProcess restarted(flags);
  auto stub = Stub(restarted);
  v1::Job job = GetJob(stub.get(), id);
  ASSERT_EQ(job.state(), v1::JOB_STATE_INTERRUPTED) << restarted.Log();
  EXPECT_GE(job.checkpoint_step(), 3);  // written at shutdown
  EXPECT_EQ(job.checkpoint_step(), job.step());
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ResumeJobRequest resume;
  resume.set_id(id);
  v1::Job resumed;
  ASSERT_TRUE(stub->ResumeJob(&context, resume, &resumed).ok());
  EXPECT_EQ(resumed.state(), v1::JOB_STATE_QUEUED);
  // Let it make progress from the checkpoint, then cancel (no need to run 400).
  std::vector<v1::JobEvent> events = Watch(stub.get(), id, [&](const v1::JobEvent& e) {
    return e.job().step() < job.checkpoint_step() + 2;
  });
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().job().resumes(), 1);
  EXPECT_EQ(events.back().job().step(), job.checkpoint_step() + 2);
}

TEST(TrainingE2eTest, TheCliSubmitsWatchesAndListsJobs) {
  LLM2VEC_REQUIRE_TESTDATA();
  TempDir tmp;
  WriteStories(tmp.path() + "/data", 300);
  ServerProcess server({"--training-data-root", tmp.path() + "/data", "--adapter-root",
                        tmp.path() + "/adapters"});
  const std::string cli = absl::StrCat(LLM2VEC_CLI_BIN, " ");
  const std::string at = " --server " + server.grpc_target();
  const std::string err = tmp.path() + "/stderr.txt";
  auto [code, out] = RunCommand(cli + "train" + at +
                             " --objective mntp --data stories.txt --output cli-adapter"
                             " --steps 4 --batch-size 4 --max-length 64 --load",
                         err);
  ASSERT_EQ(code, 0) << out << server.Log();
  nlohmann::json job = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(job.is_discarded()) << out;
  EXPECT_EQ(job["state"], "succeeded");
  EXPECT_EQ(job["step"], 4);
  EXPECT_EQ(job["adapter_loaded"], true);
  // Only the flags given were sent: the rest are the method's defaults.
  EXPECT_EQ(job["hyperparameters"]["mask_ratio"], 0.2);

  auto [list_code, list] = RunCommand(cli + "jobs list --json" + at, err);
  EXPECT_EQ(list_code, 0);
  EXPECT_NE(list.find("\"output_adapter\":\"cli-adapter\""), std::string::npos) << list;

  auto [missing_code, missing] = RunCommand(cli + "jobs get job-404" + at, err);
  EXPECT_EQ(missing_code, 1);
  std::ifstream in(err);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("NOT_FOUND"), std::string::npos) << text.str();
}

}  // namespace
}  // namespace llm2vec
