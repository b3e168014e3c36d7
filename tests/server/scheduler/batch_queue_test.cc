// BatchQueue: batch formation, dropping and admission, driven with explicit
// times (no clock, no threads).
#include "server/scheduler/batch_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <any>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace llm2vec {

// The service's payload, as these tests need it: the task's id.
struct EmbedWork {
  int id;
};
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// A task whose payload is its id.
std::unique_ptr<EmbedTask> Task(int id, int64_t tokens, absl::Time enqueued = kT0) {
  auto task = std::make_unique<EmbedTask>();
  task->tokens = tokens;
  task->enqueued = enqueued;
  task->work = std::make_shared<EmbedWork>(EmbedWork{id});
  return task;
}

std::unique_ptr<EmbedTask> Task(int id, int64_t tokens, int priority, std::string adapter) {
  auto task = Task(id, tokens);
  task->priority = priority;
  task->key.adapter = std::move(adapter);
  return task;
}

std::vector<int> Ids(const EmbedBatch& batch) {
  std::vector<int> ids;
  for (const auto& task : batch.tasks) ids.push_back(task->work->id);
  return ids;
}

std::unique_ptr<BatchQueue> MakeQueue(const BatchQueue::Options& options) {
  auto queue = BatchQueue::Create(options);
  EXPECT_TRUE(queue.ok()) << queue.status();
  return queue.ok() ? *std::move(queue) : nullptr;
}

// Immediate dispatch and roomy bounds unless a test says otherwise.
BatchQueue::Options Opts(int64_t max_batch_tokens = 1000, int64_t max_batch_requests = 100) {
  BatchQueue::Options o;
  o.max_batch_tokens = max_batch_tokens;
  o.max_batch_requests = max_batch_requests;
  o.max_queue_delay = absl::ZeroDuration();
  return o;
}

// The ids of every batch until the queue is empty, asking at `now`.
std::vector<std::vector<int>> Drain(BatchQueue& queue, absl::Time now = kT0) {
  std::vector<std::vector<int>> batches;
  absl::Time wake;
  while (std::optional<EmbedBatch> batch = queue.NextBatch(now, &wake)) {
    batches.push_back(Ids(*batch));
  }
  return batches;
}

