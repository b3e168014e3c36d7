// The one status table: every internal code to its gRPC code, the message
// unchanged, and the outcome label the metrics record.
#include "server/service/status_codes.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace llm2vec {
namespace {

TEST(StatusCodesTest, EveryInternalCodeHasItsGrpcCode) {
  const std::vector<std::pair<absl::StatusCode, grpc::StatusCode>> table = {
      {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {absl::StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
      {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {absl::StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
      {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
      {absl::StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
      {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
      // Anything else is the server's fault.
      {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL},
      {absl::StatusCode::kUnknown, grpc::StatusCode::INTERNAL},
      {absl::StatusCode::kDataLoss, grpc::StatusCode::INTERNAL},
      {absl::StatusCode::kOutOfRange, grpc::StatusCode::INTERNAL},
  };
  for (const auto& [internal, wire] : table) {
    const grpc::Status s = ToGrpcStatus(absl::Status(internal, "input 3 has 9000 tokens"));
    EXPECT_EQ(s.error_code(), wire) << absl::StatusCodeToString(internal);
    EXPECT_EQ(s.error_message(), "input 3 has 9000 tokens");
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_STREQ(CodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_STREQ(CodeName(grpc::StatusCode::OK), "OK");
  EXPECT_STREQ(CodeName(grpc::StatusCode::DATA_LOSS), "INTERNAL");
}

TEST(StatusCodesTest, FinishCallRecordsTheOutcome) {
  auto metrics = Metrics::Create();
  const grpc::Status s =
      FinishCall(metrics.get(), "Embed", absl::Now(), absl::NotFoundError("adapter 'x'"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  prometheus::TextSerializer serializer;
  const std::string text = serializer.Serialize(metrics->registry()->Collect());
  EXPECT_TRUE(absl::StrContains(
      text, R"(llm2vec_requests_total{method="Embed",outcome="NOT_FOUND"} 1)"))
      << text;
  // No metrics: the mapping alone.
  EXPECT_EQ(FinishCall(nullptr, "Embed", absl::Now(), absl::OkStatus()).error_code(),
            grpc::StatusCode::OK);
}

TEST(StatusCodesTest, AHugeMessageIsCutAtACharacterBoundary) {
  // "x" and then 'é' (two bytes) 3000 times: byte 2048 is the second byte
  // of a character, so the cut falls before it.
  std::string text = "x";
  for (int i = 0; i < 3000; ++i) text += "\xc3\xa9";
  const grpc::Status s = ToGrpcStatus(absl::InvalidArgumentError(text));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), text.substr(0, 2047) + "... (3954 more bytes)");
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("short")).error_message(), "short");
}

}  // namespace
}  // namespace llm2vec
