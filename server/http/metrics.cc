#include "server/http/metrics.h"

#include <unistd.h>

#include <exception>
#include <fstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace llm2vec {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// Bucket upper bounds. Latencies span 0.5 ms (a tiny batch on a GPU) to
// 30 s (a long request stuck behind a full queue on a CPU).
const Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *buckets;
}
// Tokenizing one request is usually well under a millisecond.
const Histogram::BucketBoundaries& TokenizeBuckets() {
  static const auto* buckets = new Histogram::BucketBoundaries{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
  return *buckets;
}
// 1, 2, 4, ..., 2^max_exponent.
Histogram::BucketBoundaries PowersOfTwo(int max_exponent) {
  Histogram::BucketBoundaries buckets;
  for (int e = 0; e <= max_exponent; ++e) buckets.push_back(static_cast<double>(int64_t{1} << e));
  return buckets;
}
const Histogram::BucketBoundaries& InputTokenBuckets() {  // up to 128Ki tokens
  static const auto* buckets = new Histogram::BucketBoundaries(PowersOfTwo(17));
  return *buckets;
}
const Histogram::BucketBoundaries& CountBuckets() {  // up to 4096 inputs or tasks
  static const auto* buckets = new Histogram::BucketBoundaries(PowersOfTwo(12));
  return *buckets;
}
const Histogram::BucketBoundaries& BatchTokenBuckets() {  // up to 1Mi tokens
  static const auto* buckets = new Histogram::BucketBoundaries(PowersOfTwo(20));
  return *buckets;
}
// le="0" counts batches without any padding.
const Histogram::BucketBoundaries& FractionBuckets() {
  static const auto* buckets = new Histogram::BucketBoundaries{
      0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
  return *buckets;
}

// Reasons pre-registered at zero so that rate() works from the first scrape.
constexpr const char* kDropReasons[] = {"deadline", "cancelled", "shutdown"};
constexpr const char* kJobStates[] = {"queued",    "running",   "succeeded",
                                     "failed",    "cancelled", "interrupted"};
constexpr const char* kRejectReasons[] = {"queue_full", "deadline_unmeetable", "invalid", "shutdown"};

class PrometheusMetrics : public Metrics {
 public:
  PrometheusMetrics()
      : registry_(std::make_shared<prometheus::Registry>()),
        requests_(prometheus::BuildCounter()
                      .Name("llm2vec_requests_total")
                      .Help("Finished calls by method and outcome (a gRPC status code name).")
                      .Register(*registry_)),
        request_seconds_(prometheus::BuildHistogram()
                             .Name("llm2vec_request_duration_seconds")
                             .Help("Wall time of a finished call, by method.")
                             .Register(*registry_)),
        tokenize_seconds_(
            prometheus::BuildHistogram()
                .Name("llm2vec_tokenize_duration_seconds")
                .Help("Time to tokenize all inputs of one request, on the calling thread.")
                .Register(*registry_)
                .Add({}, TokenizeBuckets())),
        request_inputs_(prometheus::BuildHistogram()
                            .Name("llm2vec_request_size_inputs")
                            .Help("Inputs (texts) in one tokenized request.")
                            .Register(*registry_)
                            .Add({}, CountBuckets())),
        request_tokens_(prometheus::BuildHistogram()
                            .Name("llm2vec_request_size_tokens")
                            .Help("Tokens of all inputs of one tokenized request.")
                            .Register(*registry_)
                            .Add({}, BatchTokenBuckets())),
        input_tokens_(prometheus::BuildHistogram()
                          .Name("llm2vec_input_length_tokens")
                          .Help("Length of one input in tokens, as run (BOS included).")
                          .Register(*registry_)
                          .Add({}, InputTokenBuckets())),
        queue_seconds_(prometheus::BuildHistogram()
                           .Name("llm2vec_queue_duration_seconds")
                           .Help("Time a task waited in the queue before its batch ran.")
                           .Register(*registry_)
                           .Add({}, LatencyBuckets())),
        inference_seconds_(prometheus::BuildHistogram()
                               .Name("llm2vec_inference_duration_seconds")
                               .Help("Time of one batch on the device (forward pass and pooling).")
                               .Register(*registry_)
                               .Add({}, LatencyBuckets())),
        batch_requests_(prometheus::BuildHistogram()
                            .Name("llm2vec_batch_size_requests")
                            .Help("Tasks (inputs) in one batch.")
                            .Register(*registry_)
                            .Add({}, CountBuckets())),
        batch_tokens_(prometheus::BuildHistogram()
                          .Name("llm2vec_batch_size_tokens")
                          .Help("Padded size of one batch (tasks x longest task): what "
                                "attention computes; the other layers skip the padding.")
                          .Register(*registry_)
                          .Add({}, BatchTokenBuckets())),
        padding_fraction_(prometheus::BuildHistogram()
                              .Name("llm2vec_batch_padding_ratio")
                              .Help("Share of a batch's padded size that is padding, 0 to 1 "
                                    "(attention's waste; the other layers skip it).")
                              .Register(*registry_)
                              .Add({}, FractionBuckets())),
        real_tokens_(prometheus::BuildCounter()
                         .Name("llm2vec_batch_real_tokens_total")
                         .Help("Input tokens computed in batches, padding excluded.")
                         .Register(*registry_)
                         .Add({})),
        padded_tokens_(prometheus::BuildCounter()
                           .Name("llm2vec_batch_padded_tokens_total")
                           .Help("Padded sizes of batches (tasks x longest task) summed; "
                                 "1 - real/padded is attention's padding waste.")
                           .Register(*registry_)
                           .Add({})),
        forward_passes_(prometheus::BuildCounter()
                            .Name("llm2vec_forward_passes_total")
                            .Help("Forward passes run; more than batches when the encoder "
                                  "splits a batch above its forward budget (Info's "
                                  "max_forward_tokens).")
                            .Register(*registry_)
                            .Add({})),
        dropped_(prometheus::BuildCounter()
                     .Name("llm2vec_dropped_tasks_total")
                     .Help("Queued tasks dropped before compute, by reason "
                           "(deadline, cancelled, shutdown).")
                     .Register(*registry_)),
        rejected_(prometheus::BuildCounter()
                      .Name("llm2vec_rejected_requests_total")
                      .Help("Requests refused at the door, by reason (queue_full, invalid, "
                            "shutdown).")
                      .Register(*registry_)),
        queue_requests_(prometheus::BuildGauge()
                            .Name("llm2vec_queue_depth_requests")
                            .Help("Tasks waiting in the queue.")
                            .Register(*registry_)
                            .Add({})),
        queue_tokens_(prometheus::BuildGauge()
                          .Name("llm2vec_queue_depth_tokens")
                          .Help("Tokens of the tasks waiting in the queue.")
                          .Register(*registry_)
                          .Add({})),
        adapters_(prometheus::BuildGauge()
                      .Name("llm2vec_adapters_loaded")
                      .Help("Named LoRA adapters currently loaded.")
                      .Register(*registry_)
                      .Add({})),
        model_load_seconds_(prometheus::BuildGauge()
                                .Name("llm2vec_model_load_seconds")
                                .Help("Time it took to load the model at startup.")
                                .Register(*registry_)
                                .Add({})),
        resident_bytes_(prometheus::BuildGauge()
                            .Name("llm2vec_process_resident_memory_bytes")
                            .Help("Resident memory of the server process (/proc/self/statm).")
                            .Register(*registry_)
                            .Add({})),
        device_bytes_family_(prometheus::BuildGauge()
                                 .Name("llm2vec_device_memory_bytes")
                                 .Help("Memory in use on the GPU (total minus free, as the CUDA runtime "
                                       "reports it); absent on CPU.")
                                 .Register(*registry_)),
        training_jobs_(prometheus::BuildGauge()
                           .Name("llm2vec_training_jobs")
                           .Help("Training jobs by state (queued, running, succeeded, failed, "
                                 "cancelled, interrupted).")
                           .Register(*registry_)),
        training_step_(prometheus::BuildGauge()
                           .Name("llm2vec_training_step")
                           .Help("Optimizer steps done by the running (or last) training job.")
                           .Register(*registry_)
                           .Add({})),
        training_loss_(prometheus::BuildGauge()
                           .Name("llm2vec_training_loss")
                           .Help("Loss of the last optimizer step of the running (or last) job.")
                           .Register(*registry_)
                           .Add({})),
        training_tokens_per_second_(
            prometheus::BuildGauge()
                .Name("llm2vec_training_tokens_per_second")
                .Help("Training throughput of the running (or last) job, tokens through the "
                      "model per second since it (re)started.")
                .Register(*registry_)
                .Add({})),
        training_steps_(prometheus::BuildCounter()
                            .Name("llm2vec_training_steps_total")
                            .Help("Optimizer steps run by training jobs.")
                            .Register(*registry_)
                            .Add({})),
        training_tokens_(prometheus::BuildCounter()
                             .Name("llm2vec_training_tokens_total")
                             .Help("Tokens run through the model by training steps.")
                             .Register(*registry_)
                             .Add({})),
        training_unit_seconds_(
            prometheus::BuildHistogram()
                .Name("llm2vec_training_unit_duration_seconds")
                .Help("Time one unit of training work (a micro-batch, plus the optimizer step "
                      "and checkpoint after a step's last one) held the device; inference "
                      "waits at most this long for it.")
                .Register(*registry_)
                .Add({}, LatencyBuckets())) {
    for (const char* state : kJobStates) training_jobs_.Add({{"state", state}});
    for (const char* reason : kDropReasons) dropped_.Add({{"reason", reason}});
    for (const char* reason : kRejectReasons) rejected_.Add({{"reason", reason}});
  }

  void RequestDone(absl::string_view method, absl::string_view outcome,
                   double seconds) override {
    requests_.Add({{"method", std::string(method)}, {"outcome", std::string(outcome)}})
        .Increment();
    request_seconds_.Add({{"method", std::string(method)}}, LatencyBuckets()).Observe(seconds);
  }

  void Tokenized(double seconds, int64_t inputs, int64_t tokens) override {
    tokenize_seconds_.Observe(seconds);
    request_inputs_.Observe(static_cast<double>(inputs));
    request_tokens_.Observe(static_cast<double>(tokens));
  }

  void InputLength(int64_t tokens) override { input_tokens_.Observe(static_cast<double>(tokens)); }

  void Queued(double seconds) override { queue_seconds_.Observe(seconds); }

  void Batch(double inference_seconds, int64_t requests, int64_t real_tokens,
             int64_t padded_tokens, int64_t forward_passes) override {
    forward_passes_.Increment(static_cast<double>(forward_passes));
    inference_seconds_.Observe(inference_seconds);
    batch_requests_.Observe(static_cast<double>(requests));
    batch_tokens_.Observe(static_cast<double>(padded_tokens));
    padding_fraction_.Observe(
        padded_tokens > 0 ? 1.0 - static_cast<double>(real_tokens) / padded_tokens : 0.0);
    real_tokens_.Increment(static_cast<double>(real_tokens));
    padded_tokens_.Increment(static_cast<double>(padded_tokens));
  }

  void Dropped(absl::string_view reason, int64_t count) override {
    dropped_.Add({{"reason", std::string(reason)}}).Increment(static_cast<double>(count));
  }

  void Rejected(absl::string_view reason) override {
    rejected_.Add({{"reason", std::string(reason)}}).Increment();
  }

  void SetQueueDepth(int64_t requests, int64_t tokens) override {
    queue_requests_.Set(static_cast<double>(requests));
    queue_tokens_.Set(static_cast<double>(tokens));
  }

  void SetAdaptersLoaded(int64_t count) override { adapters_.Set(static_cast<double>(count)); }

  void SetModelLoadSeconds(double seconds) override { model_load_seconds_.Set(seconds); }

  void UpdateProcessMemory() override {
    // statm: size resident shared text lib data dt, in pages.
    std::ifstream statm("/proc/self/statm");
    int64_t size_pages = 0, resident_pages = 0;
    if (statm >> size_pages >> resident_pages) {
      resident_bytes_.Set(static_cast<double>(resident_pages) * sysconf(_SC_PAGESIZE));
    }
  }

  void SetDeviceMemory(int64_t bytes) override {
    // Added on first use, so a CPU server exports no device series.
    device_bytes_family_.Add({}).Set(static_cast<double>(bytes));
  }

  void SetTrainingJobs(absl::string_view state, int64_t count) override {
    training_jobs_.Add({{"state", std::string(state)}}).Set(static_cast<double>(count));
  }

  void TrainingStep(int64_t step, double loss, double tokens_per_second,
                    int64_t tokens) override {
    training_step_.Set(static_cast<double>(step));
    training_loss_.Set(loss);
    training_tokens_per_second_.Set(tokens_per_second);
    training_steps_.Increment();
    training_tokens_.Increment(static_cast<double>(tokens));
  }

  void TrainingUnit(double seconds) override { training_unit_seconds_.Observe(seconds); }

  std::shared_ptr<prometheus::Registry> registry() override { return registry_; }

 private:
  // The families and metrics below live in the registry; the references
  // stay valid as long as it does.
  std::shared_ptr<prometheus::Registry> registry_;
  Family<Counter>& requests_;
  Family<Histogram>& request_seconds_;
  Histogram& tokenize_seconds_;
  Histogram& request_inputs_;
  Histogram& request_tokens_;
  Histogram& input_tokens_;
  Histogram& queue_seconds_;
  Histogram& inference_seconds_;
  Histogram& batch_requests_;
  Histogram& batch_tokens_;
  Histogram& padding_fraction_;
  Counter& real_tokens_;
  Counter& padded_tokens_;
  Counter& forward_passes_;
  Family<Counter>& dropped_;
  Family<Counter>& rejected_;
  Gauge& queue_requests_;
  Gauge& queue_tokens_;
  Gauge& adapters_;
  Gauge& model_load_seconds_;
  Gauge& resident_bytes_;
  Family<Gauge>& device_bytes_family_;
  Family<Gauge>& training_jobs_;
  Gauge& training_step_;
  Gauge& training_loss_;
  Gauge& training_tokens_per_second_;
  Counter& training_steps_;
  Counter& training_tokens_;
  Histogram& training_unit_seconds_;
};

class PrometheusExposer : public MetricsExposer {
 public:
  PrometheusExposer(std::unique_ptr<prometheus::Exposer> exposer,
                    std::shared_ptr<prometheus::Registry> registry, int port)
      : exposer_(std::move(exposer)), registry_(std::move(registry)), port_(port) {}

  int port() const override { return port_; }

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  // The exposer holds only a weak_ptr; this keeps the registry alive.
  std::shared_ptr<prometheus::Registry> registry_;
  int port_;
};

}  // namespace

std::unique_ptr<Metrics> Metrics::Create() { return std::make_unique<PrometheusMetrics>(); }

absl::StatusOr<std::unique_ptr<MetricsExposer>> MetricsExposer::Start(
    const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics port is ", port, "; expected 0..65535"));
  }
  if (registry == nullptr) return absl::InvalidArgumentError("metrics registry is null");
  // civetweb wants IPv6 addresses in brackets: [::]:9090.
  // An empty host listens on all IPv4 addresses.
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  const std::string bind = host.empty() ? absl::StrCat(port)
                                        : absl::StrCat(ipv6 ? "[" : "", host, ipv6 ? "]" : "", ":", port);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(bind, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", bind, ": ", e.what()));
  }
  exposer->RegisterCollectable(registry);
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::InternalError(absl::StrCat("metrics server on ", bind, " reports no port"));
  }
  return std::make_unique<PrometheusExposer>(std::move(exposer), std::move(registry), ports[0]);
}

}  // namespace llm2vec
