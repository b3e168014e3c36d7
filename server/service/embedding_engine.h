// The service's core, independent of the transport: validates and
// tokenizes requests on the calling (RPC or HTTP) thread, schedules one
// task per input on the DeviceWorker, waits for the results, and builds the
// wire responses. The gRPC service (embedding_service.h) and the
// OpenAI-compatible HTTP endpoint (http_server.h) both call it.
//
// Its parts, one job each: Admission (queue bounds, deadline estimates),
// AdapterRegistry (named adapters), wire_conversion (options in, responses
// out), and the Backend (the model; TorchBackend runs the Encoder). The
// engine itself ties them to the DeviceWorker: it schedules tasks, runs
// batches and control work (adapter loads) on the worker, and waits.
//
// Named LoRA adapters are served unmerged on top of the (possibly merged)
// base; loading and unloading them runs on the device worker between
// batches, so traffic is never disturbed.
//
// Threading: every public method is thread-safe and may block the calling
// thread until its work is done. No method touches a tensor: tokenization
// is the Backend's thread-safe Prepare, and all model work runs on the one
// worker thread.
#ifndef LLM2VEC_SERVER_SERVICE_EMBEDDING_ENGINE_H_
#define LLM2VEC_SERVER_SERVICE_EMBEDDING_ENGINE_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "llm2vec/v1/embedding.pb.h"
#include "server/http/metrics.h"
#include "server/scheduler/call_watcher.h"
#include "server/scheduler/clock.h"
#include "server/scheduler/device_worker.h"
#include "server/service/adapter_registry.h"
#include "server/service/admission.h"
#include "server/service/backend.h"

namespace llm2vec {

// What a transport knows about one call.
struct CallContext {
  // The client's deadline (InfiniteFuture() when none).
  absl::Time deadline = absl::InfiniteFuture();
  // Polled while waiting; true when the client went away.
  std::function<bool()> is_cancelled;
  // "Embed", "Similarity", ... for metrics.
  std::string method;
};

class EmbeddingEngine {
 public:
  struct Options {
    // Reported by Info.
    std::string model_id;
    std::string version = "0.1.0";
    // Longest input in tokens (BOS included); 0 = the model's
    // max_position_embeddings.
    int64_t max_input_tokens = 0;
    // Most inputs in one request.
    int64_t max_inputs_per_request = 2048;
    // Most bytes of one input (text and instruction), checked before any
    // tokenizing: a client cannot make the server tokenize megabytes for
    // one embedding (what is kept of a long text is at most the model's
    // positions anyway).
    int64_t max_input_bytes = int64_t{1} << 20;
    // Named adapters loaded at once (each holds device memory).
    int64_t max_adapters = 64;
    // Batching and queue bounds.
    DeviceWorker::Options worker;
    // How often one watcher thread checks every waiting call's
    // is_cancelled (see CallWatcher; the calls themselves sleep until
    // done, so the cost does not grow with the number waiting).
    absl::Duration cancel_poll = absl::Milliseconds(50);
  };

  // Takes the backend (and with it the model); starts the device worker.
  // `clock` and `metrics` (may be null) must outlive the engine.
  static absl::StatusOr<std::unique_ptr<EmbeddingEngine>> Create(std::unique_ptr<Backend> backend,
                                                                 const Options& options,
                                                                 Clock* clock, Metrics* metrics);
  ~EmbeddingEngine();

  absl::StatusOr<v1::EmbedResponse> Embed(const v1::EmbedRequest& request,
                                          const CallContext& call);
  absl::StatusOr<v1::SimilarityResponse> Similarity(const v1::SimilarityRequest& request,
                                                    const CallContext& call);
  absl::StatusOr<v1::TokenizeResponse> Tokenize(const v1::TokenizeRequest& request) const;
  // The texts of token-id lists (text-embeddings-inference's /decode), on
  // the calling thread; bounded like Tokenize (inputs per request, and ids
  // in all at most max_queue_tokens).
  absl::StatusOr<std::vector<std::string>> Decode(const std::vector<std::vector<int32_t>>& ids,
                                                  bool skip_special_tokens) const;
  v1::InfoResponse Info() const;

  // Loads a PEFT adapter folder under `name` (NOT_FOUND/INVALID_ARGUMENT
  // from the loader; ALREADY_EXISTS when the name is taken).
  absl::Status LoadAdapter(const std::string& name, const std::string& path);
  // The same through `folder` (confined when a client named it).
  absl::Status LoadAdapter(const std::string& name, std::shared_ptr<const FolderReader> folder);
  // NOT_FOUND when no adapter has that name. Queued requests for it fail
  // with NOT_FOUND.
  absl::Status UnloadAdapter(const std::string& name);
  std::vector<std::string> AdapterNames() const;
  // The folder a loaded adapter came from (NOT_FOUND when none has `name`).
  absl::StatusOr<std::string> AdapterPath(const std::string& name) const;

