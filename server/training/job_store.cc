#include "server/training/job_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace llm2vec {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  state INTEGER NOT NULL,
  job BLOB NOT NULL,
  owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state);
CREATE TABLE IF NOT EXISTS job_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  unix_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  step INTEGER NOT NULL,
  loss REAL NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_events_by_job ON job_events(job_id, seq);
)sql";

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK && stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  void Bind(int i, const std::string& text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int i, const std::string& bytes) {
    sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int col) {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::string Blob(int col) {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p == nullptr ? std::string()
                        : std::string(static_cast<const char*>(p),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

std::string StateList(const std::vector<v1::JobState>& states) {
  return absl::StrJoin(states, ",", [](std::string* out, v1::JobState s) {
    absl::StrAppend(out, static_cast<int>(s));
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& path,
                                                        const Options& options) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::UnavailableError(
        absl::StrCat("cannot open the job database ", path, ": ", message));
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<JobStore> store(new JobStore(db, path, options));
  absl::MutexLock lock(&store->mu_);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSchema}) {
    if (auto s = store->Exec(sql); !s.ok()) return s;
  }
  // Databases from before jobs had owners get the column (their jobs: "").
  bool has_owner = false;
  {
    Statement q(db, "SELECT name FROM pragma_table_info('jobs')");
    if (!q.ok()) return store->Error("reading the jobs table's columns");
    while (q.Step() == SQLITE_ROW) has_owner = has_owner || q.Text(0) == "owner";
  }
  if (!has_owner) {
    if (auto s = store->Exec("ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT ''");
        !s.ok()) {
      return s;
    }
  }
  if (auto s = store->Exec("CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs(owner, seq)");
      !s.ok()) {
    return s;
  }
  return store;
}

JobStore::~JobStore() { sqlite3_close(db_); }

absl::Status JobStore::Exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return absl::InternalError(absl::StrCat("job database ", path_, ": ", text));
  }
  return absl::OkStatus();
}

absl::Status JobStore::Error(const std::string& what) const {
  return absl::InternalError(
      absl::StrCat("job database ", path_, ": ", what, ": ", sqlite3_errmsg(db_)));
}

absl::Status JobStore::Insert(v1::Job* job) {
  absl::MutexLock lock(&mu_);
  if (auto s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  auto fail = [&](const std::string& what) {
    absl::Status s = Error(what);
    Exec("ROLLBACK").IgnoreError();
    return s;
  };
  // The next sequence number names the job; AUTOINCREMENT never reuses one.
  int64_t seq = 1;
  {
    Statement q(db_, "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'");
    if (!q.ok()) return fail("reading the job sequence");
    if (q.Step() == SQLITE_ROW) seq = sqlite3_column_int64(q.get(), 0) + 1;
  }
  job->set_id(absl::StrCat("job-", seq));
  Statement ins(db_, "INSERT INTO jobs (seq, id, state, job, owner) VALUES (?, ?, ?, ?, ?)");
  if (!ins.ok()) return fail("preparing an insert");
  ins.Bind(1, seq);
  ins.Bind(2, job->id());
  ins.Bind(3, static_cast<int64_t>(job->state()));
  ins.BindBlob(4, job->SerializeAsString());
  ins.Bind(5, job->owner());
  if (ins.Step() != SQLITE_DONE) return fail(absl::StrCat("inserting ", job->id()));
  return Exec("COMMIT");
}

absl::Status JobStore::Update(const v1::Job& job, Durability durability) {
  absl::MutexLock lock(&mu_);
  const bool full = durability == Durability::kSynced;
  // One write with synchronous=FULL: committed to disk (not only to the WAL)
  // before it returns, so the record survives a power loss too.
  if (full) {
    if (auto s = Exec("PRAGMA synchronous=FULL"); !s.ok()) return s;
  }
  Statement up(db_, "UPDATE jobs SET state = ?, job = ? WHERE id = ?");
  absl::Status result = absl::OkStatus();
  if (!up.ok()) {
    result = Error("preparing an update");
  } else {
    up.Bind(1, static_cast<int64_t>(job.state()));
    up.BindBlob(2, job.SerializeAsString());
    up.Bind(3, job.id());
    if (up.Step() != SQLITE_DONE) {
      result = Error(absl::StrCat("updating ", job.id()));
    } else if (sqlite3_changes(db_) == 0) {
      result = absl::NotFoundError(absl::StrCat("no job ", job.id()));
    }
  }
  if (full) {
    if (auto s = Exec("PRAGMA synchronous=NORMAL"); !s.ok() && result.ok()) result = s;
  }
  return result;
}

absl::StatusOr<v1::Job> JobStore::Get(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  Statement q(db_, "SELECT job FROM jobs WHERE id = ?");
  if (!q.ok()) return Error("preparing a query");
  q.Bind(1, id);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  if (rc != SQLITE_ROW) return Error(absl::StrCat("reading ", id));
  v1::Job job;
  if (!job.ParseFromString(q.Blob(0))) {
    return absl::DataLossError(absl::StrCat("job database ", path_, ": job ", id, " is corrupt"));
  }
  return job;
}

absl::StatusOr<std::vector<v1::Job>> JobStore::Query(
    const std::vector<v1::JobState>& states, int limit, bool newest_first,
    const absl::optional<std::string>& owner) const {
  absl::MutexLock lock(&mu_);
  std::string sql = "SELECT job FROM jobs WHERE 1";
  // The states are enum values (integers), never text from a client; the
  // owner is a bound parameter.
  if (!states.empty()) absl::StrAppend(&sql, " AND state IN (", StateList(states), ")");
  if (owner.has_value()) absl::StrAppend(&sql, " AND owner = ?");
  absl::StrAppend(&sql, " ORDER BY seq ", newest_first ? "DESC" : "ASC");
  if (limit > 0) absl::StrAppend(&sql, " LIMIT ", limit);
  Statement q(db_, sql);
  if (!q.ok()) return Error("preparing a query");
  if (owner.has_value()) q.Bind(1, *owner);
  std::vector<v1::Job> jobs;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    v1::Job job;
    if (!job.ParseFromString(q.Blob(0))) {
      return absl::DataLossError(absl::StrCat("job database ", path_, ": a job is corrupt"));
    }
    jobs.push_back(std::move(job));
  }
  if (rc != SQLITE_DONE) return Error("listing jobs");
  return jobs;
}

