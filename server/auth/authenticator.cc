#include "server/auth/authenticator.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace llm2vec {

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::FromFile(const std::string& path) {
  auto keys = ApiKeys::Load(path);
  if (!keys.ok()) return keys.status();
  auto auth = std::make_unique<Authenticator>();
  auth->path_ = path;
  auth->keys_ = std::make_shared<const ApiKeys>(std::move(*keys));
  return auth;
}

absl::Status Authenticator::Reload() {
  if (!enabled()) return absl::OkStatus();
  auto keys = ApiKeys::Load(path_);
  if (!keys.ok()) return keys.status();
  auto fresh = std::make_shared<const ApiKeys>(std::move(*keys));
  absl::MutexLock lock(&mu_);
  keys_ = std::move(fresh);
  return absl::OkStatus();
}

absl::StatusOr<Caller> Authenticator::Authorize(absl::string_view authorization, Role role,
                                                absl::string_view what) const {
  if (!enabled()) return Caller{"", static_cast<uint8_t>(Role::kAdmin)};
  std::shared_ptr<const ApiKeys> keys;
  {
    absl::MutexLock lock(&mu_);
    keys = keys_;
  }
  auto caller = keys->Authenticate(authorization);
  if (!caller.ok()) return caller.status();
  if (!caller->Has(role)) {
    return absl::PermissionDeniedError(absl::StrCat(what, " needs the role '", RoleName(role),
                                                    "'; this API key has: ",
                                                    RoleNames(caller->roles)));
  }
  return caller;
}

}  // namespace llm2vec
