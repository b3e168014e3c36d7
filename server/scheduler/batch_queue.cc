#include "server/scheduler/batch_queue.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"

namespace llm2vec {

absl::StatusOr<std::unique_ptr<BatchQueue>> BatchQueue::Create(const Options& options) {
  auto positive = [](const char* name, int64_t value) -> absl::Status {
    if (value > 0) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(name, " is ", value, "; it must be > 0"));
  };
  for (absl::Status s : {positive("max_batch_tokens", options.max_batch_tokens),
                         positive("max_batch_requests", options.max_batch_requests),
                         positive("max_queue_requests", options.max_queue_requests),
                         positive("max_queue_tokens", options.max_queue_tokens)}) {
    if (!s.ok()) return s;
  }
  if (options.max_queue_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_queue_delay is ", absl::FormatDuration(options.max_queue_delay),
                     "; it must not be negative"));
  }
  return std::unique_ptr<BatchQueue>(new BatchQueue(options));
}

absl::Status BatchQueue::Add(std::unique_ptr<EmbedTask> task) {
  std::vector<std::unique_ptr<EmbedTask>> tasks;
  tasks.push_back(std::move(task));
  return Add(std::move(tasks));
}

absl::Status BatchQueue::Add(std::vector<std::unique_ptr<EmbedTask>> tasks) {
  const int64_t n = static_cast<int64_t>(tasks.size());
  if (n == 0) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  if (shutting_down_) {
    stats_.rejected_shutdown += n;
    return absl::UnavailableError("the server is shutting down and accepts no new work");
  }
  // "task has" for one task, "task 3 has" for one of several.
  auto name = [n](size_t i) { return n == 1 ? std::string("task") : absl::StrCat("task ", i); };
  int64_t tokens = 0;
  for (size_t i = 0; i < tasks.size(); ++i) {
    absl::Status error;
    if (tasks[i] == nullptr) {
      error = absl::InvalidArgumentError(absl::StrCat(name(i), " is null"));
    } else if (tasks[i]->tokens <= 0) {
      error = absl::InvalidArgumentError(
          absl::StrCat(name(i), " has ", tasks[i]->tokens, " tokens; it must have at least 1"));
    } else if (tasks[i]->tokens > options_.max_batch_tokens) {
      error = absl::InvalidArgumentError(absl::StrCat(name(i), " has ", tasks[i]->tokens,
                                                      " tokens; max_batch_tokens is ",
                                                      options_.max_batch_tokens));
    }
    if (!error.ok()) {
      stats_.rejected_invalid += n;
      return error;
    }
    tokens += tasks[i]->tokens;
  }
  // A request that could never fit is the caller's error, not overload.
  if (n > options_.max_queue_requests || tokens > options_.max_queue_tokens) {
    stats_.rejected_invalid += n;
    return absl::InvalidArgumentError(
        absl::StrCat("the request has ", n, " inputs with ", tokens,
                     " tokens; the queue holds at most max_queue_requests ",
                     options_.max_queue_requests, " inputs and max_queue_tokens ",
                     options_.max_queue_tokens, " tokens"));
  }
  if (stats_.queued_requests + n > options_.max_queue_requests) {
    stats_.rejected_full += n;
    return absl::ResourceExhaustedError(
        absl::StrCat("the queue is full: ", stats_.queued_requests,
                     " inputs are waiting and max_queue_requests is ",
                     options_.max_queue_requests, "; cannot add ", n, " more"));
  }
  if (stats_.queued_tokens + tokens > options_.max_queue_tokens) {
    stats_.rejected_full += n;
    return absl::ResourceExhaustedError(
        absl::StrCat("the queue is full: ", stats_.queued_tokens,
                     " tokens are waiting and max_queue_tokens is ", options_.max_queue_tokens,
                     "; cannot add ", tokens, " more"));
  }
  for (auto& task : tasks) {
    std::deque<Entry>& group = groups_[GroupKey{task->priority, task->key}];
    group.push_back(Entry{next_seq_++, std::move(task)});
  }
  stats_.queued_requests += n;
  stats_.queued_tokens += tokens;
  return absl::OkStatus();
}

