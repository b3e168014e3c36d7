// The one table from internal errors (absl::Status) to gRPC status codes.
// Internal code            -> gRPC code           meaning
//   InvalidArgument        -> INVALID_ARGUMENT    bad input, too many tokens
//   ResourceExhausted      -> RESOURCE_EXHAUSTED  queue full
//   DeadlineExceeded       -> DEADLINE_EXCEEDED   deadline passed while queued
//   NotFound               -> NOT_FOUND           unknown adapter / job
//   Unavailable            -> UNAVAILABLE         starting or shutting down
//   FailedPrecondition     -> FAILED_PRECONDITION e.g. cancelling a finished job
//   AlreadyExists          -> ALREADY_EXISTS      adapter / output name taken
//   PermissionDenied       -> PERMISSION_DENIED   the API key lacks the role; the
//                                                 server cannot write its state
//   Unauthenticated        -> UNAUTHENTICATED     no API key, or an unknown one
//   Cancelled              -> CANCELLED           the client went away
//   anything else          -> INTERNAL
// The message is passed through unchanged (it already names the value),
// cut to 2 KiB when it echoes a huge client value.
#ifndef LLM2VEC_SERVER_SERVICE_STATUS_CODES_H_
#define LLM2VEC_SERVER_SERVICE_STATUS_CODES_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/http/metrics.h"

namespace llm2vec {

grpc::Status ToGrpcStatus(const absl::Status& status);
// "OK", "INVALID_ARGUMENT", ... (the outcome label of the metrics).
const char* CodeName(grpc::StatusCode code);
// Maps `status`, records the call (method, outcome, time since `start`) in
// `metrics` (may be null), and returns it: every handler's last line.
grpc::Status FinishCall(Metrics* metrics, const char* method, absl::Time start,
                        const absl::Status& status);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVICE_STATUS_CODES_H_
