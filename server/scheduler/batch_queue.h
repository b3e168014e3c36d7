// The batching scheduler's queue: embedding tasks waiting for the device,
// and the rule that turns them into batches.
//
// RPC threads Add() tokenized tasks; the device worker asks NextBatch(now)
// whenever the device is free. A batch is formed from one group, tasks of
// the same priority and key (adapter and pooling):
//   - the group is the highest priority present, then the one whose oldest
//     task is oldest; that oldest task (the "anchor") is always in the
//     batch, so no task starves behind shorter ones: each batch of a group
//     takes its oldest task, and a task waits at most for the batches of
//     the tasks older than it (plus those of higher priority);
//   - the batch holds at most max_batch_requests tasks and at most
//     max_batch_tokens padded tokens (tasks x longest task);
//   - with length_aware (the default), the other tasks are those of similar
//     length: the candidates sorted by length, the batch is the window
//     around the anchor that maximises real tokens minus padding tokens
//     (so a task joins only if it is longer than half the batch's longest,
//     and waste stays under about one half even for bad mixes; typical
//     mixes waste a few percent). Without it, tasks are taken in FIFO
//     order until the next one does not fit.
// The batch is dispatched when it is full (no room for one more task as
// long as its longest), when its anchor has waited max_queue_delay, when
// max_queue_delay is zero, or after Flush() (draining). Otherwise NextBatch
// returns nothing and says when to ask again.
//
// Before forming a batch, NextBatch drops cancelled tasks and tasks whose
// deadline has passed, calling their on_dropped (outside the lock) and
// counting them.
//
// The queue is bounded in tasks and in tokens; past the bounds Add fails at
// once with RESOURCE_EXHAUSTED, so memory never grows without limit.
//
// Threading: all methods are thread-safe (one internal mutex). Callbacks
// (on_dropped) run on the calling thread with no lock held, so they may
// call back into the queue. NextBatch is O(n log n) in the queued tasks,
// which the bounds keep small.
#ifndef LLM2VEC_SERVER_SCHEDULER_BATCH_QUEUE_H_
#define LLM2VEC_SERVER_SCHEDULER_BATCH_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace llm2vec {

// What tasks must share to run in one forward pass: the LoRA adapter ("" is
// the base model) and the pooling. The queue only compares keys; the
// service gives them meaning (`pooling` is its PoolingMode's value).
struct BatchKey {
  std::string adapter;
  int pooling = 0;

  bool operator==(const BatchKey& o) const { return adapter == o.adapter && pooling == o.pooling; }
  bool operator<(const BatchKey& o) const {
    return adapter != o.adapter ? adapter < o.adapter : pooling < o.pooling;
  }
};

// The service's data for one task (token ids, where the result goes,
// completion): defined by the service, never looked at by the queue.
struct EmbedWork;

// One input text, already tokenized, waiting for the device. A request with
// several inputs becomes several tasks (added together with the vector
// overload of Add); they may share `cancelled` and whatever completion
// state the payload points to.
struct EmbedTask {
  // Sequence length the model will see, special tokens included; > 0.
  int64_t tokens = 0;
  // Higher runs first (0 normal, 1 high, ...); FIFO within a level.
  int priority = 0;
  // When it was enqueued; DeviceWorker::Schedule sets it from its clock.
  absl::Time enqueued = absl::InfinitePast();
  // Dropped unprocessed once now >= deadline; InfiniteFuture() for none.
  absl::Time deadline = absl::InfiniteFuture();
  // A batch never mixes keys.
  BatchKey key;
  // Set by the RPC layer when the call is cancelled; may be null.
  std::shared_ptr<std::atomic<bool>> cancelled;
  // The service's data; the queue never looks at it.
  std::shared_ptr<EmbedWork> work;
  // Called when the task is dropped without being processed, with
  // CANCELLED, DEADLINE_EXCEEDED, or UNAVAILABLE (shutdown's drain timed
  // out); on the thread that drops it, with no lock held. Not called when
  // Add refuses the task (Add's status says why), nor once the task is in
  // a batch (the batch processor owns it then). May be null.
  std::function<void(absl::Status)> on_dropped;

  bool is_cancelled() const { return cancelled != nullptr && cancelled->load(); }
};

// Tasks that run in one forward pass: one key, one priority.
struct EmbedBatch {
  BatchKey key;
  int priority = 0;
  // In the order they were added.
  std::vector<std::unique_ptr<EmbedTask>> tasks;
  int64_t real_tokens = 0;    // sum of the tasks' tokens
  int64_t padded_tokens = 0;  // tasks.size() * longest task
  // Share of padded_tokens that is padding, in [0, 1).
  double padding_waste() const {
    return padded_tokens > 0 ? 1.0 - static_cast<double>(real_tokens) / padded_tokens : 0.0;
  }
};

