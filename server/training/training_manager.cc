#include "server/training/training_manager.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/atomic_dir.h"
#include "common/confined_path.h"
#include "common/mapped_file.h"
#include "model/nn/tensor_io.h"
#include "model/train/hyperparameters_proto.h"
#include "model/train/trainer.h"
#include "proto/wire_names.h"
#include "server/training/train_request.h"

namespace llm2vec {
namespace {

// The last component of `path`.
std::string Basename(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Watch events kept for watchers that are behind.

int64_t NowUnixMs() { return absl::ToUnixMillis(absl::Now()); }

// A job the server died under this many times (since its last ResumeJob)
// is FAILED instead of resumed again.
constexpr int kMaxCrashes = 2;

void LogLine(const std::string& message) {
  std::cerr << "llm2vec-server: training: " << message << std::endl;
}

}  // namespace

struct TrainingManager::Active {
  enum class Phase { kPreparing, kRunning, kEnded };
  enum class Outcome { kNone, kSucceeded, kFailed, kCancelled, kInterrupted };
  v1::Job job;
  std::unique_ptr<Trainer> trainer;
  Phase phase = Phase::kPreparing;
  Outcome outcome = Outcome::kNone;
  bool cancel = false;   // asked while a unit ran
  bool in_unit = false;  // the worker is inside trainer->MicroStep()
  std::string error;
};

absl::StatusOr<std::unique_ptr<TrainingManager>> TrainingManager::Create(const Options& options,
                                                                         Host host,
                                                                         Metrics* metrics) {
  if (options.state_dir.empty()) return absl::InvalidArgumentError("training needs a state folder");
  for (const std::string& dir : {options.state_dir, options.adapter_root, options.data_root}) {
    if (dir.empty()) continue;
    if (auto s = MakeDirs(dir); !s.ok()) return s;
  }
  // Staging folders a crash left half-written (adapters, checkpoints).
  int stale = options.adapter_root.empty() ? 0 : RemoveStaleStagingDirs(options.adapter_root);
  const std::string jobs_dir = JoinPath(options.state_dir, "jobs");
  if (DIR* d = ::opendir(jobs_dir.c_str()); d != nullptr) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      stale += RemoveStaleStagingDirs(JoinPath(JoinPath(jobs_dir, name), "checkpoints"));
    }
    ::closedir(d);
  }
  if (stale > 0) LogLine(absl::StrCat("removed ", stale, " staging folder(s) left by a crash"));
  auto store = JobStore::Open(JoinPath(options.state_dir, "jobs.db"));
  if (!store.ok()) return store.status();
  std::unique_ptr<TrainingManager> m(
      new TrainingManager(options, std::move(host), metrics, std::move(*store)));
  if (auto s = m->Recover(); !s.ok()) return s;
  m->RefreshJobCounts();
  m->runner_ = std::thread([p = m.get()] { p->RunnerLoop(); });
  return m;
}

TrainingManager::TrainingManager(Options options, Host host, Metrics* metrics,
                                 std::unique_ptr<JobStore> store)
    : options_(std::move(options)),
      host_(std::move(host)),
      metrics_(metrics),
      store_(std::move(store)) {}

TrainingManager::~TrainingManager() { Shutdown(); }

