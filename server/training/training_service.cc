#include "server/training/training_service.h"

#include <utility>
#include <vector>

#include "proto/wire_names.h"
#include "server/service/call_auth.h"
#include "server/service/status_codes.h"

namespace llm2vec {
namespace {

// How often a watching handler checks for a gone client or a shutdown.
constexpr absl::Duration kWatchPoll = absl::Milliseconds(200);

}  // namespace

absl::StatusOr<TrainingManager*> TrainingService::manager() const {
  TrainingManager* m = manager_.load();
  if (m == nullptr) {
    return absl::UnavailableError(
        "training is not available: the model is loading, or the server runs without "
        "--state-dir");
  }
  return m;
}

absl::StatusOr<v1::Job> TrainingService::VisibleJob(TrainingManager* manager,
                                                    const Caller& caller,
                                                    const std::string& id) const {
  // Ids are "job-<n>": a longer one names no job (and is not echoed whole).
  constexpr size_t kMaxIdBytes = 64;
  if (id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("id is ", id.size(), " bytes; job ids are at most ", kMaxIdBytes));
  }
  auto job = manager->Get(id);
  if (!job.ok() || caller.admin() || job->owner() == caller.name) return job;
  // The same answer as for a job that does not exist.
  return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
}

grpc::Status TrainingService::Train(grpc::ServerContext* context,
                                    const v1::TrainRequest* request,
                                    v1::TrainResponse* response) {
  const absl::Time start = absl::Now();
  auto caller = AuthorizeCall(auth_, *context, Role::kTrain, "Train");
  if (!caller.ok()) return FinishCall(metrics_, "Train", start, caller.status());
  auto m = manager();
  if (!m.ok()) return FinishCall(metrics_, "Train", start, m.status());
  auto job = (*m)->Submit(*request, caller->name);
  if (job.ok()) *response->mutable_job() = std::move(*job);
  return FinishCall(metrics_, "Train", start, job.status());
}

grpc::Status TrainingService::GetJob(grpc::ServerContext* context,
                                     const v1::GetJobRequest* request, v1::Job* response) {
  const absl::Time start = absl::Now();
  auto caller = AuthorizeCall(auth_, *context, Role::kTrain, "GetJob");
  if (!caller.ok()) return FinishCall(metrics_, "GetJob", start, caller.status());
  auto m = manager();
  if (!m.ok()) return FinishCall(metrics_, "GetJob", start, m.status());
  auto job = VisibleJob(*m, *caller, request->id());
  if (job.ok()) *response = std::move(*job);
  return FinishCall(metrics_, "GetJob", start, job.status());
}

grpc::Status TrainingService::ListJobs(grpc::ServerContext* context,
                                       const v1::ListJobsRequest* request,
                                       v1::ListJobsResponse* response) {
  const absl::Time start = absl::Now();
  auto caller = AuthorizeCall(auth_, *context, Role::kTrain, "ListJobs");
  if (!caller.ok()) return FinishCall(metrics_, "ListJobs", start, caller.status());
  auto m = manager();
  if (!m.ok()) return FinishCall(metrics_, "ListJobs", start, m.status());
  std::vector<v1::JobState> states;
  for (int s : request->states()) {
    if (!v1::JobState_IsValid(s) || s == v1::JOB_STATE_UNSPECIFIED) {
      return FinishCall(metrics_, "ListJobs", start,
                        absl::InvalidArgumentError(absl::StrCat("states: ", s,
                                                                " is not a job state")));
    }
    states.push_back(static_cast<v1::JobState>(s));
  }
  if (request->limit() < 0) {
    return FinishCall(metrics_, "ListJobs", start,
                      absl::InvalidArgumentError(
                          absl::StrCat("limit ", request->limit(), " must be >= 0")));
  }
  auto jobs = (*m)->List(states, request->limit(),
                         caller->admin() ? absl::nullopt : absl::make_optional(caller->name));
  if (jobs.ok()) {
    for (v1::Job& job : *jobs) *response->add_jobs() = std::move(job);
  }
  return FinishCall(metrics_, "ListJobs", start, jobs.status());
}

