#include "server/service/embedding_engine.h"

#include <algorithm>
#include <exception>
#include <iostream>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/exception_status.h"
#include "server/service/vector_ops.h"
#include "server/service/wire_conversion.h"

namespace llm2vec {
namespace {

Admission::Options AdmissionOptions(const EmbeddingEngine::Options& options) {
  Admission::Options admission;
  admission.max_queue_requests = options.worker.queue.max_queue_requests;
  return admission;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

}  // namespace

// The shared state of one call's inputs; done when every input has a
// result or one failed.
struct PendingRequest {
  explicit PendingRequest(size_t n) : results(n), remaining(static_cast<int64_t>(n)) {}

  void Complete(size_t index, Embedding e, absl::Duration queued, absl::Duration inference) {
    absl::MutexLock lock(&mu);
    if (finished) return;
    results[index] = std::move(e);
    max_queue = std::max(max_queue, queued);
    max_inference = std::max(max_inference, inference);
    if (--remaining == 0) Finish();
  }
  void Fail(absl::Status s) {
    absl::MutexLock lock(&mu);
    if (finished) return;
    status = std::move(s);
    Finish();
  }
  // The client went away before the results were all in.
  void Gone() {
    absl::MutexLock lock(&mu);
    if (finished) return;
    client_gone.store(true);
    Finish();
  }
  void Finish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    finished = true;
    done.Notify();
  }

  absl::Mutex mu;
  std::vector<Embedding> results ABSL_GUARDED_BY(mu);
  int64_t remaining ABSL_GUARDED_BY(mu);
  bool finished ABSL_GUARDED_BY(mu) = false;
  absl::Status status ABSL_GUARDED_BY(mu);
  absl::Duration max_queue ABSL_GUARDED_BY(mu) = absl::ZeroDuration();
  absl::Duration max_inference ABSL_GUARDED_BY(mu) = absl::ZeroDuration();
  absl::Notification done;
  std::atomic<bool> client_gone{false};
};

// One input of a request: the work of its EmbedTask.
struct EmbedWork {
  std::shared_ptr<PendingRequest> request;
  size_t index = 0;
  PreparedInput input;
};

EmbeddingEngine::EmbeddingEngine(std::unique_ptr<Backend> backend, const Options& options,
                                 Clock* clock, Metrics* metrics)
    : backend_(std::move(backend)),
      options_(options),
      clock_(clock),
      metrics_(metrics),
      watcher_(std::make_unique<CallWatcher>(options.cancel_poll)),
      admission_(AdmissionOptions(options)) {
  const int64_t model_max = backend_->info().max_position_embeddings;
  max_input_tokens_ = options_.max_input_tokens > 0 ? options_.max_input_tokens : model_max;
}

absl::StatusOr<std::unique_ptr<EmbeddingEngine>> EmbeddingEngine::Create(
    std::unique_ptr<Backend> backend, const Options& options, Clock* clock, Metrics* metrics) {
  if (backend == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("engine needs a backend and a clock");
  }
  if (options.max_inputs_per_request <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_inputs_per_request ", options.max_inputs_per_request, " must be > 0"));
  }
  if (options.max_input_bytes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_input_bytes ", options.max_input_bytes, " must be > 0"));
  }
  if (options.max_input_tokens < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_input_tokens ", options.max_input_tokens, " must be >= 0"));
  }
  std::unique_ptr<EmbeddingEngine> engine(
      new EmbeddingEngine(std::move(backend), options, clock, metrics));
  if (engine->max_input_tokens_ > options.worker.queue.max_batch_tokens) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_input_tokens ", engine->max_input_tokens_, " exceeds max_batch_tokens ",
        options.worker.queue.max_batch_tokens, ": the longest input could never run"));
  }
  EmbeddingEngine* self = engine.get();
  auto worker = DeviceWorker::Create(
      options.worker, clock, [self](EmbedBatch batch) { self->ProcessBatch(std::move(batch)); },
      [self](absl::Time next) { return self->RunControlWork(next); });
  if (!worker.ok()) return worker.status();
  engine->worker_ = std::move(*worker);
  return engine;
}

EmbeddingEngine::~EmbeddingEngine() { Shutdown(absl::ZeroDuration()); }

void EmbeddingEngine::BeginShutdown(absl::Duration drain_timeout) {
  shutting_down_.store(true);
  if (worker_ != nullptr) worker_->BeginShutdown(drain_timeout);
}

