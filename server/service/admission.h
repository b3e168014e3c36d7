// Admission control for embedding requests: refuses at once, with
// RESOURCE_EXHAUSTED, work the queue could not hold or could not finish
// before its deadline, so that under overload refusals stay cheap and
// admitted work still meets its deadline.
//
// Two checks, both before any tokenizing is wasted on a request that will
// be refused:
//   - queue bounds: a request whose inputs would overfill the queue's task
//     bound (BatchQueue re-checks exactly when it adds the tasks);
//   - deadlines: the queued tokens ahead drain at the measured rate; with
//     the running batch before them and the request's own batch after, the
//     estimated wait times a margin must end before the deadline. Before
//     tokenizing, the request's own tokens are estimated (EstimateTokens);
//     after, the exact count is checked again.
// The drain rate and batch time are smoothed over recent batches (an
// exponential moving average, weight 0.2 on the newest); until the first
// batch there is no estimate and every deadline is admitted.
//
// Threading: Admit* are const and thread-safe (RPC threads); RecordBatch is
// called by the device worker only (one writer; atomics for the readers);
// RecordTokens by any thread.
#ifndef LLM2VEC_SERVER_SERVICE_ADMISSION_H_
#define LLM2VEC_SERVER_SERVICE_ADMISSION_H_

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace llm2vec {

class Admission {
 public:
  struct Options {
    // Most tasks (inputs) that may wait; BatchQueue::Options'
    // max_queue_requests.
    int64_t max_queue_requests = 4096;
    // A request is refused when its estimated wait, times this, passes its
    // deadline. The rate is an average and a shared host's speed drifts:
    // at 1.25, 0.7-3.5% of the requests admitted under 10x overload still
    // expired; at 1.5, 0.1-0.5% (BENCHMARKS.md, session 4), with the same
    // goodput (the device stays saturated; the queue is just shorter).
    double margin = 1.5;
  };

  explicit Admission(const Options& options) : options_(options) {}

  // RESOURCE_EXHAUSTED naming the counts when `incoming` more inputs would
  // overfill a queue that holds `queued_requests` (a request larger than
  // the whole bound is let through to an empty queue, whose Add refuses
  // it exactly).
  absl::Status AdmitToQueue(int64_t queued_requests, int64_t incoming) const;

  // RESOURCE_EXHAUSTED naming the estimate when `queued_tokens` ahead plus
  // `own_tokens` would likely outlast `deadline` (from `now`). OK without
  // a deadline, with an empty queue, or before the first batch.
  absl::Status AdmitByDeadline(absl::Time now, int64_t queued_tokens, int64_t own_tokens,
                               absl::Time deadline) const;

  // The device ran a batch of `real_tokens` from `started` to `finished`;
  // `backlog_after`: tasks were waiting when it ended. The drain rate
  // counts wall time since the previous batch ended when work was waiting
  // then (so the time between batches, and CPU taken by other threads,
  // count), else this batch's own time.
  void RecordBatch(absl::Time started, absl::Time finished, int64_t real_tokens,
                   bool backlog_after);

  // A tokenized request had `inputs` inputs of `tokens` tokens in all
  // (any thread).
  void RecordTokens(int64_t inputs, int64_t tokens);
  // The tokens `inputs` inputs of `bytes` bytes in all will likely come
  // to, before they are tokenized: the smoothed tokens per input so far
  // times `inputs`, at most `bytes` (a token covers at least one byte; the
  // special tokens of short inputs aside); 0 before the first record.
  int64_t EstimateTokens(int64_t inputs, int64_t bytes) const;

  // The smoothed estimates (0 until the first batch).
  double tokens_per_second() const { return tokens_per_second_.load(); }
  double batch_seconds() const { return batch_seconds_.load(); }

  // Implementation details follow.
 private:
  const Options options_;
  std::atomic<double> tokens_per_second_{0};
  std::atomic<double> batch_seconds_{0};
  // Smoothed like the rate, over requests; written by every RPC thread.
  std::atomic<double> tokens_per_input_{0};
  // Worker only: when the last batch ended if tasks were waiting then (the
  // queue was never idle since), else InfiniteFuture().
  absl::Time backlog_since_ = absl::InfiniteFuture();
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVICE_ADMISSION_H_
