#include "server/scheduler/call_watcher.h"

#include <utility>

#include "absl/time/clock.h"

namespace llm2vec {

CallWatcher::CallWatcher(absl::Duration period) : period_(period) {
  thread_ = std::thread([this] { Run(); });
}

CallWatcher::~CallWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    wake_.Signal();
  }
  thread_.join();
}

int64_t CallWatcher::Add(std::function<bool()> is_gone, std::function<void()> on_gone) {
  absl::MutexLock lock(&mu_);
  const int64_t id = next_id_++;
  calls_.emplace(id, Entry{std::move(is_gone), std::move(on_gone)});
  if (calls_.size() == 1) wake_.Signal();
  return id;
}

void CallWatcher::Remove(int64_t id) {
  absl::MutexLock lock(&mu_);
  calls_.erase(id);
}

void CallWatcher::Run() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    if (calls_.empty()) {  // idle until a call is registered
      wake_.Wait(&mu_);
      continue;
    }
    wake_.WaitWithTimeout(&mu_, period_);
    if (stop_) break;
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.is_gone()) {
        it->second.on_gone();
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace llm2vec
