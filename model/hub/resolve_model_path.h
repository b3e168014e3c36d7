// Resolves a model reference to a local path: an existing file or folder
// is used as is; otherwise `org/name[@revision]` (or one file of a repo,
// `org/name/file.gguf[@revision]`) is looked up in the standard Hugging Face
// cache layout, so a cache filled by Python tools is reused offline:
//   $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
//   else ~/.cache/huggingface/hub
//   /models--org--name/snapshots/<commit>/   (revision: commit hash, or a
//   branch/tag whose commit is in refs/<revision>; default "main").
// What the cache lacks is downloaded from the hub into it (see
// model/hub/hf_download.h), unless $HF_HUB_OFFLINE=1.
//
// Threading: thread-safe; concurrent resolves of one model, in this or other
// processes, share the download through the cache's lock files.
#ifndef LLM2VEC_MODEL_HUB_RESOLVE_MODEL_PATH_H_
#define LLM2VEC_MODEL_HUB_RESOLVE_MODEL_PATH_H_

#include <string>

#include "absl/status/statusor.h"

namespace llm2vec {

// A local path for `path_or_id`: the path itself, a snapshot folder, or a
// .gguf file in one (for a repository whose only weights are one .gguf).
// NotFound names every place looked at, and why a download did not happen
// or failed.
absl::StatusOr<std::string> ResolveModelPath(const std::string& path_or_id);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_HUB_RESOLVE_MODEL_PATH_H_
