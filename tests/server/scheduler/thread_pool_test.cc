#include "server/scheduler/thread_pool.h"

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace llm2vec {
namespace {

// However many tasks wait, only the pool's threads run them, at most
// size() at once.
TEST(ThreadPoolTest, ManyBlockingTasksRunOnTheSameFewThreads) {
  absl::Mutex mu;
  std::set<std::thread::id> seen;
  int running = 0, most = 0;
  absl::Notification release;
  std::atomic<int> done{0};
  {
    ThreadPool pool(3);
    EXPECT_EQ(pool.size(), 3);
    for (int i = 0; i < 50; ++i) {
      pool.Run([&] {
        {
          absl::MutexLock lock(&mu);
          seen.insert(std::this_thread::get_id());
          most = std::max(most, ++running);
        }
        release.WaitForNotification();  // blocks, like a call waiting for its batch
        absl::MutexLock lock(&mu);
        --running;
        ++done;
      });
    }
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int* r) { return *r == 3; }, &running));
    }
    release.Notify();
  }  // the destructor runs every queued task
  EXPECT_EQ(done.load(), 50);
  EXPECT_EQ(most, 3);
  EXPECT_EQ(seen.size(), 3u);
}

}  // namespace
}  // namespace llm2vec
