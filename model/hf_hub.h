// Resolves a model reference to a local path: an existing file or folder
// is used as is; otherwise `org/name[@revision]` is looked up in the
// standard Hugging Face cache layout, so a cache filled by Python tools is
// reused offline:
//   $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
//   else ~/.cache/huggingface/hub
//   /models--org--name/snapshots/<commit>/   (revision: commit hash, or a
//   branch/tag whose commit is in refs/<revision>; default "main").
#ifndef LLM2VEC_MODEL_HF_HUB_H_
#define LLM2VEC_MODEL_HF_HUB_H_

#include <string>

#include "absl/status/statusor.h"

namespace llm2vec {

// The hub cache root as described above.
std::string HfHubCacheDir();

// A local path for `path_or_id`; NotFound names every place looked at.
absl::StatusOr<std::string> ResolveModelPath(const std::string& path_or_id);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_HF_HUB_H_
