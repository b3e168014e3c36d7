#include "server/server_app.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/atomic_dir.h"
#include "common/flags.h"
#include "model/nn/encoder.h"
#include "model/nn/model_loader.h"
#include "model/nn/tensor_io.h"
#include "server/auth/authenticator.h"
#include "server/engine_http_api.h"
#include "server/http/http_server.h"
#include "server/http/metrics.h"
#include "server/http/tls.h"
#include "server/scheduler/clock.h"
#include "server/service/embedding_engine.h"
#include "server/service/embedding_service.h"
#include "server/service/torch_backend.h"
#include "server/training/training_manager.h"
#include "server/training/training_service.h"

namespace llm2vec {
namespace {

int Fail(const std::string& message) {
  std::cerr << "llm2vec-server: " << message << "\n";
  return 2;
}

// Fails after the gRPC server started: stop it cleanly first.
int FailServing(grpc::Server* server, const std::string& message) {
  server->Shutdown();
  return Fail(message);
}

// The default --max-training-memory.
int64_t HalfOfPhysicalMemory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return int64_t{8} << 30;
  return static_cast<int64_t>(pages) * page / 2;
}

struct ServerFlags {
  std::string model;
  std::vector<std::string> merge_adapters, adapters, prompts;
  std::string host = "127.0.0.1";
  std::string api_keys;
  std::string tls_cert, tls_key, tls_client_ca;
  bool allow_unauthenticated = false;
  int64_t port = 50051, http_port = 8080, metrics_port = 9090;
  std::string device = "cpu", dtype = "float32";
  std::string attention = "bidirectional", pooling;
  int64_t max_batch_tokens = 16384, max_batch_requests = 256, max_queue_delay_us = 0;
  int64_t max_queue_tokens = 1 << 20, max_queue_requests = 4096, max_input_tokens = 0;
  int64_t max_inputs_per_request = 2048, threads = 0, drain_timeout_s = 30;
  int64_t max_input_bytes = int64_t{1} << 20, max_adapters = 64;
  int64_t max_adapter_bytes = int64_t{2} << 30;
  std::string port_file;
  // Training jobs.
  std::string state_dir, data_root, adapter_root;
  int64_t max_training_steps = 100000, max_training_data_bytes = int64_t{10} << 30;
  int64_t max_training_memory = HalfOfPhysicalMemory();
  int64_t max_queued_jobs = 16, checkpoint_every = 50;
  bool resume_interrupted_jobs = true;
  int64_t training_idle_grace_ms = 5, training_max_wait_ms = 2000;
  int64_t worker_nice = 5;
  int64_t rpc_threads = 256, stream_threads = 64;
};

// Whether `host` only accepts connections from this machine.
bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" ||
         absl::StartsWith(host, "127.");
}

// gRPC's credentials: plain, or TLS from files that gRPC re-reads when they
// change (a rotated Kubernetes Secret is picked up without a restart).
std::shared_ptr<grpc::ServerCredentials> GrpcCredentials(const TlsFiles& files) {
  if (!files.enabled()) return grpc::InsecureServerCredentials();
  constexpr unsigned kRefreshSeconds = 5;
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (files.client_ca.empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        files.key, files.cert, kRefreshSeconds);
  } else {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        files.key, files.cert, files.client_ca, kRefreshSeconds);
  }
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (files.client_ca.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

// $XDG_STATE_HOME/llm2vec, else ~/.local/state/llm2vec, else "".
std::string DefaultStateDir() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
    return absl::StrCat(xdg, "/llm2vec");
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return absl::StrCat(home, "/.local/state/llm2vec");
  }
  return "";
}

}  // namespace

