// Files and folders that appear whole or not at all. Folders: a writer fills a staging folder
// beside the destination, fsyncs every file, then renames the staging folder
// into place. A crash at any point leaves either the previous folder or the
// new one, never a half-written one that loads (adapters, checkpoints).
//
// Threading: no shared state; callers serialize writes to one destination.
#ifndef LLM2VEC_COMMON_ATOMIC_DIR_H_
#define LLM2VEC_COMMON_ATOMIC_DIR_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llm2vec {

// Creates a fresh, empty staging folder for `final_dir` in the same parent
// (so the final rename stays on one file system), creating the parent if
// needed. Returns its path ("<final_dir>.tmp-XXXXXX").
absl::StatusOr<std::string> MakeStagingDir(const std::string& final_dir);

// Writes `contents` to `path` and fsyncs it (the file is inside a staging
// folder, so no rename is needed for atomicity).
absl::Status WriteFileSynced(const std::string& path, absl::string_view contents);

// Moves `staging_dir` to `final_dir`, replacing any folder already there
// in one atomic exchange (renameat2 RENAME_EXCHANGE), then removes the old
// folder; the parent folder is fsynced. On error the staging folder is
// removed.
absl::Status CommitStagingDir(const std::string& staging_dir, const std::string& final_dir);

// Removes the staging folders a crash left in `parent` ("<name>.tmp-XXXXXX",
// and older versions' "<name>.old-<pid>"); returns how many. Call at
// start, before anything writes there.
int RemoveStaleStagingDirs(const std::string& parent);

// Replaces the file at `path` with `contents` whole or not at all: writes a
// temporary file beside it, fsyncs it, renames it over `path`, fsyncs the
// folder.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// Writes all of `data` to `fd`, retrying short writes and EINTR; false on
// an error (errno says which).
bool WriteAll(int fd, absl::string_view data);

// fsync of a folder: makes the renames inside it durable. Best effort (a
// folder that cannot be opened is skipped).
void FsyncDir(const std::string& dir);

// The folder part of `path` ("." when it has none, "/" for "/x").
std::string ParentOf(const std::string& path);

// Removes `dir` and everything below it; OK when it does not exist.
absl::Status RemoveTree(const std::string& dir);

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_ATOMIC_DIR_H_
