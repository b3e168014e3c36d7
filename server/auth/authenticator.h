// The server's gate: who may call what. With a key file (--api-keys), each
// call must carry a known key ("Bearer KEY") whose roles include the one
// the call needs; without one, every caller is an anonymous admin (the
// server then listens on loopback only, unless --allow-unauthenticated).
//
//   auto auth = Authenticator::FromFile("/etc/llm2vec/keys");
//   auto caller = (*auth)->Authorize(header, Role::kTrain, "Train");
//   // UNAUTHENTICATED (401): no key, a malformed header or an unknown key.
//   // PERMISSION_DENIED (403): a known key without the role.
//   (*auth)->Reload();   // on SIGHUP; a bad file keeps the old keys
//
// Threading: thread-safe; Authorize never waits for a Reload's file read.
#ifndef LLM2VEC_SERVER_AUTH_AUTHENTICATOR_H_
#define LLM2VEC_SERVER_AUTH_AUTHENTICATOR_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/api_keys.h"

namespace llm2vec {

class Authenticator {
 public:
  // No keys: every call is allowed, as an admin named "".
  Authenticator() = default;
  // Keys from `path` (see common/api_keys.h for the format).
  static absl::StatusOr<std::unique_ptr<Authenticator>> FromFile(const std::string& path);

  // Whether calls need a key.
  bool enabled() const { return !path_.empty(); }
  // Re-reads the key file: on success the new keys answer every later
  // call; on failure the old ones stay and the error says why.
  absl::Status Reload();
  // The caller whose key `authorization` (the header's value, "" when the
  // call has none) carries, when it holds `role`; `what` names the call in
  // the PERMISSION_DENIED message.
  absl::StatusOr<Caller> Authorize(absl::string_view authorization, Role role,
                                   absl::string_view what) const;

  // Implementation details follow.
 private:
  std::string path_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const ApiKeys> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_AUTH_AUTHENTICATOR_H_
