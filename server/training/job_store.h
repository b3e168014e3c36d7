// Durable training-job state: an SQLite database (one file, WAL journal)
// holding every job as its wire message (llm2vec.v1.Job) plus an indexed
// state, and each job's history (state changes, checkpoints, progress).
//
// A committed write survives a crash of the process (kill -9): SQLite's WAL
// is written before the call returns. Power loss may lose the last writes
// (synchronous=NORMAL); jobs then resume from an earlier checkpoint. Writes
// that must survive power loss too (a job's final state, before its
// checkpoints are removed) use Durability::kSynced (synchronous=FULL).
//
// Retention: every state change and checkpoint line of a job's history is
// kept; of its progress lines (one per step), the newest
// Options::max_progress_events.
//
//   auto store = JobStore::Open(state_dir + "/jobs.db");
//   v1::Job job = ...;
//   auto id = (*store)->Insert(&job);     // job.id() is now "job-1"
//   job.set_step(10);
//   (*store)->Update(job);
//   (*store)->AddEvent(job.id(), {unix_ms, "checkpoint", 10, 2.5, path});
//
// Threading: every method is thread-safe (one connection behind a mutex).
#ifndef LLM2VEC_SERVER_TRAINING_JOB_STORE_H_
#define LLM2VEC_SERVER_TRAINING_JOB_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "absl/synchronization/mutex.h"
#include "llm2vec/v1/training.pb.h"

struct sqlite3;

namespace llm2vec {

// One line of a job's history.
struct JobEventRecord {
  int64_t unix_ms = 0;
  // "submitted", "started", "resumed", "checkpoint", "progress", "succeeded",
  // "failed", "cancelled", "interrupted", ...
  std::string kind;
  int64_t step = 0;
  double loss = 0;
  std::string message;
};

class JobStore {
 public:
  struct Options {
    // Progress lines kept per job (the newest).
    int64_t max_progress_events = 1000;
  };
  enum class Durability {
    kCrash,   // survives the process dying (the WAL is written)
    kSynced,  // survives power loss too (synchronous=FULL for this write)
  };

  // Opens (creating it and its schema when missing) the database at `path`;
  // the folder must exist. Errors name the path and SQLite's message.
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& path,
                                                        const Options& options);
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& path) {
    return Open(path, Options());
  }
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Stores a new job, assigning its id ("job-<n>", n increasing, never
  // reused) into job->id().
  absl::Status Insert(v1::Job* job);
  // Replaces the stored job with the same id (NOT_FOUND when none).
  absl::Status Update(const v1::Job& job, Durability durability = Durability::kCrash);
  absl::StatusOr<v1::Job> Get(const std::string& id) const;
  // Newest first; only `states` when not empty; only jobs whose owner is
  // `owner` when given; at most `limit` (> 0).
  absl::StatusOr<std::vector<v1::Job>> List(const std::vector<v1::JobState>& states, int limit,
                                            const absl::optional<std::string>& owner =
                                                absl::nullopt) const;
  // Oldest first: the jobs in any of `states` (for restart recovery).
  absl::StatusOr<std::vector<v1::Job>> ListOldestFirst(
      const std::vector<v1::JobState>& states) const;

  absl::Status AddEvent(const std::string& job_id, const JobEventRecord& event);
  // The job's history, oldest first.
  absl::StatusOr<std::vector<JobEventRecord>> Events(const std::string& job_id) const;

  // Implementation details follow.
 private:
  JobStore(sqlite3* db, std::string path, const Options& options)
      : db_(db), path_(std::move(path)), options_(options) {}
  absl::Status Exec(const std::string& sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Error(const std::string& what) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<v1::Job>> Query(const std::vector<v1::JobState>& states, int limit,
                                             bool newest_first,
                                             const absl::optional<std::string>& owner) const;

  mutable absl::Mutex mu_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
  const std::string path_;
  const Options options_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_TRAINING_JOB_STORE_H_