  // Background device work (training): run by the worker, one short unit
  // per call, only when no inference batch is due and no adapter load or
  // unload is waiting (see DeviceWorker::IdleWork). Replaces any earlier
  // hook; null removes it. Call WakeWorker() when the hook has new work.
  void SetBackgroundWork(DeviceWorker::IdleWork work);
  // Runs `fn` on the device worker between batches (before background
  // work) and waits for its status: how other parts of the server run
  // tensor work (a training job's model load, trainer setup, adapter
  // save). Accepted during the drain; UNAVAILABLE once the worker has
  // stopped (work still queued then is answered so, never run elsewhere).
  // An exception from `fn` becomes INTERNAL (RESOURCE_EXHAUSTED for
  // std::bad_alloc); `fn` must not call back into the engine's device
  // methods.
  absl::Status RunOnDevice(std::function<absl::Status()> fn);
  void WakeWorker() { worker_->Wake(); }

  // Runs one small batch through the model (first-call costs out of the
  // way) before the server reports SERVING.
  absl::Status Warmup();

  // New work is refused with UNAVAILABLE from now on; queued and running
  // work finishes within `drain_timeout`. Shutdown also waits for it.
  void BeginShutdown(absl::Duration drain_timeout);
  void Shutdown(absl::Duration drain_timeout);
  bool shutting_down() const { return shutting_down_.load(); }

  BatchQueue::Stats queue_stats() const { return worker_->stats(); }

  // Implementation details follow.
 private:
  EmbeddingEngine(std::unique_ptr<Backend> backend, const Options& options, Clock* clock,
                  Metrics* metrics);
  // Tokenizes, schedules and waits for `inputs`; fills embeddings (after
  // per-request truncation/normalisation), usage and timing.
  absl::Status RunInputs(const google::protobuf::RepeatedPtrField<v1::EmbedInput>& inputs,
                         const v1::EmbedOptions& options, const CallContext& call,
                         std::vector<Embedding>* out, v1::Usage* usage, v1::Timing* timing);
  // InvalidArgument naming the first input over max_input_bytes; else OK,
  // with *total (when not null) the bytes of all of them.
  absl::Status CheckInputBytes(const google::protobuf::RepeatedPtrField<v1::EmbedInput>& inputs,
                               int64_t* total = nullptr) const;
  // Admission::AdmitByDeadline against the queue now; a refusal is
  // counted.
  absl::Status AdmitByDeadline(absl::Time now, int64_t own_tokens, absl::Time deadline);
  // The device worker's batch processor: RunBatch, with every exception
  // turned into its requests' failure.
  void ProcessBatch(EmbedBatch batch);
  void RunBatch(EmbedBatch batch);
  // RunOnDevice, refused with UNAVAILABLE once shutdown has begun (new
  // adapter loads and unloads).
  absl::Status RunOnWorker(std::function<absl::Status()> fn);
  bool RunControlWork(absl::Time next_batch_at);

  std::unique_ptr<Backend> backend_;
  Options options_;
  Clock* clock_;
  Metrics* metrics_;
  std::unique_ptr<CallWatcher> watcher_;
  int64_t max_input_tokens_ = 0;
  std::atomic<bool> shutting_down_{false};
  // Queue bounds and deadline estimates; the worker records each batch.
  Admission admission_;

  // Written only on the worker thread (loads and unloads run there); RPC
  // threads check names.
  AdapterRegistry adapters_{options_.max_adapters};

  // Work for the device between batches, with where its status goes.
  struct ControlWork {
    std::function<absl::Status()> fn;
    std::shared_ptr<absl::Status> result;
    std::shared_ptr<absl::Notification> done;
  };
  absl::Mutex control_mu_;
  std::deque<ControlWork> control_ ABSL_GUARDED_BY(control_mu_);
  // Set once the worker has stopped: nothing more is queued.
  bool control_closed_ ABSL_GUARDED_BY(control_mu_) = false;
  std::shared_ptr<DeviceWorker::IdleWork> background_ ABSL_GUARDED_BY(control_mu_);

  // Last: started after everything it calls into.
  std::unique_ptr<DeviceWorker> worker_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVICE_EMBEDDING_ENGINE_H_
