// A fixed set of threads running queued tasks, for blocking work that must
// not start a thread per request (EmbedStream's in-flight requests, each of
// which waits for its batch).
//
// Usage:
//   ThreadPool pool(8);
//   pool.Run([] { ... });   // queued; one of the 8 threads runs it
//
// Threading: Run may be called from any thread. The destructor runs every
// task already queued, then joins the threads.
#ifndef LLM2VEC_SERVER_SCHEDULER_THREAD_POOL_H_
#define LLM2VEC_SERVER_SCHEDULER_THREAD_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace llm2vec {

class ThreadPool {
 public:
  // Starts `threads` (at least 1) threads.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`; it runs on one of the pool's threads, in queue order
  // with the others (at most size() at once).
  void Run(std::function<void()> task);
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SCHEDULER_THREAD_POOL_H_
