// A Clock for tests: time stands still until Advance() moves it.
//
// Advance() wakes every thread waiting in WaitWithDeadline() whose deadline
// it reaches, so a test can let a worker's "wait until the batch is due"
// run out without sleeping. AwaitWaiter() blocks the test until a thread is
// waiting with a given deadline: a synchronisation point ("the worker has
// decided to wait until T"), not a sleep.
//
// Threading: all methods are thread-safe. A waiter's mutex and condition
// variable must outlive any Advance() that may run while it waits (in
// practice: do not destroy the waiting object concurrently with Advance()).
#ifndef LLM2VEC_TESTS_SERVER_SCHEDULER_FAKE_CLOCK_H_
#define LLM2VEC_TESTS_SERVER_SCHEDULER_FAKE_CLOCK_H_

#include <list>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/scheduler/clock.h"

namespace llm2vec {

class FakeClock final : public Clock {
 public:
  // Starts at `start` (an arbitrary fixed time by default).
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000));

  absl::Time Now() override;
  bool WaitWithDeadline(absl::Mutex* mu, absl::CondVar* cv, absl::Time deadline) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Moves the time forward by `d` (>= 0) and wakes the waiters whose
  // deadline is now reached.
  void Advance(absl::Duration d);

  // Blocks until some thread is inside WaitWithDeadline() with exactly
  // `deadline` (InfiniteFuture(): waiting for a signal only).
  void AwaitWaiter(absl::Time deadline);

  // Threads now inside WaitWithDeadline().
  int num_waiters();

  // Implementation details follow.
 private:
  struct Waiter {
    absl::Mutex* mu;
    absl::CondVar* cv;
    absl::Time deadline;
  };

  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  // Threads blocked in WaitWithDeadline(); each removes its own entry when
  // it returns. Lock order: a waiter's mutex, then mu_; Advance() releases
  // mu_ before it takes a waiter's mutex to signal it.
  std::list<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace llm2vec

#endif  // LLM2VEC_TESTS_SERVER_SCHEDULER_FAKE_CLOCK_H_
