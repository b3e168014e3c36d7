// The gRPC face of the TrainingManager: llm2vec.v1.TrainingService. Until
// SetManager every call answers UNAVAILABLE (the model is loading, or
// training is disabled: the server runs without --state-dir).
//
// Every method needs the role train (call_auth.h). A job records the key
// that submitted it; a caller without admin sees and acts on its own jobs
// only: another's job answers NOT_FOUND, as a missing one does.
//
// Threading: handlers run on gRPC's thread pool, all at once; WatchJob
// holds one of those threads for as long as the client watches.
#ifndef LLM2VEC_SERVER_TRAINING_TRAINING_SERVICE_H_
#define LLM2VEC_SERVER_TRAINING_TRAINING_SERVICE_H_

#include <atomic>

#include "llm2vec/v1/training.grpc.pb.h"
#include "server/auth/authenticator.h"
#include "server/http/metrics.h"
#include "server/training/training_manager.h"

namespace llm2vec {

class TrainingService final : public v1::TrainingService::Service {
 public:
  // `metrics` and `auth` (null: everyone is admin) must outlive the service.
  TrainingService(Metrics* metrics, const Authenticator* auth) : metrics_(metrics), auth_(auth) {}
  // `manager` must outlive the service (null: not available).
  void SetManager(TrainingManager* manager) { manager_.store(manager); }
  // Ends running WatchJob streams (at shutdown).
  void StopWatches() { stopping_.store(true); }

  grpc::Status Train(grpc::ServerContext* context, const v1::TrainRequest* request,
                     v1::TrainResponse* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                      v1::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const v1::CancelJobRequest* request,
                         v1::Job* response) override;
  grpc::Status ResumeJob(grpc::ServerContext* context, const v1::ResumeJobRequest* request,
                         v1::Job* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context, const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::JobEvent>* writer) override;

  // Implementation details follow.
 private:
  // The manager, or UNAVAILABLE.
  absl::StatusOr<TrainingManager*> manager() const;
  // The job `id` when `caller` may see it; NOT_FOUND otherwise.
  absl::StatusOr<v1::Job> VisibleJob(TrainingManager* manager, const Caller& caller,
                                     const std::string& id) const;

  std::atomic<TrainingManager*> manager_{nullptr};
  std::atomic<bool> stopping_{false};
  Metrics* metrics_;
  const Authenticator* auth_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_TRAINING_TRAINING_SERVICE_H_
