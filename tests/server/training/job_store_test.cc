#include "server/training/job_store.h"

#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace llm2vec {
namespace {

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/llm2vec_job_store_XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
  }
  void TearDown() override { (void)::system(("rm -rf " + dir_).c_str()); }
  std::string db() const { return dir_ + "/jobs.db"; }

  std::string dir_;
};

v1::Job NewJob(v1::JobState state, const std::string& output) {
  v1::Job job;
  job.set_state(state);
  job.mutable_request()->set_output_adapter(output);
  return job;
}

TEST_F(JobStoreTest, AssignsIncreasingIdsThatSurviveReopening) {
  {
    auto store = JobStore::Open(db());
    ASSERT_TRUE(store.ok()) << store.status();
    v1::Job a = NewJob(v1::JOB_STATE_QUEUED, "a"), b = NewJob(v1::JOB_STATE_QUEUED, "b");
    ASSERT_TRUE((*store)->Insert(&a).ok());
    ASSERT_TRUE((*store)->Insert(&b).ok());
    EXPECT_EQ(a.id(), "job-1");
    EXPECT_EQ(b.id(), "job-2");
    b.set_state(v1::JOB_STATE_RUNNING);
    b.set_step(17);
    ASSERT_TRUE((*store)->Update(b).ok());
  }
  auto store = JobStore::Open(db());
  ASSERT_TRUE(store.ok());
  auto b = (*store)->Get("job-2");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(b->step(), 17);
  EXPECT_EQ(b->request().output_adapter(), "b");
  v1::Job c = NewJob(v1::JOB_STATE_QUEUED, "c");
  ASSERT_TRUE((*store)->Insert(&c).ok());
  EXPECT_EQ(c.id(), "job-3");
}

TEST_F(JobStoreTest, ListsByStateNewestOrOldestFirst) {
  auto store = JobStore::Open(db());
  ASSERT_TRUE(store.ok());
  for (v1::JobState s : {v1::JOB_STATE_QUEUED, v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_QUEUED,
                         v1::JOB_STATE_RUNNING}) {
    v1::Job job = NewJob(s, "x");
    ASSERT_TRUE((*store)->Insert(&job).ok());
  }
  auto all = (*store)->List({}, 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].id(), "job-4");
  auto queued = (*store)->ListOldestFirst({v1::JOB_STATE_QUEUED});
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 2u);
  EXPECT_EQ((*queued)[0].id(), "job-1");
  EXPECT_EQ((*queued)[1].id(), "job-3");
  auto limited = (*store)->List({v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING}, 2);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 2u);
  EXPECT_EQ((*limited)[0].id(), "job-4");
  EXPECT_EQ((*limited)[1].id(), "job-3");
}

TEST_F(JobStoreTest, KeepsHistoryAndReportsMissingJobs) {
  auto store = JobStore::Open(db());
  ASSERT_TRUE(store.ok());
  v1::Job job = NewJob(v1::JOB_STATE_QUEUED, "x");
  ASSERT_TRUE((*store)->Insert(&job).ok());
  ASSERT_TRUE((*store)->AddEvent(job.id(), {100, "submitted", 0, 0, ""}).ok());
  ASSERT_TRUE((*store)->AddEvent(job.id(), {200, "checkpoint", 5, 2.5, "/x/checkpoint-5"}).ok());
  auto events = (*store)->Events(job.id());
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].kind, "checkpoint");
  EXPECT_EQ((*events)[1].step, 5);
  EXPECT_DOUBLE_EQ((*events)[1].loss, 2.5);
  EXPECT_EQ((*events)[1].message, "/x/checkpoint-5");

  EXPECT_EQ((*store)->Get("job-9").status().code(), absl::StatusCode::kNotFound);
  v1::Job ghost = NewJob(v1::JOB_STATE_QUEUED, "g");
  ghost.set_id("job-9");
  EXPECT_EQ((*store)->Update(ghost).code(), absl::StatusCode::kNotFound);
}

