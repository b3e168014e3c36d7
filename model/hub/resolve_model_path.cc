#include "model/hub/resolve_model_path.h"

#include <dirent.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/mapped_file.h"
#include "model/hub/hf_download.h"
#include "model/hub/hf_hub.h"

namespace llm2vec {
namespace {

// The .gguf files under `dir` (recursively), relative to it.
void ListGgufFiles(const std::string& dir, const std::string& prefix,
                   std::vector<std::string>* out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    if (IsDirectory(path)) {
      ListGgufFiles(path, prefix + name + "/", out);
    } else if (absl::EndsWith(name, ".gguf") && IsRegularFile(path)) {
      out->push_back(prefix + name);
    }
  }
  ::closedir(d);
}

// The path to load from a cached snapshot folder of `ref` (the folder, or
// its one .gguf file), or "" when the snapshot lacks the files a model
// needs (a partial download, or one of single files by other tools).
absl::StatusOr<std::string> ModelPathInSnapshot(const std::string& snapshot,
                                                const HubReference& ref) {
  if (IsRegularFile(snapshot + "/config.json")) {
    if (IsRegularFile(snapshot + "/model.safetensors")) return snapshot;
    const std::string index = snapshot + "/model.safetensors.index.json";
    if (!IsRegularFile(index)) return std::string();
    auto text = ReadFileToString(index);
    if (!text.ok()) return text.status();
    auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
      return snapshot;  // the loader explains what is wrong with it
    }
    for (const auto& shard : j["weight_map"]) {
      if (shard.is_string() && !IsRegularFile(snapshot + "/" + shard.get<std::string>())) {
        return std::string();
      }
    }
    return snapshot;
  }
  if (IsRegularFile(snapshot + "/adapter_config.json") &&
      IsRegularFile(snapshot + "/adapter_model.safetensors")) {
    return snapshot;
  }
  std::vector<std::string> ggufs;
  ListGgufFiles(snapshot, "", &ggufs);
  if (ggufs.size() > 1) return SeveralGgufFilesError(ref, ggufs);
  if (ggufs.size() == 1) return snapshot + "/" + ggufs[0];
  return std::string();
}

}  // namespace

absl::StatusOr<std::string> ResolveModelPath(const std::string& path_or_id) {
  if (path_or_id.empty()) return absl::InvalidArgumentError("model path or id is empty");
  if (PathExists(path_or_id)) return path_or_id;
  auto ref = ParseHubReference(path_or_id);
  if (!ref.ok()) {
    return absl::NotFoundError(absl::StrCat("model '", path_or_id,
                                            "' is neither an existing path nor a hub id of "
                                            "the form org/name[@revision] or "
                                            "org/name/file.gguf[@revision]"));
  }
  const std::string cache_dir = HfHubCacheDir();
  const std::string repo_dir = HubRepoCacheDir(cache_dir, ref->repo_id);
  std::string commit = ref->revision;
  const std::string ref_file = repo_dir + "/refs/" + ref->revision;
  if (PathExists(ref_file)) {
    auto text = ReadFileToString(ref_file);
    if (!text.ok()) return text.status();
    commit = std::string(absl::StripAsciiWhitespace(*text));
  }
  const std::string snapshot = repo_dir + "/snapshots/" + commit;
  const bool offline = HubOfflineFromEnv();
  if (IsDirectory(snapshot)) {
    if (!ref->filename.empty()) {
      if (IsRegularFile(snapshot + "/" + ref->filename)) return snapshot + "/" + ref->filename;
    } else {
      auto path = ModelPathInSnapshot(snapshot, *ref);
      if (!path.ok()) return path.status();
      if (!path->empty()) return *path;
      // Incomplete: offline, the loader names what is missing.
      if (offline) return snapshot;
    }
  }

  const std::string looked_at = absl::StrCat(
      "model '", path_or_id, "' is not a local path and is not in the Hugging Face cache (",
      PathExists(repo_dir)
          ? absl::StrCat("no complete snapshot for revision '", ref->revision, "' in ", repo_dir)
          : "looked for " + repo_dir,
      ")");
  if (offline) {
    return absl::NotFoundError(
        absl::StrCat(looked_at,
                     ", and HF_HUB_OFFLINE=1 forbids downloading it; unset HF_HUB_OFFLINE, or "
                     "download it elsewhere, e.g. `huggingface-cli download ",
                     ref->repo_id, "`"));
  }
  HubDownloadOptions options = HubDownloadOptionsFromEnv();
  options.cache_dir = cache_dir;
  auto downloaded = DownloadFromHub(*ref, options);
  if (!downloaded.ok()) {
    return absl::Status(
        downloaded.status().code(),
        absl::StrCat(looked_at, ", and downloading it failed: ", downloaded.status().message()));
  }
  return downloaded;
}

}  // namespace llm2vec
