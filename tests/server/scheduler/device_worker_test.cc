// DeviceWorker with a FakeClock and a fake batch processor. Threads meet at
// notifications and mutex conditions; nothing is decided by sleeping.
#include "server/scheduler/device_worker.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <any>
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "tests/server/scheduler/fake_clock.h"

namespace llm2vec {

// The service's payload, as these tests need it: the task's id.
struct EmbedWork {
  int id;
};
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::unique_ptr<EmbedTask> Task(int id, int64_t tokens = 10, int priority = 0) {
  auto task = std::make_unique<EmbedTask>();
  task->tokens = tokens;
  task->priority = priority;
  task->work = std::make_shared<EmbedWork>(EmbedWork{id});
  return task;
}

// Drop reasons reported through on_dropped, by task id.
class DropLog {
 public:
  std::unique_ptr<EmbedTask> Watch(std::unique_ptr<EmbedTask> task) {
    const int id = task->work->id;
    task->on_dropped = [this, id](absl::Status s) {
      absl::MutexLock lock(&mu_);
      drops_.emplace_back(id, s.code());
    };
    return task;
  }
  void AwaitDrops(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return drops_.size() >= n; };
    mu_.Await(absl::Condition(&enough));
  }
  std::vector<std::pair<int, absl::StatusCode>> drops() {
    absl::MutexLock lock(&mu_);
    return drops_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<int, absl::StatusCode>> drops_ ABSL_GUARDED_BY(mu_);
};

// The fake device: records the ids of each batch; can hold the first batch
// until released, to stand for a long forward pass.
class FakeProcessor {
 public:
  void HoldFirstBatch() { hold_first_ = true; }
  void AwaitFirstBatchStarted() { first_started_.WaitForNotification(); }
  void ReleaseFirstBatch() { release_first_.Notify(); }

  DeviceWorker::BatchProcessor AsProcessor() {
    return [this](EmbedBatch batch) { Process(std::move(batch)); };
  }

  void AwaitBatches(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return batches_.size() >= n; };
    mu_.Await(absl::Condition(&enough));
  }
  std::vector<std::vector<int>> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  void Process(EmbedBatch batch) {
    std::vector<int> ids;
    for (const auto& task : batch.tasks) ids.push_back(task->work->id);
    bool first;
    {
      absl::MutexLock lock(&mu_);
      first = batches_.empty();
      batches_.push_back(std::move(ids));
    }
    if (first && hold_first_) {
      first_started_.Notify();
      release_first_.WaitForNotification();
    }
  }

  bool hold_first_ = false;  // set before the worker starts
  absl::Notification first_started_, release_first_;
  absl::Mutex mu_;
  std::vector<std::vector<int>> batches_ ABSL_GUARDED_BY(mu_);
};

DeviceWorker::Options Opts(int64_t max_batch_requests, absl::Duration max_queue_delay) {
  DeviceWorker::Options o;
  o.queue.max_batch_tokens = 1000;
  o.queue.max_batch_requests = max_batch_requests;
  o.queue.max_queue_delay = max_queue_delay;
  return o;
}

std::unique_ptr<DeviceWorker> MakeWorker(const DeviceWorker::Options& options, Clock* clock,
                                         FakeProcessor& processor,
                                         DeviceWorker::IdleWork idle_work = nullptr) {
  auto worker = DeviceWorker::Create(options, clock, processor.AsProcessor(), std::move(idle_work));
  EXPECT_TRUE(worker.ok()) << worker.status();
  return worker.ok() ? *std::move(worker) : nullptr;
}

TEST(FakeClockTest, AdvanceWakesOnlyWaitersWhoseDeadlinePassed) {
  FakeClock clock;
  const absl::Time deadline = clock.Now() + absl::Seconds(10);
  absl::Mutex mu;
  absl::CondVar cv;
  std::atomic<bool> returned{false};
  bool reached = false;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    reached = clock.WaitWithDeadline(&mu, &cv, deadline);
    returned = true;
  });
  clock.AwaitWaiter(deadline);
  clock.Advance(absl::Seconds(5));  // not due: no signal, still waiting
  EXPECT_EQ(clock.num_waiters(), 1);
  EXPECT_FALSE(returned.load());
  clock.Advance(absl::Seconds(5));
  waiter.join();
  EXPECT_TRUE(reached);
  EXPECT_EQ(clock.num_waiters(), 0);
  // A deadline already reached returns at once.
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(clock.WaitWithDeadline(&mu, &cv, deadline));
}

