// The training manager without a server: a fake device thread stands in
// for the engine's worker (it runs Host::run_on_device work and, between
// it, RunUnit), so a test sees which thread did the tensor work.
#include "server/training/training_manager.h"

#include <unistd.h>

#include <atomic>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "model/train/trainer.h"
#include "server/training/job_store.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::TestdataPath;

// One thread that owns "the device": runs posted work first, then units of
// the manager's background work, like the DeviceWorker.
class FakeDevice {
 public:
  FakeDevice() : thread_([this] { Loop(); }) {}
  ~FakeDevice() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }

  // The manager whose units the loop runs. Returns once no unit of the
  // previous one is running, so the caller may then destroy it.
  void SetManager(TrainingManager* manager) {
    absl::MutexLock lock(&mu_);
    manager_ = manager;
    mu_.Await(absl::Condition(
        +[](bool* in_unit) { return !*in_unit; }, &in_unit_));
  }

  // Host::run_on_device: runs `fn` on the device thread and waits.
  absl::Status Run(std::function<absl::Status()> fn) {
    absl::Status result;
    bool done = false;
    absl::MutexLock lock(&mu_);
    posted_.push_back([&] {
      result = fn();
      ran_on_device_ += std::this_thread::get_id() == thread_.get_id();
      absl::MutexLock inner(&mu_);
      done = true;
    });
    mu_.Await(absl::Condition(&done));
    return result;
  }

  int ran_on_device() const { return ran_on_device_.load(); }

  // `hook` runs once on the device thread, right after the next work
  // posted with Run (a job's start: model, trainer and data opened).
  void AfterNextRun(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    after_next_run_ = std::move(hook);
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> work;
      TrainingManager* manager = nullptr;
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
        if (!posted_.empty()) {
          work = std::move(posted_.front());
          posted_.pop_front();
        }
        manager = manager_;
        in_unit_ = work == nullptr && manager != nullptr;
      }
      if (work) {
        work();
        std::function<void()> hook;
        {
          absl::MutexLock lock(&mu_);
          hook = std::move(after_next_run_);
          after_next_run_ = nullptr;
        }
        if (hook) hook();
      } else if (manager == nullptr || !EndUnit(manager->RunUnit(absl::InfiniteFuture()))) {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(
                                 +[](FakeDevice* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(d->mu_) {
                                   return d->stop_ || !d->posted_.empty();
                                 },
                                 this),
                             absl::Milliseconds(5));
      }
    }
  }

  // Marks the unit finished; returns whether it did work.
  bool EndUnit(bool ran) {
    absl::MutexLock lock(&mu_);
    in_unit_ = false;
    return ran;
  }

  absl::Mutex mu_;
  std::deque<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
  TrainingManager* manager_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> after_next_run_ ABSL_GUARDED_BY(mu_);
  bool in_unit_ ABSL_GUARDED_BY(mu_) = false;  // RunUnit is running
  std::atomic<int> ran_on_device_{0};
  std::thread thread_;
};

class TrainingManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LLM2VEC_REQUIRE_TESTDATA();
    ASSERT_EQ(::system(("mkdir -p " + dir_ + "/data").c_str()), 0);
    std::ifstream in(TestdataPath("data/tinystories/tinystories_val_slice.txt"));
    std::ofstream out(dir_ + "/data/stories.txt");
    std::string line;
    for (int i = 0; i < 200 && std::getline(in, line); ++i) out << line << "\n";
  }
  void TearDown() override {
    device_.SetManager(nullptr);
    manager_.reset();
  }

  void Start() {
    TrainingManager::Options o;
    o.state_dir = dir_ + "/state";
    o.data_root = dir_ + "/data";
    o.adapter_root = dir_ + "/adapters";
    o.model = TestdataPath("models/stories260k-gguf/stories260K.gguf");
    o.num_threads = 1;
    TrainingManager::Host host;
    host.wake_worker = [] {};
    host.adapter_path = [](const std::string& name) -> absl::StatusOr<std::string> {
      return absl::NotFoundError(name);
    };
    host.run_on_device = [this](std::function<absl::Status()> fn) {
      return device_.Run(std::move(fn));
    };
    auto m = TrainingManager::Create(o, host, nullptr);
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
    device_.SetManager(manager_.get());
  }

  v1::TrainRequest Mntp(const std::string& output, int64_t steps) {
    v1::TrainRequest r;
    r.set_objective(v1::OBJECTIVE_MNTP);
    r.set_data_path("stories.txt");
    r.set_output_adapter(output);
    v1::Hyperparameters* h = r.mutable_hyperparameters();
    h->set_steps(steps);
    h->set_batch_size(2);
    h->set_max_length(32);
    h->set_checkpoint_every(1);
    return r;
  }

  v1::Job AwaitState(const std::string& id, v1::JobState state) {
    const absl::Time until = absl::Now() + absl::Seconds(60);
    absl::StatusOr<v1::Job> job;
    do {
      job = manager_->Get(id);
      if (job.ok() && job->state() == state) return *job;
      absl::SleepFor(absl::Milliseconds(5));
    } while (absl::Now() < until);
    ADD_FAILURE() << "job " << id << " never reached state " << state << "; now "
                  << (job.ok() ? job->DebugString() : job.status().ToString());
    return job.ok() ? *job : v1::Job();
  }

  testing::TempDir tmp_{"llm2vec_tm"};
  const std::string dir_ = tmp_.path();
  FakeDevice device_;
  std::unique_ptr<TrainingManager> manager_;
};

