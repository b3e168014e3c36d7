#include "client/training_commands.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/embedding_client.h"
#include "client/server_connection.h"
#include "common/cli_common.h"
#include "common/flags.h"
#include "common/progress_bar.h"
#include "llm2vec/v1/training.grpc.pb.h"
#include "model/train/hyperparameters_proto.h"
#include "proto/wire_names.h"

namespace llm2vec {
namespace {

// --- Output -------------------------------------------------------------

// The fields that are set, under their proto names.
nlohmann::ordered_json HyperparametersToJson(const v1::Hyperparameters& h) {
  using google::protobuf::FieldDescriptor;
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  const google::protobuf::Reflection* reflection = h.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(h, &fields);  // the set ones, by field number
  for (const FieldDescriptor* f : fields) {
    const std::string name(f->name());
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT64: j[name] = reflection->GetInt64(h, f); break;
      case FieldDescriptor::CPPTYPE_UINT64: j[name] = reflection->GetUInt64(h, f); break;
      case FieldDescriptor::CPPTYPE_INT32: j[name] = reflection->GetInt32(h, f); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: j[name] = reflection->GetDouble(h, f); break;
      case FieldDescriptor::CPPTYPE_BOOL: j[name] = reflection->GetBool(h, f); break;
      default: break;  // no other types in Hyperparameters
    }
  }
  return j;
}

void PrintJob(const v1::Job& job) { std::cout << JobToJson(job).dump() << "\n" << std::flush; }

// An RPC error: "llm2vec: error: NOT_FOUND: no job 'job-9'"; exit code 1.
int RpcFail(const absl::Status& status) {
  std::cerr << "llm2vec: error: " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << "\n";
  return 1;
}

// The exit code of a job that ended.
int ExitCodeOf(const v1::Job& job) { return job.state() == v1::JOB_STATE_SUCCEEDED ? 0 : 1; }

// --- The connection -------------------------------------------------------

// TrainingService calls with a deadline each (WatchJob has none: it lasts
// as long as the job). Jobs live on the server that runs them, so the
// channel keeps gRPC's default pick_first: no round robin across the
// addresses a target resolves to.
class TrainingClient {
 public:
  TrainingClient(const ServerConnection& connection, std::shared_ptr<grpc::Channel> channel,
                 absl::Duration timeout)
      : connection_(connection),
        stub_(v1::TrainingService::NewStub(std::move(channel))),
        timeout_(timeout) {}

  absl::StatusOr<v1::Job> Train(const v1::TrainRequest& request) const {
    auto response = Call<v1::TrainResponse>(&Stub::Train, request);
    if (!response.ok()) return response.status();
    return response->job();
  }
  absl::StatusOr<v1::Job> Get(const std::string& id) const {
    return Call<v1::Job>(&Stub::GetJob, WithId<v1::GetJobRequest>(id));
  }
  absl::StatusOr<v1::ListJobsResponse> List(const v1::ListJobsRequest& request) const {
    return Call<v1::ListJobsResponse>(&Stub::ListJobs, request);
  }
  absl::StatusOr<v1::Job> Cancel(const std::string& id) const {
    return Call<v1::Job>(&Stub::CancelJob, WithId<v1::CancelJobRequest>(id));
  }
  absl::StatusOr<v1::Job> Resume(const std::string& id) const {
    return Call<v1::Job>(&Stub::ResumeJob, WithId<v1::ResumeJobRequest>(id));
  }

  v1::TrainingService::Stub& stub() const { return *stub_; }
  // Sets a call's API key (and no deadline), for calls made through stub().
  void PrepareUnbounded(grpc::ClientContext* context) const {
    PrepareCall(connection_, absl::InfiniteDuration(), context);
  }

 private:
  using Stub = v1::TrainingService::Stub;

  template <typename Request>
  static Request WithId(const std::string& id) {
    Request request;
    request.set_id(id);
    return request;
  }

  // One unary call with this client's deadline.
  template <typename Response, typename Request>
  absl::StatusOr<Response> Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request) const {
    grpc::ClientContext context;
    PrepareCall(connection_, timeout_, &context);
    Response response;
    if (auto s = FromGrpc(((*stub_).*method)(&context, request, &response)); !s.ok()) return s;
    return response;
  }

  ServerConnection connection_;
  std::unique_ptr<v1::TrainingService::Stub> stub_;
  absl::Duration timeout_;
};

// --server and --timeout-s, shared by train and jobs.
struct ServerFlags {
  ServerConnection connection;
  int64_t timeout_s = 30;