absl::Status TrainingManager::Recover() {
  auto queued = store_->ListOldestFirst({v1::JOB_STATE_QUEUED});
  if (!queued.ok()) return queued.status();
  auto running = store_->ListOldestFirst({v1::JOB_STATE_RUNNING});
  if (!running.ok()) return running.status();
  // Jobs still RUNNING in the database were running when the process died
  // (a clean shutdown records them INTERRUPTED).
  for (v1::Job& job : *running) {
    job.set_crashes(job.crashes() + 1);
    if (job.crashes() >= kMaxCrashes) {
      job.set_state(v1::JOB_STATE_FAILED);
      job.set_finished_unix_ms(NowUnixMs());
      job.set_error(absl::StrCat(
          "the server died ", job.crashes(), " times while this job ran (last at step ",
          job.step(), "); it is not resumed again automatically. Check its hyperparameters "
          "and data, then ResumeJob resumes it from the checkpoint at step ",
          job.checkpoint_step()));
      Record(job, v1::JobEvent::KIND_STATE, "failed", job.error());
      LogLine(absl::StrCat(job.id(), " failed: ", job.error()));
      continue;
    }
    job.set_state(v1::JOB_STATE_INTERRUPTED);
    job.set_error(absl::StrCat("the server stopped while the job ran (step ", job.step(),
                               "); its last checkpoint is at step ", job.checkpoint_step()));
    Record(job, v1::JobEvent::KIND_STATE, "interrupted", job.error());
  }
  std::vector<std::string> order;
  if (options_.resume_interrupted) {
    auto interrupted = store_->ListOldestFirst({v1::JOB_STATE_INTERRUPTED});
    if (!interrupted.ok()) return interrupted.status();
    for (v1::Job& job : *interrupted) {
      job.set_state(v1::JOB_STATE_QUEUED);
      Record(job, v1::JobEvent::KIND_STATE, "requeued", "resuming after a restart");
      order.push_back(job.id());
      LogLine(absl::StrCat(job.id(), " was interrupted; it resumes from its last checkpoint"));
    }
  }
  for (const v1::Job& job : *queued) order.push_back(job.id());
  absl::MutexLock lock(&mu_);
  queue_.insert(queue_.end(), order.begin(), order.end());
  return absl::OkStatus();
}

void TrainingManager::Record(const v1::Job& job, v1::JobEvent::Kind kind,
                             const std::string& history_kind, const std::string& message) {
  // A final state survives power loss too before anything (the checkpoints
  // of a finished job) is removed on its strength.
  const auto durability = IsFinalJobState(job.state()) ? JobStore::Durability::kSynced
                                                       : JobStore::Durability::kCrash;
  if (auto s = store_->Update(job, durability); !s.ok()) LogLine(std::string(s.message()));
  JobEventRecord line;
  line.unix_ms = NowUnixMs();
  line.kind = history_kind;
  line.step = job.step();
  line.loss = job.loss();
  line.message = message;
  if (auto s = store_->AddEvent(job.id(), line); !s.ok()) LogLine(std::string(s.message()));
  v1::JobEvent event;
  event.set_kind(kind);
  *event.mutable_job() = job;
  events_.Publish(std::move(event));
}

void TrainingManager::RefreshJobCounts() {
  if (metrics_ == nullptr) return;
  auto jobs = store_->List({}, 0);
  if (!jobs.ok()) return;
  std::map<std::string, int64_t> counts;
  for (v1::JobState s : {v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING, v1::JOB_STATE_SUCCEEDED,
                         v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED,
                         v1::JOB_STATE_INTERRUPTED}) {
    counts[JobStateName(s)] = 0;
  }
  for (const v1::Job& job : *jobs) ++counts[JobStateName(job.state())];
  for (const auto& [state, count] : counts) metrics_->SetTrainingJobs(state, count);
}

absl::StatusOr<std::string> TrainingManager::BaseAdapterDir(const std::string& name) const {
  if (host_.adapter_path) {
    auto loaded = host_.adapter_path(name);
    if (loaded.ok()) return loaded;
  }
  if (!ValidOutputAdapterName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("base_adapter '", name, "' is not a valid name"));
  }
  const std::string dir = JoinPath(options_.adapter_root, name);
  if (!IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat("base_adapter '", name, "' is neither loaded nor a folder in ",
                                            options_.adapter_root));
  }
  return dir;
}