void EmbeddingEngine::Shutdown(absl::Duration drain_timeout) {
  shutting_down_.store(true);
  if (worker_ != nullptr) worker_->Shutdown(drain_timeout);
  // Control work that never ran (the worker is gone) is answered, never run
  // on this thread; none is queued from now on.
  std::deque<ControlWork> left;
  {
    absl::MutexLock lock(&control_mu_);
    control_closed_ = true;
    left.swap(control_);
  }
  for (ControlWork& work : left) {
    *work.result = absl::UnavailableError("the server stopped before the work could run");
    work.done->Notify();
  }
}

std::vector<std::string> EmbeddingEngine::AdapterNames() const { return adapters_.Names(); }

absl::Status EmbeddingEngine::RunInputs(
    const google::protobuf::RepeatedPtrField<v1::EmbedInput>& inputs,
    const v1::EmbedOptions& options, const CallContext& call, std::vector<Embedding>* out,
    v1::Usage* usage, v1::Timing* timing) {
  const absl::Time start = clock_->Now();
  if (shutting_down_.load()) {
    if (metrics_ != nullptr) metrics_->Rejected("shutdown");
    return absl::UnavailableError("the server is shutting down");
  }
  // Validate the request as a whole.
  if (inputs.empty()) return absl::InvalidArgumentError("inputs is empty");
  if (inputs.size() > options_.max_inputs_per_request) {
    return absl::InvalidArgumentError(absl::StrCat("inputs has ", inputs.size(),
                                                   " entries; max_inputs_per_request is ",
                                                   options_.max_inputs_per_request));
  }
  int64_t input_bytes = 0;
  if (absl::Status s = CheckInputBytes(inputs, &input_bytes); !s.ok()) return s;
  const Backend::Info& info = backend_->info();
  auto settings = EmbedSettingsFromProto(options, info.default_pooling, info.hidden_size);
  if (!settings.ok()) return settings.status();
  if (!settings->adapter.empty()) {
    if (absl::Status s = adapters_.CheckLoaded(settings->adapter); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("options.", s.message()));
    }
  }
  // A full queue refuses before any tokenizing: under overload the
  // refusals must stay cheap. (Schedule re-checks exactly, with tokens.)
  if (absl::Status s = admission_.AdmitToQueue(worker_->stats().queued_requests, inputs.size());
      !s.ok()) {
    if (metrics_ != nullptr) metrics_->Rejected("queue_full");
    return s;
  }
  // The same for a deadline that the queue ahead and this request's likely
  // tokens make unmeetable (under overload most refusals are these).
  if (absl::Status s = AdmitByDeadline(
          start, admission_.EstimateTokens(inputs.size(), input_bytes), call.deadline);
      !s.ok()) {
    return s;
  }
  // Tokenize on this (RPC) thread.
  auto request = std::make_shared<PendingRequest>(inputs.size());
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  std::vector<std::unique_ptr<EmbedTask>> tasks;
  tasks.reserve(inputs.size());
  int64_t total_tokens = 0;
  for (int i = 0; i < inputs.size(); ++i) {
    auto input = EncodeInputFromProto(inputs[i], i);
    if (!input.ok()) return input.status();
    auto prepared = backend_->Prepare(*input, max_input_tokens_, settings->truncation);
    if (!prepared.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "inputs[", i, "] ", prepared.status().message(),
          settings->truncation == Truncation::kNone ? " (max_input_tokens; set truncate)" : ""));
    }
    if (prepared->pooled <= 0 && settings->pooling != PoolingMode::kBosToken &&
        settings->pooling != PoolingMode::kNone) {
      return absl::InvalidArgumentError(absl::StrCat(
          "inputs[", i, "] has no text tokens to pool (empty text?) with ",
          PoolingModeName(settings->pooling), " pooling"));
    }
    auto task = std::make_unique<EmbedTask>();
    task->tokens = static_cast<int64_t>(prepared->ids.size());
    task->priority = settings->priority;
    task->deadline = call.deadline;
    task->key = BatchKey{settings->adapter, static_cast<int>(settings->pooling)};
    task->cancelled = cancelled;
    task->work = std::make_shared<EmbedWork>();
    task->work->request = request;
    task->work->index = static_cast<size_t>(i);
    task->work->input = std::move(*prepared);
    task->on_dropped = [request, metrics = metrics_](absl::Status s) {
      if (metrics != nullptr) {
        metrics->Dropped(absl::IsDeadlineExceeded(s) ? "deadline"
                         : absl::IsCancelled(s)      ? "cancelled"
                                                     : "shutdown",
                         1);
      }
      request->Fail(std::move(s));
    };
    total_tokens += task->tokens;
    if (metrics_ != nullptr) metrics_->InputLength(task->tokens);
    tasks.push_back(std::move(task));
  }
  const absl::Time tokenized = clock_->Now();
  admission_.RecordTokens(inputs.size(), total_tokens);
  // Every token's state goes back: bound the answer.
  constexpr int64_t kMaxStateValues = int64_t{1} << 24;
  if (settings->pooling == PoolingMode::kNone &&
      total_tokens * info.hidden_size > kMaxStateValues) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.pooling POOLING_NONE: ", total_tokens, " tokens x ", info.hidden_size,
        " values is over the limit of ", kMaxStateValues, " values per request; send fewer inputs"));
  }
  if (metrics_ != nullptr) {
    metrics_->Tokenized(absl::ToDoubleSeconds(tokenized - start), inputs.size(), total_tokens);
  }
  if (call.deadline <= tokenized) {
    return absl::DeadlineExceededError("the deadline passed before the request was queued");
  }
  if (absl::Status s = AdmitByDeadline(tokenized, total_tokens, call.deadline); !s.ok()) {
    return s;
  }
  if (absl::Status s = worker_->Schedule(std::move(tasks)); !s.ok()) {
    if (metrics_ != nullptr) {
      metrics_->Rejected(absl::IsResourceExhausted(s) ? "queue_full"
                         : absl::IsUnavailable(s)     ? "shutdown"
                                                      : "invalid");
    }
    return s;
  }
  if (metrics_ != nullptr) {
    BatchQueue::Stats stats = worker_->stats();
    metrics_->SetQueueDepth(stats.queued_requests, stats.queued_tokens);
  }
  // Wait; the watcher thread ends the wait if the client goes away.
  const int64_t watch =
      call.is_cancelled ? watcher_->Add(call.is_cancelled, [request] { request->Gone(); }) : -1;
  request->done.WaitForNotification();
  if (watch >= 0) watcher_->Remove(watch);
  if (request->client_gone.load()) {
    if (clock_->Now() >= call.deadline) {
      // gRPC cancels a call at its deadline: the queue drops the tasks as
      // expired (and counts them so) the next time it looks.
      worker_->Wake();
      return absl::DeadlineExceededError("the deadline passed while the request was queued");
    }
    cancelled->store(true);
    worker_->Wake();  // so the queue drops the tasks now
    return absl::CancelledError("the client cancelled the call");
  }
  absl::MutexLock lock(&request->mu);
  if (!request->status.ok()) return request->status;
  for (size_t i = 0; i < request->results.size(); ++i) {
    Embedding& e = request->results[i];
    if (!AllFinite(e.values)) {
      return absl::InternalError(absl::StrCat(
          "inputs[", i, "]: the model produced a non-finite embedding value (NaN or infinity)"));
    }
    TruncateAndNormalize(&e.values, settings->dimensions, settings->normalize);
  }
  *out = std::move(request->results);
  usage->set_prompt_tokens(total_tokens);
  usage->set_total_tokens(total_tokens);
  timing->set_tokenize_ms(Ms(tokenized - start));
  timing->set_queue_ms(Ms(request->max_queue));
  timing->set_inference_ms(Ms(request->max_inference));
  timing->set_total_ms(Ms(clock_->Now() - start));
  return absl::OkStatus();
}