absl::Time BatchQueue::DropDeadLocked(absl::Time now, Dropped* dropped) {
  absl::Time earliest_deadline = absl::InfiniteFuture();
  for (auto it = groups_.begin(); it != groups_.end();) {
    std::deque<Entry>& group = it->second;
    std::deque<Entry> kept;
    for (Entry& e : group) {
      absl::Status why;
      // A deadline that passed is the reason even when the client has also
      // gone away since (gRPC cancels calls at their deadline).
      if (now >= e.task->deadline) {
        why = absl::DeadlineExceededError(
            absl::StrCat("the deadline passed after ", absl::FormatDuration(now - e.task->enqueued),
                         " in the queue"));
        ++stats_.dropped_deadline;
      } else if (e.task->is_cancelled()) {
        why = absl::CancelledError("the request was cancelled while it was queued");
        ++stats_.dropped_cancelled;
      } else {
        earliest_deadline = std::min(earliest_deadline, e.task->deadline);
        kept.push_back(std::move(e));
        continue;
      }
      --stats_.queued_requests;
      stats_.queued_tokens -= e.task->tokens;
      dropped->emplace_back(std::move(e.task), std::move(why));
    }
    if (kept.empty()) {
      it = groups_.erase(it);
    } else {
      group.swap(kept);
      ++it;
    }
  }
  return earliest_deadline;
}

std::vector<size_t> BatchQueue::PickFifo(const std::deque<Entry>& group) const {
  std::vector<size_t> picked;
  int64_t longest = 0;
  for (size_t k = 0; k < group.size(); ++k) {
    const int64_t n = static_cast<int64_t>(k) + 1;
    const int64_t len = std::max(longest, group[k].task->tokens);
    if (n > options_.max_batch_requests || n * len > options_.max_batch_tokens) break;
    longest = len;
    picked.push_back(k);
  }
  return picked;
}

// The candidates sorted by length; the batch is a window [i, j] of that
// order that contains the anchor (position a), fits the budget
// ((j - i + 1) * len[j] padded tokens, j - i + 1 tasks), and maximises
//   score = real - padding = 2 * sum(len[i..j]) - (j - i + 1) * len[j].
// For a given j each task k in the window adds 2 * len[k] - len[j], which
// shrinks as k goes left, so the best i keeps exactly the tasks longer than
// len[j] / 2, widened to reach the anchor and narrowed to fit the budget.
// Among tasks of equal length the older ones are taken first.
std::vector<size_t> BatchQueue::PickLengthAware(const std::deque<Entry>& group) const {
  const size_t m = group.size();
  const int64_t anchor_len = group[0].task->tokens;
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  // Windows grow leftwards into shorter tasks and rightwards into longer
  // ones: put the oldest of a length run on the side the window comes from.
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const int64_t lx = group[x].task->tokens, ly = group[y].task->tokens;
    if (lx != ly) return lx < ly;
    return lx < anchor_len ? x > y : x < y;
  });
  std::vector<int64_t> len(m), prefix(m + 1, 0);
  size_t a = 0;
  for (size_t k = 0; k < m; ++k) {
    len[k] = group[order[k]].task->tokens;
    prefix[k + 1] = prefix[k] + len[k];
    if (order[k] == 0) a = k;
  }
  int64_t best_score = std::numeric_limits<int64_t>::min();
  size_t best_i = a, best_j = a;
  for (size_t j = a; j < m; ++j) {
    const int64_t longest = len[j];
    const int64_t fit = std::min(options_.max_batch_requests, options_.max_batch_tokens / longest);
    if (static_cast<int64_t>(j - a + 1) > fit) break;  // and for every larger j
    const size_t lo = j + 1 > static_cast<size_t>(fit) ? j + 1 - static_cast<size_t>(fit) : 0;
    const size_t worth = std::upper_bound(len.begin(), len.end(), longest / 2) - len.begin();
    const size_t i = std::max(lo, std::min(a, worth));
    const int64_t real = prefix[j + 1] - prefix[i];
    const int64_t score = 2 * real - static_cast<int64_t>(j - i + 1) * longest;
    if (score > best_score) {
      best_score = score;
      best_i = i;
      best_j = j;
    }
  }
  std::vector<size_t> picked(order.begin() + best_i, order.begin() + best_j + 1);
  std::sort(picked.begin(), picked.end());
  return picked;
}

