#include "server/service/call_auth.h"

#include "absl/strings/str_cat.h"

namespace llm2vec {

absl::StatusOr<Caller> AuthorizeCall(const Authenticator* auth,
                                     const grpc::ServerContext& context, Role role,
                                     const char* method) {
  if (auth == nullptr) return Caller{"", static_cast<uint8_t>(Role::kAdmin)};
  // gRPC lower-cases metadata keys; a call may carry the key only once.
  const auto& metadata = context.client_metadata();
  auto [first, last] = metadata.equal_range("authorization");
  absl::string_view header;
  if (first != last) {
    if (std::next(first) != last) {
      return absl::UnauthenticatedError("the call carries more than one authorization header");
    }
    header = absl::string_view(first->second.data(), first->second.size());
  }
  return auth->Authorize(header, role, method);
}

absl::Status CheckPriority(const Caller& caller, int64_t priority, const char* field) {
  if (priority <= 0 || caller.Has(Role::kPriority)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(field, " ", priority,
                                                  " (high) needs the role 'priority'; this API "
                                                  "key has: ", RoleNames(caller.roles)));
}

}  // namespace llm2vec
