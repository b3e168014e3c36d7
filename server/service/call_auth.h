// Who is calling a gRPC method: the call's "authorization" metadata
// ("Bearer KEY") checked by the server's Authenticator for the role the
// method needs. Every handler of EmbeddingService and TrainingService
// starts with it (the roles per method: README, "Security").
#ifndef LLM2VEC_SERVER_SERVICE_CALL_AUTH_H_
#define LLM2VEC_SERVER_SERVICE_CALL_AUTH_H_

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "server/auth/authenticator.h"

namespace llm2vec {

// The caller of `context` when it may call `method`, which needs `role`;
// UNAUTHENTICATED or PERMISSION_DENIED otherwise. `auth` null: everyone is
// an admin (tests that build a service alone).
absl::StatusOr<Caller> AuthorizeCall(const Authenticator* auth,
                                     const grpc::ServerContext& context, Role role,
                                     const char* method);

// OK for priority 0; priority 1 (high) needs the role `priority` (admin
// has it; so does everyone when the server has no keys). PERMISSION_DENIED
// names `field`, the value and the caller's roles.
absl::Status CheckPriority(const Caller& caller, int64_t priority, const char* field);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVICE_CALL_AUTH_H_