absl::StatusOr<std::vector<v1::Job>> JobStore::List(const std::vector<v1::JobState>& states,
                                                    int limit,
                                                    const absl::optional<std::string>& owner) const {
  return Query(states, limit, /*newest_first=*/true, owner);
}

absl::StatusOr<std::vector<v1::Job>> JobStore::ListOldestFirst(
    const std::vector<v1::JobState>& states) const {
  return Query(states, 0, /*newest_first=*/false, absl::nullopt);
}

absl::Status JobStore::AddEvent(const std::string& job_id, const JobEventRecord& event) {
  absl::MutexLock lock(&mu_);
  Statement ins(db_,
                "INSERT INTO job_events (job_id, unix_ms, kind, step, loss, message) "
                "VALUES (?, ?, ?, ?, ?, ?)");
  if (!ins.ok()) return Error("preparing an insert");
  ins.Bind(1, job_id);
  ins.Bind(2, event.unix_ms);
  ins.Bind(3, event.kind);
  ins.Bind(4, event.step);
  ins.Bind(5, event.loss);
  ins.Bind(6, event.message);
  if (ins.Step() != SQLITE_DONE) return Error(absl::StrCat("adding an event to ", job_id));
  if (event.kind != "progress") return absl::OkStatus();
  // Retention: a job's newest progress lines only (one per step would grow
  // without bound); state changes and checkpoints are all kept.
  Statement prune(db_,
                  "DELETE FROM job_events WHERE job_id = ?1 AND kind = 'progress' AND seq <= "
                  "(SELECT seq FROM job_events WHERE job_id = ?1 AND kind = 'progress' "
                  "ORDER BY seq DESC LIMIT 1 OFFSET ?2)");
  if (!prune.ok()) return Error("preparing the event retention");
  prune.Bind(1, job_id);
  prune.Bind(2, options_.max_progress_events);
  if (prune.Step() != SQLITE_DONE) return Error(absl::StrCat("pruning the events of ", job_id));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JobEventRecord>> JobStore::Events(const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  Statement q(db_,
              "SELECT unix_ms, kind, step, loss, message FROM job_events WHERE job_id = ? "
              "ORDER BY seq");
  if (!q.ok()) return Error("preparing a query");
  q.Bind(1, job_id);
  std::vector<JobEventRecord> events;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    JobEventRecord e;
    e.unix_ms = sqlite3_column_int64(q.get(), 0);
    e.kind = q.Text(1);
    e.step = sqlite3_column_int64(q.get(), 2);
    e.loss = sqlite3_column_double(q.get(), 3);
    e.message = q.Text(4);
    events.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error(absl::StrCat("reading the history of ", job_id));
  return events;
}

}  // namespace llm2vec
