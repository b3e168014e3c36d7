#include "model/hub/hf_hub.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/mapped_file.h"

namespace llm2vec {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// One part of a repo id or file path: [A-Za-z0-9._-]+, not "." or "..".
bool IsPlainName(absl::string_view part) {
  if (part.empty() || part == "." || part == "..") return false;
  for (char c : part) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string HubReference::ToString() const {
  return absl::StrCat(repo_id, filename.empty() ? "" : "/", filename, "@", revision);
}

absl::StatusOr<HubReference> ParseHubReference(const std::string& s) {
  HubReference ref;
  std::string id = s;
  if (size_t at = id.find('@'); at != std::string::npos) {
    ref.revision = id.substr(at + 1);
    id = id.substr(0, at);
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(id, '/');
  bool ok = parts.size() >= 2 && IsPlainName(ref.revision);
  for (absl::string_view part : parts) ok = ok && IsPlainName(part);
  if (parts.size() > 2) {
    ref.filename = std::string(id.substr(parts[0].size() + parts[1].size() + 2));
    ok = ok && absl::EndsWith(ref.filename, ".gguf");
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", s,
                     "' is not a hub id of the form org/name[@revision] or "
                     "org/name/file.gguf[@revision]"));
  }
  ref.repo_id = absl::StrCat(parts[0], "/", parts[1]);
  return ref;
}

std::string HfHubCacheDir() {
  if (std::string v = Env("HF_HUB_CACHE"); !v.empty()) return v;
  if (std::string v = Env("HUGGINGFACE_HUB_CACHE"); !v.empty()) return v;
  if (std::string v = Env("HF_HOME"); !v.empty()) return v + "/hub";
  if (std::string v = Env("XDG_CACHE_HOME"); !v.empty()) return v + "/huggingface/hub";
  return Env("HOME") + "/.cache/huggingface/hub";
}

std::string HubRepoCacheDir(const std::string& cache_dir, const std::string& repo_id) {
  return absl::StrCat(cache_dir, "/models--", absl::StrReplaceAll(repo_id, {{"/", "--"}}));
}

}  // namespace llm2vec