  void Register(FlagSet& flags) {
    RegisterConnectionFlags(flags, &connection, "the llm2vec-server that runs the jobs");
    flags.Int("timeout-s", &timeout_s, "S", "deadline of each call (watching a job has none)", 1);
  }
  absl::StatusOr<std::unique_ptr<TrainingClient>> Connect() const {
    auto channel = OpenChannel(connection, grpc::ChannelArguments());
    if (!channel.ok()) return channel.status();
    return std::make_unique<TrainingClient>(connection, std::move(*channel),
                                            absl::Seconds(timeout_s));
  }
};

// --- Watching a job -------------------------------------------------------

// Ctrl-C while watching detaches. The handler only sets this flag (a
// lock-free atomic store is async-signal-safe); a thread polls it and
// cancels the stream.
std::atomic<bool> g_detach_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnSigint(int) { g_detach_requested.store(true); }

// While alive, the first SIGINT sets g_detach_requested; a second one ends
// the process as usual (SA_RESETHAND), should the first not get through.
class SigintDetaches {
 public:
  SigintDetaches() {
    g_detach_requested.store(false);
    struct sigaction action = {};
    action.sa_handler = OnSigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    installed_ = ::sigaction(SIGINT, &action, &previous_) == 0;
  }
  ~SigintDetaches() {
    if (installed_) ::sigaction(SIGINT, &previous_, nullptr);
  }
  SigintDetaches(const SigintDetaches&) = delete;
  SigintDetaches& operator=(const SigintDetaches&) = delete;

 private:
  struct sigaction previous_ = {};
  bool installed_ = false;
};

// "job-3: failed at step 120: out of memory".
std::string StateLine(const v1::Job& job) {
  std::string line = absl::StrCat(job.id(), ": ", JobStateName(job.state()));
  switch (job.state()) {
    case v1::JOB_STATE_RUNNING:
      if (job.step() > 0) absl::StrAppend(&line, " from step ", job.step());
      if (job.resumes() > 0) absl::StrAppend(&line, " (resume ", job.resumes(), ")");
      break;
    case v1::JOB_STATE_SUCCEEDED:
      absl::StrAppend(&line, " at step ", job.step(), "; adapter ", job.adapter_path());
      if (job.adapter_loaded()) {
        absl::StrAppend(&line, ", serving as '", job.request().output_adapter(), "'");
      }
      break;
    case v1::JOB_STATE_FAILED:
    case v1::JOB_STATE_CANCELLED:
    case v1::JOB_STATE_INTERRUPTED:
      absl::StrAppend(&line, " at step ", job.step());
      if (!job.error().empty()) absl::StrAppend(&line, ": ", job.error());
      absl::StrAppend(&line, "; `llm2vec jobs resume ", job.id(), "` continues from ",
                      job.checkpoint_step() > 0 ? absl::StrCat("step ", job.checkpoint_step())
                                                : std::string("the start"));
      break;
    default:
      break;
  }
  return line;
}

// "loss 2.3456  lr 4.8e-05  5321 tok/s  eta 3m20s".
std::string ProgressDetail(const v1::Job& job) {
  if (job.step() == 0) return "starting";
  return absl::StrFormat("loss %.4f  lr %.3g  %.0f tok/s  eta %s", job.loss(),
                         job.learning_rate(), job.tokens_per_second(),
                         FormatDuration(job.eta_seconds()));
}

// Shows a watched job's events on a stream (stderr). On a terminal: a
// progress bar updated in place, with a line above it for each state change
// and checkpoint. Otherwise (logs): those lines, and a progress line at most
// every kLogEvery.
//
// Threading: one thread at a time.
class JobProgressDisplay {
 public:
  JobProgressDisplay(std::ostream* out, bool terminal) : out_(out), terminal_(terminal) {}
  ~JobProgressDisplay() { End(); }

  void Show(const v1::JobEvent& event) {
    const v1::Job& job = event.job();
    const bool state_changed = !seen_ || job.state() != state_;
    if (seen_ && job.checkpoint_step() != checkpoint_step_ && !job.checkpoint_path().empty()) {
      Line(absl::StrCat(job.id(), ": checkpoint at step ", job.checkpoint_step(), ": ",
                        job.checkpoint_path()));
    }
    if (state_changed && !IsFinalJobState(job.state())) Line(StateLine(job));
    if (job.state() == v1::JOB_STATE_RUNNING) ShowProgress(job);
    if (IsFinalJobState(job.state())) {
      End();  // the bar stays on screen at the step the job ended
      if (state_changed) Line(StateLine(job));
    }
    seen_ = true;
    state_ = job.state();
    checkpoint_step_ = job.checkpoint_step();
  }

