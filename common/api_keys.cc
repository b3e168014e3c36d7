#include "common/api_keys.h"

#include <errno.h>
#include <sys/random.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/mapped_file.h"
#include "common/sha256.h"

namespace llm2vec {
namespace {

constexpr Role kRoles[] = {Role::kEmbed, Role::kTrain, Role::kPriority, Role::kAdmin};
constexpr absl::string_view kKeyPrefix = "l2v_";
// Longer presented keys are refused before hashing.
constexpr size_t kMaxKeyBytes = 256;

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

// Equal without an early exit (both are 64 hex digits).
bool ConstantTimeEqual(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

const absl::Status& Unauthenticated() {
  static const absl::Status* s = new absl::Status(absl::UnauthenticatedError(
      "this server needs an API key: send the header 'authorization: Bearer KEY'"));
  return *s;
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kEmbed:
      return "embed";
    case Role::kTrain:
      return "train";
    case Role::kAdmin:
      return "admin";
    case Role::kPriority:
      return "priority";
  }
  return "?";
}

std::string RoleNames(uint8_t roles) {
  std::vector<const char*> names;
  for (Role r : kRoles) {
    if (roles & static_cast<uint8_t>(r)) names.push_back(RoleName(r));
  }
  return names.empty() ? "none" : absl::StrJoin(names, ",");
}

absl::StatusOr<uint8_t> ParseRoles(absl::string_view text) {
  uint8_t roles = 0;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    bool known = false;
    for (Role r : kRoles) {
      if (part == RoleName(r)) {
        roles |= static_cast<uint8_t>(r);
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("role '", part, "' is not one of embed, train, priority, admin"));
    }
  }
  return roles;
}

absl::StatusOr<ApiKeys> ApiKeys::Parse(absl::string_view text, const std::string& origin) {
  ApiKeys keys;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat(origin, " line ", line_number, ": ", why));
    };
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (fields.size() != 3) {
      return fail(absl::StrCat("expected NAME ROLES SHA256, found ", fields.size(), " fields"));
    }
    Entry entry;
    if (!ValidName(fields[0])) {
      return fail("the name must be 1-64 characters of A-Z a-z 0-9 . _ -");
    }
    entry.name = std::string(fields[0]);
    auto roles = ParseRoles(fields[1]);
    if (!roles.ok()) return fail(std::string(roles.status().message()));
    entry.roles = *roles;
    entry.sha256_hex = std::string(fields[2]);
    if (!IsSha256Hex(entry.sha256_hex)) {
      return fail(
          "the third field must be the key's SHA-256 as 64 lower-case hex digits (the key "
          "itself never goes in this file; `llm2vec api-key` writes the line)");
    }
    for (const Entry& other : keys.entries_) {
      if (other.name == entry.name) return fail(absl::StrCat("the name '", entry.name, "' repeats"));
      if (other.sha256_hex == entry.sha256_hex) {
        return fail(absl::StrCat("the same key as '", other.name, "'"));
      }
    }
    keys.entries_.push_back(std::move(entry));
  }
  if (keys.entries_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, " holds no keys"));
  }
  return keys;
}

absl::StatusOr<ApiKeys> ApiKeys::Load(const std::string& path) {
  auto text = ReadFileToString(path, kMaxFileBytes);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

absl::StatusOr<Caller> ApiKeys::Authenticate(absl::string_view authorization) const {
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::StartsWithIgnoreCase(authorization, kScheme)) {
    return Unauthenticated();
  }
  const absl::string_view key =
      absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
  if (key.empty() || key.size() > kMaxKeyBytes) return Unauthenticated();
  const std::string hash = Sha256Hex(std::string(key));
  // Every entry is compared; the match is remembered, not returned early.
  const Entry* match = nullptr;
  for (const Entry& entry : entries_) {
    if (ConstantTimeEqual(hash, entry.sha256_hex)) match = &entry;
  }
  if (match == nullptr) {
    return absl::UnauthenticatedError("the API key is not known to this server");
  }
  return Caller{match->name, match->roles};
}

absl::StatusOr<std::string> GenerateApiKey() {
  unsigned char bytes[32];
  size_t have = 0;
  while (have < sizeof(bytes)) {
    const ssize_t n = getrandom(bytes + have, sizeof(bytes) - have, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("getrandom: ", std::strerror(errno)));
    }
    have += static_cast<size_t>(n);
  }
  std::string key(kKeyPrefix);
  for (unsigned char b : bytes) absl::StrAppend(&key, absl::Hex(b, absl::kZeroPad2));
  return key;
}

absl::StatusOr<std::string> ApiKeyFileLine(const std::string& name, uint8_t roles,
                                           const std::string& key) {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("name '", name, "' must be 1-64 characters of A-Z a-z 0-9 . _ -"));
  }
  if (roles == 0) return absl::InvalidArgumentError("a key needs at least one role");
  return absl::StrCat(name, " ", RoleNames(roles), " ", Sha256Hex(key));
}

}  // namespace llm2vec
