#include "server/scheduler/device_worker.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>

namespace llm2vec {

absl::StatusOr<std::unique_ptr<DeviceWorker>> DeviceWorker::Create(const Options& options,
                                                                   Clock* clock,
                                                                   BatchProcessor processor,
                                                                   IdleWork idle_work) {
  if (clock == nullptr) return absl::InvalidArgumentError("DeviceWorker needs a clock");
  if (!processor) return absl::InvalidArgumentError("DeviceWorker needs a batch processor");
  absl::StatusOr<std::unique_ptr<BatchQueue>> queue = BatchQueue::Create(options.queue);
  if (!queue.ok()) return queue.status();
  if (options.idle_work_grace < absl::ZeroDuration() ||
      options.idle_work_max_wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("idle work grace and max wait must be >= 0");
  }
  return std::unique_ptr<DeviceWorker>(new DeviceWorker(
      options, *std::move(queue), clock, std::move(processor), std::move(idle_work)));
}

DeviceWorker::DeviceWorker(const Options& options, std::unique_ptr<BatchQueue> queue,
                           Clock* clock, BatchProcessor processor, IdleWork idle_work)
    : options_(options),
      queue_(std::move(queue)),
      clock_(clock),
      processor_(std::move(processor)),
      idle_work_(std::move(idle_work)),
      thread_([this] { Loop(); }) {}

DeviceWorker::~DeviceWorker() { Shutdown(absl::ZeroDuration()); }

absl::Status DeviceWorker::Schedule(std::unique_ptr<EmbedTask> task) {
  std::vector<std::unique_ptr<EmbedTask>> tasks;
  tasks.push_back(std::move(task));
  return Schedule(std::move(tasks));
}

absl::Status DeviceWorker::Schedule(std::vector<std::unique_ptr<EmbedTask>> tasks) {
  const absl::Time now = clock_->Now();
  for (auto& task : tasks) {
    if (task != nullptr) task->enqueued = now;
  }
  absl::Status status = queue_->Add(std::move(tasks));
  if (status.ok()) Wake();
  return status;
}

void DeviceWorker::Wake() {
  absl::MutexLock lock(&mu_);
  ++generation_;
  cv_.Signal();
}

void DeviceWorker::BeginShutdown(absl::Duration drain_timeout) {
  // The queue refuses work before the worker can see shutting_down_, so a
  // worker that sees it and finds the queue empty may stop.
  queue_->BeginShutdown();
  const absl::Time deadline = clock_->Now() + drain_timeout;
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
  drain_deadline_ = std::min(drain_deadline_, deadline);
  ++generation_;
  cv_.Signal();
}

void DeviceWorker::Shutdown(absl::Duration drain_timeout) {
  BeginShutdown(drain_timeout);
  absl::MutexLock lock(&join_mu_);
  if (thread_.joinable()) thread_.join();
}

int64_t DeviceWorker::batches_processed() const {
  absl::MutexLock lock(&mu_);
  return batches_processed_;
}

void DeviceWorker::Loop() {
  if (options_.nice != 0) {
    // Linux: per thread. Threads this one starts (libgomp's team) inherit it.
    const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), options_.nice);
  }
  // When the last batch finished, and when idle work's last turn ended.
  absl::Time last_batch_end = absl::InfinitePast();
  absl::Time last_idle_turn = clock_->Now();
  while (true) {
    uint64_t seen;
    bool shutting_down;
    absl::Time drain_deadline;
    {
      absl::MutexLock lock(&mu_);
      seen = generation_;
      shutting_down = shutting_down_;
      drain_deadline = drain_deadline_;
    }
    absl::Time now = clock_->Now();
    if (shutting_down) {
      if (now >= drain_deadline) break;
      // Drain: every queued task is due. Only this thread flushes, after the
      // check above, so no batch starts once the drain time is over.
      queue_->Flush();
    } else if (idle_work_ && now - last_idle_turn >= options_.idle_work_max_wait) {
      // Batches have kept the device busy for too long: one unit first.
      // (next_batch_at = now: batches are probably waiting.)
      idle_work_(now);
      last_idle_turn = clock_->Now();
      continue;
    }
    absl::Time wake_at;
    std::optional<EmbedBatch> batch = queue_->NextBatch(now, &wake_at);
    if (batch.has_value()) {
      processor_(*std::move(batch));
      last_batch_end = clock_->Now();
      absl::MutexLock lock(&mu_);
      ++batches_processed_;
      continue;
    }
    // Flushed and nothing due: the queue is empty, and stays so.
    if (shutting_down) break;
    if (idle_work_) {
      const absl::Time grace_end = last_batch_end + options_.idle_work_grace;
      if (now >= grace_end) {
        const bool worked = idle_work_(wake_at);
        last_idle_turn = clock_->Now();
        if (worked) continue;
      } else {
        wake_at = std::min(wake_at, grace_end);
      }
    }
    absl::MutexLock lock(&mu_);
    while (generation_ == seen) {
      if (clock_->WaitWithDeadline(&mu_, &cv_, wake_at)) break;
    }
  }
  queue_->DropAll(
      absl::UnavailableError("the server shut down before this input was processed"));
}

}  // namespace llm2vec