void EmbeddingEngine::ProcessBatch(EmbedBatch batch) {
  // The device worker's edge: whatever a batch throws fails its requests
  // instead of ending the process.
  std::vector<std::shared_ptr<PendingRequest>> requests;
  for (const auto& task : batch.tasks) {
    if (task->work != nullptr) requests.push_back(task->work->request);
  }
  try {
    RunBatch(std::move(batch));
  } catch (const std::exception& e) {
    const absl::Status failed = StdExceptionStatus(e, "the batch");
    for (const auto& request : requests) request->Fail(failed);
  }
}

void EmbeddingEngine::RunBatch(EmbedBatch batch) {
  const absl::Time started = clock_->Now();
  const std::string& adapter = batch.key.adapter;
  std::shared_ptr<const Backend::Adapter> lora;
  if (!adapter.empty()) lora = adapters_.Find(adapter);
  std::vector<PreparedInput> inputs;
  std::vector<std::shared_ptr<EmbedWork>> works;
  std::vector<absl::Time> enqueued;
  for (auto& task : batch.tasks) {
    std::shared_ptr<EmbedWork> work = std::move(task->work);
    if (task->is_cancelled()) {
      work->request->Fail(absl::CancelledError("the client cancelled the call"));
      continue;
    }
    if (!adapter.empty() && lora == nullptr) {
      work->request->Fail(absl::NotFoundError(
          absl::StrCat("adapter '", adapter, "' was unloaded before the request ran")));
      continue;
    }
    if (metrics_ != nullptr) metrics_->Queued(absl::ToDoubleSeconds(started - task->enqueued));
    inputs.push_back(work->input);
    works.push_back(std::move(work));
    enqueued.push_back(task->enqueued);
  }
  if (inputs.empty()) return;
  auto result = backend_->Embed(inputs, static_cast<PoolingMode>(batch.key.pooling), lora.get());
  const absl::Time finished = clock_->Now();
  int64_t real_tokens = 0, longest = 0;
  for (const PreparedInput& in : inputs) {
    real_tokens += static_cast<int64_t>(in.ids.size());
    longest = std::max<int64_t>(longest, static_cast<int64_t>(in.ids.size()));
  }
  admission_.RecordBatch(started, finished, real_tokens, worker_->stats().queued_requests > 0);
  if (metrics_ != nullptr) {
    metrics_->Batch(absl::ToDoubleSeconds(finished - started), static_cast<int64_t>(inputs.size()),
                    real_tokens, longest * static_cast<int64_t>(inputs.size()),
                    result.ok() ? result->forward_passes : 0);
    // (Resident memory is refreshed by server_main every few seconds, not
    // here: reading /proc per batch is work on the device thread.)
    if (auto bytes = backend_->DeviceMemoryInUse()) {
      metrics_->SetDeviceMemory(*bytes);
    }
  }
  for (size_t i = 0; i < works.size(); ++i) {
    if (!result.ok()) {
      works[i]->request->Fail(result.status());
    } else {
      works[i]->request->Complete(works[i]->index, std::move(result->embeddings[i]),
                                  started - enqueued[i], finished - started);
    }
  }
}

