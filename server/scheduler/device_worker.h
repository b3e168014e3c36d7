// The one thread that owns the model and the device.
//
// RPC threads Schedule() tokenized tasks into a BatchQueue; the worker
// thread loops: take the next due batch (BatchQueue::NextBatch) and run it
// through the BatchProcessor; while it runs, tasks keep arriving, and the
// next batch is formed from them the moment the processor returns. When no
// batch is due it runs one unit of IdleWork if there is any (the hook for
// training steps: inference goes first, since the queue is checked between
// two units; Options say how long the device must have been idle first and
// how long idle work may be starved), else it sleeps until a task arrives, Wake() is
// called, or the queue's next wake-up time (a batch's max_queue_delay, or
// a task's deadline so that it is dropped promptly).
//
//   auto worker = DeviceWorker::Create(options, Clock::Real(),
//       [&](EmbedBatch batch) { /* run the model, complete the tasks */ });
//   absl::Status s = (*worker)->Schedule(std::move(task));  // RPC thread
//   (*worker)->Shutdown(absl::Seconds(30));
//
// Shutdown(drain_timeout): new work is refused (UNAVAILABLE); queued work
// keeps running, without waiting for max_queue_delay, until the queue is
// empty or drain_timeout has passed on the clock; what is still queued
// then is dropped with UNAVAILABLE through on_dropped. A batch already in
// the processor is never interrupted: Shutdown returns after it does.
//
// Threading: Schedule, Wake, BeginShutdown, Shutdown and stats are
// thread-safe. The processor and the idle work run only on the worker
// thread, one call at a time, and must not throw (catch libtorch's errors
// at their edge); they may call Schedule/Wake/stats but not Shutdown.
#ifndef LLM2VEC_SERVER_SCHEDULER_DEVICE_WORKER_H_
#define LLM2VEC_SERVER_SCHEDULER_DEVICE_WORKER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/scheduler/batch_queue.h"
#include "server/scheduler/clock.h"

namespace llm2vec {

class DeviceWorker {
 public:
  struct Options {
    // Batch formation and the queue's bounds.
    BatchQueue::Options queue;
    // Idle work starts only once no batch has finished for this long, so
    // clients that send again as soon as they are answered do not find the
    // device inside a unit of background work.
    absl::Duration idle_work_grace = absl::ZeroDuration();
    // Idle work gets a turn at least this often even while batches keep the
    // device busy, so it is not starved (InfiniteDuration(): it may be).
    absl::Duration idle_work_max_wait = absl::InfiniteDuration();
    // CPU priority (nice) of the worker thread and the math threads it
    // starts, relative to the process: > 0 lets RPC threads (accepting and
    // refusing requests) run first when the host's cores are saturated.
    int nice = 0;
  };

  // Runs one batch on the device and completes its tasks (their payload
  // says how). Owns the tasks; it may skip those cancelled since the batch
  // was formed.
  using BatchProcessor = std::function<void(EmbedBatch batch)>;
  // Runs at most one short unit of background device work (e.g. one
  // training step) when no batch is due. `next_batch_at`: when the queue
  // next expects a batch (InfiniteFuture() when it is empty); a unit that
  // runs past it delays inference. Returns true if it did some work (the
  // worker checks the queue, then may ask again), false if it has none (the
  // worker sleeps until new tasks or Wake(): call Wake() when work appears).
  using IdleWork = std::function<bool(absl::Time next_batch_at)>;

  // Starts the worker thread. `clock` must outlive the worker; `idle_work`
  // may be null. INVALID_ARGUMENT for bad queue options or a null
  // clock/processor.
  static absl::StatusOr<std::unique_ptr<DeviceWorker>> Create(const Options& options, Clock* clock,
                                                              BatchProcessor processor,
                                                              IdleWork idle_work = nullptr);
  // Shutdown(absl::ZeroDuration()) unless Shutdown was called.
  ~DeviceWorker();

  // Enqueues tasks (one request's, all or none), setting their `enqueued`
  // time from the clock. Errors as BatchQueue::Add: UNAVAILABLE once
  // shutdown has begun, RESOURCE_EXHAUSTED when the queue is full,
  // INVALID_ARGUMENT for a task that can never run.
  absl::Status Schedule(std::unique_ptr<EmbedTask> task);
  absl::Status Schedule(std::vector<std::unique_ptr<EmbedTask>> tasks);

  // Makes the worker look at the queue and the idle work again now (after
  // a cancellation, or when idle work appears).
  void Wake();

  // Refuses new work from now on and starts draining (see the class
  // comment); returns at once. A second call can only shorten the drain.
  void BeginShutdown(absl::Duration drain_timeout);
  // BeginShutdown, then waits for the worker thread to finish.
  void Shutdown(absl::Duration drain_timeout);

  BatchQueue::Stats stats() const { return queue_->stats(); }
  // Batches the processor has finished.
  int64_t batches_processed() const;

  // Implementation details follow.
 private:
  DeviceWorker(const Options& options, std::unique_ptr<BatchQueue> queue, Clock* clock,
               BatchProcessor processor, IdleWork idle_work);
  void Loop();

  const Options options_;
  const std::unique_ptr<BatchQueue> queue_;
  Clock* const clock_;
  const BatchProcessor processor_;
  const IdleWork idle_work_;

  mutable absl::Mutex mu_;
  // Signalled with mu_ held whenever generation_ changes.
  absl::CondVar cv_;
  // Bumped by every Schedule, Wake and BeginShutdown: the worker sleeps
  // only if it is unchanged since it last looked at the queue.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // Set (after queue_->BeginShutdown()) by BeginShutdown; the drain ends at
  // drain_deadline_ on clock_.
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time drain_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  int64_t batches_processed_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex join_mu_;  // serialises joining thread_
  std::thread thread_;   // started last in the constructor
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SCHEDULER_DEVICE_WORKER_H_
