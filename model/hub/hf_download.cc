#include "model/hub/hf_download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/atomic_dir.h"
#include "common/mapped_file.h"
#include "common/progress_bar.h"
#include "model/hub/http_fetch.h"
#include "common/sha256.h"

namespace llm2vec {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

bool EnvIsTrue(const char* name) {
  const std::string v = absl::AsciiStrToLower(Env(name));
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

// ---------------------------------------------------------------------------
// Files.

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  const int err = errno;
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

// An exclusive flock on a lock file, held until destruction. The same
// files and calls as Python's `filelock`, so both sides take turns.
// Threading: each thread takes its own LockFile; they exclude each other
// (flock locks belong to each open()).
class LockFile {
 public:
  LockFile() = default;
  ~LockFile() {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }
  }
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  // Blocks until the lock on `path` is held; says so on stderr if another
  // download holds it.
  absl::Status Acquire(const std::string& path, const std::string& what) {
    if (absl::Status s = MakeDirs(ParentOf(path)); !s.ok()) return s;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return ErrnoError("cannot open lock file", path);
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return absl::OkStatus();
    if (errno != EWOULDBLOCK) return ErrnoError("cannot lock", path);
    std::fprintf(stderr, "waiting for another download of %s to finish (lock %s)\n", what.c_str(),
                 path.c_str());
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoError("cannot lock", path);
    }
    return absl::OkStatus();
  }

 private:
  int fd_ = -1;
};

// Closes a file descriptor on destruction.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// A path inside a repository, safe to join to a folder: no empty, "." or
// ".." part, no absolute path, no control characters or backslashes.
bool IsSafeRepoPath(const std::string& path) {
  if (path.empty() || path.size() > 1024) return false;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == 0x7f) return false;
    }
  }
  return true;
}

// A name the server gave (an ETag, a commit hash) that is safe as one file
// name.
bool IsSafeName(const std::string& name) {
  return !name.empty() && name.size() <= 256 && name[0] != '.' &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                  c == '.';
         });
}

// `names` joined for a message, at most 30 of them.
std::string ListForMessage(const std::vector<std::string>& names) {
  constexpr size_t kMax = 30;
  if (names.size() <= kMax) return absl::StrJoin(names, ", ");
  std::vector<std::string> head(names.begin(), names.begin() + kMax);
  return absl::StrCat(absl::StrJoin(head, ", "), " and ", names.size() - kMax, " more");
}

// ---------------------------------------------------------------------------
// The hub's HTTP protocol.

std::vector<std::string> AuthHeaders(const HubDownloadOptions& options) {
  if (options.token.empty()) return {};
  return {"Authorization: Bearer " + options.token};
}

// The hub's own explanation of an error: X-Error-Message, else the JSON
// body's "error", else the start of the body.
std::string HubErrorDetail(const HttpResponse& r) {
  if (const std::string* m = r.Header("x-error-message"); m != nullptr && !m->empty()) return *m;
  auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    return j["error"].get<std::string>();
  }
  std::string body(absl::StripAsciiWhitespace(r.body));
  if (body.size() > 200) body = body.substr(0, 200) + "...";
  return body;
}

// A non-2xx answer as a Status naming the URL and the HTTP status.
// `not_found` says what a 404 means here.
absl::Status HttpStatusError(const std::string& method, const std::string& url,
                             const HttpResponse& r, const HubDownloadOptions& options,
                             const std::string& not_found) {
  std::string message = absl::StrCat(method, " ", url, ": HTTP ", r.status);
  if (std::string detail = HubErrorDetail(r); !detail.empty()) {
    absl::StrAppend(&message, " (", detail, ")");
  }
  const bool has_token = !options.token.empty();
  switch (r.status) {
    case 401:
    case 403:
      return absl::PermissionDeniedError(absl::StrCat(
          message, ": the repository may not exist, or be private or gated; ",
          has_token
              ? "the token given (HF_TOKEN) may lack access to it"
              : "a token may be needed via HF_TOKEN (https://huggingface.co/settings/tokens)"));
    case 404:
      return absl::NotFoundError(absl::StrCat(message, ": ", not_found));
    case 429:
      return absl::ResourceExhaustedError(
          absl::StrCat(message, ": rate limited by the hub; try again later",
                       has_token ? "" : ", or set HF_TOKEN for a higher limit"));
    default:
      if (r.status >= 500) {
        return absl::UnavailableError(absl::StrCat(message, ": the hub failed; try again later"));
      }
      return absl::UnknownError(absl::StrCat(message, ": unexpected answer"));
  }
}

