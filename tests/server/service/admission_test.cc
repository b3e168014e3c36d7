#include "server/service/admission.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace llm2vec {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000000);

Admission::Options QueueOf(int64_t max_requests) {
  Admission::Options options;
  options.max_queue_requests = max_requests;
  return options;
}

TEST(AdmissionTest, QueueBoundRefusesWhatWouldOverfillIt) {
  Admission admission(QueueOf(4096));
  EXPECT_TRUE(admission.AdmitToQueue(4090, 6).ok());
  absl::Status s = admission.AdmitToQueue(4091, 6);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "the queue holds 4091 inputs")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "this request has 6")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "max_queue_requests is 4096")) << s;
  // An empty queue takes any request here (the queue's own Add refuses
  // one larger than its bound, exactly).
  EXPECT_TRUE(admission.AdmitToQueue(0, 5000).ok());
}

TEST(AdmissionTest, NoEstimateBeforeTheFirstBatch) {
  Admission admission(QueueOf(4096));
  EXPECT_EQ(admission.tokens_per_second(), 0);
  EXPECT_TRUE(admission.AdmitByDeadline(kT0, 1000000, 100, kT0 + absl::Milliseconds(1)).ok());
}

TEST(AdmissionTest, RefusesADeadlineTheQueueRunningAndOwnBatchesWouldMiss) {
  Admission admission(QueueOf(4096));
  // 1000 tokens in 1 s: 1000 tokens/s, 1 s a batch.
  admission.RecordBatch(kT0, kT0 + absl::Seconds(1), 1000, /*backlog_after=*/false);
  ASSERT_DOUBLE_EQ(admission.tokens_per_second(), 1000);
  ASSERT_DOUBLE_EQ(admission.batch_seconds(), 1);
  const absl::Time now = kT0 + absl::Seconds(10);
  // 1500 queued + 500 own = 2 s, plus the running and the own batch (1 s
  // each) = 4 s, times the margin 1.5 = 6 s.
  absl::Status late = admission.AdmitByDeadline(now, 1500, 500, now + absl::Milliseconds(5990));
  EXPECT_TRUE(absl::IsResourceExhausted(late)) << late;
  EXPECT_TRUE(absl::StrContains(late.message(), "1500 queued tokens need about 4s")) << late;
  EXPECT_TRUE(absl::StrContains(late.message(), "at the measured 1000 tokens/s")) << late;
  EXPECT_TRUE(admission.AdmitByDeadline(now, 1500, 500, now + absl::Seconds(6)).ok());
  // Nothing queued, or no deadline: nothing to estimate.
  EXPECT_TRUE(admission.AdmitByDeadline(now, 0, 500, now + absl::Milliseconds(1)).ok());
  EXPECT_TRUE(admission.AdmitByDeadline(now, 1500, 500, absl::InfiniteFuture()).ok());
}

TEST(AdmissionTest, TokensAreEstimatedFromTheRequestsSoFarAndBoundedByBytes) {
  Admission admission(QueueOf(4096));
  // Nothing seen: no estimate.
  EXPECT_EQ(admission.EstimateTokens(3, 1000), 0);
  // 10 tokens per input, then 20: 0.8 x 10 + 0.2 x 20 = 12.
  admission.RecordTokens(2, 20);
  EXPECT_EQ(admission.EstimateTokens(3, 1000), 30);
  admission.RecordTokens(1, 20);
  EXPECT_EQ(admission.EstimateTokens(3, 1000), 36);
  // Never more tokens than bytes.
  EXPECT_EQ(admission.EstimateTokens(3, 7), 7);
  // A request of no inputs records nothing.
  admission.RecordTokens(0, 0);
  EXPECT_EQ(admission.EstimateTokens(1, 1000), 12);
}

TEST(AdmissionTest, TheMarginIsAnOption) {
  Admission::Options options = QueueOf(4096);
  options.margin = 1.0;
  Admission admission(options);
  admission.RecordBatch(kT0, kT0 + absl::Seconds(1), 1000, false);
  const absl::Time now = kT0 + absl::Seconds(10);
  EXPECT_TRUE(admission.AdmitByDeadline(now, 1500, 500, now + absl::Seconds(4)).ok());
  EXPECT_FALSE(admission.AdmitByDeadline(now, 1500, 500, now + absl::Milliseconds(3990)).ok());
}

TEST(AdmissionTest, TimeBetweenBatchesCountsWhileWorkWaits) {
  // With a backlog, the drain rate is over the wall time since the last
  // batch ended: 1000 tokens from 1 s to 4 s = 333.3 tokens/s, smoothed
  // with the first sample: 0.8 * 1000 + 0.2 * 333.3.
  Admission backlog(QueueOf(4096));
  backlog.RecordBatch(kT0, kT0 + absl::Seconds(1), 1000, /*backlog_after=*/true);
  backlog.RecordBatch(kT0 + absl::Seconds(3), kT0 + absl::Seconds(4), 1000, false);
  EXPECT_NEAR(backlog.tokens_per_second(), 0.8 * 1000 + 0.2 * 1000.0 / 3, 1e-6);
  EXPECT_DOUBLE_EQ(backlog.batch_seconds(), 1);
  // Without one (the queue was idle in between), only the batch's own time.
  Admission idle(QueueOf(4096));
  idle.RecordBatch(kT0, kT0 + absl::Seconds(1), 1000, /*backlog_after=*/false);
  idle.RecordBatch(kT0 + absl::Seconds(3), kT0 + absl::Seconds(5), 1000, false);
  EXPECT_NEAR(idle.tokens_per_second(), 0.8 * 1000 + 0.2 * 500, 1e-6);
  EXPECT_NEAR(idle.batch_seconds(), 0.8 * 1 + 0.2 * 2, 1e-9);
}

}  // namespace
}  // namespace llm2vec