std::optional<EmbedBatch> BatchQueue::NextBatch(absl::Time now, absl::Time* wake_at) {
  Dropped dropped;
  std::optional<EmbedBatch> batch;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time earliest_deadline = DropDeadLocked(now, &dropped);
    *wake_at = absl::InfiniteFuture();
    if (!groups_.empty()) {
      // Highest priority first (the map's order), then the oldest anchor.
      auto chosen = groups_.begin();
      for (auto it = std::next(chosen);
           it != groups_.end() && it->first.priority == chosen->first.priority; ++it) {
        if (it->second.front().seq < chosen->second.front().seq) chosen = it;
      }
      std::deque<Entry>& group = chosen->second;
      std::vector<size_t> picked = options_.length_aware ? PickLengthAware(group) : PickFifo(group);
      int64_t longest = 0;
      for (size_t k : picked) longest = std::max(longest, group[k].task->tokens);
      const int64_t n = static_cast<int64_t>(picked.size());
      const bool full =
          n >= options_.max_batch_requests || n + 1 > options_.max_batch_tokens / longest;
      const absl::Time due = group.front().task->enqueued + options_.max_queue_delay;
      if (full || flushing_ || options_.max_queue_delay == absl::ZeroDuration() ||
          now >= due) {
        batch.emplace();
        batch->key = chosen->first.key;
        batch->priority = chosen->first.priority;
        std::deque<Entry> rest;
        size_t next = 0;  // into picked
        for (size_t k = 0; k < group.size(); ++k) {
          if (next < picked.size() && picked[next] == k) {
            batch->real_tokens += group[k].task->tokens;
            batch->tasks.push_back(std::move(group[k].task));
            ++next;
          } else {
            rest.push_back(std::move(group[k]));
          }
        }
        batch->padded_tokens = n * longest;
        if (rest.empty()) {
          groups_.erase(chosen);
        } else {
          group.swap(rest);
        }
        stats_.queued_requests -= n;
        stats_.queued_tokens -= batch->real_tokens;
        ++stats_.batches;
        stats_.batched_requests += n;
        stats_.batched_real_tokens += batch->real_tokens;
        stats_.batched_padded_tokens += batch->padded_tokens;
        *wake_at = now;
      } else {
        *wake_at = std::min(due, earliest_deadline);
      }
    }
  }
  RunDropped(&dropped);
  return batch;
}

void BatchQueue::BeginShutdown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
}

void BatchQueue::Flush() {
  absl::MutexLock lock(&mu_);
  flushing_ = true;
}

int64_t BatchQueue::DropAll(const absl::Status& status) {
  Dropped dropped;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [key, group] : groups_) {
      for (Entry& e : group) dropped.emplace_back(std::move(e.task), status);
    }
    groups_.clear();
    stats_.dropped_shutdown += static_cast<int64_t>(dropped.size());
    stats_.queued_requests = 0;
    stats_.queued_tokens = 0;
  }
  RunDropped(&dropped);
  return static_cast<int64_t>(dropped.size());
}

void BatchQueue::RunDropped(Dropped* dropped) {
  for (auto& [task, status] : *dropped) {
    if (task->on_dropped) task->on_dropped(status);
  }
}

BatchQueue::Stats BatchQueue::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace llm2vec