absl::Status EmbeddingEngine::CheckInputBytes(
    const google::protobuf::RepeatedPtrField<v1::EmbedInput>& inputs, int64_t* total) const {
  int64_t sum = 0;
  for (int i = 0; i < inputs.size(); ++i) {
    // A token id counts as the 4 bytes it takes.
    const int64_t bytes = static_cast<int64_t>(inputs[i].text().size() +
                                               inputs[i].instruction().size()) +
                          4 * static_cast<int64_t>(inputs[i].token_ids_size());
    sum += bytes;
    if (bytes > options_.max_input_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("inputs[", i, "] is ", bytes, " bytes",
                       inputs[i].token_ids_size() > 0 ? " (4 per token id)" : "",
                       "; max_input_bytes is ", options_.max_input_bytes));
    }
  }
  if (total != nullptr) *total = sum;
  return absl::OkStatus();
}

absl::StatusOr<v1::EmbedResponse> EmbeddingEngine::Embed(const v1::EmbedRequest& request,
                                                         const CallContext& call) {
  // Echoed back: bounded like every other field.
  constexpr size_t kMaxRequestIdBytes = 256;
  if (request.request_id().size() > kMaxRequestIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("request_id is ", request.request_id().size(),
                                                   " bytes; at most ", kMaxRequestIdBytes));
  }
  std::vector<Embedding> embeddings;
  v1::EmbedResponse response;
  if (auto s = RunInputs(request.inputs(), request.options(), call, &embeddings,
                         response.mutable_usage(), response.mutable_timing());
      !s.ok()) {
    return s;
  }
  response.set_request_id(request.request_id());
  for (const Embedding& e : embeddings) {
    EmbeddingToProto(e, request.options().encoding(), response.add_embeddings());
  }
  return response;
}

absl::StatusOr<v1::SimilarityResponse> EmbeddingEngine::Similarity(
    const v1::SimilarityRequest& request, const CallContext& call) {
  if (request.options().pooling() == v1::POOLING_NONE) {
    return absl::InvalidArgumentError(
        "options.pooling POOLING_NONE: Similarity compares pooled embeddings");
  }
  auto inputs = SimilarityInputs(request);
  if (!inputs.ok()) return inputs.status();
  std::vector<Embedding> embeddings;
  v1::SimilarityResponse response;
  if (auto s = RunInputs(*inputs, request.options(), call, &embeddings, response.mutable_usage(),
                         response.mutable_timing());
      !s.ok()) {
    return s;
  }
  FillSimilarity(request, embeddings, &response);
  return response;
}