absl::Status TrainingManager::CheckOutputFree(const std::string& name,
                                              const std::string& except_job) const {
  const std::string dir = JoinPath(options_.adapter_root, name);
  if (PathExists(dir)) {
    return absl::AlreadyExistsError(
        absl::StrCat("output_adapter '", name, "': ", dir, " already exists"));
  }
  if (host_.adapter_path && host_.adapter_path(name).ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("output_adapter '", name, "': an adapter with that name is loaded"));
  }
  auto pending = store_->List({v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING}, 0);
  if (!pending.ok()) return pending.status();
  for (const v1::Job& job : *pending) {
    if (job.id() != except_job && job.request().output_adapter() == name) {
      return absl::AlreadyExistsError(absl::StrCat("output_adapter '", name, "': job ", job.id(),
                                                   " (", JobStateName(job.state()),
                                                   ") already writes it"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Job> TrainingManager::Submit(const v1::TrainRequest& request,
                                                const std::string& owner) {
  absl::MutexLock submit(&submit_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("the server is shutting down");
  }
  // The request alone first (no file system), then its paths.
  auto resolved = ValidateTrainRequest(request, Limits());
  if (!resolved.ok()) return resolved.status();
  TrainerOptions o = *std::move(resolved);
  const std::string& name = request.output_adapter();
  if (auto s = CheckOutputFree(name, ""); !s.ok()) return s;
  auto data = ConfinedPath(options_.data_root, request.data_path(), "data_path");
  if (!data.ok()) return data.status();
  struct stat st;
  if (stat(data->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("data_path '", request.data_path(), "' is not a regular file"));
  }
  if (st.st_size > options_.max_data_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data_path '", request.data_path(), "' is ", st.st_size,
        " bytes, over the server's limit of ", options_.max_data_bytes, " (--max-training-data-bytes)"));
  }
  if (!request.base_adapter().empty()) {
    if (auto base = BaseAdapterDir(request.base_adapter()); !base.ok()) return base.status();
  }
  {
    absl::MutexLock lock(&mu_);
    if (static_cast<int64_t>(queue_.size()) >= options_.max_queued_jobs) {
      return absl::ResourceExhaustedError(absl::StrCat(
          queue_.size(), " training jobs are queued, the server's limit (--max-queued-jobs)"));
    }
  }
  v1::Job job;
  job.set_state(v1::JOB_STATE_QUEUED);
  *job.mutable_request() = request;
  FillHyperparameters(o, job.mutable_request()->mutable_hyperparameters());
  job.set_total_steps(o.steps);
  job.set_created_unix_ms(NowUnixMs());
  job.set_owner(owner);
  if (auto s = store_->Insert(&job); !s.ok()) return s;
  Record(job, v1::JobEvent::KIND_STATE, "submitted", "");
  LogLine(absl::StrCat(job.id(), " queued: ", ObjectiveName(o.objective), " on ",
                       request.data_path(), " -> adapter ", name, ", ", o.steps, " steps"));
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(job.id());
    runner_cv_.SignalAll();
  }
  RefreshJobCounts();
  return job;
}

absl::StatusOr<v1::Job> TrainingManager::Get(const std::string& id) const {
  return store_->Get(id);
}

absl::StatusOr<std::vector<v1::Job>> TrainingManager::List(
    const std::vector<v1::JobState>& states, int limit,
    const absl::optional<std::string>& owner) const {
  return store_->List(states, limit > 0 ? limit : 100, owner);
}

absl::StatusOr<v1::Job> TrainingManager::Cancel(const std::string& id) {
  // Serialised with Submit and Resume, so a job is never cancelled while a
  // resume queues it (it would be recorded cancelled and still run).
  absl::MutexLock submit(&submit_mu_);
  bool was_queued = false;
  bool ending = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find(queue_.begin(), queue_.end(), id);
    if (it != queue_.end()) {
      queue_.erase(it);
      was_queued = true;
    } else if (active_ != nullptr && active_->job.id() == id &&
               active_->phase == Active::Phase::kEnded) {
      ending = true;  // finishing (or already cancelled): too late
    } else if (active_ != nullptr && active_->job.id() == id) {
      if (active_->in_unit || active_->phase == Active::Phase::kPreparing) {
        active_->cancel = true;
      } else {
        active_->phase = Active::Phase::kEnded;
        active_->outcome = Active::Outcome::kCancelled;
        runner_cv_.SignalAll();
      }
      return active_->job;
    }
  }
  // The database outside mu_: the device worker's RunUnit needs mu_.
  auto job = store_->Get(id);
  if (!job.ok()) return job.status();
  if (ending && job->state() == v1::JOB_STATE_RUNNING) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", id, " is ending; it can no longer be cancelled"));
  }
  if (!was_queued && job->state() != v1::JOB_STATE_INTERRUPTED) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", id, " is ", JobStateName(job->state()), "; only queued, running and "
                     "interrupted jobs can be cancelled"));
  }
  job->set_state(v1::JOB_STATE_CANCELLED);
  job->set_finished_unix_ms(NowUnixMs());
  Record(*job, v1::JobEvent::KIND_STATE, "cancelled",
         was_queued ? "cancelled while queued" : "cancelled while interrupted");
  RefreshJobCounts();
  return *job;
}

