#include "model/hf_hub.h"

#include <sys/stat.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "model/mapped_file.h"

namespace llm2vec {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

bool IsRepoId(const std::string& s) {
  std::vector<std::string> parts = absl::StrSplit(s, '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) return false;
  for (const std::string& p : parts) {
    if (p == "." || p == "..") return false;
    for (char c : p) {
      if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

std::string HfHubCacheDir() {
  if (std::string v = Env("HF_HUB_CACHE"); !v.empty()) return v;
  if (std::string v = Env("HUGGINGFACE_HUB_CACHE"); !v.empty()) return v;
  if (std::string v = Env("HF_HOME"); !v.empty()) return v + "/hub";
  if (std::string v = Env("XDG_CACHE_HOME"); !v.empty()) return v + "/huggingface/hub";
  return Env("HOME") + "/.cache/huggingface/hub";
}

absl::StatusOr<std::string> ResolveModelPath(const std::string& path_or_id) {
  if (path_or_id.empty()) return absl::InvalidArgumentError("model path or id is empty");
  if (Exists(path_or_id)) return path_or_id;
  std::string id = path_or_id;
  std::string revision = "main";
  if (size_t at = id.find('@'); at != std::string::npos) {
    revision = id.substr(at + 1);
    id = id.substr(0, at);
  }
  if (!IsRepoId(id) || revision.empty() || revision.find('/') != std::string::npos ||
      revision == "..") {
    return absl::NotFoundError(absl::StrCat("model '", path_or_id,
                                            "' is neither an existing path nor a hub id of "
                                            "the form org/name[@revision]"));
  }
  const std::string repo_dir =
      absl::StrCat(HfHubCacheDir(), "/models--", absl::StrReplaceAll(id, {{"/", "--"}}));
  std::string commit = revision;
  const std::string ref = repo_dir + "/refs/" + revision;
  if (Exists(ref)) {
    auto text = ReadFileToString(ref);
    if (!text.ok()) return text.status();
    commit = std::string(absl::StripAsciiWhitespace(*text));
  }
  const std::string snapshot = repo_dir + "/snapshots/" + commit;
  if (!Exists(snapshot)) {
    return absl::NotFoundError(absl::StrCat(
        "model '", path_or_id, "' is not a local path and is not in the Hugging Face cache (",
        Exists(repo_dir) ? "no snapshot for revision '" + revision + "' in " + repo_dir
                         : "looked for " + repo_dir,
        "); download it first, e.g. `huggingface-cli download ", id, "`"));
  }
  return snapshot;
}

}  // namespace llm2vec