absl::StatusOr<v1::TokenizeResponse> EmbeddingEngine::Tokenize(
    const v1::TokenizeRequest& request) const {
  if (request.inputs().empty()) return absl::InvalidArgumentError("inputs is empty");
  if (request.inputs_size() > options_.max_inputs_per_request) {
    return absl::InvalidArgumentError(absl::StrCat("inputs has ", request.inputs_size(),
                                                   " entries; max_inputs_per_request is ",
                                                   options_.max_inputs_per_request));
  }
  if (absl::Status s = CheckInputBytes(request.inputs()); !s.ok()) return s;
  v1::TokenizeResponse response;
  // The answer holds a string per token: at most as many tokens as may
  // wait in the queue (what one Embed call could ask of the server).
  const int64_t max_tokens = options_.worker.queue.max_queue_tokens;
  int64_t total = 0;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const v1::EmbedInput& in = request.inputs(i);
    if (in.token_ids_size() > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("inputs[", i, "].token_ids: Tokenize takes text; these are token ids already"));
    }
    // What the model sees: "{instruction} {text}", as Prepare builds it.
    const std::string full = ModelText({in.text(), in.instruction()});
    std::vector<Backend::Token> tokens = backend_->Tokenize(full, request.add_special_tokens());
    total += static_cast<int64_t>(tokens.size());
    if (total > max_tokens) {
      return absl::InvalidArgumentError(absl::StrCat(
          "inputs[0..", i, "] come to ", total, " tokens; a Tokenize call returns at most ",
          max_tokens, " (max_queue_tokens)"));
    }
    auto* out = response.add_tokens();
    for (const Backend::Token& t : tokens) {
      out->add_ids(t.id);
      out->add_pieces(t.piece);
      out->add_special(t.special);
      out->add_texts(t.text);
    }
  }
  return response;
}

absl::StatusOr<std::vector<std::string>> EmbeddingEngine::Decode(
    const std::vector<std::vector<int32_t>>& ids, bool skip_special_tokens) const {
  if (ids.empty()) return absl::InvalidArgumentError("ids is empty");
  if (static_cast<int64_t>(ids.size()) > options_.max_inputs_per_request) {
    return absl::InvalidArgumentError(absl::StrCat("ids has ", ids.size(),
                                                   " lists; max_inputs_per_request is ",
                                                   options_.max_inputs_per_request));
  }
  const int64_t max_ids = options_.worker.queue.max_queue_tokens;
  int64_t total = 0;
  for (const auto& list : ids) total += static_cast<int64_t>(list.size());
  if (total > max_ids) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ids has ", total, " ids in all; a Decode call takes at most ", max_ids,
        " (max_queue_tokens)"));
  }
  std::vector<std::string> texts;
  texts.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto text = backend_->Decode(ids[i], skip_special_tokens);
    if (!text.ok()) {
      return absl::Status(text.status().code(),
                          absl::StrCat(ids.size() > 1 ? absl::StrCat("ids[", i, "]") : "ids", ": ",
                                       text.status().message()));
    }
    texts.push_back(std::move(*text));
  }
  return texts;
}

v1::InfoResponse EmbeddingEngine::Info() const {
  const Backend::Info& b = backend_->info();
  v1::InfoResponse info;
  info.set_model_id(options_.model_id);
  info.set_architecture(b.architecture);
  info.set_hidden_size(static_cast<uint32_t>(b.hidden_size));
  info.set_num_layers(static_cast<uint32_t>(b.num_layers));
  info.set_dtype(b.dtype);
  info.set_device(b.device);
  info.set_attention(b.attention == AttentionMode::kCausal ? "causal" : "bidirectional");
  info.set_default_pooling(PoolingModeName(b.default_pooling));
  info.set_max_input_tokens(static_cast<uint32_t>(max_input_tokens_));
  info.set_max_batch_tokens(static_cast<uint32_t>(options_.worker.queue.max_batch_tokens));
  info.set_max_batch_requests(static_cast<uint32_t>(options_.worker.queue.max_batch_requests));
  info.set_max_forward_tokens(static_cast<uint32_t>(b.max_forward_tokens));
  for (const std::string& name : AdapterNames()) info.add_adapters(name);
  info.set_version(options_.version);
  info.set_format(b.format);
  return info;
}

