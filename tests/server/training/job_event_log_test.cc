#include "server/training/job_event_log.h"

#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace llm2vec {
namespace {

v1::JobEvent Event(const std::string& job, int64_t step) {
  v1::JobEvent e;
  e.set_kind(v1::JobEvent::KIND_PROGRESS);
  e.mutable_job()->set_id(job);
  e.mutable_job()->set_step(step);
  return e;
}

TEST(JobEventLogTest, AWatcherReadsItsJobsEventsFromItsCursor) {
  JobEventLog log;
  uint64_t cursor = log.End();
  log.Publish(Event("a", 1));
  log.Publish(Event("b", 1));
  log.Publish(Event("a", 2));
  bool lost = true;
  auto events = log.Wait("a", &cursor, absl::InfinitePast(), &lost);
  EXPECT_FALSE(lost);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].job().step(), 1);
  EXPECT_EQ(events[1].job().step(), 2);
  EXPECT_EQ(cursor, log.End());
  // Nothing new: returns at the deadline with nothing.
  EXPECT_TRUE(log.Wait("a", &cursor, absl::Now(), &lost).empty());
}

TEST(JobEventLogTest, AWatcherThatFellBehindIsToldItLostEvents) {
  JobEventLog log(/*capacity=*/2);
  uint64_t cursor = log.End();
  for (int step = 1; step <= 3; ++step) log.Publish(Event("a", step));
  bool lost = false;
  auto events = log.Wait("a", &cursor, absl::InfinitePast(), &lost);
  EXPECT_TRUE(lost);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(cursor, log.End());
}

}  // namespace
}  // namespace llm2vec
