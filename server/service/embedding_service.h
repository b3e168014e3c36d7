// The gRPC face of the EmbeddingEngine: llm2vec.v1.EmbeddingService.
// Each handler turns the call's deadline and cancellation into a
// CallContext, runs the engine, and maps its status through the one table
// (status_codes.h); it records the call in the metrics.
//
// Threading: gRPC's sync server calls handlers on its thread pool; all of
// them may run at once (the engine is thread-safe).
#ifndef LLM2VEC_SERVER_SERVICE_EMBEDDING_SERVICE_H_
#define LLM2VEC_SERVER_SERVICE_EMBEDDING_SERVICE_H_

#include <atomic>

#include "llm2vec/v1/embedding.grpc.pb.h"
#include "server/auth/authenticator.h"
#include "server/http/metrics.h"
#include "server/scheduler/thread_pool.h"
#include "server/service/embedding_engine.h"

namespace llm2vec {

// The folder `path` names under `root` for LoadAdapter, relative to the
// root or absolute inside it, opened beneath the root (OpenBeneath); its
// files are read without following links and may total `max_bytes`.
// NOT_FOUND (one message, whether the path exists elsewhere or not)
// otherwise; FAILED_PRECONDITION when `root` is "".
absl::StatusOr<std::shared_ptr<const FolderReader>> AdapterFolderUnderRoot(
    const std::string& root, const std::string& path, int64_t max_bytes,
    BeneathMode mode = BeneathMode::kAuto);

class EmbeddingService final : public v1::EmbeddingService::Service {
 public:
  struct Options {
    // EmbedStream: requests processed at once per stream (then reading
    // pauses), so a fast writer cannot queue without bound.
    int max_stream_in_flight = 32;
    // Threads that run EmbedStream's in-flight requests, all streams
    // together (each waits for its batch on one of them).
    int stream_threads = 64;
    // LoadAdapter's path must name a folder under this root (relative to
    // it, or absolute inside it, symlinks resolved); "" refuses every
    // LoadAdapter call. Anything else is NOT_FOUND with one message, so
    // the server's other paths cannot be probed.
    std::string adapter_root;
    // Bytes of one adapter folder's files that LoadAdapter reads at most.
    int64_t max_adapter_bytes = int64_t{2} << 30;
    // Who may call: embed for Embed, EmbedStream, Similarity, Tokenize and
    // Info; admin for LoadAdapter and UnloadAdapter. Null: everyone. Not
    // owned; must outlive the service.
    const Authenticator* auth = nullptr;
  };
  // `metrics` (may be null) must outlive the service. Until SetEngine,
  // every call answers UNAVAILABLE ("loading"), so the server can listen
  // (and report NOT_SERVING on health) while the model loads.
  EmbeddingService(Metrics* metrics, const Options& options);
  // `engine` must outlive the service.
  void SetEngine(EmbeddingEngine* engine) { engine_.store(engine); }

  grpc::Status Embed(grpc::ServerContext* context, const v1::EmbedRequest* request,
                     v1::EmbedResponse* response) override;
  grpc::Status EmbedStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::EmbedResponse, v1::EmbedRequest>* stream) override;
  grpc::Status Similarity(grpc::ServerContext* context, const v1::SimilarityRequest* request,
                          v1::SimilarityResponse* response) override;
  grpc::Status Tokenize(grpc::ServerContext* context, const v1::TokenizeRequest* request,
                        v1::TokenizeResponse* response) override;
  grpc::Status Info(grpc::ServerContext* context, const v1::InfoRequest* request,
                    v1::InfoResponse* response) override;
  grpc::Status LoadAdapter(grpc::ServerContext* context, const v1::LoadAdapterRequest* request,
                           v1::LoadAdapterResponse* response) override;
  grpc::Status UnloadAdapter(grpc::ServerContext* context, const v1::UnloadAdapterRequest* request,
                             v1::UnloadAdapterResponse* response) override;

  // Implementation details follow.
 private:
  CallContext MakeCall(grpc::ServerContext* context, const char* method) const;
  // Maps `status`, records it, returns it.
  grpc::Status Finish(const char* method, absl::Time start, const absl::Status& status);

  // The engine, or null while loading.
  EmbeddingEngine* engine() const { return engine_.load(); }

  std::atomic<EmbeddingEngine*> engine_{nullptr};
  Metrics* metrics_;
  Options options_;
  std::unique_ptr<ThreadPool> stream_pool_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVICE_EMBEDDING_SERVICE_H_