absl::StatusOr<v1::Job> TrainingManager::Resume(const std::string& id) {
  absl::MutexLock submit(&submit_mu_);
  auto job = store_->Get(id);
  if (!job.ok()) return job.status();
  const v1::JobState state = job->state();
  if (state != v1::JOB_STATE_INTERRUPTED && state != v1::JOB_STATE_FAILED &&
      state != v1::JOB_STATE_CANCELLED) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", id, " is ", JobStateName(state),
                     "; only interrupted, failed and cancelled jobs can be resumed"));
  }
  if (auto s = CheckOutputFree(job->request().output_adapter(), id); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("the server is shutting down");
  }
  job->set_state(v1::JOB_STATE_QUEUED);
  job->set_finished_unix_ms(0);
  job->set_crashes(0);  // an operator looked at it
  Record(*job, v1::JobEvent::KIND_STATE, "requeued", "resume requested");
  {
    // A queued job left in the database by a shutdown in between runs at
    // the next start (Recover).
    absl::MutexLock lock(&mu_);
    queue_.push_back(id);
    runner_cv_.SignalAll();
  }
  RefreshJobCounts();
  return *job;
}

absl::StatusOr<v1::Job> TrainingManager::Snapshot(const std::string& id, uint64_t* cursor) const {
  *cursor = events_.End();
  return store_->Get(id);
}

std::vector<v1::JobEvent> TrainingManager::WaitForEvents(const std::string& id, uint64_t* cursor,
                                                         absl::Time until) const {
  bool lost = false;
  std::vector<v1::JobEvent> out = events_.Wait(id, cursor, until, &lost);
  if (lost) {
    auto job = store_->Get(id);
    if (job.ok()) {
      v1::JobEvent e;
      e.set_kind(v1::JobEvent::KIND_SNAPSHOT);
      *e.mutable_job() = *job;
      out.push_back(std::move(e));
    }
  }
  return out;
}

bool TrainingManager::RunUnit(absl::Time /*next_batch_at*/) {
  Trainer* trainer = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (active_ == nullptr || active_->phase != Active::Phase::kRunning || stopping_) return false;
    active_->in_unit = true;
    trainer = active_->trainer.get();
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<std::optional<TrainProgress>> unit = trainer->MicroStep();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (metrics_ != nullptr) metrics_->TrainingUnit(seconds);

  Active::Outcome outcome = Active::Outcome::kNone;
  std::string error;
  std::optional<v1::Job> progressed;
  std::string checkpoint;
  {
    absl::MutexLock lock(&mu_);
    if (!unit.ok()) {
      outcome = Active::Outcome::kFailed;
      error = std::string(unit.status().message());
    } else if (unit->has_value()) {
      const TrainProgress& p = **unit;
      v1::Job& job = active_->job;
      job.set_step(p.step);
      job.set_loss(p.loss);
      job.set_learning_rate(p.lr);
      job.set_tokens_per_second(p.tokens_per_second);
      job.set_eta_seconds(p.eta_seconds);
      if (!p.checkpoint.empty()) {
        job.set_checkpoint_path(p.checkpoint);
        job.set_checkpoint_step(p.step);
        checkpoint = p.checkpoint;
      }
      if (p.step >= p.total_steps) outcome = Active::Outcome::kSucceeded;
      progressed = job;
      if (metrics_ != nullptr) metrics_->TrainingStep(p.step, p.loss, p.tokens_per_second, p.tokens);
    }
  }
  absl::MutexLock lock(&mu_);
  // The runner persists it (database I/O stays off the device thread),
  // before it finishes the job, so the final state is the last write.
  if (progressed.has_value()) progress_.push_back({*std::move(progressed), checkpoint});
  active_->in_unit = false;
  if (active_->phase == Active::Phase::kRunning) {
    if (outcome == Active::Outcome::kNone && active_->cancel) outcome = Active::Outcome::kCancelled;
    if (outcome != Active::Outcome::kNone) {
      active_->phase = Active::Phase::kEnded;
      active_->outcome = outcome;
      active_->error = error;
    }
  }
  runner_cv_.SignalAll();
  return true;
}