// Loading the job's model, creating the trainer, saving the adapter and
// freeing the model all run on the device thread, not the runner's.
TEST_F(TrainingManagerTest, TensorWorkOfAJobRunsOnTheDeviceThread) {
  Start();
  auto job = manager_->Submit(Mntp("adapter-a", 2));
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::Job done = AwaitState(job->id(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(done.step(), 2);
  EXPECT_TRUE(::access((dir_ + "/adapters/adapter-a/adapter_model.safetensors").c_str(), F_OK) ==
              0);
  // start (load + trainer), save the adapter, free the model (just after
  // the job is recorded done).
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (device_.ran_on_device() < 3 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(device_.ran_on_device(), 3);
}

// A job whose start fails on the device (its base adapter folder is not an
// adapter) fails with the reason; the manager goes on with the next job.
TEST_F(TrainingManagerTest, AFailedStartFailsOnlyThatJob) {
  Start();
  ASSERT_EQ(::system(("mkdir -p " + dir_ + "/adapters/broken").c_str()), 0);
  std::ofstream(dir_ + "/adapters/broken/adapter_config.json") << "{ not json";
  v1::TrainRequest bad = Mntp("adapter-b", 2);
  bad.set_base_adapter("broken");
  auto first = manager_->Submit(bad);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = manager_->Submit(Mntp("adapter-c", 1));
  ASSERT_TRUE(second.ok()) << second.status();
  const v1::Job failed = AwaitState(first->id(), v1::JOB_STATE_FAILED);
  EXPECT_NE(failed.error().find("adapter_config.json"), std::string::npos) << failed.error();
  AwaitState(second->id(), v1::JOB_STATE_SUCCEEDED);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The data file is opened when the job starts and read through that open
// file: removed and replaced by other text while the job runs, the job
// still trains on what it opened, to the same adapter bit for bit.
TEST_F(TrainingManagerTest, ADataFileReplacedWhileTheJobRunsChangesNothing) {
  Start();
  auto reference = manager_->Submit(Mntp("untouched", 3));
  ASSERT_TRUE(reference.ok()) << reference.status();
  AwaitState(reference->id(), v1::JOB_STATE_SUCCEEDED);
  // Its last device work (freeing the model) comes after SUCCEEDED.
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (device_.ran_on_device() < 3 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(device_.ran_on_device(), 3);

  const std::string data = dir_ + "/data/stories.txt";
  device_.AfterNextRun([data] {
    ASSERT_EQ(::unlink(data.c_str()), 0);
    std::ofstream(data) << "Completely different text that the job must never see.\n";
  });
  auto job = manager_->Submit(Mntp("replaced", 3));
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::Job done = AwaitState(job->id(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(done.step(), 3);
  EXPECT_NE(ReadAll(data).find("Completely different"), std::string::npos);  // it was replaced
  const std::string a = ReadAll(dir_ + "/adapters/untouched/adapter_model.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == ReadAll(dir_ + "/adapters/replaced/adapter_model.safetensors"))
      << "the job read the replacement";
}

// A data path checked at Submit and swapped for a link to a file outside
// the data root before the job starts: the job fails naming the path and
// reads nothing outside.
TEST_F(TrainingManagerTest, ADataPathSwappedForALinkBeforeTheJobStartsIsNotFollowed) {
  Start();
  ASSERT_EQ(::system(("mkdir -p " + dir_ + "/outside").c_str()), 0);
  std::ofstream(dir_ + "/outside/secret.txt") << "a secret line of text\n";
  ::link((dir_ + "/data/stories.txt").c_str(), (dir_ + "/data/other.txt").c_str());
  absl::Notification submitted;
  device_.AfterNextRun([&submitted] { submitted.WaitForNotification(); });
  auto first = manager_->Submit(Mntp("first", 1));
  ASSERT_TRUE(first.ok()) << first.status();
  v1::TrainRequest second_request = Mntp("second", 1);
  second_request.set_data_path("other.txt");
  auto second = manager_->Submit(second_request);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(::unlink((dir_ + "/data/other.txt").c_str()), 0);
  ASSERT_EQ(::symlink((dir_ + "/outside/secret.txt").c_str(), (dir_ + "/data/other.txt").c_str()),
            0);
  submitted.Notify();
  AwaitState(first->id(), v1::JOB_STATE_SUCCEEDED);
  const v1::Job failed = AwaitState(second->id(), v1::JOB_STATE_FAILED);
  EXPECT_NE(failed.error().find("data_path 'other.txt'"), std::string::npos) << failed.error();
  EXPECT_EQ(failed.error().find("secret"), std::string::npos) << failed.error();
  EXPECT_EQ(failed.error().find("outside"), std::string::npos) << failed.error();
}

// Cancelling a queued job takes it out of the queue; resuming it queues it
// again; an interrupted-state check names the state.
TEST_F(TrainingManagerTest, CancelAndResumeAQueuedJob) {
  Start();
  // The first job occupies the runner; the second waits in the queue.
  auto first = manager_->Submit(Mntp("adapter-d", 20));
  ASSERT_TRUE(first.ok());
  auto second = manager_->Submit(Mntp("adapter-e", 1));
  ASSERT_TRUE(second.ok());
  auto cancelled = manager_->Cancel(second->id());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state(), v1::JOB_STATE_CANCELLED);
  absl::Status again = manager_->Cancel(second->id()).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  EXPECT_NE(again.message().find("is cancelled"), std::string::npos) << again;
  auto resumed = manager_->Resume(second->id());
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->state(), v1::JOB_STATE_QUEUED);
  ASSERT_TRUE(manager_->Cancel(first->id()).ok());
  AwaitState(second->id(), v1::JOB_STATE_SUCCEEDED);
}

// One request cannot ask for unbounded memory: every hyperparameter has an
// upper bound, checked at submit (the crash loop of a 1e8 batch size).
TEST_F(TrainingManagerTest, HyperparametersOutsideTheirRangesAreRefusedAtSubmit) {
  Start();
  v1::TrainRequest huge = Mntp("adapter-f", 1);
  huge.mutable_hyperparameters()->set_batch_size(100000000);
  absl::Status s = manager_->Submit(huge).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(), "hyperparameters.batch_size 100000000 is outside [1, 65536]");
  auto jobs = manager_->List({}, 0);
  ASSERT_TRUE(jobs.ok());
  EXPECT_TRUE(jobs->empty());
}

// Staging folders a crash left behind (half-written adapters and
// checkpoints) are removed at start.
TEST_F(TrainingManagerTest, StagingFoldersLeftByACrashAreRemovedAtStart) {
  ASSERT_EQ(::system(("mkdir -p " + dir_ + "/adapters/x.tmp-AbC123 " + dir_ +
                      "/state/jobs/job-9/checkpoints/checkpoint-4.tmp-XyZ789 " + dir_ +
                      "/adapters/kept")
                         .c_str()),
            0);
  Start();
  EXPECT_NE(::access((dir_ + "/adapters/x.tmp-AbC123").c_str(), F_OK), 0);
  EXPECT_NE(::access((dir_ + "/state/jobs/job-9/checkpoints/checkpoint-4.tmp-XyZ789").c_str(), F_OK),
            0);
  EXPECT_EQ(::access((dir_ + "/adapters/kept").c_str(), F_OK), 0);
}

// A job the server died under twice is FAILED, not resumed a third time: a
// request that kills the server must not crash-loop it. Once is resumed.
TEST_F(TrainingManagerTest, AJobTheServerDiedUnderTwiceIsFailedNotResumed) {
  ASSERT_EQ(::system(("mkdir -p " + dir_ + "/state").c_str()), 0);
  std::string twice, once;
  {
    auto store = JobStore::Open(dir_ + "/state/jobs.db");
    ASSERT_TRUE(store.ok()) << store.status();
    v1::Job job;
    job.set_state(v1::JOB_STATE_RUNNING);  // as the process left it
    *job.mutable_request() = Mntp("adapter-g", 1);
    job.set_total_steps(1);
    job.set_crashes(1);
    ASSERT_TRUE((*store)->Insert(&job).ok());
    twice = job.id();
    v1::Job first = job;
    first.set_crashes(0);
    first.mutable_request()->set_output_adapter("adapter-h");
    ASSERT_TRUE((*store)->Insert(&first).ok());
    once = first.id();
  }
  Start();
  auto failed = manager_->Get(twice);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(failed->crashes(), 2);
  EXPECT_NE(failed->error().find("died 2 times"), std::string::npos) << failed->error();
  const v1::Job resumed = AwaitState(once, v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(resumed.crashes(), 1);
  // An operator's ResumeJob starts the count again.
  auto again = manager_->Resume(twice);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->crashes(), 0);
  AwaitState(twice, v1::JOB_STATE_SUCCEEDED);
}

// A checkpoint that does not load (cut short by a crash or a bad disk) is
// passed over: the job resumes from the one before, says so in its events,
// and finishes.
TEST_F(TrainingManagerTest, ACorruptCheckpointIsSkippedForTheOneBefore) {
  Start();
  v1::TrainRequest request = Mntp("adapter-k", 200);
  auto job = manager_->Submit(request);
  ASSERT_TRUE(job.ok()) << job.status();
  // Let it make a few steps, then stop the server under it.
  absl::StatusOr<v1::Job> now;
  const absl::Time until = absl::Now() + absl::Seconds(60);
  do {
    now = manager_->Get(job->id());
    absl::SleepFor(absl::Milliseconds(2));
  } while (now.ok() && now->checkpoint_step() < 3 && absl::Now() < until);
  device_.SetManager(nullptr);  // no more units; the running one ends first
  manager_.reset();             // Shutdown: checkpoints the step it reached
  const std::string checkpoints = dir_ + "/state/jobs/" + job->id() + "/checkpoints";
  const std::vector<std::string> saved = Trainer::Checkpoints(checkpoints);
  ASSERT_EQ(saved.size(), 2u);
  const std::string newest = saved[0].substr(saved[0].rfind('/') + 1);
  const int64_t older_step = std::stoll(saved[1].substr(saved[1].rfind('-') + 1));
  // The newest checkpoint's optimizer state cut in half.
  const std::string optimizer = saved[0] + "/optimizer.safetensors";
  const std::string bytes = ReadAll(optimizer);
  ASSERT_GT(bytes.size(), 100u);
  std::ofstream(optimizer, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);

  Start();  // resumes the interrupted job
  const v1::Job done = AwaitState(job->id(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(done.step(), 200);
  EXPECT_EQ(done.resumes(), 1);
  auto store = JobStore::Open(dir_ + "/state/jobs.db");
  ASSERT_TRUE(store.ok()) << store.status();
  auto events = (*store)->Events(job->id());
  ASSERT_TRUE(events.ok()) << events.status();
  std::string skipped, resumed;
  for (const JobEventRecord& e : *events) {
    if (e.kind == "checkpoint skipped") skipped = e.message;
    if (e.kind == "resumed") resumed = e.message;
  }
  EXPECT_NE(skipped.find(newest), std::string::npos) << skipped;
  EXPECT_EQ(skipped.find(dir_), std::string::npos) << skipped;  // no server paths
  EXPECT_EQ(resumed, absl::StrCat("from the checkpoint at step ", older_step));
}

}  // namespace
}  // namespace llm2vec
