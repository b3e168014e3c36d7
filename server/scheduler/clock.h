// Time for the scheduler, injectable so that tests drive it by hand.
//
// A Clock tells the time and lets a thread wait on a condition variable
// until it is signalled or a deadline on this clock passes. The real clock
// (Clock::Real()) is absl::Now() and CondVar::WaitWithDeadline; a FakeClock
// (tests/server/scheduler/fake_clock.h, test-only) only moves when a test advances it, and wakes the
// waiters whose deadline it passes.
//
// Threading: implementations are thread-safe.
#ifndef LLM2VEC_SERVER_SCHEDULER_CLOCK_H_
#define LLM2VEC_SERVER_SCHEDULER_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace llm2vec {

class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() = 0;

  // With `mu` held, waits on `cv` until it is signalled or Now() reaches
  // `deadline` (InfiniteFuture(): no time limit); `mu` is held again on
  // return. May return early for no reason, like any condition variable
  // wait: callers re-check what they wait for. Returns true when Now() has
  // reached `deadline`.
  virtual bool WaitWithDeadline(absl::Mutex* mu, absl::CondVar* cv, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;

  // The process-wide wall clock; never deleted.
  static Clock* Real();
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SCHEDULER_CLOCK_H_