TEST(DeviceWorkerTest, CreateValidates) {
  FakeClock clock;
  FakeProcessor processor;
  EXPECT_EQ(DeviceWorker::Create(Opts(1, absl::ZeroDuration()), nullptr, processor.AsProcessor())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  DeviceWorker::Options bad = Opts(1, absl::ZeroDuration());
  bad.queue.max_batch_tokens = 0;
  EXPECT_EQ(DeviceWorker::Create(bad, &clock, processor.AsProcessor()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DeviceWorkerTest, ProcessesBatchesByPriorityThenArrival) {
  FakeClock clock;
  FakeProcessor processor;
  processor.HoldFirstBatch();
  auto worker = MakeWorker(Opts(/*max_batch_requests=*/1, absl::ZeroDuration()), &clock, processor);
  ASSERT_TRUE(worker->Schedule(Task(0)).ok());
  processor.AwaitFirstBatchStarted();
  ASSERT_TRUE(worker->Schedule(Task(1, 10, /*priority=*/0)).ok());
  ASSERT_TRUE(worker->Schedule(Task(2, 10, /*priority=*/1)).ok());
  ASSERT_TRUE(worker->Schedule(Task(3, 10, /*priority=*/0)).ok());
  ASSERT_TRUE(worker->Schedule(Task(4, 10, /*priority=*/1)).ok());
  processor.ReleaseFirstBatch();
  processor.AwaitBatches(5);
  EXPECT_THAT(processor.batches(), ElementsAre(ElementsAre(0), ElementsAre(2), ElementsAre(4),
                                               ElementsAre(1), ElementsAre(3)));
}

TEST(DeviceWorkerTest, FormsTheNextBatchFromTasksAddedWhileOneRuns) {
  FakeClock clock;
  FakeProcessor processor;
  processor.HoldFirstBatch();
  auto worker = MakeWorker(Opts(/*max_batch_requests=*/100, absl::ZeroDuration()), &clock,
                           processor);
  ASSERT_TRUE(worker->Schedule(Task(1)).ok());
  processor.AwaitFirstBatchStarted();
  // The device is busy: these are accepted and wait.
  ASSERT_TRUE(worker->Schedule(Task(2)).ok());
  ASSERT_TRUE(worker->Schedule(Task(3)).ok());
  EXPECT_EQ(worker->stats().queued_requests, 2);
  processor.ReleaseFirstBatch();
  processor.AwaitBatches(2);
  EXPECT_THAT(processor.batches(), ElementsAre(ElementsAre(1), ElementsAre(2, 3)));
  worker->Shutdown(absl::Seconds(1));
  EXPECT_EQ(worker->batches_processed(), 2);
}

TEST(DeviceWorkerTest, WaitsForMaxQueueDelayOnTheClock) {
  FakeClock clock;
  FakeProcessor processor;
  auto worker = MakeWorker(Opts(/*max_batch_requests=*/100, absl::Milliseconds(10)), &clock,
                           processor);
  const absl::Time due = clock.Now() + absl::Milliseconds(10);
  ASSERT_TRUE(worker->Schedule(Task(1)).ok());
  clock.AwaitWaiter(due);  // the worker chose to wait until `due`
  EXPECT_THAT(processor.batches(), IsEmpty());
  ASSERT_TRUE(worker->Schedule(Task(2)).ok());
  clock.Advance(absl::Milliseconds(10));
  processor.AwaitBatches(1);
  EXPECT_THAT(processor.batches(), ElementsAre(ElementsAre(1, 2)));
}

TEST(DeviceWorkerTest, DropsAnExpiredTaskAtItsDeadline) {
  FakeClock clock;
  FakeProcessor processor;
  DropLog log;
  auto worker = MakeWorker(Opts(100, absl::Hours(1)), &clock, processor);
  auto task = log.Watch(Task(1));
  task->deadline = clock.Now() + absl::Seconds(5);
  ASSERT_TRUE(worker->Schedule(std::move(task)).ok());
  clock.AwaitWaiter(clock.Now() + absl::Seconds(5));
  clock.Advance(absl::Seconds(5));
  log.AwaitDrops(1);
  EXPECT_THAT(log.drops(), ElementsAre(std::make_pair(1, absl::StatusCode::kDeadlineExceeded)));
  EXPECT_EQ(worker->stats().dropped_deadline, 1);
  worker->Shutdown(absl::Seconds(1));
  EXPECT_THAT(processor.batches(), IsEmpty());
}

TEST(DeviceWorkerTest, SkipsCancelledWork) {
  FakeClock clock;
  FakeProcessor processor;
  DropLog log;
  auto worker = MakeWorker(Opts(100, absl::Hours(1)), &clock, processor);
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  auto task = log.Watch(Task(1));
  task->cancelled = cancelled;
  ASSERT_TRUE(worker->Schedule(std::move(task)).ok());
  ASSERT_TRUE(worker->Schedule(Task(2)).ok());
  cancelled->store(true);
  worker->Wake();
  log.AwaitDrops(1);
  EXPECT_THAT(log.drops(), ElementsAre(std::make_pair(1, absl::StatusCode::kCancelled)));
  worker->Shutdown(absl::Seconds(1));
  EXPECT_THAT(processor.batches(), ElementsAre(ElementsAre(2)));
}

TEST(DeviceWorkerTest, ShutdownDrainsQueuedWorkWithoutWaitingForTheDelay) {
  FakeClock clock;
  FakeProcessor processor;
  DropLog log;
  auto worker = MakeWorker(Opts(/*max_batch_requests=*/2, absl::Hours(1)), &clock, processor);
  for (int id : {0, 1, 2}) ASSERT_TRUE(worker->Schedule(log.Watch(Task(id))).ok());
  // [0, 1] is full and goes; [2] waits for company.
  processor.AwaitBatches(1);
  clock.AwaitWaiter(clock.Now() + absl::Hours(1));
  worker->Shutdown(absl::Minutes(1));
  EXPECT_THAT(processor.batches(), ElementsAre(ElementsAre(0, 1), ElementsAre(2)));
  EXPECT_THAT(log.drops(), IsEmpty());
  EXPECT_EQ(worker->Schedule(Task(3)).code(), absl::StatusCode::kUnavailable);
}

TEST(DeviceWorkerTest, ShutdownFinishesQueuedWorkWithinTheDrainTimeout) {
  FakeClock clock;
  FakeProcessor processor;
  processor.HoldFirstBatch();
  DropLog log;
  auto worker = MakeWorker(Opts(/*max_batch_requests=*/1, absl::ZeroDuration()), &clock, processor);
  ASSERT_TRUE(worker->Schedule(Task(1)).ok());
  processor.AwaitFirstBatchStarted();
  ASSERT_TRUE(worker->Schedule(log.Watch(Task(2))).ok());
  ASSERT_TRUE(worker->Schedule(log.Watch(Task(3))).ok());
  worker->BeginShutdown(absl::Seconds(10));
  EXPECT_EQ(worker->Schedule(Task(4)).code(), absl::StatusCode::kUnavailable);
  clock.Advance(absl::Seconds(5));  // the running batch took 5 s
  processor.ReleaseFirstBatch();
  worker->Shutdown(absl::Seconds(10));
  EXPECT_THAT(processor.batches(), ElementsAre(ElementsAre(1), ElementsAre(2), ElementsAre(3)));
  EXPECT_THAT(log.drops(), IsEmpty());
}

TEST(DeviceWorkerTest, ShutdownDropsWhatIsLeftAfterTheDrainTimeout) {
  FakeClock clock;
  FakeProcessor processor;
  processor.HoldFirstBatch();
  DropLog log;
  auto worker = MakeWorker(Opts(/*max_batch_requests=*/1, absl::ZeroDuration()), &clock, processor);
  ASSERT_TRUE(worker->Schedule(Task(1)).ok());
  processor.AwaitFirstBatchStarted();
  ASSERT_TRUE(worker->Schedule(log.Watch(Task(2))).ok());
  ASSERT_TRUE(worker->Schedule(log.Watch(Task(3))).ok());
  worker->BeginShutdown(absl::Seconds(10));
  EXPECT_EQ(worker->Schedule(Task(4)).code(), absl::StatusCode::kUnavailable);
  clock.Advance(absl::Seconds(11));  // the running batch outlasted the drain
  processor.ReleaseFirstBatch();
  worker->Shutdown(absl::Seconds(10));
  EXPECT_THAT(processor.batches(), ElementsAre(ElementsAre(1)));
  EXPECT_THAT(log.drops(), ElementsAre(std::make_pair(2, absl::StatusCode::kUnavailable),
                                       std::make_pair(3, absl::StatusCode::kUnavailable)));
  BatchQueue::Stats stats = worker->stats();
  EXPECT_EQ(stats.dropped_shutdown, 2);
  EXPECT_EQ(stats.rejected_shutdown, 1);
  EXPECT_EQ(stats.queued_requests, 0);
}

TEST(DeviceWorkerTest, DestructorDropsQueuedWork) {
  FakeClock clock;
  FakeProcessor processor;
  DropLog log;
  auto worker = MakeWorker(Opts(100, absl::Hours(1)), &clock, processor);
  ASSERT_TRUE(worker->Schedule(log.Watch(Task(1))).ok());
  worker.reset();
  EXPECT_THAT(log.drops(), ElementsAre(std::make_pair(1, absl::StatusCode::kUnavailable)));
  EXPECT_THAT(processor.batches(), IsEmpty());
}

// Idle work (the future training steps) runs only when no batch is due, one
// unit at a time; a batch that arrives during a unit runs before the next.
TEST(DeviceWorkerTest, InferenceGoesBeforeIdleWork) {
  FakeClock clock;
  FakeProcessor processor;
  absl::Mutex mu;
  std::vector<std::string> events;  // guarded by mu
  int units_left = 3;               // guarded by mu
  int next_unit = 1;                // guarded by mu
  bool out_of_work = false;         // guarded by mu
  absl::Notification first_unit_started, release_first_unit;
  auto idle = [&](absl::Time next_batch_at) {
    int unit;
    {
      absl::MutexLock lock(&mu);
      if (units_left == 0) {
        out_of_work = true;
        return false;
      }
      unit = next_unit++;
      --units_left;
      events.push_back(absl::StrCat("unit ", unit, next_batch_at == absl::InfiniteFuture()
                                                       ? ""
                                                       : " (batch pending)"));
    }
    if (unit == 1) {
      first_unit_started.Notify();
      release_first_unit.WaitForNotification();
    }
    return true;
  };
  auto worker = DeviceWorker::Create(Opts(100, absl::ZeroDuration()), &clock,
                                     [&](EmbedBatch batch) {
                                       absl::MutexLock lock(&mu);
                                       events.push_back(absl::StrCat(
                                           "batch of ", batch.tasks.size()));
                                     },
                                     idle);
  ASSERT_TRUE(worker.ok()) << worker.status();
  first_unit_started.WaitForNotification();
  ASSERT_TRUE((*worker)->Schedule(Task(1)).ok());
  release_first_unit.Notify();
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&out_of_work));
    EXPECT_THAT(events, ElementsAre("unit 1", "batch of 1", "unit 2", "unit 3"));
    units_left = 1;
    out_of_work = false;
  }
  // Out of work, the worker sleeps until told there is more.
  clock.AwaitWaiter(absl::InfiniteFuture());
  (*worker)->Wake();
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(&out_of_work));
  EXPECT_THAT(events, ElementsAre("unit 1", "batch of 1", "unit 2", "unit 3", "unit 4"));
}

