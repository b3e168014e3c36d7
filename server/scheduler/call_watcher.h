// One thread that watches every waiting call for its client going away.
//
// A call blocked on its result cannot be told that its client left (gRPC's
// sync API and civetweb only answer when asked), so someone must poll. If
// each waiting call woke itself to poll, 64 waiting calls at 50 ms would be
// ~1,300 wake-ups a second, each able to preempt the device worker's
// threads on a small host. The watcher polls all of them from one thread,
// `period` apart, and only while some call is registered.
//
// Threading: Add and Remove from any thread. Callbacks run on the watcher
// thread with its lock held, so they must be quick and must not call back
// into the watcher; after Remove returns, neither callback of that call
// runs again.
#ifndef LLM2VEC_SERVER_SCHEDULER_CALL_WATCHER_H_
#define LLM2VEC_SERVER_SCHEDULER_CALL_WATCHER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace llm2vec {

class CallWatcher {
 public:
  explicit CallWatcher(absl::Duration period);
  // Stops and joins the thread.
  ~CallWatcher();
  CallWatcher(const CallWatcher&) = delete;
  CallWatcher& operator=(const CallWatcher&) = delete;

  // Watches a call: `on_gone` runs once, the first time `is_gone` returns
  // true. Returns the id for Remove.
  int64_t Add(std::function<bool()> is_gone, std::function<void()> on_gone);
  // Stops watching (a no-op for an id already reported gone).
  void Remove(int64_t id);

 private:
  struct Entry {
    std::function<bool()> is_gone;
    std::function<void()> on_gone;
  };
  void Run();

  const absl::Duration period_;
  absl::Mutex mu_;
  absl::CondVar wake_;
  std::map<int64_t, Entry> calls_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SCHEDULER_CALL_WATCHER_H_
