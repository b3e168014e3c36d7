// The watch events of training jobs (WatchJob), in memory: the newest
// `capacity` kept, each with a sequence number, so a watcher reads on from
// a cursor and learns when it fell behind what is kept.
//
// Threading: thread-safe (one internal mutex); Wait blocks the caller.
#ifndef LLM2VEC_SERVER_TRAINING_JOB_EVENT_LOG_H_
#define LLM2VEC_SERVER_TRAINING_JOB_EVENT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "llm2vec/v1/training.pb.h"

namespace llm2vec {

class JobEventLog {
 public:
  explicit JobEventLog(size_t capacity = 4096) : capacity_(capacity) {}

  // Appends `event` (dropping the oldest beyond capacity), wakes waiters.
  void Publish(v1::JobEvent event);
  // The cursor just after the newest event: a watcher starting now reads
  // from here.
  uint64_t End() const;
  // Waits until job `id` has events at or after *cursor, or until `until`;
  // returns them (oldest first) and moves *cursor past everything read.
  // *lost is set when events at *cursor were already dropped (the watcher
  // fell behind; it should re-read the job's state).
  std::vector<v1::JobEvent> Wait(const std::string& id, uint64_t* cursor, absl::Time until,
                                 bool* lost) const;

  // Implementation details follow.
 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  mutable absl::CondVar cv_;
  // seq of events_[i] is first_seq_ + i.
  std::deque<v1::JobEvent> events_ ABSL_GUARDED_BY(mu_);
  uint64_t first_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_TRAINING_JOB_EVENT_LOG_H_