struct RepoInfo {
  std::string commit;
  std::vector<std::string> files;
};

absl::StatusOr<RepoInfo> FetchRepoInfo(const HubReference& ref, const HubDownloadOptions& options) {
  HttpRequest request;
  request.url = absl::StrCat(options.endpoint, "/api/models/", ref.repo_id, "/revision/",
                             UrlEscape(ref.revision));
  request.headers = AuthHeaders(options);
  auto r = HttpFetch(request);
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return HttpStatusError(
        "GET", request.url, *r, options,
        absl::StrCat("repository ", ref.repo_id, " or revision '", ref.revision, "' not found"));
  }
  auto j = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("sha") || !j["sha"].is_string() || !j.contains("siblings") ||
      !j["siblings"].is_array()) {
    return absl::DataLossError(absl::StrCat("GET ", request.url,
                                            ": expected a JSON object with \"sha\" and "
                                            "\"siblings\", got: ",
                                            r->body.substr(0, 200)));
  }
  RepoInfo info;
  info.commit = j["sha"].get<std::string>();
  if (!IsSafeName(info.commit)) {
    return absl::DataLossError(
        absl::StrCat("GET ", request.url, ": the commit \"", info.commit, "\" is not a hash"));
  }
  for (const auto& sibling : j["siblings"]) {
    if (sibling.is_object() && sibling.contains("rfilename") && sibling["rfilename"].is_string()) {
      info.files.push_back(sibling["rfilename"].get<std::string>());
    }
  }
  return info;
}

// What a download fetches, and which of it the resolved path names.
struct Plan {
  std::vector<std::string> files;
  // Relative to the snapshot; "" for the snapshot folder itself.
  std::string result;
};

absl::StatusOr<Plan> PlanDownload(const HubReference& ref, const RepoInfo& info) {
  std::vector<std::string> ggufs;
  bool has_safetensors = false;
  for (const std::string& f : info.files) {
    if (absl::EndsWith(f, ".gguf")) ggufs.push_back(f);
    if (absl::EndsWith(f, ".safetensors")) has_safetensors = true;
  }
  const std::string where =
      absl::StrCat(ref.repo_id, " at revision '", ref.revision, "' (commit ", info.commit, ")");
  Plan plan;
  if (!ref.filename.empty()) {
    if (std::find(info.files.begin(), info.files.end(), ref.filename) == info.files.end()) {
      return absl::NotFoundError(absl::StrCat("file '", ref.filename, "' is not in ", where,
                                              ggufs.empty()
                                                  ? "; it has no .gguf file"
                                                  : "; its .gguf files: " + ListForMessage(ggufs)));
    }
    plan.files = {ref.filename};
    plan.result = ref.filename;
  } else {
    if (has_safetensors) ggufs.clear();
    if (ggufs.size() > 1) return SeveralGgufFilesError(ref, ggufs);
    bool has_weights = ggufs.size() == 1;
    for (const std::string& f : info.files) {
      if (!IsModelFileToDownload(f)) continue;
      plan.files.push_back(f);
      has_weights |= f == "model.safetensors" || f == "model.safetensors.index.json" ||
                     f == "adapter_model.safetensors";
    }
    if (!has_weights) {
      return absl::NotFoundError(absl::StrCat(
          where,
          " has no weights this project loads (model.safetensors, "
          "model.safetensors.index.json with its shards, adapter_model.safetensors, or a "
          ".gguf file); its files: ",
          info.files.empty() ? "none" : ListForMessage(info.files)));
    }
    if (ggufs.size() == 1) {
      plan.files.push_back(ggufs[0]);
      plan.result = ggufs[0];
    }
  }
  for (const std::string& f : plan.files) {
    if (!IsSafeRepoPath(f)) {
      return absl::InvalidArgumentError(
          absl::StrCat("refusing file name '", f, "' of ", where, ": not a plain relative path"));
    }
  }
  return plan;
}

