// The one thread that watches waiting calls for their clients going away.
#include "server/scheduler/call_watcher.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace llm2vec {
namespace {

TEST(CallWatcherTest, ReportsACallWhoseClientIsGoneOnce) {
  CallWatcher watcher(absl::Milliseconds(1));
  std::atomic<bool> gone{false};
  std::atomic<int> reports{0};
  absl::Notification reported;
  watcher.Add([&] { return gone.load(); },
              [&] {
                ++reports;
                reported.Notify();
              });
  gone.store(true);
  ASSERT_TRUE(reported.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // Reported once, then no longer watched.
  std::atomic<int> polls{0};
  absl::Notification polled;
  watcher.Add(
      [&] {
        if (++polls == 3) polled.Notify();
        return false;
      },
      [] {});
  ASSERT_TRUE(polled.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(reports.load(), 1);
}

TEST(CallWatcherTest, RemovedCallsAreNotReported) {
  CallWatcher watcher(absl::Milliseconds(1));
  std::atomic<bool> armed{false}, called{false};
  const int64_t id = watcher.Add([&] { return armed.load(); }, [&] { called.store(true); });
  watcher.Remove(id);
  armed.store(true);  // gone from now on: a report would come from a removed call
  // A second call, reported: the watcher has looked at least once since.
  absl::Notification second;
  watcher.Add([] { return true; }, [&] { second.Notify(); });
  ASSERT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(called.load());
}

}  // namespace
}  // namespace llm2vec