// With a grace period, idle work waits until no batch has finished for that
// long; each batch restarts the wait.
TEST(DeviceWorkerTest, IdleWorkWaitsForTheGracePeriodAfterABatch) {
  FakeClock clock;
  FakeProcessor processor;
  std::atomic<int> units{0};
  DeviceWorker::Options options = Opts(100, absl::ZeroDuration());
  options.idle_work_grace = absl::Milliseconds(10);
  auto worker = MakeWorker(options, &clock, processor, [&](absl::Time) {
    ++units;
    return false;  // out of work after each turn; Wake() brings it back
  });
  ASSERT_NE(worker, nullptr);
  // No batch yet: idle work runs at once.
  clock.AwaitWaiter(absl::InfiniteFuture());
  EXPECT_EQ(units.load(), 1);
  ASSERT_TRUE(worker->Schedule(Task(1)).ok());
  processor.AwaitBatches(1);
  // After the batch the worker waits out the grace before idle work.
  const absl::Time grace_end = clock.Now() + absl::Milliseconds(10);
  clock.AwaitWaiter(grace_end);
  EXPECT_EQ(units.load(), 1);
  clock.Advance(absl::Milliseconds(9));
  clock.AwaitWaiter(grace_end);
  EXPECT_EQ(units.load(), 1);
  clock.Advance(absl::Milliseconds(1));
  clock.AwaitWaiter(absl::InfiniteFuture());
  EXPECT_EQ(units.load(), 2);
}