  // Ends the bar's line (before other output).
  void End() {
    if (bar_ != nullptr) bar_->Stop();
    bar_.reset();
  }

 private:
  static constexpr absl::Duration kLogEvery = absl::Seconds(10);

  void ShowProgress(const v1::Job& job) {
    if (job.total_steps() <= 0) return;
    if (!terminal_) {
      const absl::Time now = absl::Now();
      if (now - last_log_ < kLogEvery && job.step() < job.total_steps()) return;
      last_log_ = now;
      *out_ << job.id() << ": step " << job.step() << "/" << job.total_steps() << "  "
            << ProgressDetail(job) << "\n" << std::flush;
      return;
    }
    if (bar_ == nullptr || bar_total_ != job.total_steps()) {
      End();
      bar_ = std::make_unique<ProgressBar>(out_, job.id(), job.total_steps(), "steps");
      bar_total_ = job.total_steps();
    }
    bar_->Update(job.step(), ProgressDetail(job));
  }

  void Line(const std::string& text) {
    if (bar_ != nullptr) {
      bar_->Print(text);
    } else {
      *out_ << text << "\n" << std::flush;
    }
  }

  std::ostream* out_;
  const bool terminal_;
  std::unique_ptr<ProgressBar> bar_;
  int64_t bar_total_ = 0;
  bool seen_ = false;  // the fields below hold the last event's job
  v1::JobState state_ = v1::JOB_STATE_UNSPECIFIED;
  int64_t checkpoint_step_ = 0;
  absl::Time last_log_ = absl::InfinitePast();
};

// Watches job `id` with WatchJob until it ends, showing its progress on
// stderr, then prints the job as one JSON line on stdout. Ctrl-C detaches:
// the job keeps running. Returns the exit code.
int WatchAndReport(const TrainingClient& client, const std::string& id) {
  JobProgressDisplay display(&std::cerr, ::isatty(STDERR_FILENO) == 1);
  SigintDetaches sigint;
  grpc::ClientContext context;
  client.PrepareUnbounded(&context);
  absl::Notification stream_ended;
  std::thread canceller([&] {
    while (!stream_ended.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
      if (g_detach_requested.load()) {
        context.TryCancel();  // ends the blocked Read below
        return;
      }
    }
  });
  v1::WatchJobRequest request;
  request.set_id(id);
  v1::Job job;
  job.set_id(id);
  bool received = false;
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader =
      client.stub().WatchJob(&context, request);
  v1::JobEvent event;
  while (reader->Read(&event)) {
    display.Show(event);
    job = event.job();
    received = true;
  }
  const grpc::Status status = reader->Finish();
  stream_ended.Notify();
  canceller.join();
  display.End();

  if (status.error_code() == grpc::StatusCode::CANCELLED && g_detach_requested.load()) {
    std::cerr << "llm2vec: detached; job " << id << " keeps running (llm2vec jobs watch " << id
              << ")\n";
    if (received) PrintJob(job);
    return 0;
  }
  if (!status.ok()) return RpcFail(FromGrpc(status));
  PrintJob(job);
  if (!IsFinalJobState(job.state())) {
    std::cerr << "llm2vec: the server ended the watch while job " << id << " is "
              << JobStateName(job.state()) << " (llm2vec jobs watch " << id << ")\n";
    return 1;
  }
  return ExitCodeOf(job);
}

// --- llm2vec train ----------------------------------------------------------