// A file's identity as the hub's HEAD tells it.
struct RemoteFile {
  // The blob name (X-Linked-Etag or ETag, quotes and W/ stripped), or ""
  // when the hub gave none usable.
  std::string etag;
  // Bytes (X-Linked-Size or Content-Length); -1 when unknown.
  int64_t size = -1;
};

std::string NormalizeEtag(std::string etag) {
  absl::string_view e = absl::StripAsciiWhitespace(etag);
  absl::ConsumePrefix(&e, "W/");
  absl::ConsumePrefix(&e, "\"");
  absl::ConsumeSuffix(&e, "\"");
  return std::string(e);
}

// HEADs `url` without following the hub's redirect to its CDN (whose ETag
// is not the blob's name); redirects within the endpoint (a renamed
// repository) are followed.
absl::StatusOr<RemoteFile> HeadFile(const std::string& url, const HubDownloadOptions& options) {
  std::string current = url;
  for (int hop = 0; hop < 10; ++hop) {
    HttpRequest request;
    request.url = current;
    request.head = true;
    request.follow_redirects = false;
    request.headers = AuthHeaders(options);
    auto r = HttpFetch(request);
    if (!r.ok()) return r.status();
    RemoteFile remote;
    const std::string* etag = r->Header("x-linked-etag");
    if (etag == nullptr) etag = r->Header("etag");
    if (etag != nullptr) remote.etag = NormalizeEtag(*etag);
    if (!IsSafeName(remote.etag)) remote.etag.clear();
    const std::string* size = r->Header("x-linked-size");
    const bool redirect = r->status >= 300 && r->status < 400;
    if (size == nullptr && !redirect) size = r->Header("content-length");
    if (size != nullptr && !absl::SimpleAtoi(*size, &remote.size)) remote.size = -1;
    if (r->status >= 200 && r->status < 300) return remote;
    if (!redirect) return HttpStatusError("HEAD", current, *r, options, "file not found");
    if (!remote.etag.empty() || r->redirect_url.empty() ||
        !absl::StartsWith(r->redirect_url, options.endpoint + "/")) {
      return remote;  // the hub's answer; the GET follows it
    }
    current = r->redirect_url;
  }
  return absl::UnavailableError(absl::StrCat("HEAD ", url, ": more than 10 redirects"));
}