void TrainingManager::RunnerLoop() {
  while (true) {
    std::string next;
    bool finish = false, stop = false;
    std::deque<Progress> progress;
    {
      absl::MutexLock lock(&mu_);
      while (!(stopping_ || !progress_.empty() ||
               (active_ != nullptr && active_->phase == Active::Phase::kEnded) ||
               (active_ == nullptr && !queue_.empty()))) {
        runner_cv_.Wait(&mu_);
      }
      if (stopping_ && active_ != nullptr && active_->phase == Active::Phase::kRunning) {
        active_->phase = Active::Phase::kEnded;
        active_->outcome = Active::Outcome::kInterrupted;
      }
      if (active_ == nullptr) {
        if (stopping_) {
          stop = true;
        } else if (!queue_.empty()) {
          next = queue_.front();
          queue_.pop_front();
          active_ = std::make_unique<Active>();
          active_->job.set_id(next);
        }
      } else if (active_->phase == Active::Phase::kEnded) {
        while (active_->in_unit) runner_cv_.Wait(&mu_);
        finish = true;
      }
      // Taken last: a unit that ended while the runner waited has queued
      // its progress by now.
      progress.swap(progress_);
    }
    // A step's progress (and checkpoint) lines, written here rather than on
    // the device thread that ran the step.
    for (const Progress& p : progress) {
      if (!p.checkpoint.empty()) {
        Record(p.job, v1::JobEvent::KIND_CHECKPOINT, "checkpoint", p.checkpoint);
      }
      Record(p.job, v1::JobEvent::KIND_PROGRESS, "progress", "");
    }
    if (stop) return;
    if (!next.empty()) {
      auto job = store_->Get(next);
      if (!job.ok()) {
        LogLine(std::string(job.status().message()));
        absl::MutexLock lock(&mu_);
        active_.reset();
        continue;
      }
      StartJob(std::move(*job));
    } else if (finish) {
      FinishJob();
    }
  }
}

absl::Status TrainingManager::OnDevice(const std::string& what,
                                      const std::function<absl::Status()>& fn) {
  // The edge of tensor work run for the manager: exceptions become a
  // Status here, on whichever thread runs it.
  auto guarded = [&what, &fn]() -> absl::Status {
    try {
      return fn();
    } catch (const std::exception& e) {
      return ExceptionStatus(e, what);
    }
  };
  if (!host_.run_on_device) return guarded();
  return host_.run_on_device(guarded);
}