class BatchQueue {
 public:
  struct Options {
    // Budget of one batch in padded tokens (tasks x longest task). A task
    // longer than this is refused with INVALID_ARGUMENT.
    int64_t max_batch_tokens = 16384;
    // Most tasks in one batch.
    int64_t max_batch_requests = 256;
    // How long the oldest task of a batch that is not full may wait for
    // company. Zero: dispatch what is there as soon as the device asks
    // (while the device is busy, tasks gather anyway), the lowest latency.
    absl::Duration max_queue_delay = absl::ZeroDuration();
    // Bounds of what may wait, in tasks and in (real) tokens; past them Add
    // fails fast with RESOURCE_EXHAUSTED.
    int64_t max_queue_requests = 4096;
    int64_t max_queue_tokens = int64_t{1} << 20;
    // Batch tasks of similar length (see the file comment); false: FIFO
    // within a group, stopping at the first task that does not fit.
    bool length_aware = true;
  };

  // Counters since creation, and the queue's current depth.
  struct Stats {
    int64_t queued_requests = 0;  // tasks waiting now
    int64_t queued_tokens = 0;    // their real tokens
    // Dropped by NextBatch / DropAll, by reason.
    int64_t dropped_cancelled = 0;
    int64_t dropped_deadline = 0;
    int64_t dropped_shutdown = 0;
    // Refused by Add (tasks), by reason.
    int64_t rejected_full = 0;      // RESOURCE_EXHAUSTED
    int64_t rejected_invalid = 0;   // INVALID_ARGUMENT
    int64_t rejected_shutdown = 0;  // UNAVAILABLE
    // Batches handed out, their tasks and tokens (waste overall is
    // 1 - batched_real_tokens / batched_padded_tokens).
    int64_t batches = 0;
    int64_t batched_requests = 0;
    int64_t batched_real_tokens = 0;
    int64_t batched_padded_tokens = 0;
  };

  // INVALID_ARGUMENT unless every limit is positive and the delay is not
  // negative.
  static absl::StatusOr<std::unique_ptr<BatchQueue>> Create(const Options& options);

  // Enqueues a task. UNAVAILABLE once shutdown has begun; INVALID_ARGUMENT
  // for a null task, tokens <= 0 or tokens > max_batch_tokens;
  // RESOURCE_EXHAUSTED when the queue would exceed max_queue_requests or
  // max_queue_tokens. On error the task is destroyed, on_dropped not called.
  absl::Status Add(std::unique_ptr<EmbedTask> task);
  // All of `tasks` or none (one request's inputs): the same errors, and
  // INVALID_ARGUMENT when they alone exceed the queue's bounds.
  absl::Status Add(std::vector<std::unique_ptr<EmbedTask>> tasks);

  // Drops cancelled and expired tasks, then returns the next batch if it is
  // due at `now` (see the file comment). When nothing is due, returns
  // nullopt and sets *wake_at to when to ask again without new tasks: the
  // anchor's dispatch time or the earliest deadline of a queued task,
  // whichever is first (InfiniteFuture() when empty). When a batch is
  // returned, *wake_at is `now` (another may be due).
  std::optional<EmbedBatch> NextBatch(absl::Time now, absl::Time* wake_at);

  // From now on Add refuses work with UNAVAILABLE. Idempotent.
  void BeginShutdown();
  // From now on NextBatch dispatches queued work without waiting for
  // max_queue_delay (to drain at shutdown). Idempotent.
  void Flush();
  // Removes every queued task, calling on_dropped with `status` (counted as
  // dropped_shutdown). Returns how many.
  int64_t DropAll(const absl::Status& status);

  Stats stats() const;
  const Options& options() const { return options_; }

  // Implementation details follow.
 private:
  explicit BatchQueue(const Options& options) : options_(options) {}

  struct Entry {
    uint64_t seq;  // arrival order
    std::unique_ptr<EmbedTask> task;
  };
  // Groups sort by priority, highest first, then key.
  struct GroupKey {
    int priority;
    BatchKey key;
    bool operator<(const GroupKey& o) const {
      return priority != o.priority ? priority > o.priority : key < o.key;
    }
  };
  using Dropped = std::vector<std::pair<std::unique_ptr<EmbedTask>, absl::Status>>;

  // Moves cancelled and expired tasks into *dropped; returns the earliest
  // deadline of the tasks that stay.
  absl::Time DropDeadLocked(absl::Time now, Dropped* dropped) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Indexes into `group` (ascending) of the batch anchored at group[0].
  std::vector<size_t> PickLengthAware(const std::deque<Entry>& group) const;
  std::vector<size_t> PickFifo(const std::deque<Entry>& group) const;
  static void RunDropped(Dropped* dropped);

  const Options options_;

  mutable absl::Mutex mu_;
  // Every queued task, by group; within a group in arrival order (seq
  // ascending). No group is empty. stats_.queued_requests counts the tasks
  // and stats_.queued_tokens sums their tokens.
  std::map<GroupKey, std::deque<Entry>> groups_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  bool flushing_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SCHEDULER_BATCH_QUEUE_H_