// Downloads `url` into `path` (a .incomplete file, resumed where an earlier
// try left it) and fsyncs it; returns the content's sha256.
absl::StatusOr<std::string> DownloadToFile(const std::string& url, const std::string& path,
                                           const std::string& label, int64_t expected_size,
                                           const HubDownloadOptions& options) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", path);
  FdCloser closer{fd};
  Sha256 hash;
  int64_t hashed = 0;  // the file's bytes [0, hashed) are in `hash`
  int64_t size = 0;    // the file's length
  // Bytes, percent and MB/s on stderr for files of at least
  // `progress_min_bytes`: one line rewritten on a terminal, else a line every
  // `progress_interval_s`.
  ProgressBar::Options progress_options;
  progress_options.bytes = true;
  progress_options.min_total = std::max<int64_t>(options.progress_min_bytes, 0);
  progress_options.line_interval = std::chrono::duration_cast<ProgressBar::Clock::duration>(
      std::chrono::duration<double>(options.progress_interval_s));
  const bool show_progress = options.progress_min_bytes >= 0;
  ProgressBar progress(show_progress ? &std::cerr : nullptr, label, expected_size,
                       std::move(progress_options));

  // Empties the file, to start over.
  auto truncate = [&]() -> absl::Status {
    if (::ftruncate(fd, 0) != 0) return ErrnoError("cannot truncate", path);
    hash.Reset();
    hashed = size = 0;
    return absl::OkStatus();
  };

  for (int attempt = 1;; ++attempt) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoError("cannot stat", path);
    size = st.st_size;
    if (expected_size >= 0 && size > expected_size) {
      if (absl::Status s = truncate(); !s.ok()) return s;
    }
    if (hashed != size) {
      // Bytes of an earlier run: hash them before appending.
      hash.Reset();
      hashed = 0;
      std::vector<char> buffer(1 << 20);
      while (hashed < size) {
        const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), hashed);
        if (n <= 0) return ErrnoError("cannot read", path);
        hash.Update(buffer.data(), n);
        hashed += n;
      }
    }
    const int64_t resume_from = size;
    int64_t received = 0;  // in this try
    progress.StartAt(size);

    HttpRequest request;
    request.url = url;
    request.headers = AuthHeaders(options);
    if (resume_from > 0) request.headers.push_back(absl::StrCat("Range: bytes=", resume_from, "-"));
    request.on_headers = [&](const HttpHeaders& h) -> absl::Status {
      int64_t length = -1;
      if (const std::string* cl = h.Find("content-length"); cl != nullptr) {
        if (!absl::SimpleAtoi(*cl, &length)) length = -1;
      }
      if (h.status == 206) {
        // "bytes <first>-<last>/<total>" must continue the file.
        const std::string* range = h.Find("content-range");
        int64_t first = -1;
        if (range != nullptr) {
          absl::string_view v = *range;
          if (absl::ConsumePrefix(&v, "bytes ")) {
            if (!absl::SimpleAtoi(v.substr(0, v.find('-')), &first)) first = -1;
          }
        }
        if (first != resume_from) {
          truncate().IgnoreError();
          return absl::DataLossError(absl::StrCat(
              "GET ", url, ": asked for the bytes from ", resume_from, " on, got Content-Range \"",
              range == nullptr ? "" : *range, "\"; start over"));
        }
        if (expected_size < 0 && length >= 0) progress.SetTotal(resume_from + length);
        return absl::OkStatus();
      }
      if (size > 0) {
        if (absl::Status s = truncate(); !s.ok()) return s;  // the whole file again
        progress.StartAt(0);
      }
      if (expected_size < 0 && length >= 0) progress.SetTotal(length);
      return absl::OkStatus();
    };
    request.on_body = [&](const char* data, size_t n) -> absl::Status {
      for (size_t done = 0; done < n;) {
        const ssize_t w = ::pwrite(fd, data + done, n - done, size + done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          const int err = errno;
          return absl::ResourceExhaustedError(
              absl::StrCat("cannot write ", path, ": ", std::strerror(err)));
        }
        done += w;
      }
      hash.Update(data, n);
      size += n;
      hashed = size;
      received += n;
      progress.Advance(static_cast<int64_t>(n));
      return absl::OkStatus();
    };

    auto r = HttpFetch(request);
    if (!r.ok()) {
      if (r.status().code() == absl::StatusCode::kUnavailable && received > 0 &&
          attempt < options.max_attempts) {
        const std::string message =
            absl::StrFormat("%s: connection lost after %d bytes; resuming (try %d of %d)", label,
                            size, attempt + 1, options.max_attempts);
        if (show_progress) {
          progress.Print(message);  // above the bar, if one is drawn
        } else {
          std::fprintf(stderr, "%s\n", message.c_str());
        }
        continue;
      }
      return absl::Status(r.status().code(),
                          absl::StrCat(r.status().message(), " (", size, " bytes of ", label,
                                       " kept in ", path, " for the next try to resume)"));
    }
    if (r->status == 416 && resume_from > 0 && attempt < options.max_attempts) {
      // The partial file is not a prefix the server recognizes: start over.
      if (absl::Status s = truncate(); !s.ok()) return s;
      continue;
    }
    if (r->status < 200 || r->status >= 300) {
      return HttpStatusError("GET", url, *r, options, "file not found");
    }
    break;
  }
  if (expected_size >= 0 && size != expected_size) {
    truncate().IgnoreError();
    return absl::DataLossError(
        absl::StrCat("GET ", url, ": got ", size, " bytes, the hub said ", expected_size));
  }
  if (::fsync(fd) != 0) return ErrnoError("cannot fsync", path);
  progress.SetTotal(size);  // the file is complete
  progress.Finish();
  return hash.HexDigest();
}