TEST(BatchQueueTest, CreateValidatesOptions) {
  BatchQueue::Options o = Opts();
  o.max_batch_tokens = 0;
  absl::StatusOr<std::unique_ptr<BatchQueue>> queue = BatchQueue::Create(o);
  EXPECT_EQ(queue.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(queue.status().message(), HasSubstr("max_batch_tokens is 0"));

  o = Opts();
  o.max_queue_requests = -1;
  EXPECT_EQ(BatchQueue::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Opts();
  o.max_queue_delay = absl::Milliseconds(-1);
  EXPECT_EQ(BatchQueue::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BatchQueueTest, EmptyQueueHasNothingAndNoWakeUp) {
  auto queue = MakeQueue(Opts());
  absl::Time wake;
  EXPECT_FALSE(queue->NextBatch(kT0, &wake).has_value());
  EXPECT_EQ(wake, absl::InfiniteFuture());
}

TEST(BatchQueueTest, BudgetCountsPaddedTokens) {
  // Real tokens of all four (280) fit 300, padded ones (4 x 100) do not.
  auto queue = MakeQueue(Opts(/*max_batch_tokens=*/300));
  ASSERT_TRUE(queue->Add(Task(1, 100)).ok());
  ASSERT_TRUE(queue->Add(Task(2, 60)).ok());
  ASSERT_TRUE(queue->Add(Task(3, 60)).ok());
  ASSERT_TRUE(queue->Add(Task(4, 60)).ok());
  absl::Time wake;
  std::optional<EmbedBatch> batch = queue->NextBatch(kT0, &wake);
  ASSERT_TRUE(batch.has_value());
  EXPECT_THAT(Ids(*batch), ElementsAre(1, 2, 3));
  EXPECT_EQ(batch->real_tokens, 220);
  EXPECT_EQ(batch->padded_tokens, 300);
  EXPECT_NEAR(batch->padding_waste(), 80.0 / 300.0, 1e-12);
  EXPECT_THAT(Drain(*queue), ElementsAre(ElementsAre(4)));
}

TEST(BatchQueueTest, RequestCapLimitsBatchSize) {
  auto queue = MakeQueue(Opts(/*max_batch_tokens=*/1000, /*max_batch_requests=*/4));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(queue->Add(Task(i, 10)).ok());
  EXPECT_THAT(Drain(*queue), ElementsAre(ElementsAre(0, 1, 2, 3), ElementsAre(4, 5, 6, 7),
                                         ElementsAre(8, 9)));
}

TEST(BatchQueueTest, HigherPriorityFirst) {
  auto queue = MakeQueue(Opts(1000, /*max_batch_requests=*/2));
  ASSERT_TRUE(queue->Add(Task(1, 10, /*priority=*/0, "")).ok());
  ASSERT_TRUE(queue->Add(Task(2, 10, /*priority=*/1, "")).ok());
  ASSERT_TRUE(queue->Add(Task(3, 10, /*priority=*/0, "")).ok());
  ASSERT_TRUE(queue->Add(Task(4, 10, /*priority=*/1, "")).ok());
  absl::Time wake;
  std::optional<EmbedBatch> first = queue->NextBatch(kT0, &wake);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->priority, 1);
  EXPECT_THAT(Ids(*first), ElementsAre(2, 4));
  EXPECT_THAT(Drain(*queue), ElementsAre(ElementsAre(1, 3)));
}

TEST(BatchQueueTest, FifoWithinPriorityWhateverTheLength) {
  // One task per batch: the order is arrival order, not length order.
  auto queue = MakeQueue(Opts(1000, /*max_batch_requests=*/1));
  ASSERT_TRUE(queue->Add(Task(1, 50)).ok());
  ASSERT_TRUE(queue->Add(Task(2, 10)).ok());
  ASSERT_TRUE(queue->Add(Task(3, 30)).ok());
  ASSERT_TRUE(queue->Add(Task(4, 10)).ok());
  EXPECT_THAT(Drain(*queue), ElementsAre(ElementsAre(1), ElementsAre(2), ElementsAre(3),
                                         ElementsAre(4)));
  // Equal lengths, two per batch: the older ones go first.
  auto pairs = MakeQueue(Opts(1000, /*max_batch_requests=*/2));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(pairs->Add(Task(10 + i, 20)).ok());
  EXPECT_THAT(Drain(*pairs), ElementsAre(ElementsAre(10, 11), ElementsAre(12, 13)));
}

TEST(BatchQueueTest, BatchHoldsOneAdapter) {
  auto queue = MakeQueue(Opts());
  ASSERT_TRUE(queue->Add(Task(1, 10, 0, "x")).ok());
  ASSERT_TRUE(queue->Add(Task(2, 10, 0, "y")).ok());
  ASSERT_TRUE(queue->Add(Task(3, 10, 0, "x")).ok());
  ASSERT_TRUE(queue->Add(Task(4, 10, 0, "y")).ok());
  ASSERT_TRUE(queue->Add(Task(5, 10, 0, "")).ok());
  std::vector<std::string> adapters;
  std::vector<std::vector<int>> ids;
  absl::Time wake;
  while (std::optional<EmbedBatch> batch = queue->NextBatch(kT0, &wake)) {
    adapters.push_back(batch->key.adapter);
    ids.push_back(Ids(*batch));
  }
  // The group of the oldest task goes first.
  EXPECT_THAT(adapters, ElementsAre("x", "y", ""));
  EXPECT_THAT(ids, ElementsAre(ElementsAre(1, 3), ElementsAre(2, 4), ElementsAre(5)));
}

TEST(BatchQueueTest, BatchHoldsOnePooling) {
  auto queue = MakeQueue(Opts());
  for (int id = 1; id <= 4; ++id) {
    auto task = Task(id, 10, 0, "x");
    task->key.pooling = id % 2;
    ASSERT_TRUE(queue->Add(std::move(task)).ok());
  }
  std::vector<std::vector<int>> ids;
  std::vector<int> poolings;
  absl::Time wake;
  while (std::optional<EmbedBatch> batch = queue->NextBatch(kT0, &wake)) {
    poolings.push_back(batch->key.pooling);
    ids.push_back(Ids(*batch));
  }
  EXPECT_THAT(poolings, ElementsAre(1, 0));
  EXPECT_THAT(ids, ElementsAre(ElementsAre(1, 3), ElementsAre(2, 4)));
}

TEST(BatchQueueTest, WaitsUpToMaxQueueDelayForCompany) {
  BatchQueue::Options o = Opts(/*max_batch_tokens=*/100, /*max_batch_requests=*/10);
  o.max_queue_delay = absl::Milliseconds(10);
  auto queue = MakeQueue(o);
  ASSERT_TRUE(queue->Add(Task(1, 10, kT0)).ok());
  absl::Time wake;
  EXPECT_FALSE(queue->NextBatch(kT0, &wake).has_value());
  EXPECT_EQ(wake, kT0 + absl::Milliseconds(10));
  ASSERT_TRUE(queue->Add(Task(2, 10, kT0 + absl::Milliseconds(5))).ok());
  EXPECT_FALSE(queue->NextBatch(kT0 + absl::Milliseconds(9), &wake).has_value());
  EXPECT_EQ(wake, kT0 + absl::Milliseconds(10));  // the oldest task's
  std::optional<EmbedBatch> batch = queue->NextBatch(kT0 + absl::Milliseconds(10), &wake);
  ASSERT_TRUE(batch.has_value());
  EXPECT_THAT(Ids(*batch), ElementsAre(1, 2));
}

TEST(BatchQueueTest, FullBatchDoesNotWait) {
  BatchQueue::Options o = Opts(/*max_batch_tokens=*/100, /*max_batch_requests=*/3);
  o.max_queue_delay = absl::Seconds(10);
  auto queue = MakeQueue(o);
  absl::Time wake;
  // By budget: a third 50-token task would not fit.
  ASSERT_TRUE(queue->Add(Task(1, 50)).ok());
  EXPECT_FALSE(queue->NextBatch(kT0, &wake).has_value());
  ASSERT_TRUE(queue->Add(Task(2, 50)).ok());
  std::optional<EmbedBatch> batch = queue->NextBatch(kT0, &wake);
  ASSERT_TRUE(batch.has_value());
  EXPECT_THAT(Ids(*batch), ElementsAre(1, 2));
  // By request cap.
  for (int i = 3; i <= 5; ++i) ASSERT_TRUE(queue->Add(Task(i, 10)).ok());
  batch = queue->NextBatch(kT0, &wake);
  ASSERT_TRUE(batch.has_value());
  EXPECT_THAT(Ids(*batch), ElementsAre(3, 4, 5));
}

TEST(BatchQueueTest, ZeroDelayDispatchesAtOnce) {
  auto queue = MakeQueue(Opts());
  ASSERT_TRUE(queue->Add(Task(1, 10)).ok());
  absl::Time wake;
  std::optional<EmbedBatch> batch = queue->NextBatch(kT0, &wake);
  ASSERT_TRUE(batch.has_value());
  EXPECT_THAT(Ids(*batch), ElementsAre(1));
}

TEST(BatchQueueTest, DropsExpiredTasksBeforeCompute) {
  BatchQueue::Options o = Opts();
  o.max_queue_delay = absl::Seconds(10);
  auto queue = MakeQueue(o);
  std::vector<absl::Status> dropped;
  auto expiring = Task(1, 10);
  expiring->deadline = kT0 + absl::Seconds(1);
  expiring->on_dropped = [&](absl::Status s) { dropped.push_back(s); };
  ASSERT_TRUE(queue->Add(std::move(expiring)).ok());
  ASSERT_TRUE(queue->Add(Task(2, 10)).ok());

  // Waiting for company, the queue wants to be asked again at the deadline.
  absl::Time wake;
  EXPECT_FALSE(queue->NextBatch(kT0, &wake).has_value());
  EXPECT_EQ(wake, kT0 + absl::Seconds(1));
  EXPECT_TRUE(dropped.empty());

  EXPECT_FALSE(queue->NextBatch(kT0 + absl::Seconds(1), &wake).has_value());
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(wake, kT0 + absl::Seconds(10));
  BatchQueue::Stats stats = queue->stats();
  EXPECT_EQ(stats.dropped_deadline, 1);
  EXPECT_EQ(stats.queued_requests, 1);
  EXPECT_EQ(stats.queued_tokens, 10);

  std::optional<EmbedBatch> batch = queue->NextBatch(kT0 + absl::Seconds(10), &wake);
  ASSERT_TRUE(batch.has_value());
  EXPECT_THAT(Ids(*batch), ElementsAre(2));
}

TEST(BatchQueueTest, SkipsCancelledTasks) {
  auto queue = MakeQueue(Opts());
  // One request with two inputs shares its cancellation flag.
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  std::vector<absl::Status> dropped;
  std::vector<std::unique_ptr<EmbedTask>> request;
  for (int id : {1, 2}) {
    auto task = Task(id, 10);
    task->cancelled = cancelled;
    task->on_dropped = [&](absl::Status s) { dropped.push_back(s); };
    request.push_back(std::move(task));
  }
  ASSERT_TRUE(queue->Add(std::move(request)).ok());
  ASSERT_TRUE(queue->Add(Task(3, 10)).ok());
  cancelled->store(true);
  EXPECT_THAT(Drain(*queue), ElementsAre(ElementsAre(3)));
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[0].code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(dropped[1].code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(queue->stats().dropped_cancelled, 2);
  EXPECT_EQ(queue->stats().queued_requests, 0);
}

TEST(BatchQueueTest, RejectsPastMaxQueueRequests) {
  BatchQueue::Options o = Opts(1000, /*max_batch_requests=*/2);
  o.max_queue_requests = 3;
  auto queue = MakeQueue(o);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(queue->Add(Task(i, 10)).ok());
  absl::Status full = queue->Add(Task(3, 10));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("3 inputs are waiting and max_queue_requests is 3"));
  EXPECT_EQ(queue->stats().rejected_full, 1);
  EXPECT_EQ(queue->stats().queued_requests, 3);
  // Room again once a batch has left.
  absl::Time wake;
  ASSERT_TRUE(queue->NextBatch(kT0, &wake).has_value());
  EXPECT_TRUE(queue->Add(Task(3, 10)).ok());
}

TEST(BatchQueueTest, RejectsPastMaxQueueTokens) {
  BatchQueue::Options o = Opts();
  o.max_queue_tokens = 100;
  auto queue = MakeQueue(o);
  ASSERT_TRUE(queue->Add(Task(1, 60)).ok());
  absl::Status full = queue->Add(Task(2, 50));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("60 tokens are waiting and max_queue_tokens is 100"));
  EXPECT_TRUE(queue->Add(Task(3, 40)).ok());
  EXPECT_EQ(queue->stats().queued_tokens, 100);
}

TEST(BatchQueueTest, AddsARequestsTasksAllOrNone) {
  BatchQueue::Options o = Opts();
  o.max_queue_requests = 4;
  auto queue = MakeQueue(o);
  ASSERT_TRUE(queue->Add(Task(1, 10)).ok());
  ASSERT_TRUE(queue->Add(Task(2, 10)).ok());
  std::vector<std::unique_ptr<EmbedTask>> three;
  for (int id : {3, 4, 5}) three.push_back(Task(id, 10));
  EXPECT_EQ(queue->Add(std::move(three)).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(queue->stats().queued_requests, 2);
  // More inputs than the queue could ever hold: the caller's error.
  std::vector<std::unique_ptr<EmbedTask>> five;
  for (int id : {6, 7, 8, 9, 10}) five.push_back(Task(id, 10));
  absl::Status too_big = queue->Add(std::move(five));
  EXPECT_EQ(too_big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_big.message(), HasSubstr("max_queue_requests 4"));
  EXPECT_THAT(Drain(*queue), ElementsAre(ElementsAre(1, 2)));
}

TEST(BatchQueueTest, RejectsATaskLongerThanTheBatchBudget) {
  auto queue = MakeQueue(Opts(/*max_batch_tokens=*/100));
  absl::Status oversized = queue->Add(Task(1, 101));
  EXPECT_EQ(oversized.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(oversized.message(), HasSubstr("task has 101 tokens; max_batch_tokens is 100"));
  EXPECT_EQ(queue->Add(Task(2, 0)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(queue->Add(nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(queue->Add(Task(3, 100)).ok());
  EXPECT_EQ(queue->stats().rejected_invalid, 3);
  EXPECT_EQ(queue->stats().queued_requests, 1);
}

TEST(BatchQueueTest, ShutdownRefusesNewWorkAndFlushDrainsWithoutDelay) {
  BatchQueue::Options o = Opts();
  o.max_queue_delay = absl::Hours(1);
  auto queue = MakeQueue(o);
  ASSERT_TRUE(queue->Add(Task(1, 10)).ok());
  absl::Time wake;
  EXPECT_FALSE(queue->NextBatch(kT0, &wake).has_value());
  queue->BeginShutdown();
  absl::Status refused = queue->Add(Task(2, 10));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(queue->stats().rejected_shutdown, 1);
  EXPECT_FALSE(queue->NextBatch(kT0, &wake).has_value());
  queue->Flush();
  std::optional<EmbedBatch> batch = queue->NextBatch(kT0, &wake);
  ASSERT_TRUE(batch.has_value());
  EXPECT_THAT(Ids(*batch), ElementsAre(1));
}

TEST(BatchQueueTest, DropAllCallsOnDropped) {
  auto queue = MakeQueue(Opts());
  std::vector<absl::Status> dropped;
  for (int id : {1, 2}) {
    auto task = Task(id, 10, 0, id == 1 ? "x" : "");
    task->on_dropped = [&](absl::Status s) { dropped.push_back(s); };
    ASSERT_TRUE(queue->Add(std::move(task)).ok());
  }
  EXPECT_EQ(queue->DropAll(absl::UnavailableError("shutting down")), 2);
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(dropped[1].code(), absl::StatusCode::kUnavailable);
  BatchQueue::Stats stats = queue->stats();
  EXPECT_EQ(stats.dropped_shutdown, 2);
  EXPECT_EQ(stats.queued_requests, 0);
  EXPECT_EQ(stats.queued_tokens, 0);
}

TEST(BatchQueueTest, PicksSimilarLengthsAroundTheOldestTask) {
  auto queue = MakeQueue(Opts(/*max_batch_tokens=*/1000));
  int id = 1;
  for (int64_t tokens : {50, 10, 10, 48, 52, 200}) ASSERT_TRUE(queue->Add(Task(id++, tokens)).ok());
  absl::Time wake;
  std::optional<EmbedBatch> batch = queue->NextBatch(kT0, &wake);
  ASSERT_TRUE(batch.has_value());
  EXPECT_THAT(Ids(*batch), ElementsAre(1, 4, 5));
  EXPECT_EQ(batch->real_tokens, 150);
  EXPECT_EQ(batch->padded_tokens, 156);
}

// The waste of batching a crafted mix, short and long inputs interleaved,
// with length_aware on or off.
struct Waste {
  int64_t real = 0, padded = 0, batches = 0;
  double fraction() const { return 1.0 - static_cast<double>(real) / padded; }
};
Waste BatchTheMix(bool length_aware) {
  BatchQueue::Options o = Opts(/*max_batch_tokens=*/1024, /*max_batch_requests=*/64);
  o.length_aware = length_aware;
  auto queue = MakeQueue(o);
  for (int i = 0; i < 64; ++i) {
    const int64_t tokens = i % 2 == 0 ? 8 + (i * 7) % 8 : 100 + (i * 13) % 28;
    EXPECT_TRUE(queue->Add(Task(i, tokens)).ok());
  }
  Waste w;
  absl::Time wake;
  while (std::optional<EmbedBatch> batch = queue->NextBatch(kT0, &wake)) {
    w.real += batch->real_tokens;
    w.padded += batch->padded_tokens;
    ++w.batches;
  }
  BatchQueue::Stats stats = queue->stats();
  EXPECT_EQ(stats.batched_real_tokens, w.real);
  EXPECT_EQ(stats.batched_padded_tokens, w.padded);
  EXPECT_EQ(stats.batched_requests, 64);
  return w;
}

TEST(BatchQueueTest, LengthAwareBatchingWastesLessPaddingThanFifo) {
  const Waste fifo = BatchTheMix(/*length_aware=*/false);
  const Waste aware = BatchTheMix(/*length_aware=*/true);
  ASSERT_EQ(fifo.real, aware.real);
  ::testing::Test::RecordProperty("fifo_waste", std::to_string(fifo.fraction()));
  ::testing::Test::RecordProperty("length_aware_waste", std::to_string(aware.fraction()));
  EXPECT_GT(fifo.fraction(), 0.4) << fifo.padded << " padded for " << fifo.real;
  EXPECT_LT(aware.fraction(), 0.15) << aware.padded << " padded for " << aware.real;
  EXPECT_LT(aware.padded, fifo.padded);
}

TEST(BatchQueueTest, OldLongTaskIsNotStarvedByShortOnes) {
  // Short tasks keep arriving and would always make the tidier batch; the
  // long one still goes as soon as it is the oldest.
  auto queue = MakeQueue(Opts(/*max_batch_tokens=*/1000, /*max_batch_requests=*/100));
  int id = 0;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(queue->Add(Task(id++, 10)).ok());
  const int long_id = id;
  ASSERT_TRUE(queue->Add(Task(id++, 500)).ok());
  absl::Time wake;
  int batches_until_long = 0;
  bool long_done = false;
  while (!long_done && batches_until_long < 10) {
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(queue->Add(Task(id++, 10)).ok());
    std::optional<EmbedBatch> batch = queue->NextBatch(kT0, &wake);
    ASSERT_TRUE(batch.has_value());
    ++batches_until_long;
    for (int x : Ids(*batch)) long_done |= x == long_id;
  }
  // First the three older short tasks (with the newer ones), then the long.
  EXPECT_TRUE(long_done);
  EXPECT_EQ(batches_until_long, 2);
}

}  // namespace
}  // namespace llm2vec