TEST_F(JobStoreTest, AnUnwritableFolderIsAClearError) {
  auto store = JobStore::Open("/nonexistent-folder/jobs.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("/nonexistent-folder/jobs.db"), std::string::npos);
}

// One progress line per step would grow the database without bound: only
// the newest are kept; state changes and checkpoints all stay.
TEST_F(JobStoreTest, KeepsEveryStateChangeAndTheNewestProgressLines) {
  JobStore::Options options;
  options.max_progress_events = 3;
  auto store = JobStore::Open(db(), options);
  ASSERT_TRUE(store.ok()) << store.status();
  v1::Job job = NewJob(v1::JOB_STATE_RUNNING, "a");
  ASSERT_TRUE((*store)->Insert(&job).ok());
  ASSERT_TRUE((*store)->AddEvent(job.id(), {1, "started", 0, 0, ""}).ok());
  for (int step = 1; step <= 10; ++step) {
    ASSERT_TRUE((*store)->AddEvent(job.id(), {step, "progress", step, 1.0, ""}).ok());
    if (step == 5) {
      ASSERT_TRUE((*store)->AddEvent(job.id(), {step, "checkpoint", step, 0, "c"}).ok());
    }
  }
  // Another job's lines are its own.
  v1::Job other = NewJob(v1::JOB_STATE_RUNNING, "b");
  ASSERT_TRUE((*store)->Insert(&other).ok());
  ASSERT_TRUE((*store)->AddEvent(other.id(), {1, "progress", 1, 1.0, ""}).ok());
  auto events = (*store)->Events(job.id());
  ASSERT_TRUE(events.ok());
  std::vector<std::string> seen;
  for (const JobEventRecord& e : *events) seen.push_back(absl::StrCat(e.kind, ":", e.step));
  EXPECT_EQ(absl::StrJoin(seen, " "), "started:0 checkpoint:5 progress:8 progress:9 progress:10");
  EXPECT_EQ((*store)->Events(other.id())->size(), 1u);
}

TEST_F(JobStoreTest, ASyncedUpdateIsStoredLikeAnyOther) {
  auto store = JobStore::Open(db());
  ASSERT_TRUE(store.ok());
  v1::Job job = NewJob(v1::JOB_STATE_RUNNING, "a");
  ASSERT_TRUE((*store)->Insert(&job).ok());
  job.set_state(v1::JOB_STATE_SUCCEEDED);
  ASSERT_TRUE((*store)->Update(job, JobStore::Durability::kSynced).ok());
  job.set_step(3);
  ASSERT_TRUE((*store)->Update(job).ok());  // back to the normal mode
  EXPECT_EQ((*store)->Get(job.id())->step(), 3);
  EXPECT_EQ((*store)->Get(job.id())->state(), v1::JOB_STATE_SUCCEEDED);
  v1::Job missing = job;
  missing.set_id("job-99");
  EXPECT_TRUE(absl::IsNotFound((*store)->Update(missing, JobStore::Durability::kSynced)));
}

TEST_F(JobStoreTest, ListsOneOwnersJobsAndGivesOldDatabasesTheOwnerColumn) {
  // A database from before jobs had owners: its jobs table has no column.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(this->db().c_str(), &db), SQLITE_OK);
    v1::Job old = NewJob(v1::JOB_STATE_SUCCEEDED, "old");
    old.set_id("job-1");
    const std::string blob = old.SerializeAsString();
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT "
                           "NOT NULL UNIQUE, state INTEGER NOT NULL, job BLOB NOT NULL)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO jobs (id, state, job) VALUES ('job-1', 3, ?)",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  auto store = JobStore::Open(db());
  ASSERT_TRUE(store.ok()) << store.status();
  for (const char* owner : {"alice", "bob", "alice"}) {
    v1::Job job = NewJob(v1::JOB_STATE_QUEUED, owner);
    job.set_owner(owner);
    ASSERT_TRUE((*store)->Insert(&job).ok());
  }
  auto ids = [](const absl::StatusOr<std::vector<v1::Job>>& jobs) {
    std::vector<std::string> out;
    for (const v1::Job& j : *jobs) out.push_back(j.id());
    return absl::StrJoin(out, ",");
  };
  EXPECT_EQ(ids((*store)->List({}, 10, std::string("alice"))), "job-4,job-2");
  EXPECT_EQ(ids((*store)->List({}, 10, std::string("bob"))), "job-3");
  // The old job belongs to "" (the server had no keys then).
  EXPECT_EQ(ids((*store)->List({}, 10, std::string(""))), "job-1");
  EXPECT_EQ(ids((*store)->List({}, 10)), "job-4,job-3,job-2,job-1");
  EXPECT_EQ(ids((*store)->List({v1::JOB_STATE_QUEUED}, 1, std::string("alice"))), "job-4");
  // An owner is data, never SQL.
  EXPECT_EQ(ids((*store)->List({}, 10, std::string("' OR 1=1 --"))), "");
}

}  // namespace
}  // namespace llm2vec
