// API keys and roles: the key file the server reads, the check of a
// presented key, and new keys for `llm2vec api-key`.
//
// The key file holds no secret: one key per line as NAME ROLES SHA256,
// where SHA256 is the hex SHA-256 of the key itself, so a copy of the file
// (a Kubernetes Secret, a backup) does not let anyone call the server.
//
//   # name    roles         sha256 of the key
//   search    embed         3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b
//   ci-bot    embed,train   ...
//   ops       admin         ...
//
// Roles: `embed` (Embed, EmbedStream, Similarity, Tokenize, Info, HTTP
// /v1/*), `train` (Train; GetJob, ListJobs, WatchJob, CancelJob, ResumeJob
// of its own jobs), `priority` (may send options.priority 1, served before
// normal requests; with `embed`), `admin` (everything: adapters, any job).
//
// Keys are 256 random bits ("l2v_" + 64 hex digits), so an unsalted hash
// is as good as a salted one. A presented key is hashed and compared with
// every entry in constant time: neither the time nor the answer says how
// close a guess came.
//
//   auto keys = ApiKeys::Load("/etc/llm2vec/keys");
//   auto caller = keys->Authenticate("Bearer l2v_...");   // Caller or UNAUTHENTICATED
//   if (!caller->Has(Role::kTrain)) ...
//
// Threading: an ApiKeys is immutable after Parse/Load; share it freely.
#ifndef LLM2VEC_COMMON_API_KEYS_H_
#define LLM2VEC_COMMON_API_KEYS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llm2vec {

enum class Role : uint8_t { kEmbed = 1, kTrain = 2, kAdmin = 4, kPriority = 8 };

// "embed", "train", "admin" or "priority".
const char* RoleName(Role role);
// "embed,train" for a role bit set.
std::string RoleNames(uint8_t roles);
// Parses "embed,train"; INVALID_ARGUMENT names the unknown role.
absl::StatusOr<uint8_t> ParseRoles(absl::string_view text);

// Who is calling.
struct Caller {
  // The key's name ("" when the server has no keys: everyone is admin).
  std::string name;
  uint8_t roles = 0;

  bool admin() const { return (roles & static_cast<uint8_t>(Role::kAdmin)) != 0; }
  // admin holds every role.
  bool Has(Role role) const { return admin() || (roles & static_cast<uint8_t>(role)) != 0; }
};

class ApiKeys {
 public:
  // Longest key file read.
  static constexpr int64_t kMaxFileBytes = 1 << 20;

  // Parses the key file's text; `origin` names it in errors, which give the
  // line number and what is wrong (never a hash). At least one key.
  static absl::StatusOr<ApiKeys> Parse(absl::string_view text, const std::string& origin);
  // Reads `path` (a regular file of at most kMaxFileBytes) and parses it.
  static absl::StatusOr<ApiKeys> Load(const std::string& path);

  // The caller a header value "Bearer KEY" names (the scheme is
  // case-insensitive); UNAUTHENTICATED when it is missing, malformed or
  // unknown, with a message that names none of the keys.
  absl::StatusOr<Caller> Authenticate(absl::string_view authorization) const;

  size_t size() const { return entries_.size(); }

  // Implementation details follow.
 private:
  struct Entry {
    std::string name;
    uint8_t roles = 0;
    std::string sha256_hex;
  };
  std::vector<Entry> entries_;
};

// A new random key ("l2v_" + 64 hex digits from the kernel's CSPRNG).
absl::StatusOr<std::string> GenerateApiKey();
// The key file line for `key`: "NAME ROLES SHA256". NAME must be 1-64 of
// [A-Za-z0-9._-].
absl::StatusOr<std::string> ApiKeyFileLine(const std::string& name, uint8_t roles,
                                           const std::string& key);

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_API_KEYS_H_