// Batches that never stop still let idle work have a turn every max_wait.
TEST(DeviceWorkerTest, IdleWorkIsNotStarvedPastMaxWait) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  absl::Mutex mu;
  std::vector<std::string> events;  // guarded by mu
  int batches = 0;                  // guarded by mu
  DeviceWorker::Options options = Opts(1, absl::ZeroDuration());
  options.idle_work_grace = absl::Hours(1);  // never idle long enough
  options.idle_work_max_wait = absl::Milliseconds(100);
  DeviceWorker* self = nullptr;
  auto worker = DeviceWorker::Create(
      options, &clock,
      [&](EmbedBatch) {
        absl::MutexLock lock(&mu);
        events.push_back("batch");
        // Each batch takes 40 ms and a new request is waiting, 9 in all.
        clock.Advance(absl::Milliseconds(40));
        if (++batches < 9) {
          EXPECT_TRUE(self->Schedule(Task(100 + batches)).ok());
        }
      },
      [&](absl::Time next_batch_at) {
        absl::MutexLock lock(&mu);
        if (next_batch_at == clock.Now()) events.push_back("unit");
        return false;
      });
  ASSERT_TRUE(worker.ok()) << worker.status();
  self = worker->get();
  ASSERT_TRUE(self->Schedule(Task(1)).ok());
  // After the 9th batch (t = 360 ms) the worker sleeps out the grace.
  clock.AwaitWaiter(start + absl::Milliseconds(360) + absl::Hours(1));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(absl::StrJoin(events, " "),
            "batch batch batch unit batch batch batch unit batch batch batch unit");
}

