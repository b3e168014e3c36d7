// The service's Prometheus metrics, named in one place (metrics.cc, with
// the prefix "llm2vec_") and documented in the README. The engine and the
// transports report events through these methods; the registry is served
// on --metrics-port by MetricsExposer.
//
// Threading: every method is thread-safe (prometheus-cpp metrics are).
#ifndef LLM2VEC_SERVER_HTTP_METRICS_H_
#define LLM2VEC_SERVER_HTTP_METRICS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace llm2vec {

class Metrics {
 public:
  static std::unique_ptr<Metrics> Create();
  virtual ~Metrics() = default;

  // One finished call: method ("Embed", "http_embeddings", ...), outcome
  // (a gRPC code name: "OK", "INVALID_ARGUMENT", ...), wall seconds.
  virtual void RequestDone(absl::string_view method, absl::string_view outcome,
                           double seconds) = 0;
  // Tokenizing one request took `seconds`; its inputs had these lengths.
  virtual void Tokenized(double seconds, int64_t inputs, int64_t tokens) = 0;
  virtual void InputLength(int64_t tokens) = 0;
  // A task waited `seconds` in the queue before its batch ran.
  virtual void Queued(double seconds) = 0;
  // One batch from the queue, run as `forward_passes` forward passes (the
  // encoder splits a batch above its forward budget).
  virtual void Batch(double inference_seconds, int64_t requests, int64_t real_tokens,
                     int64_t padded_tokens, int64_t forward_passes) = 0;
  // Tasks dropped before compute: reason "deadline", "cancelled", "shutdown".
  virtual void Dropped(absl::string_view reason, int64_t count) = 0;
  // Work refused at the door: reason "queue_full", "invalid", "shutdown".
  virtual void Rejected(absl::string_view reason) = 0;
  virtual void SetQueueDepth(int64_t requests, int64_t tokens) = 0;
  virtual void SetAdaptersLoaded(int64_t count) = 0;
  virtual void SetModelLoadSeconds(double seconds) = 0;
  // Reads /proc/self for resident memory.
  virtual void UpdateProcessMemory() = 0;
  // Bytes allocated on the GPU (not reported on CPU).
  virtual void SetDeviceMemory(int64_t bytes) = 0;

  // Training jobs: how many are in each state ("queued", "running",
  // "succeeded", "failed", "cancelled", "interrupted").
  virtual void SetTrainingJobs(absl::string_view state, int64_t count) = 0;
  // One optimizer step of the running job finished.
  virtual void TrainingStep(int64_t step, double loss, double tokens_per_second,
                            int64_t tokens) = 0;
  // One unit of training work (a micro-batch) held the device this long.
  virtual void TrainingUnit(double seconds) = 0;

  virtual std::shared_ptr<prometheus::Registry> registry() = 0;
};

// Serves a registry as Prometheus text on http://HOST:PORT/metrics.
class MetricsExposer {
 public:
  // port 0 picks a free port (see port()).
  static absl::StatusOr<std::unique_ptr<MetricsExposer>> Start(
      const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry);
  virtual ~MetricsExposer() = default;
  virtual int port() const = 0;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_HTTP_METRICS_H_
