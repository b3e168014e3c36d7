#include "server/training/job_event_log.h"

#include <utility>

namespace llm2vec {

void JobEventLog::Publish(v1::JobEvent event) {
  absl::MutexLock lock(&mu_);
  events_.push_back(std::move(event));
  while (events_.size() > capacity_) {
    events_.pop_front();
    ++first_seq_;
  }
  cv_.SignalAll();
}

uint64_t JobEventLog::End() const {
  absl::MutexLock lock(&mu_);
  return first_seq_ + events_.size();
}

std::vector<v1::JobEvent> JobEventLog::Wait(const std::string& id, uint64_t* cursor,
                                            absl::Time until, bool* lost) const {
  std::vector<v1::JobEvent> out;
  *lost = false;
  absl::MutexLock lock(&mu_);
  while (true) {
    const uint64_t end = first_seq_ + events_.size();
    if (*cursor < first_seq_) {
      *lost = true;
      *cursor = end;
      return out;
    }
    for (uint64_t seq = *cursor; seq < end; ++seq) {
      const v1::JobEvent& e = events_[seq - first_seq_];
      if (e.job().id() == id) out.push_back(e);
    }
    *cursor = end;
    if (!out.empty()) return out;
    if (cv_.WaitWithDeadline(&mu_, until)) return out;
  }
}

}  // namespace llm2vec
