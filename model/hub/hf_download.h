// Downloads a model repository, or one file of it, from the Hugging Face hub
// into the hub cache, in the layout Python's huggingface_hub uses, so either
// side reuses what the other fetched:
//   <cache>/models--org--name/blobs/<etag or sha256>
//   <cache>/models--org--name/snapshots/<commit>/<file> -> ../../blobs/<x>
//   <cache>/models--org--name/refs/<revision>   (the commit hash)
//
// The hub's protocol:
//   GET  {endpoint}/api/models/{org}/{name}/revision/{revision}
//        -> {"sha": commit, "siblings": [{"rfilename": ...}, ...]}
//   HEAD {endpoint}/{org}/{name}/resolve/{commit}/{file}
//        -> the blob name: X-Linked-Etag (on the hub's redirect to its CDN),
//           else ETag; quotes and W/ stripped. Else the content's sha256.
//   GET  the same URL, following redirects -> the file.
//
// Only the files this project loads are fetched: config.json, the tokenizer
// files, generation_config.json, llm2vec_config.json, model.safetensors or
// model.safetensors.index.json with its model-*.safetensors shards, a PEFT
// adapter's adapter_config.json and adapter_model.safetensors, and, for a
// repository with no .safetensors at all, its one .gguf file (several are an
// error asking for `org/name/file.gguf`).
//
// A blob is written to blobs/<x>.incomplete, fsync'ed and renamed, so an
// interrupted download never leaves a file that looks complete; a dropped
// connection resumes there (HTTP Range), also in a later run. A blob named
// by a sha256 is checked against its content. The snapshot links appear
// after all blobs are complete, refs/<revision> last.
//
// Threading: thread-safe. Downloads of one blob from several threads or
// processes (Python's included) take turns on Python's lock file,
// <cache>/.locks/models--org--name/<blob>.lock (flock).
//
// Size: hf_download.cc (~650 lines) is the hub's download protocol in one
// place (listing, the download plan, HEAD, resumable GETs under a lock,
// verification, the cache's blobs/snapshots/refs), because every step keeps
// the same cache invariants; SHA-256 (common/sha256.h), HTTP (http_fetch.h) and
// resolving ids (resolve_model_path.h) are their own files.
#ifndef LLM2VEC_MODEL_HUB_HF_DOWNLOAD_H_
#define LLM2VEC_MODEL_HUB_HF_DOWNLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/hub/hf_hub.h"

namespace llm2vec {

struct HubDownloadOptions {
  // The hub's base URL, without a trailing slash.
  std::string endpoint = "https://huggingface.co";
  // Sent as "Authorization: Bearer <token>" when not empty.
  std::string token;
  // The cache root.
  std::string cache_dir;
  // Progress on stderr for files of at least this many bytes; -1: none.
  int64_t progress_min_bytes = 10 << 20;
  // Seconds between progress lines when stderr is not a terminal (on a
  // terminal one line is rewritten with '\r', a few times a second).
  double progress_interval_s = 5;
  // Tries per file while a connection keeps dropping mid-body after making
  // progress; each try resumes where the last stopped.
  int max_attempts = 5;
};

// The options of the environment: $HF_ENDPOINT; $HF_TOKEN, else the token
// file of `huggingface-cli login` ($HF_TOKEN_PATH, else $HF_HOME/token, else
// ~/.cache/huggingface/token); HfHubCacheDir(); no progress when
// $HF_HUB_DISABLE_PROGRESS_BARS=1.
HubDownloadOptions HubDownloadOptionsFromEnv();

// True when $HF_HUB_OFFLINE is 1 (or true, yes, on): no downloads.
bool HubOfflineFromEnv();

// Downloads what `ref` needs that its snapshot lacks and returns the local
// path: the snapshot folder, or the .gguf file in it (a file reference, or
// a repository whose weights are one .gguf). Errors name the URL and the
// HTTP status: NotFound for 404, PermissionDenied for 401/403 (saying a
// token may be needed via HF_TOKEN), Unavailable for network failures.
absl::StatusOr<std::string> DownloadFromHub(const HubReference& ref,
                                            const HubDownloadOptions& options);

// True for the files of a repository (paths relative to its root) that
// DownloadFromHub fetches besides a .gguf.
bool IsModelFileToDownload(const std::string& filename);

// The error for a repository, `ref`, with several .gguf files to pick from.
absl::Status SeveralGgufFilesError(const HubReference& ref, std::vector<std::string> gguf_files);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_HUB_HF_DOWNLOAD_H_