// The rule of TrainRequest.output_adapter: [A-Za-z0-9._-], 1 to 64 characters.
absl::Status CheckAdapterName(const std::string& flag, const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": '", name, "' must have 1 to 64 characters"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, ": '", name, "' has the character '", std::string(1, c),
          "'; use only letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

nlohmann::ordered_json JobToJson(const v1::Job& job) {
  const v1::TrainRequest& request = job.request();
  nlohmann::ordered_json j;  // keys in the documented order
  j["id"] = job.id();
  j["state"] = JobStateName(job.state());
  j["objective"] = ObjectiveName(request.objective());
  j["data_path"] = request.data_path();
  j["base_adapter"] = request.base_adapter();
  j["output_adapter"] = request.output_adapter();
  j["load_when_done"] = request.load_when_done();
  j["step"] = job.step();
  j["total_steps"] = job.total_steps();
  j["loss"] = job.loss();
  j["learning_rate"] = job.learning_rate();
  j["tokens_per_second"] = job.tokens_per_second();
  j["eta_seconds"] = job.eta_seconds();
  j["created_unix_ms"] = job.created_unix_ms();
  j["started_unix_ms"] = job.started_unix_ms();
  j["finished_unix_ms"] = job.finished_unix_ms();
  j["error"] = job.error();
  j["checkpoint_path"] = job.checkpoint_path();
  j["checkpoint_step"] = job.checkpoint_step();
  j["adapter_path"] = job.adapter_path();
  j["adapter_loaded"] = job.adapter_loaded();
  j["resumes"] = job.resumes();
  j["hyperparameters"] = HyperparametersToJson(request.hyperparameters());
  return j;
}

int RunRemoteTrain(int argc, char** argv) {
  FlagSet flags(
      "llm2vec train",
      "Submits an adapter training job to a running llm2vec-server and watches it: MNTP on\n"
      "plain text, unsupervised SimCSE on one sentence per line, or supervised contrastive on\n"
      "JSON lines {\"query\",\"positive\",\"negative\",\"instruction\"} (llm2vec-train does the\n"
      "same without a server). Prints `submitted job ID` and a live progress bar on stderr, then\n"
      "the finished job as one JSON line on stdout. Ctrl-C detaches: the job keeps running\n"
      "and `llm2vec jobs watch ID` watches it again. Hyperparameter flags left out take the\n"
      "objective's defaults on the server; `llm2vec jobs get ID` shows the values a job uses.\n"
      "Exit code: 0 the job succeeded (or the watch was detached), 1 it failed, was cancelled\n"
      "or interrupted, or a call failed; 2 a usage error.",
      "LLM2VEC_");
  ServerFlags server;
  server.Register(flags);
  std::string objective, data, output, base_adapter;
  bool load = false, detach = false;
  flags.String("objective", &objective, "NAME", "training objective", true);
  flags.Choices("objective", {"mntp", "simcse", "supervised"});
  flags.String("data", &data, "PATH",
               "training data, relative to the server's --training-data-root", true);
  flags.String("output", &output, "NAME",
               "the new adapter's name ([A-Za-z0-9._-], <= 64 characters), written to the "
               "server's --adapter-root/NAME",
               true);
  flags.String("base-adapter", &base_adapter, "NAME",
               "start from this adapter (loaded, or a folder under the server's --adapter-root), "
               "e.g. MNTP for SimCSE");
  HyperparameterFlags hyperparameters;
  hyperparameters.Register(flags);
  flags.Bool("load", &load, "load the adapter for serving as NAME when the job succeeds");
  flags.Bool("detach", &detach, "print the submitted job and return without watching it");
  if (int rc = ParseSubcommandFlags(flags, argc, argv); rc >= 0) return rc;
  if (auto s = CheckAdapterName("output", output); !s.ok()) {
    return CliUsage(std::string(s.message()));
  }
  if (data.empty()) return CliUsage("--data: the path is empty");
  // Only the flags given are sent; the server fills in the objective's
  // defaults for the rest.
  auto given = hyperparameters.Given(flags);
  if (!given.ok()) return CliUsage(std::string(given.status().message()));

  v1::TrainRequest request;
  v1::Objective wire_objective = v1::OBJECTIVE_UNSPECIFIED;
  v1::Objective_Parse("OBJECTIVE_" + absl::AsciiStrToUpper(objective), &wire_objective);
  request.set_objective(wire_objective);  // --objective has Choices
  request.set_data_path(data);
  request.set_base_adapter(base_adapter);
  request.set_output_adapter(output);
  for (const auto& [h, value] : *given) {
    SetHyperparameterField(*h, value, request.mutable_hyperparameters());
  }
  request.set_load_when_done(load);

  auto client = server.Connect();
  if (!client.ok()) return CliFail(std::string(client.status().message()));
  auto job = (*client)->Train(request);
  if (!job.ok()) return RpcFail(job.status());
  std::cerr << "llm2vec: submitted job " << job->id() << "\n";
  if (detach) {
    PrintJob(*job);
    return 0;
  }
  return WatchAndReport(**client, job->id());
}

namespace {

// `llm2vec jobs list`: one row per job, columns padded to their widest cell.
void PrintJobTable(const v1::ListJobsResponse& response) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATE", "OBJECTIVE", "STEP", "LOSS", "ADAPTER", "CREATED"}};
  for (const v1::Job& job : response.jobs()) {
    rows.push_back({
        job.id(),
        JobStateName(job.state()),
        ObjectiveName(job.request().objective()),
        absl::StrCat(job.step(), "/", job.total_steps()),
        job.step() > 0 ? absl::StrFormat("%.4f", job.loss()) : "-",
        job.request().output_adapter(),
        job.created_unix_ms() > 0
            ? absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(job.created_unix_ms()),
                               absl::LocalTimeZone())
            : "-",
    });
  }
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
  std::cout << std::flush;
}

}  // namespace