void TrainingManager::StartJob(v1::Job job) {
  job.set_state(v1::JOB_STATE_RUNNING);
  job.clear_error();
  if (job.started_unix_ms() == 0) job.set_started_unix_ms(NowUnixMs());
  Record(job, v1::JobEvent::KIND_STATE, "started", "loading the model");
  RefreshJobCounts();

  // Paths and options here; the model, the trainer and the resume are
  // tensor work, run on the device worker.
  std::unique_ptr<Trainer> made;
  std::string resumed_from;
  UniqueFd data_fd;  // open until the trainer has opened the data itself
  std::vector<std::string> skipped_checkpoints;  // "checkpoint-7: why"
  auto prepare = [&]() -> absl::Status {
    const v1::TrainRequest& request = job.request();
    auto resolved = ValidateTrainRequest(request, Limits());
    if (!resolved.ok()) return resolved.status();
    TrainerOptions o = *std::move(resolved);
    // The data file is opened beneath the root now, and the trainer reads
    // that open file (through its /proc/self/fd link), so a path swapped
    // for a link since Submit cannot lead outside, and a file removed or
    // replaced while the job runs is still the file the job started on.
    auto data = OpenBeneath(options_.data_root, request.data_path(), O_RDONLY, "data_path");
    if (!data.ok()) return data.status();
    struct stat st;
    if (fstat(data->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("data_path '", request.data_path(), "' is not a regular file"));
    }
    data_fd = std::move(*data);
    o.data_path = absl::StrCat("/proc/self/fd/", data_fd.get());
    o.data_name = request.data_path();
    o.checkpoint_dir = JoinPath(JoinPath(JoinPath(options_.state_dir, "jobs"), job.id()),
                                "checkpoints");
    if (auto s = MakeDirs(o.checkpoint_dir); !s.ok()) return s;
    LoadOptions load = options_.load;
    if (!request.base_adapter().empty()) {
      auto base = BaseAdapterDir(request.base_adapter());
      if (!base.ok()) return base.status();
      load.merge_adapters.push_back(*base);
    } else {
      // The frozen base is the served model itself: share its tensors.
      load.shared_weights = options_.shared_weights;
    }
    return OnDevice(absl::StrCat("starting ", job.id()), [&]() -> absl::Status {
      auto create = [&]() -> absl::StatusOr<std::unique_ptr<Trainer>> {
        auto model = LoadModel(options_.model, load);
        if (!model.ok()) return model.status();
        return Trainer::Create(std::move(*model), o);
      };
      auto trainer = create();
      if (!trainer.ok()) return trainer.status();
      // The newest checkpoint that loads; one that does not (a disk error,
      // a file cut short) is passed over for the one before it, and with
      // none the job starts again from step 0: steps are lost, never the
      // job.
      for (const std::string& dir : Trainer::Checkpoints(o.checkpoint_dir)) {
        absl::Status s = (*trainer)->Resume(dir);
        if (s.ok()) {
          resumed_from = dir;
          break;
        }
        skipped_checkpoints.push_back(absl::StrCat(Basename(dir), ": ", s.message()));
        trainer = create();  // a failed Resume may have loaded part of the state
        if (!trainer.ok()) return trainer.status();
      }
      made = std::move(*trainer);
      return absl::OkStatus();
    });
  };
  const absl::Status prepared = prepare();
  absl::StatusOr<std::unique_ptr<Trainer>> trainer(absl::UnknownError("not prepared"));
  if (!prepared.ok()) {
    trainer = prepared;
  } else {
    trainer = std::move(made);
    for (const std::string& skipped : skipped_checkpoints) {
      const std::string why = WithoutServerPaths(skipped);
      Record(job, v1::JobEvent::KIND_STATE, "checkpoint skipped",
             absl::StrCat(why, "; trying an older one"));
      LogLine(absl::StrCat(job.id(), ": checkpoint skipped: ", skipped));
    }
    if (!resumed_from.empty()) {
      job.set_step((*trainer)->step());
      job.set_checkpoint_path(resumed_from);
      job.set_checkpoint_step((*trainer)->step());
      job.set_resumes(job.resumes() + 1);
      Record(job, v1::JobEvent::KIND_STATE, "resumed",
             absl::StrCat("from the checkpoint at step ", (*trainer)->step()));
      LogLine(absl::StrCat(job.id(), " resumed from ", resumed_from));
    } else {
      job.set_step(0);
      job.set_checkpoint_step(0);
      job.clear_checkpoint_path();
    }
    // Which order the data comes in (an exact shuffle, or a buffer for a
    // file too large to index): in the job's events, as GetJob shows them.
    Record(job, v1::JobEvent::KIND_STATE, "data order", (*trainer)->data_order());
  }

  absl::MutexLock lock(&mu_);
  active_->job = job;
  if (!trainer.ok()) {
    active_->phase = Active::Phase::kEnded;
    active_->outcome = Active::Outcome::kFailed;
    active_->error = std::string(trainer.status().message());
    return;
  }
  active_->trainer = std::move(*trainer);
  if (stopping_) {
    active_->phase = Active::Phase::kEnded;
    active_->outcome = Active::Outcome::kInterrupted;
  } else if (active_->cancel) {
    active_->phase = Active::Phase::kEnded;
    active_->outcome = Active::Outcome::kCancelled;
  } else {
    active_->phase = Active::Phase::kRunning;
    LogLine(absl::StrCat(job.id(), " running from step ", job.step(), " of ", job.total_steps()));
    if (host_.wake_worker) host_.wake_worker();
  }
}

TrainLimits TrainingManager::Limits() const {
  TrainLimits limits;
  limits.checkpoint_every = options_.checkpoint_every;
  limits.keep_checkpoints = options_.keep_checkpoints;
  limits.num_threads = options_.num_threads;
  limits.checkpoint_dir = JoinPath(options_.state_dir, "jobs");
  limits.max_steps = options_.max_steps;
  if (options_.shared_weights != nullptr) limits.model = &options_.shared_weights->config();
  limits.max_training_bytes = options_.max_training_bytes;
  return limits;
}

std::string TrainingManager::WithoutServerPaths(std::string text) const {
  const std::pair<std::string, std::string> folders[] = {
      {options_.state_dir, "STATE_DIR"}, {options_.adapter_root, "ADAPTER_ROOT"},
      {options_.data_root, "DATA_ROOT"}};
  for (const auto& [folder, name] : folders) {
    if (folder.empty()) continue;
    for (size_t at = text.find(folder); at != std::string::npos;
         at = text.find(folder, at + name.size())) {
      text.replace(at, folder.size(), name);
    }
  }
  return text;
}

