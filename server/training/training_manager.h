// Training jobs behind the service: validates and queues TrainRequests,
// keeps every job durable in a JobStore, and runs one job at a time on the
// device worker, a micro-batch per unit of background work, so inference
// batches always go first (DeviceWorker::IdleWork).
//
// A job's life: QUEUED -> (device worker, asked by the runner thread: load
// the served model again with the base adapter merged, create the Trainer,
// resume from the newest checkpoint; the served weights are shared when no
// base adapter is merged) -> RUNNING (worker: RunUnit, one micro-batch at a
// time; checkpoints every checkpoint_every steps) -> (worker: write the
// adapter atomically to <adapter_root>/<output_adapter>; runner: optionally
// load it for serving) -> SUCCEEDED. Cancelled, failed and interrupted jobs keep
// their checkpoints and can be resumed.
//
// Restarts: jobs that were RUNNING when the process died are INTERRUPTED at
// the next Create, and queued again first (Options::resume_interrupted).
// Shutdown() checkpoints the running job at a step boundary and marks it
// INTERRUPTED.
//
// Paths: data paths are relative to data_root and must stay inside it
// after symlinks are resolved; outputs are names, not paths.
//
// Size: training_manager.cc (~720 lines) is one state machine (submit,
// cancel, resume, recovery, a job's start, units and end), kept in one file
// so its transitions read together; the event log (job_event_log), path
// confinement (confined_path), the hyperparameters (model/train) and the
// database (job_store) are their own files.
//
// Threading: all public methods are thread-safe. RunUnit must be called
// from one thread at a time (the device worker). The manager's runner
// thread sequences a job's start and end; their tensor work (loading the
// model, creating and resuming the trainer, saving checkpoints and the
// adapter, freeing the model) runs on the device worker through
// Host::run_on_device, between batches, so only the worker touches the
// device. Database writes stay on the runner and RPC threads (a step's
// progress line too: RunUnit queues it, the runner writes it).
#ifndef LLM2VEC_SERVER_TRAINING_TRAINING_MANAGER_H_
#define LLM2VEC_SERVER_TRAINING_TRAINING_MANAGER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "llm2vec/v1/training.pb.h"
#include "model/nn/model_loader.h"
#include "server/http/metrics.h"
#include "server/training/job_event_log.h"
#include "server/training/job_store.h"
#include "server/training/train_request.h"

namespace llm2vec {

class Trainer;

class TrainingManager {
 public:
  struct Options {
    // jobs.db and jobs/<id>/checkpoints/ live here (created if missing).
    std::string state_dir;
    // TrainRequest.data_path is relative to this folder.
    std::string data_root;
    // Final adapters go to <adapter_root>/<output_adapter>; base adapters
    // that are not loaded are looked up here too.
    std::string adapter_root;
    // The served model (path or hub id) and how it was loaded; each job
    // loads its own copy to train on.
    std::string model;
    LoadOptions load;
    // The served model's weights: a job without a base_adapter trains on
    // them (shared, read-only) instead of loading the model again. Null:
    // every job loads its own copy.
    const Transformer* shared_weights = nullptr;
    // Intra-op CPU threads for training (0: as the trainer decides).
    int num_threads = 0;
    // Limits, enforced at submission.
    int64_t max_steps = 100000;
    int64_t max_data_bytes = int64_t{10} << 30;
    // A job whose estimated memory (EstimateTrainingBytes on the served
    // model) is above this is refused; 0: no limit.
    int64_t max_training_bytes = 0;
    int max_queued_jobs = 16;
    // Checkpoint interval when a request does not set one; checkpoints kept.
    int64_t checkpoint_every = 50;
    int keep_checkpoints = 2;
    // Queue INTERRUPTED jobs again at startup.
    bool resume_interrupted = true;
  };

  // What the manager needs from the serving side (the EmbeddingEngine).
  struct Host {
    // New work for RunUnit appeared.
    std::function<void()> wake_worker;
    // A loaded adapter's folder (NOT_FOUND when no adapter has the name).
    std::function<absl::StatusOr<std::string>(const std::string& name)> adapter_path;
    // Loads a finished adapter for serving.
    std::function<absl::Status(const std::string& name, const std::string& dir)> load_adapter;
    // Runs tensor work on the device worker and waits for its status
    // (EmbeddingEngine::RunOnDevice). Null: on the calling thread (tests
    // without an engine).
    std::function<absl::Status(std::function<absl::Status()>)> run_on_device;
  };