// A unit longer than max_wait is followed by the waiting batch, not by
// another unit: the wait counts from the end of idle work's turn.
TEST(DeviceWorkerTest, ALongUnitDoesNotStarveInference) {
  FakeClock clock;
  absl::Mutex mu;
  std::vector<std::string> events;  // guarded by mu
  DeviceWorker::Options options = Opts(1, absl::ZeroDuration());
  options.idle_work_max_wait = absl::Milliseconds(100);
  DeviceWorker* self = nullptr;  // guarded by mu
  int units = 0;                 // guarded by mu
  bool started = false;          // guarded by mu: idle work waits for the test
  auto worker = DeviceWorker::Create(
      options, &clock,
      [&](EmbedBatch) {
        absl::MutexLock lock(&mu);
        events.push_back("batch");
      },
      [&](absl::Time) {
        absl::MutexLock lock(&mu);
        if (!started || units == 2) return false;
        events.push_back("unit");
        // A 1 s unit, during which a request arrives.
        clock.Advance(absl::Seconds(1));
        if (++units == 1) {
          EXPECT_TRUE(self->Schedule(Task(1)).ok());
        }
        return true;
      });
  ASSERT_TRUE(worker.ok()) << worker.status();
  {
    absl::MutexLock lock(&mu);
    self = worker->get();
    started = true;
  }
  (*worker)->Wake();
  absl::MutexLock lock(&mu);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return units == 2 && events.size() == 3; };
  mu.Await(absl::Condition(&done));
  EXPECT_EQ(absl::StrJoin(events, " "), "unit batch unit");
}

// The worker (and the math threads it starts) run at the configured lower
// CPU priority; the calling thread keeps its own.
TEST(DeviceWorkerTest, RunsAtTheConfiguredNiceness) {
  FakeClock clock;
  const int own = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
  std::atomic<int> seen{-100};
  absl::Notification done;
  DeviceWorker::Options options = Opts(100, absl::ZeroDuration());
  options.nice = 3;
  auto worker = DeviceWorker::Create(options, &clock, [&](EmbedBatch) {
    seen = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
    done.Notify();
  });
  ASSERT_TRUE(worker.ok()) << worker.status();
  ASSERT_TRUE((*worker)->Schedule(Task(1)).ok());
  done.WaitForNotification();
  EXPECT_EQ(seen.load(), std::min(own + 3, 19));
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid))), own);
}

}  // namespace
}  // namespace llm2vec