void TrainingManager::FinishJob() {
  std::unique_ptr<Trainer> trainer;
  v1::Job job;
  Active::Outcome outcome;
  std::string error;
  {
    absl::MutexLock lock(&mu_);
    trainer = std::move(active_->trainer);
    job = active_->job;
    outcome = active_->outcome;
    error = active_->error;
  }
  const std::string job_dir = JoinPath(JoinPath(options_.state_dir, "jobs"), job.id());
  std::string history;
  switch (outcome) {
    case Active::Outcome::kSucceeded: {
      const std::string dir = JoinPath(options_.adapter_root, job.request().output_adapter());
      absl::Status saved = OnDevice(absl::StrCat("saving the adapter of ", job.id()),
                                    [&] { return trainer->SaveAdapter(dir); });
      if (!saved.ok()) {
        job.set_state(v1::JOB_STATE_FAILED);
        job.set_error(absl::StrCat("writing the adapter failed: ", saved.message()));
        history = "failed";
        break;
      }
      job.set_state(v1::JOB_STATE_SUCCEEDED);
      job.set_adapter_path(dir);
      job.set_eta_seconds(0);
      history = "succeeded";
      if (job.request().load_when_done() && host_.load_adapter) {
        absl::Status loaded = host_.load_adapter(job.request().output_adapter(), dir);
        job.set_adapter_loaded(loaded.ok());
        if (!loaded.ok()) job.set_error(absl::StrCat("loading the adapter failed: ", loaded.message()));
      }
      break;
    }
    case Active::Outcome::kInterrupted: {
      if (trainer != nullptr && !trainer->mid_step() && trainer->step() > job.checkpoint_step()) {
        const std::string dir = JoinPath(JoinPath(job_dir, "checkpoints"),
                                         absl::StrCat("checkpoint-", trainer->step()));
        if (auto s = OnDevice(absl::StrCat("checkpointing ", job.id()),
                              [&] { return trainer->SaveCheckpoint(dir); });
            s.ok()) {
          job.set_checkpoint_path(dir);
          job.set_checkpoint_step(trainer->step());
          Record(job, v1::JobEvent::KIND_CHECKPOINT, "checkpoint", dir);
        } else {
          LogLine(std::string(s.message()));
        }
      }
      job.set_state(v1::JOB_STATE_INTERRUPTED);
      job.set_error(absl::StrCat("the server shut down at step ", job.step(),
                                 "; it resumes from the checkpoint at step ",
                                 job.checkpoint_step()));
      history = "interrupted";
      break;
    }
    case Active::Outcome::kCancelled:
      job.set_state(v1::JOB_STATE_CANCELLED);
      history = "cancelled";
      break;
    case Active::Outcome::kFailed:
    case Active::Outcome::kNone:
      job.set_state(v1::JOB_STATE_FAILED);
      job.set_error(error.empty() ? "the job stopped without a result" : error);
      history = "failed";
      break;
  }
  if (job.state() != v1::JOB_STATE_INTERRUPTED) job.set_finished_unix_ms(NowUnixMs());
  // The client sees the reason, not the server's folders (the log has them).
  const std::string full_error = job.error();
  job.set_error(WithoutServerPaths(full_error));
  Record(job, v1::JobEvent::KIND_STATE, history, job.error());
  // The metric follows the record at once (a client that sees the job
  // ended finds it counted).
  RefreshJobCounts();
  // The adapter is the result; the checkpoints go only once the job is
  // recorded as done (a crash before that resumes from them).
  if (job.state() == v1::JOB_STATE_SUCCEEDED) {
    if (auto s = RemoveTree(job_dir); !s.ok()) LogLine(std::string(s.message()));
  }
  LogLine(absl::StrCat(job.id(), " ", history, " at step ", job.step(),
                       full_error.empty() ? "" : ": ", full_error));
  // Frees the job's model (on the device) before the next one loads.
  OnDevice(absl::StrCat("releasing ", job.id()), [&] {
    trainer.reset();
    return absl::OkStatus();
  }).IgnoreError();
  {
    absl::MutexLock lock(&mu_);
    active_.reset();
  }
  RefreshJobCounts();
}

void TrainingManager::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    runner_cv_.SignalAll();
  }
  absl::MutexLock join(&join_mu_);
  if (runner_.joinable()) runner_.join();
}

}  // namespace llm2vec
