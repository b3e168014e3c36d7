// Hugging Face hub references ("org/name[@revision]",
// "org/name/file.gguf[@revision]") and where the standard cache keeps them:
//   $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
//   else ~/.cache/huggingface/hub
//   /models--org--name/snapshots/<commit>/   (revision: commit hash, or a
//   branch/tag whose commit is in refs/<revision>; default "main").
// The bottom of model/hub/: hf_download.h fetches into this layout,
// resolve_model_path.h finds a model in it or downloads it.
//
// Threading: pure functions (HfHubCacheDir reads the environment).
#ifndef LLM2VEC_MODEL_HUB_HF_HUB_H_
#define LLM2VEC_MODEL_HUB_HF_HUB_H_

#include <string>

#include "absl/status/statusor.h"

namespace llm2vec {

// A model on the hub.
struct HubReference {
  // "org/name".
  std::string repo_id;
  // A branch, tag or commit hash.
  std::string revision = "main";
  // "" for the repository; else the path of one .gguf file in it.
  std::string filename;

  // "org/name[/file]@revision", for messages.
  std::string ToString() const;
};

// Parses `org/name[@revision]` or `org/name/path/file.gguf[@revision]`;
// InvalidArgument naming `s` when it is neither.
absl::StatusOr<HubReference> ParseHubReference(const std::string& s);

// The hub cache root as described above.
std::string HfHubCacheDir();

// The folder of `repo_id` in the cache at `cache_dir`:
// `<cache_dir>/models--org--name`.
std::string HubRepoCacheDir(const std::string& cache_dir, const std::string& repo_id);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_HUB_HF_HUB_H_