grpc::Status TrainingService::CancelJob(grpc::ServerContext* context,
                                        const v1::CancelJobRequest* request, v1::Job* response) {
  const absl::Time start = absl::Now();
  auto caller = AuthorizeCall(auth_, *context, Role::kTrain, "CancelJob");
  if (!caller.ok()) return FinishCall(metrics_, "CancelJob", start, caller.status());
  auto m = manager();
  if (!m.ok()) return FinishCall(metrics_, "CancelJob", start, m.status());
  if (auto visible = VisibleJob(*m, *caller, request->id()); !visible.ok()) {
    return FinishCall(metrics_, "CancelJob", start, visible.status());
  }
  auto job = (*m)->Cancel(request->id());
  if (job.ok()) *response = std::move(*job);
  return FinishCall(metrics_, "CancelJob", start, job.status());
}

grpc::Status TrainingService::ResumeJob(grpc::ServerContext* context,
                                        const v1::ResumeJobRequest* request, v1::Job* response) {
  const absl::Time start = absl::Now();
  auto caller = AuthorizeCall(auth_, *context, Role::kTrain, "ResumeJob");
  if (!caller.ok()) return FinishCall(metrics_, "ResumeJob", start, caller.status());
  auto m = manager();
  if (!m.ok()) return FinishCall(metrics_, "ResumeJob", start, m.status());
  if (auto visible = VisibleJob(*m, *caller, request->id()); !visible.ok()) {
    return FinishCall(metrics_, "ResumeJob", start, visible.status());
  }
  auto job = (*m)->Resume(request->id());
  if (job.ok()) *response = std::move(*job);
  return FinishCall(metrics_, "ResumeJob", start, job.status());
}

grpc::Status TrainingService::WatchJob(grpc::ServerContext* context,
                                       const v1::WatchJobRequest* request,
                                       grpc::ServerWriter<v1::JobEvent>* writer) {
  const absl::Time start = absl::Now();
  auto caller = AuthorizeCall(auth_, *context, Role::kTrain, "WatchJob");
  if (!caller.ok()) return FinishCall(metrics_, "WatchJob", start, caller.status());
  auto m = manager();
  if (!m.ok()) return FinishCall(metrics_, "WatchJob", start, m.status());
  uint64_t cursor = 0;
  if (auto visible = VisibleJob(*m, *caller, request->id()); !visible.ok()) {
    return FinishCall(metrics_, "WatchJob", start, visible.status());
  }
  auto job = (*m)->Snapshot(request->id(), &cursor);
  if (!job.ok()) return FinishCall(metrics_, "WatchJob", start, job.status());
  v1::JobEvent first;
  first.set_kind(v1::JobEvent::KIND_SNAPSHOT);
  *first.mutable_job() = *job;
  bool done = IsFinalJobState(job->state());
  if (!writer->Write(first)) {
    return FinishCall(metrics_, "WatchJob", start, absl::CancelledError("the client went away"));
  }
  while (!done) {
    if (context->IsCancelled()) {
      return FinishCall(metrics_, "WatchJob", start, absl::CancelledError("the client went away"));
    }
    if (stopping_.load()) {
      return FinishCall(metrics_, "WatchJob", start,
                        absl::UnavailableError("the server is shutting down"));
    }
    for (const v1::JobEvent& event :
         (*m)->WaitForEvents(request->id(), &cursor, absl::Now() + kWatchPoll)) {
      if (!writer->Write(event)) {
        return FinishCall(metrics_, "WatchJob", start,
                          absl::CancelledError("the client went away"));
      }
      if (IsFinalJobState(event.job().state())) done = true;
    }
  }
  return FinishCall(metrics_, "WatchJob", start, absl::OkStatus());
}

}  // namespace llm2vec