// The cache's paths for one repository.
struct RepoPaths {
  std::string repo_dir;   // <cache>/models--org--name
  std::string blobs_dir;  // <repo_dir>/blobs
  std::string locks_dir;  // <cache>/.locks/models--org--name
};

// Makes `blobs/<name>` hold `url`'s content and returns <name>: `etag`
// when given (an existing blob is reused), else the content's sha256.
absl::StatusOr<std::string> FetchBlob(const std::string& url, const std::string& label,
                                      const RemoteFile& remote, const RepoPaths& paths,
                                      const HubDownloadOptions& options) {
  std::string name = remote.etag;
  if (!name.empty() && IsRegularFile(paths.blobs_dir + "/" + name)) return name;
  if (absl::Status s = MakeDirs(paths.blobs_dir); !s.ok()) return s;
  // Without an ETag the name is known only at the end: a stable stand-in
  // lets a later run resume.
  const std::string key = name.empty() ? "tmp-" + Sha256Hex(url).substr(0, 40) : name;
  LockFile lock;
  if (absl::Status s = lock.Acquire(paths.locks_dir + "/" + key + ".lock", label); !s.ok()) {
    return s;
  }
  if (!name.empty() && IsRegularFile(paths.blobs_dir + "/" + name)) return name;  // done meanwhile
  const std::string incomplete = paths.blobs_dir + "/" + key + ".incomplete";
  auto sha256 = DownloadToFile(url, incomplete, label, remote.size, options);
  if (!sha256.ok()) return sha256.status();
  if (name.empty()) {
    name = *sha256;
  } else if (IsSha256Hex(name) && *sha256 != name) {
    ::unlink(incomplete.c_str());
    return absl::DataLossError(absl::StrCat("GET ", url, ": the content's sha256 is ", *sha256,
                                            ", the hub said ", name,
                                            "; the download is corrupt (removed)"));
  }
  const std::string blob = paths.blobs_dir + "/" + name;
  if (::rename(incomplete.c_str(), blob.c_str()) != 0) {
    return ErrnoError(absl::StrCat("cannot rename ", incomplete, " to"), blob);
  }
  FsyncDir(paths.blobs_dir);
  return name;
}

// snapshots/<commit>/<file> -> ../../blobs/<blob> (one more ../ per folder
// in <file>), replacing what was there.
absl::Status LinkIntoSnapshot(const std::string& snapshot, const std::string& file,
                              const std::string& blob) {
  const std::string link = snapshot + "/" + file;
  if (absl::Status s = MakeDirs(ParentOf(link)); !s.ok()) return s;
  std::string target;
  for (int i = 0; i < 2 + std::count(file.begin(), file.end(), '/'); ++i) target += "../";
  target += "blobs/" + blob;
  const std::string tmp = absl::StrCat(link, ".link.", ::getpid());
  ::unlink(tmp.c_str());
  if (::symlink(target.c_str(), tmp.c_str()) != 0) return ErrnoError("cannot create link", tmp);
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    absl::Status s = ErrnoError("cannot create link", link);
    ::unlink(tmp.c_str());
    return s;
  }
  return absl::OkStatus();
}

}  // namespace

HubDownloadOptions HubDownloadOptionsFromEnv() {
  HubDownloadOptions options;
  if (std::string endpoint = Env("HF_ENDPOINT"); !endpoint.empty()) {
    options.endpoint = std::string(absl::StripSuffix(endpoint, "/"));
  }
  options.token = Env("HF_TOKEN");
  if (options.token.empty()) options.token = Env("HUGGING_FACE_HUB_TOKEN");
  if (options.token.empty()) {
    std::string path = Env("HF_TOKEN_PATH");
    if (path.empty()) {
      std::string home = Env("HF_HOME");
      if (home.empty()) {
        home = Env("XDG_CACHE_HOME").empty() ? Env("HOME") + "/.cache/huggingface"
                                             : Env("XDG_CACHE_HOME") + "/huggingface";
      }
      path = home + "/token";
    }
    if (FILE* f = std::fopen(path.c_str(), "r"); f != nullptr) {
      char buffer[4096];
      const size_t n = std::fread(buffer, 1, sizeof(buffer), f);
      std::fclose(f);
      options.token = std::string(absl::StripAsciiWhitespace(absl::string_view(buffer, n)));
    }
  }
  options.cache_dir = HfHubCacheDir();
  if (EnvIsTrue("HF_HUB_DISABLE_PROGRESS_BARS")) options.progress_min_bytes = -1;
  return options;
}

