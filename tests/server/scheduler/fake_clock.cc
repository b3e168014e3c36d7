#include "tests/server/scheduler/fake_clock.h"

#include <vector>

namespace llm2vec {

FakeClock::FakeClock(absl::Time start) : now_(start) {}

absl::Time FakeClock::Now() {
  absl::MutexLock lock(&mu_);
  return now_;
}

bool FakeClock::WaitWithDeadline(absl::Mutex* mu, absl::CondVar* cv, absl::Time deadline) {
  std::list<Waiter>::iterator self;
  {
    absl::MutexLock lock(&mu_);
    if (now_ >= deadline) return true;
    self = waiters_.insert(waiters_.end(), Waiter{mu, cv, deadline});
  }
  // `mu` is held from the registration above until Wait() releases it, so an
  // Advance() that finds this waiter signals only once it is waiting: no
  // wake-up is lost.
  cv->Wait(mu);
  absl::MutexLock lock(&mu_);
  waiters_.erase(self);
  return now_ >= deadline;
}

void FakeClock::Advance(absl::Duration d) {
  std::vector<Waiter> due;
  {
    absl::MutexLock lock(&mu_);
    now_ += d;
    for (const Waiter& w : waiters_) {
      if (w.deadline <= now_) due.push_back(w);
    }
  }
  for (const Waiter& w : due) {
    absl::MutexLock lock(w.mu);
    w.cv->SignalAll();
  }
}

void FakeClock::AwaitWaiter(absl::Time deadline) {
  auto waiting = [this, deadline]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const Waiter& w : waiters_) {
      if (w.deadline == deadline) return true;
    }
    return false;
  };
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&waiting));
}

int FakeClock::num_waiters() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiters_.size());
}

}  // namespace llm2vec