int RunServer(int argc, char** argv, const ServerHooks& hooks) {
  TuneHostMalloc();
  // Debian's abseil is built with Mutex deadlock detection on: every lock
  // then updated a lock-order graph (~1% of the server's CPU under load).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  ServerFlags f;
  FlagSet flags("llm2vec-server",
                "Serves LLM2Vec text embeddings over gRPC (llm2vec.v1.EmbeddingService, with\n"
                "grpc.health.v1 and reflection), HTTP in OpenAI's shape (POST /v1/embeddings,\n"
                "GET /v1/models) and text-embeddings-inference's (POST /embed, /embed_all,\n"
                "/similarity, /tokenize, /decode, GET /info, /health), and Prometheus metrics\n"
                "(/metrics, on their own port).",
                "LLM2VEC_");
  flags.String("model", &f.model, "PATH_OR_ID",
               "Hugging Face folder, .gguf file, PEFT adapter folder, or hub id org/name[@rev]",
               true);
  flags.List("merge-adapter", &f.merge_adapters, "DIR",
             "LoRA adapter merged into the base weights at load (e.g. an MNTP adapter)");
  flags.List("adapter", &f.adapters, "NAME=DIR",
             "LoRA adapter served unmerged under NAME; requests pick it with options.adapter");
  flags.List("prompt", &f.prompts, "NAME=INSTRUCTION",
             "a named instruction for text-embeddings-inference's prompt_name (HTTP /embed, "
             "/embed_all, /similarity, /tokenize), e.g. query=\"Given a question, retrieve "
             "passages that answer it\"");
  flags.String("host", &f.host, "HOST", "address to listen on (0.0.0.0 for all interfaces)");
  flags.String("api-keys", &f.api_keys, "FILE",
               "API key file (lines of NAME ROLES SHA256; `llm2vec api-key` makes them): "
               "every call but health then needs 'authorization: Bearer KEY' with the role "
               "it needs (embed, train, priority, admin). Re-read on SIGHUP");
  flags.String("tls-cert", &f.tls_cert, "FILE",
               "PEM certificate chain: gRPC and HTTP speak TLS (1.2+) with it and --tls-key; "
               "gRPC re-reads changed files within 5 s, HTTP on SIGHUP. Metrics stay plain "
               "HTTP on their own port");
  flags.String("tls-key", &f.tls_key, "FILE", "PEM private key of --tls-cert (unencrypted)");
  flags.String("tls-client-ca", &f.tls_client_ca, "FILE",
               "PEM CA certificates: clients must present a certificate one of them signed "
               "(mutual TLS)");
  flags.Bool("allow-unauthenticated", &f.allow_unauthenticated,
             "listen on a non-loopback --host with neither --api-keys nor --tls-client-ca: "
             "anyone who reaches the ports may embed, train and load adapters (put it behind "
             "a network policy)");
  flags.Int("port", &f.port, "PORT", "gRPC port (0 picks a free one)", 0, 65535);
  flags.Int("http-port", &f.http_port, "PORT", "HTTP port for /v1/embeddings and /health (-1 disables)", -1, 65535);
  flags.Int("metrics-port", &f.metrics_port, "PORT", "Prometheus /metrics port (-1 disables)", -1, 65535);
  flags.String("device", &f.device, "DEVICE", "cpu, cuda or cuda:N");
  flags.String("dtype", &f.dtype, "DTYPE", "compute dtype");
  flags.Choices("dtype", {"float32", "bfloat16", "float16"});
  flags.String("attention", &f.attention, "MODE", "attention mode of every forward pass");
  flags.Choices("attention", {"bidirectional", "causal"});
  flags.String("pooling", &f.pooling, "MODE",
               "default pooling [default: llm2vec_config.json's, else mean]");
  flags.Choices("pooling", {"mean", "weighted_mean", "last_token", "eos_token", "bos_token"});
  flags.Int("max-batch-tokens", &f.max_batch_tokens, "N", "padded tokens per batch", 1);
  flags.Int("max-batch-requests", &f.max_batch_requests, "N", "inputs per batch", 1);
  flags.Int("max-queue-delay-us", &f.max_queue_delay_us, "US",
            "how long a batch that is not full may wait for company (0: dispatch at once)", 0);
  flags.Int("worker-nice", &f.worker_nice, "N",
            "CPU priority of the device worker and its math threads relative to the RPC "
            "threads (0-19; higher yields the cores to them when saturated)", 0, 19);
  flags.Int("rpc-threads", &f.rpc_threads, "N",
            "gRPC threads for calls in progress, at most (one per call, started on demand; "
            "beyond N calls wait for one; a gRPC resource quota)", 1, 100000);
  flags.Int("stream-threads", &f.stream_threads, "N",
            "threads that run EmbedStream requests, all streams together (a stream's "
            "requests beyond them wait for one)", 1, 100000);
  flags.Int("max-queue-tokens", &f.max_queue_tokens, "N",
            "tokens that may wait; beyond, requests fail fast with RESOURCE_EXHAUSTED", 1);
  flags.Int("max-queue-requests", &f.max_queue_requests, "N",
            "inputs that may wait; beyond, RESOURCE_EXHAUSTED", 1);
  flags.Int("max-input-tokens", &f.max_input_tokens, "N",
            "longest input in tokens, BOS included (0: the model's max_position_embeddings)", 0);
  flags.Int("max-inputs-per-request", &f.max_inputs_per_request, "N", "inputs in one request", 1);
  flags.Int("max-adapters", &f.max_adapters, "N", "named adapters loaded at once", 1);
  flags.Bytes("max-adapter-bytes", &f.max_adapter_bytes,
              "bytes of one adapter folder's files LoadAdapter may read", 1);
  flags.Int("max-input-bytes", &f.max_input_bytes, "BYTES",
            "bytes of one input (text + instruction), refused before tokenizing", 1);
  flags.Int("threads", &f.threads, "N", "CPU math threads (0 = all cores)", 0, 1024);
  flags.Int("drain-timeout-s", &f.drain_timeout_s, "S",
            "on SIGTERM, how long queued work may take to finish", 0);
  flags.String("port-file", &f.port_file, "FILE",
               "write the bound ports as JSON here once serving (for tests and supervisors)");
  flags.String("state-dir", &f.state_dir, "DIR",
               "training jobs' database (jobs.db) and checkpoints; \"none\" disables training "
               "[default: $XDG_STATE_HOME/llm2vec, else ~/.local/state/llm2vec]");
  flags.String("training-data-root", &f.data_root, "DIR",
               "Train's data_path is relative to this folder and may not leave it "
               "[default: STATE_DIR/data]");
  flags.String("adapter-root", &f.adapter_root, "DIR",
               "LoadAdapter reads adapter folders only under DIR (paths relative to it, or "
               "absolute inside it); trained adapters are written to DIR/NAME; Train's "
               "base_adapter names are looked up here when not loaded [default: "
               "STATE_DIR/adapters]");
  flags.Int("max-training-steps", &f.max_training_steps, "N", "most steps one job may ask for", 1);
  flags.Int("max-training-data-bytes", &f.max_training_data_bytes, "N",
            "largest training data file", 1);
  flags.Bytes("max-training-memory", &f.max_training_memory,
              "a Train request whose estimated memory (activations of one micro-batch, "
              "attention, LoRA state, on the served model) is above this is refused at submit "
              "(the default is half the machine's memory)",
              1);
  flags.Int("max-queued-jobs", &f.max_queued_jobs, "N",
            "training jobs that may wait; beyond, Train fails with RESOURCE_EXHAUSTED", 1);
  flags.Int("checkpoint-every", &f.checkpoint_every, "N",
            "training steps between checkpoints, unless a job sets its own", 1);
  flags.Int("training-idle-grace-ms", &f.training_idle_grace_ms, "MS",
            "a training unit (one micro-batch) starts only after the device has had no "
            "inference batch for this long", 0);
  flags.Int("training-max-wait-ms", &f.training_max_wait_ms, "MS",
            "under constant inference load, a running job still gets one unit this often "
            "(0: training never waits; inference p99 then includes a unit)", 0);
  flags.Bool("resume-interrupted-jobs", &f.resume_interrupted_jobs,
             "at startup, resume jobs a crash or shutdown interrupted (=false: leave them for "
             "ResumeJob)");
  if (auto s = flags.Parse(argc, argv); !s.ok()) return Fail(std::string(s.message()));
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  // Without keys, listening beyond this machine must be asked for by name,
  // and is said out loud.
  auto auth = std::make_unique<Authenticator>();
  if (!f.api_keys.empty()) {
    auto loaded = Authenticator::FromFile(f.api_keys);
    if (!loaded.ok()) return Fail(absl::StrCat("--api-keys: ", loaded.status().message()));
    auth = std::move(*loaded);
  }
  const TlsFiles tls_files{f.tls_cert, f.tls_key, f.tls_client_ca};
  if (absl::Status s = CheckTlsFiles(tls_files); !s.ok()) return Fail(std::string(s.message()));
  const bool mutual_tls = !f.tls_client_ca.empty();
  if (!IsLoopbackHost(f.host) && !auth->enabled() && !mutual_tls) {
    if (!f.allow_unauthenticated) {
      return Fail(absl::StrCat(
          "--host ", f.host, " accepts connections from other machines, and this server has "
          "neither --api-keys nor --tls-client-ca: anyone who reaches it could embed, train "
          "jobs and load adapters. Give it --api-keys FILE (and --tls-cert/--tls-key), listen "
          "on 127.0.0.1, or pass --allow-unauthenticated behind a network policy"));
    }
    std::cerr << "llm2vec-server: WARNING: listening on " << f.host
              << " without authentication (--allow-unauthenticated)" << std::endl;
  }
  if (f.state_dir.empty()) f.state_dir = DefaultStateDir();
  const bool training_enabled = !(f.state_dir == "none" || f.state_dir.empty());
  // LoadAdapter reads only under the adapter root (trained adapters land
  // there too).
  if (f.adapter_root.empty() && training_enabled) f.adapter_root = f.state_dir + "/adapters";
  std::vector<std::pair<std::string, std::string>> named;
  for (const std::string& a : f.adapters) {
    std::vector<std::string> kv = absl::StrSplit(a, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty() || kv[1].empty()) {
      return Fail(absl::StrCat("--adapter: '", a, "' is not NAME=DIR"));
    }
    named.emplace_back(kv[0], kv[1]);
  }
  std::map<std::string, std::string> prompts;
  for (const std::string& p : f.prompts) {
    std::vector<std::string> kv = absl::StrSplit(p, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty() || kv[1].empty()) {
      return Fail(absl::StrCat("--prompt: '", p, "' is not NAME=INSTRUCTION"));
    }
    if (!prompts.emplace(kv[0], kv[1]).second) {
      return Fail(absl::StrCat("--prompt: '", kv[0], "' is named twice"));
    }
  }

  // Signals are handled by one thread with sigwait; block them everywhere.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A write past a file size limit (ulimit -f) fails with EFBIG, as on a
  // full disk, instead of killing the server; and a peer that goes away
  // mid-write is an error on that connection, not the end of the process.
  ::signal(SIGXFSZ, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);

  auto metrics = Metrics::Create();
  // HTTP and gRPC listen from the start: health reports NOT_SERVING (503 /
  // UNAVAILABLE) until the model is loaded and warm.
  std::atomic<EmbeddingEngine*> engine_ptr{nullptr};
  std::atomic<bool> serving{false};
  std::unique_ptr<HttpTls> http_tls;
  if (tls_files.enabled()) {
    auto created = HttpTls::Create(tls_files);
    if (!created.ok()) return Fail(std::string(created.status().message()));
    http_tls = std::move(*created);
  }
  std::unique_ptr<HttpServer> http;
  if (f.http_port >= 0) {
    HttpServer::Options http_options;
    http_options.host = f.host;
    http_options.port = static_cast<int>(f.http_port);
    http_options.metrics = metrics.get();
    http_options.max_inputs = f.max_inputs_per_request;
    http_options.max_input_bytes = f.max_input_bytes;
    http_options.metrics_port = static_cast<int>(f.metrics_port);
    if (auth->enabled()) http_options.auth = auth.get();
    http_options.tls = http_tls.get();
    EngineHttpOptions api_options;
    api_options.prompts = prompts;
    api_options.max_inputs_per_request = f.max_inputs_per_request;
    auto started = HttpServer::Start(
        http_options, EngineHttpApi(&engine_ptr, &serving, std::move(api_options)), f.model);
    if (!started.ok()) return Fail(absl::StrCat("--http-port: ", started.status().message()));
    http = std::move(*started);
  }
  // gRPC first, so health answers NOT_SERVING while the model loads.
  // gRPC: the service, health checking and reflection.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  EmbeddingService::Options service_options;
  service_options.adapter_root = f.adapter_root;
  service_options.max_adapter_bytes = f.max_adapter_bytes;
  service_options.stream_threads = static_cast<int>(f.stream_threads);
  const Authenticator* call_auth = auth->enabled() ? auth.get() : nullptr;
  service_options.auth = call_auth;
  EmbeddingService service(metrics.get(), service_options);
  TrainingService training_service(metrics.get(), call_auth);
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(absl::StrCat(f.host, ":", f.port), GrpcCredentials(tls_files),
                           &grpc_port);
  builder.RegisterService(&service);
  builder.RegisterService(&training_service);
  builder.SetMaxReceiveMessageSize(64 << 20);
  // gRPC's default keeps 2 idle threads: under concurrent load every call
  // then created a thread and ended it (~150 a second at 64 clients),
  // which cost 5-9% of the forward passes' throughput on a 2-vCPU host.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              static_cast<int>(f.rpc_threads));
  // And no more than that: the sync server starts a thread per call in
  // progress, so without a quota a flood of calls (or slow streams) is a
  // flood of threads. Beyond it, calls wait for a thread.
  grpc::ResourceQuota quota("llm2vec-server");
  quota.SetMaxThreads(static_cast<int>(f.rpc_threads));
  builder.SetResourceQuota(quota);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    return Fail(absl::StrCat("cannot listen on ", f.host, ":", f.port));
  }
  // NOT_SERVING (and UNAVAILABLE from the service) until loaded and warm.
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(false);

  const absl::Time load_start = absl::Now();
  LoadOptions load;
  load.device = f.device;
  load.dtype = f.dtype;
  load.merge_adapters = f.merge_adapters;
  auto model = LoadModel(f.model, load);
  if (!model.ok()) return FailServing(server.get(), std::string(model.status().message()));
  Encoder::Options encoder_options;
  auto cfg = Llm2VecConfigOf(*model);
  if (!cfg.ok()) return FailServing(server.get(), std::string(cfg.status().message()));
  encoder_options.llm2vec = *cfg;
  if (!f.pooling.empty()) encoder_options.llm2vec.pooling_mode = *ParsePoolingMode(f.pooling);
  encoder_options.num_threads = static_cast<int>(f.threads);
  const std::string description =
      absl::StrCat(model->path, " (", model->format, ", ", model->transformer->config().architecture,
                   ", ", f.dtype, " on ", f.device, ")");
  auto encoder = Encoder::Create(std::move(*model), encoder_options);
  if (!encoder.ok()) return FailServing(server.get(), std::string(encoder.status().message()));

  EmbeddingEngine::Options engine_options;
  engine_options.model_id = f.model;
  engine_options.max_input_tokens = f.max_input_tokens;
  engine_options.max_inputs_per_request = f.max_inputs_per_request;
  engine_options.max_input_bytes = f.max_input_bytes;
  engine_options.max_adapters = f.max_adapters;
  BatchQueue::Options& q = engine_options.worker.queue;
  q.max_batch_tokens = f.max_batch_tokens;
  q.max_batch_requests = f.max_batch_requests;
  q.max_queue_delay = absl::Microseconds(f.max_queue_delay_us);
  q.max_queue_tokens = f.max_queue_tokens;
  q.max_queue_requests = f.max_queue_requests;
  engine_options.worker.nice = static_cast<int>(f.worker_nice);
  engine_options.worker.idle_work_grace = absl::Milliseconds(f.training_idle_grace_ms);
  engine_options.worker.idle_work_max_wait = absl::Milliseconds(f.training_max_wait_ms);
  // Training jobs share the served base weights (read-only) with the engine.
  const Transformer* served_weights = &(*encoder)->transformer();
  const AttentionMode attention =
      f.attention == "causal" ? AttentionMode::kCausal : AttentionMode::kBidirectional;
  std::unique_ptr<Backend> backend = MakeTorchBackend(std::move(*encoder), attention);
  if (hooks.wrap_backend) backend = hooks.wrap_backend(std::move(backend));
  auto engine = EmbeddingEngine::Create(std::move(backend), engine_options, Clock::Real(),
                                        metrics.get());
  if (!engine.ok()) return FailServing(server.get(), std::string(engine.status().message()));
  for (const auto& [name, dir] : named) {
    if (auto s = (*engine)->LoadAdapter(name, dir); !s.ok()) {
      return FailServing(server.get(), absl::StrCat("--adapter ", name, ": ", s.message()));
    }
  }
  if (auto s = (*engine)->Warmup(); !s.ok()) return FailServing(server.get(), absl::StrCat("warm-up failed: ", s.message()));
  const double load_seconds = absl::ToDoubleSeconds(absl::Now() - load_start);
  metrics->SetModelLoadSeconds(load_seconds);


  std::unique_ptr<MetricsExposer> exposer;
  if (f.metrics_port >= 0) {
    auto started = MetricsExposer::Start(f.host, static_cast<int>(f.metrics_port),
                                         metrics->registry());
    if (!started.ok()) return FailServing(server.get(), absl::StrCat("--metrics-port: ", started.status().message()));
    exposer = std::move(*started);
  }

  // Training: jobs run on the engine's device worker between batches.
  std::unique_ptr<TrainingManager> training;
  if (!training_enabled) {
    std::cerr << "llm2vec-server: training is disabled (no --state-dir)" << std::endl;
  } else {
    TrainingManager::Options t;
    t.state_dir = f.state_dir;
    t.data_root = f.data_root.empty() ? f.state_dir + "/data" : f.data_root;
    t.adapter_root = f.adapter_root;
    t.model = f.model;
    t.load = load;
    t.shared_weights = served_weights;
    t.num_threads = static_cast<int>(f.threads);
    t.max_steps = f.max_training_steps;
    t.max_data_bytes = f.max_training_data_bytes;
    t.max_training_bytes = f.max_training_memory;
    t.max_queued_jobs = static_cast<int>(f.max_queued_jobs);
    t.checkpoint_every = f.checkpoint_every;
    t.resume_interrupted = f.resume_interrupted_jobs;
    EmbeddingEngine* eng = engine->get();
    TrainingManager::Host host;
    host.wake_worker = [eng] { eng->WakeWorker(); };
    host.adapter_path = [eng](const std::string& name) { return eng->AdapterPath(name); };
    host.run_on_device = [eng](std::function<absl::Status()> fn) {
      return eng->RunOnDevice(std::move(fn));
    };
    host.load_adapter = [eng](const std::string& name, const std::string& dir) {
      return eng->LoadAdapter(name, dir);
    };
    auto created = TrainingManager::Create(t, std::move(host), metrics.get());
    if (!created.ok()) {
      return FailServing(server.get(), absl::StrCat("--state-dir ", f.state_dir, ": ",
                                                    created.status().message()));
    }
    training = std::move(*created);
    TrainingManager* m = training.get();
    eng->SetBackgroundWork([m](absl::Time next_batch_at) { return m->RunUnit(next_batch_at); });
    training_service.SetManager(m);
    std::cerr << "llm2vec-server: training jobs in " << t.state_dir << " (data from "
              << t.data_root << ", adapters to " << t.adapter_root << ")" << std::endl;
  }

  service.SetEngine(engine->get());
  engine_ptr.store(engine->get());
  health->SetServingStatus(true);
  serving.store(true);
  std::cerr << "llm2vec-server: serving " << description << " with "
            << (*engine)->AdapterNames().size() << " named adapter(s), loaded and warmed in "
            << load_seconds << " s; gRPC " << f.host << ":" << grpc_port;
  if (http) std::cerr << ", HTTP :" << http->port();
  if (exposer) std::cerr << ", metrics :" << exposer->port();
  std::cerr << std::endl;
  if (!f.port_file.empty()) {
    const std::string ports =
        absl::StrFormat("{\"grpc\": %d, \"http\": %d, \"metrics\": %d}\n", grpc_port,
                        http ? http->port() : -1, exposer ? exposer->port() : -1);
    if (absl::Status s = WriteFileAtomically(f.port_file, ports); !s.ok()) {
      return FailServing(server.get(), absl::StrCat("--port-file: ", s.message()));
    }
  }

  // Resident memory moves while no batch runs too (a training job loads
  // its model copy, memory is returned): refresh the gauge every 5 s.
  absl::Notification stop_refresh;
  std::thread memory_refresh([&] {
    do {
      metrics->UpdateProcessMemory();
    } while (!stop_refresh.WaitForNotificationWithTimeout(absl::Seconds(5)));
  });

  // SIGHUP re-reads the key file and the HTTP certificates; SIGTERM and
  // SIGINT stop.
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    if (!auth->enabled() && http_tls == nullptr) {
      std::cerr << "llm2vec-server: SIGHUP: nothing to reload (no --api-keys, no --tls-cert)"
                << std::endl;
    }
    if (auth->enabled()) {
      if (absl::Status s = auth->Reload(); !s.ok()) {
        std::cerr << "llm2vec-server: SIGHUP: keeping the previous API keys: " << s.message()
                  << std::endl;
      } else {
        std::cerr << "llm2vec-server: SIGHUP: reloaded the API keys from " << f.api_keys
                  << std::endl;
      }
    }
    if (http_tls != nullptr) {
      if (absl::Status s = http_tls->Reload(); !s.ok()) {
        std::cerr << "llm2vec-server: SIGHUP: keeping the previous HTTP certificate: "
                  << s.message() << std::endl;
      } else {
        std::cerr << "llm2vec-server: SIGHUP: reloaded the HTTP certificate" << std::endl;
      }
    }
  }
  stop_refresh.Notify();
  memory_refresh.join();
  std::cerr << "llm2vec-server: received " << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
            << "; draining (up to " << f.drain_timeout_s << " s)" << std::endl;
  serving.store(false);
  health->SetServingStatus(false);
  const absl::Duration drain = absl::Seconds(f.drain_timeout_s);
  // The running job checkpoints and becomes INTERRUPTED (resumed at the
  // next start); then inference drains.
  training_service.StopWatches();
  if (training) training->Shutdown();
  (*engine)->SetBackgroundWork(nullptr);
  (*engine)->Shutdown(drain);  // refuses new work, finishes queued work
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  http.reset();
  std::cerr << "llm2vec-server: stopped" << std::endl;
  return 0;
}

}  // namespace llm2vec