bool HubOfflineFromEnv() { return EnvIsTrue("HF_HUB_OFFLINE"); }

bool IsModelFileToDownload(const std::string& filename) {
  static const char* const kFiles[] = {"config.json",
                                       "tokenizer.json",
                                       "tokenizer_config.json",
                                       "special_tokens_map.json",
                                       "generation_config.json",
                                       "model.safetensors",
                                       "model.safetensors.index.json",
                                       "adapter_config.json",
                                       "adapter_model.safetensors",
                                       "llm2vec_config.json"};
  for (const char* f : kFiles) {
    if (filename == f) return true;
  }
  return absl::StartsWith(filename, "model-") && absl::EndsWith(filename, ".safetensors") &&
         filename.find('/') == std::string::npos;
}

absl::Status SeveralGgufFilesError(const HubReference& ref, std::vector<std::string> gguf_files) {
  std::sort(gguf_files.begin(), gguf_files.end());
  return absl::InvalidArgumentError(absl::StrCat(
      ref.ToString(), " has ", gguf_files.size(), " .gguf files and no safetensors: ",
      ListForMessage(gguf_files), "; name one as ", ref.repo_id, "/<file>.gguf, e.g. ", ref.repo_id,
      "/", gguf_files[0], ref.revision == "main" ? "" : "@" + ref.revision));
}

absl::StatusOr<std::string> DownloadFromHub(const HubReference& ref,
                                            const HubDownloadOptions& options) {
  RepoPaths paths;
  paths.repo_dir = HubRepoCacheDir(options.cache_dir, ref.repo_id);
  paths.blobs_dir = paths.repo_dir + "/blobs";
  paths.locks_dir = absl::StrCat(options.cache_dir, "/.locks/",
                                 paths.repo_dir.substr(paths.repo_dir.rfind('/') + 1));

  auto info = FetchRepoInfo(ref, options);
  if (!info.ok()) return info.status();
  auto plan = PlanDownload(ref, *info);
  if (!plan.ok()) return plan.status();
  const std::string snapshot = paths.repo_dir + "/snapshots/" + info->commit;

  std::vector<std::string> missing;
  for (const std::string& f : plan->files) {
    if (!IsRegularFile(snapshot + "/" + f)) missing.push_back(f);
  }
  if (!missing.empty() && options.progress_min_bytes >= 0) {
    std::fprintf(stderr, "downloading %zu file%s of %s (commit %s) from %s into %s\n",
                 missing.size(), missing.size() == 1 ? "" : "s", ref.ToString().c_str(),
                 info->commit.c_str(), options.endpoint.c_str(), paths.repo_dir.c_str());
  }
  // All blobs first: the snapshot shows a file only once all are complete.
  std::vector<std::pair<std::string, std::string>> links;  // (file, blob)
  for (const std::string& f : missing) {
    const std::string url = absl::StrCat(options.endpoint, "/", ref.repo_id, "/resolve/",
                                         info->commit, "/", UrlEscape(f, "/"));
    auto remote = HeadFile(url, options);
    if (!remote.ok()) return remote.status();
    auto blob = FetchBlob(url, f, *remote, paths, options);
    if (!blob.ok()) return blob.status();
    links.emplace_back(f, *blob);
  }
  for (const auto& [file, blob] : links) {
    if (absl::Status s = LinkIntoSnapshot(snapshot, file, blob); !s.ok()) return s;
  }
  if (ref.revision != info->commit) {
    if (absl::Status s = MakeDirs(paths.repo_dir + "/refs"); !s.ok()) return s;
    if (absl::Status s =
            WriteFileAtomically(paths.repo_dir + "/refs/" + ref.revision, info->commit);
        !s.ok()) {
      return s;
    }
  }
  return plan->result.empty() ? snapshot : snapshot + "/" + plan->result;
}

}  // namespace llm2vec
