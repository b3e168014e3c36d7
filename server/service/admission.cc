#include "server/service/admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace llm2vec {
namespace {

// Exponential moving average (weight 0.2 on the new sample); the first
// sample sets it. One writer.
void Smooth(std::atomic<double>& average, double sample) {
  const double old = average.load();
  average.store(old == 0 ? sample : 0.8 * old + 0.2 * sample);
}

}  // namespace

void Admission::RecordTokens(int64_t inputs, int64_t tokens) {
  if (inputs <= 0) return;
  const double sample = static_cast<double>(tokens) / static_cast<double>(inputs);
  // Many writers: a compare-and-swap loop, so that no sample is lost.
  double old = tokens_per_input_.load();
  while (!tokens_per_input_.compare_exchange_weak(old,
                                                  old == 0 ? sample : 0.8 * old + 0.2 * sample)) {
  }
}

int64_t Admission::EstimateTokens(int64_t inputs, int64_t bytes) const {
  const double estimate = tokens_per_input_.load() * static_cast<double>(inputs);
  return std::min(bytes, static_cast<int64_t>(estimate));
}

absl::Status Admission::AdmitToQueue(int64_t queued_requests, int64_t incoming) const {
  const int64_t limit = options_.max_queue_requests;
  if (queued_requests == 0 || queued_requests + incoming <= limit) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("overloaded: the queue holds ", queued_requests, " inputs; this request has ",
                   incoming, " and max_queue_requests is ", limit));
}

absl::Status Admission::AdmitByDeadline(absl::Time now, int64_t queued_tokens,
                                        int64_t own_tokens, absl::Time deadline) const {
  // Work already queued runs first, so a request whose deadline falls
  // before the queue could reach it is refused now instead of expiring in
  // the queue.
  if (deadline == absl::InfiniteFuture()) return absl::OkStatus();
  const double rate = tokens_per_second_.load();
  if (rate <= 0 || queued_tokens <= 0) return absl::OkStatus();
  // The queue ahead drains at `rate`; before that the running batch
  // finishes, and after it this request's own batch runs: a batch time
  // each. With a margin: the estimate is an average, and the answer must
  // still travel back before the deadline.
  const absl::Duration wait =
      absl::Seconds((queued_tokens + own_tokens) / rate + 2 * batch_seconds_.load());
  if (now + wait * options_.margin <= deadline) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "overloaded: ", queued_tokens, " queued tokens need about ", absl::FormatDuration(wait),
      " at the measured ", static_cast<int64_t>(rate),
      " tokens/s, past this request's deadline in ", absl::FormatDuration(deadline - now)));
}

void Admission::RecordBatch(absl::Time started, absl::Time finished, int64_t real_tokens,
                            bool backlog_after) {
  const absl::Time from = backlog_since_ < started ? backlog_since_ : started;
  const double secs = std::max(1e-6, absl::ToDoubleSeconds(finished - from));
  Smooth(tokens_per_second_, static_cast<double>(real_tokens) / secs);
  Smooth(batch_seconds_, absl::ToDoubleSeconds(finished - started));
  backlog_since_ = backlog_after ? finished : absl::InfiniteFuture();
}

}  // namespace llm2vec