  // Opens the job database, recovers jobs from a previous run, starts the
  // runner thread. `metrics` may be null and must outlive the manager.
  static absl::StatusOr<std::unique_ptr<TrainingManager>> Create(const Options& options,
                                                                 Host host, Metrics* metrics);
  // Shutdown() unless it was called.
  ~TrainingManager();

  // `owner` (the caller's key name) is recorded in the job.
  absl::StatusOr<v1::Job> Submit(const v1::TrainRequest& request, const std::string& owner = "");
  absl::StatusOr<v1::Job> Get(const std::string& id) const;
  // Newest first, at most `limit` (0: 100); only `states` when not empty,
  // only jobs of `owner` when given.
  absl::StatusOr<std::vector<v1::Job>> List(const std::vector<v1::JobState>& states, int limit,
                                            const absl::optional<std::string>& owner =
                                                absl::nullopt) const;
  absl::StatusOr<v1::Job> Cancel(const std::string& id);
  absl::StatusOr<v1::Job> Resume(const std::string& id);

  // For WatchJob: the job now and the position in the event log after it.
  absl::StatusOr<v1::Job> Snapshot(const std::string& id, uint64_t* cursor) const;
  // Waits until `id` has events after *cursor, or until `until`; returns
  // them and advances *cursor. A watcher that fell behind the retained log
  // gets a KIND_SNAPSHOT of the job instead of the lost events.
  std::vector<v1::JobEvent> WaitForEvents(const std::string& id, uint64_t* cursor,
                                          absl::Time until) const;

  // The device worker's background work: one micro-batch of the running
  // job. Returns false when there is nothing to do.
  bool RunUnit(absl::Time next_batch_at);

  // Stops taking jobs, checkpoints the running one (at a step boundary)
  // and marks it INTERRUPTED, stops the runner thread. Call before the
  // device worker stops.
  void Shutdown();

  // Implementation details follow.
 private:
  struct Active;
  TrainingManager(Options options, Host host, Metrics* metrics, std::unique_ptr<JobStore> store);
  absl::Status Recover();
  void RunnerLoop();
  // `fn` (tensor work named `what`) through Host::run_on_device, its
  // exceptions turned into a Status.
  absl::Status OnDevice(const std::string& what, const std::function<absl::Status()>& fn);
  // Loads the model and creates the trainer for the job at the head of the
  // queue (runner thread; the tensor work on the device worker).
  void StartJob(v1::Job job);
  // Ends the active job as its outcome says (runner thread).
  // `text` with the state, adapter and data folders named STATE_DIR,
  // ADAPTER_ROOT and DATA_ROOT: what a client may see of a server path.
  std::string WithoutServerPaths(std::string text) const;
  // What ValidateTrainRequest allows on this server.
  TrainLimits Limits() const;
  void FinishJob();
  // Persists `job`, records a history line, publishes a watch event.
  void Record(const v1::Job& job, v1::JobEvent::Kind kind, const std::string& history_kind,
              const std::string& message);
  void RefreshJobCounts();
  absl::StatusOr<std::string> BaseAdapterDir(const std::string& name) const;
  absl::Status CheckOutputFree(const std::string& name, const std::string& except_job) const;

  const Options options_;
  const Host host_;
  Metrics* const metrics_;
  const std::unique_ptr<JobStore> store_;

  // Serialises submissions and resumes (their uniqueness checks and insert).
  absl::Mutex submit_mu_;

  mutable absl::Mutex mu_;
  absl::CondVar runner_cv_;  // queue, active phase or stopping changed
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);  // QUEUED job ids, in run order
  std::unique_ptr<Active> active_ ABSL_GUARDED_BY(mu_);
  // Steps the device worker finished, for the runner to persist.
  struct Progress {
    v1::Job job;
    std::string checkpoint;  // "" when the step wrote none
  };
  std::deque<Progress> progress_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Watch events.
  JobEventLog events_;

  absl::Mutex join_mu_;
  std::thread runner_;  // started last
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_TRAINING_TRAINING_MANAGER_H_