int RunJobs(int argc, char** argv) {
  FlagSet flags(
      "llm2vec jobs list|get ID|cancel ID|resume ID|watch ID",
      "Adapter training jobs on a running llm2vec-server (submitted with `llm2vec train`):\n"
      "  list        the jobs, newest first: a table, or JSON lines with --json\n"
      "  get ID      the job as one JSON line\n"
      "  cancel ID   cancels the job: a queued one at once, a running one after its current\n"
      "              step (its last checkpoint is kept); prints the job as one JSON line\n"
      "  resume ID   resumes an interrupted, failed or cancelled job from its last\n"
      "              checkpoint; prints the job as one JSON line\n"
      "  watch ID    a live progress bar on stderr until the job ends, then the job as one\n"
      "              JSON line; Ctrl-C detaches (the job keeps running)\n"
      "Exit code: 0 done (watch: the job succeeded, or detached), 1 the watched job failed,\n"
      "was cancelled or interrupted, or a call failed; 2 a usage error.",
      "LLM2VEC_");
  ServerFlags server;
  server.Register(flags);
  std::vector<std::string> states;
  int64_t limit = 0;
  bool json = false;
  flags.List("state", &states, "STATE", "list: only jobs in this state");
  flags.Choices("state",
                {"queued", "running", "succeeded", "failed", "cancelled", "interrupted"});
  flags.Int("limit", &limit, "N", "list: at most N jobs, newest first (0: the server's 100)", 0,
            std::numeric_limits<int32_t>::max());
  flags.Bool("json", &json, "list: JSON lines (as get prints) instead of a table");

  // The action and its job id come first: `llm2vec jobs get job-3 --server ...`.
  const std::vector<std::string> kActions = {"list", "get", "cancel", "resume", "watch"};
  std::string action, id;
  int first_flag = 2;
  if (argc > 2 && argv[2][0] != '-') {
    action = argv[first_flag++];
    if (action != "list" && argc > first_flag && argv[first_flag][0] != '-') {
      id = argv[first_flag++];
    }
  }
  if (auto s = flags.Parse(argc, argv, first_flag); !s.ok()) {
    return CliUsage(std::string(s.message()));
  }
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  if (action.empty()) {
    return CliUsage("jobs: give an action: list, get ID, cancel ID, resume ID or watch ID "
                   "(see llm2vec jobs --help)");
  }
  if (std::find(kActions.begin(), kActions.end(), action) == kActions.end()) {
    return CliUsage(absl::StrCat("jobs: unknown action '", action, "'; use one of ",
                                absl::StrJoin(kActions, ", ")));
  }
  if (action != "list") {
    if (id.empty()) {
      return CliUsage(absl::StrCat("jobs ", action, ": give the job id (llm2vec jobs ", action,
                                  " job-3)"));
    }
    for (const char* list_only : {"state", "limit", "json"}) {
      if (flags.IsSet(list_only)) {
        return CliUsage(
            absl::StrCat("jobs ", action, ": --", list_only, " applies to jobs list only"));
      }
    }
  }

  auto client = server.Connect();
  if (!client.ok()) return CliFail(std::string(client.status().message()));
  if (action == "list") {
    v1::ListJobsRequest request;
    for (const std::string& state : states) {
      v1::JobState wire = v1::JOB_STATE_UNSPECIFIED;
      v1::JobState_Parse("JOB_STATE_" + absl::AsciiStrToUpper(state), &wire);  // has Choices
      request.add_states(wire);
    }
    request.set_limit(static_cast<int32_t>(limit));
    auto response = (*client)->List(request);
    if (!response.ok()) return RpcFail(response.status());
    if (json) {
      for (const v1::Job& job : response->jobs()) PrintJob(job);
    } else {
      PrintJobTable(*response);
    }
    return 0;
  }
  if (action == "watch") return WatchAndReport(**client, id);
  absl::StatusOr<v1::Job> job = action == "get"      ? (*client)->Get(id)
                                : action == "cancel" ? (*client)->Cancel(id)
                                                     : (*client)->Resume(id);
  if (!job.ok()) return RpcFail(job.status());
  if (action == "cancel" && job->state() == v1::JOB_STATE_RUNNING) {
    std::cerr << "llm2vec: job " << id << " stops after its current step\n";
  }
  PrintJob(*job);
  return 0;
}

}  // namespace llm2vec