absl::Status EmbeddingEngine::AdmitByDeadline(absl::Time now, int64_t own_tokens,
                                              absl::Time deadline) {
  absl::Status s =
      admission_.AdmitByDeadline(now, worker_->stats().queued_tokens, own_tokens, deadline);
  if (!s.ok() && metrics_ != nullptr) metrics_->Rejected("deadline_unmeetable");
  return s;
}

absl::Status EmbeddingEngine::RunOnWorker(std::function<absl::Status()> fn) {
  if (shutting_down_.load()) return absl::UnavailableError("the server is shutting down");
  return RunOnDevice(std::move(fn));
}

absl::Status EmbeddingEngine::RunOnDevice(std::function<absl::Status()> fn) {
  ControlWork work{std::move(fn), std::make_shared<absl::Status>(),
                   std::make_shared<absl::Notification>()};
  const std::shared_ptr<absl::Status> result = work.result;
  const std::shared_ptr<absl::Notification> done = work.done;
  {
    absl::MutexLock lock(&control_mu_);
    if (control_closed_) return absl::UnavailableError("the server has stopped");
    control_.push_back(std::move(work));
  }
  worker_->Wake();
  done->WaitForNotification();
  return *result;
}

bool EmbeddingEngine::RunControlWork(absl::Time next_batch_at) {
  std::optional<ControlWork> work;
  std::shared_ptr<DeviceWorker::IdleWork> background;
  {
    absl::MutexLock lock(&control_mu_);
    if (control_.empty()) {
      background = background_;
    } else {
      work = std::move(control_.front());
      control_.pop_front();
    }
  }
  if (work) {
    try {
      *work->result = work->fn();
    } catch (const std::exception& e) {
      *work->result = StdExceptionStatus(e, "device work");
    }
    work->done->Notify();
    return true;
  }
  if (background == nullptr) return false;
  try {
    return (*background)(next_batch_at);
  } catch (const std::exception& e) {
    std::cerr << "llm2vec-server: " << StdExceptionStatus(e, "background work").message() << std::endl;
    return true;
  }
}

void EmbeddingEngine::SetBackgroundWork(DeviceWorker::IdleWork work) {
  {
    absl::MutexLock lock(&control_mu_);
    background_ = work ? std::make_shared<DeviceWorker::IdleWork>(std::move(work)) : nullptr;
  }
  worker_->Wake();
}

absl::StatusOr<std::string> EmbeddingEngine::AdapterPath(const std::string& name) const {
  return adapters_.Path(name);
}

absl::Status EmbeddingEngine::LoadAdapter(const std::string& name, const std::string& path) {
  return LoadAdapter(name, FolderReader::AtPath(path));
}

absl::Status EmbeddingEngine::LoadAdapter(const std::string& name,
                                          std::shared_ptr<const FolderReader> folder) {
  if (absl::Status s = adapters_.CheckNewName(name); !s.ok()) return s;
  // Tensors are created on the device worker, between batches.
  return RunOnWorker([this, name, folder]() -> absl::Status {
    auto weights = backend_->LoadAdapter(*folder);
    if (!weights.ok()) return weights.status();
    if (absl::Status s = adapters_.Insert(name, *std::move(weights), folder->path()); !s.ok()) {
      return s;
    }
    if (metrics_ != nullptr) metrics_->SetAdaptersLoaded(adapters_.size());
    return absl::OkStatus();
  });
}

absl::Status EmbeddingEngine::UnloadAdapter(const std::string& name) {
  return RunOnWorker([this, name]() -> absl::Status {
    if (absl::Status s = adapters_.Remove(name); !s.ok()) return s;
    if (metrics_ != nullptr) metrics_->SetAdaptersLoaded(adapters_.size());
    return absl::OkStatus();
  });
}

absl::Status EmbeddingEngine::Warmup() {
  google::protobuf::RepeatedPtrField<v1::EmbedInput> inputs;
  inputs.Add()->set_text("Warm-up: the first forward pass allocates and initialises.");
  v1::EmbedOptions options;
  options.set_truncate(v1::TRUNCATE_END);  // whatever max_input_tokens is
  std::vector<Embedding> out;
  v1::Usage usage;
  v1::Timing timing;
  CallContext call;
  call.method = "warmup";
  return RunInputs(inputs, options, call, &out, &usage, &timing);
}

}  // namespace llm2vec
