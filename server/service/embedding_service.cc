#include "server/service/embedding_service.h"

#include <climits>
#include <cstdlib>
#include <deque>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/confined_path.h"
#include "common/mapped_file.h"
#include "server/service/call_auth.h"
#include "server/service/status_codes.h"

namespace llm2vec {
namespace {

absl::Time ToAbslTime(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(t);
}

}  // namespace

EmbeddingService::EmbeddingService(Metrics* metrics, const Options& options)
    : metrics_(metrics), options_(options),
      stream_pool_(std::make_unique<ThreadPool>(options.stream_threads)) {}

namespace {
const absl::Status kLoading = absl::UnavailableError("the model is still loading");
}  // namespace

CallContext EmbeddingService::MakeCall(grpc::ServerContext* context, const char* method) const {
  CallContext call;
  call.deadline = ToAbslTime(context->deadline());
  call.is_cancelled = [context]() { return context->IsCancelled(); };
  call.method = method;
  return call;
}

grpc::Status EmbeddingService::Finish(const char* method, absl::Time start,
                                      const absl::Status& status) {
  return FinishCall(metrics_, method, start, status);
}

grpc::Status EmbeddingService::Embed(grpc::ServerContext* context,
                                     const v1::EmbedRequest* request,
                                     v1::EmbedResponse* response) {
  const absl::Time start = absl::Now();
  auto caller = AuthorizeCall(options_.auth, *context, Role::kEmbed, "Embed");
  if (!caller.ok()) return Finish("Embed", start, caller.status());
  if (auto s = CheckPriority(*caller, request->options().priority(), "options.priority");
      !s.ok()) {
    return Finish("Embed", start, s);
  }
  if (engine() == nullptr) return Finish("Embed", start, kLoading);
  auto result = engine()->Embed(*request, MakeCall(context, "Embed"));
  if (result.ok()) *response = std::move(*result);
  return Finish("Embed", start, result.status());
}

grpc::Status EmbeddingService::EmbedStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::EmbedResponse, v1::EmbedRequest>* stream) {
  const absl::Time start = absl::Now();
  const auto caller = AuthorizeCall(options_.auth, *context, Role::kEmbed, "EmbedStream");
  if (!caller.ok()) return Finish("EmbedStream", start, caller.status());
  if (engine() == nullptr) return Finish("EmbedStream", start, kLoading);
  // This thread reads and starts each request on the stream pool; the
  // writer thread sends the results in request order. At most
  // max_stream_in_flight requests are pending; reading pauses beyond that.
  // After the first error, nothing more is read or written and the stream
  // ends with that error.
  struct Pending {
    absl::StatusOr<v1::EmbedResponse> result = absl::UnknownError("pending");
    absl::Notification done;
  };
  absl::Mutex mu;
  absl::CondVar changed;
  std::deque<std::shared_ptr<Pending>> pending;  // guarded by mu
  bool reading_done = false;                     // guarded by mu
  absl::Status failure;                          // guarded by mu
  std::thread writer([&]() {
    while (true) {
      std::shared_ptr<Pending> head;
      {
        absl::MutexLock lock(&mu);
        while (pending.empty() && !reading_done) changed.Wait(&mu);
        if (pending.empty()) return;
        head = pending.front();
      }
      head->done.WaitForNotification();
      absl::Status status = head->result.status();
      bool failed;
      {
        absl::MutexLock lock(&mu);
        failed = !failure.ok();
      }
      if (status.ok() && !failed && !stream->Write(*head->result)) {
        status = absl::CancelledError("the client stopped reading the stream");
      }
      absl::MutexLock lock(&mu);
      if (!status.ok() && failure.ok()) failure = status;
      pending.pop_front();
      changed.SignalAll();
    }
  });
  while (true) {
    {
      absl::MutexLock lock(&mu);
      while (static_cast<int>(pending.size()) >= options_.max_stream_in_flight && failure.ok()) {
        changed.Wait(&mu);
      }
      if (!failure.ok()) break;
    }
    v1::EmbedRequest request;
    if (!stream->Read(&request)) break;
    auto p = std::make_shared<Pending>();
    if (absl::Status s = CheckPriority(*caller, request.options().priority(), "options.priority");
        !s.ok()) {
      // Answered in its place in the stream, which then ends.
      p->result = s;
      p->done.Notify();
      absl::MutexLock lock(&mu);
      pending.push_back(std::move(p));
      changed.SignalAll();
      continue;
    }
    // On the service's stream pool, not a thread per request.
    stream_pool_->Run([this, p, request = std::move(request),
                       call = MakeCall(context, "EmbedStream")]() {
      p->result = engine()->Embed(request, call);
      p->done.Notify();
    });
    absl::MutexLock lock(&mu);
    pending.push_back(std::move(p));
    changed.SignalAll();
  }
  {
    absl::MutexLock lock(&mu);
    reading_done = true;
    changed.SignalAll();
  }
  writer.join();
  absl::MutexLock lock(&mu);
  return Finish("EmbedStream", start, failure);
}

grpc::Status EmbeddingService::Similarity(grpc::ServerContext* context,
                                          const v1::SimilarityRequest* request,
                                          v1::SimilarityResponse* response) {
  const absl::Time start = absl::Now();
  auto caller = AuthorizeCall(options_.auth, *context, Role::kEmbed, "Similarity");
  if (!caller.ok()) return Finish("Similarity", start, caller.status());
  if (auto s = CheckPriority(*caller, request->options().priority(), "options.priority");
      !s.ok()) {
    return Finish("Similarity", start, s);
  }
  if (engine() == nullptr) return Finish("Similarity", start, kLoading);
  auto result = engine()->Similarity(*request, MakeCall(context, "Similarity"));
  if (result.ok()) *response = std::move(*result);
  return Finish("Similarity", start, result.status());
}

grpc::Status EmbeddingService::Tokenize(grpc::ServerContext* context,
                                        const v1::TokenizeRequest* request,
                                        v1::TokenizeResponse* response) {
  const absl::Time start = absl::Now();
  if (auto caller = AuthorizeCall(options_.auth, *context, Role::kEmbed, "Tokenize"); !caller.ok()) {
    return Finish("Tokenize", start, caller.status());
  }
  if (engine() == nullptr) return Finish("Tokenize", start, kLoading);
  auto result = engine()->Tokenize(*request);
  if (result.ok()) *response = std::move(*result);
  return Finish("Tokenize", start, result.status());
}

grpc::Status EmbeddingService::Info(grpc::ServerContext* context,
                                    const v1::InfoRequest* /*request*/,
                                    v1::InfoResponse* response) {
  const absl::Time start = absl::Now();
  if (auto caller = AuthorizeCall(options_.auth, *context, Role::kEmbed, "Info"); !caller.ok()) {
    return Finish("Info", start, caller.status());
  }
  if (engine() == nullptr) return Finish("Info", start, kLoading);
  *response = engine()->Info();
  return Finish("Info", start, absl::OkStatus());
}

absl::StatusOr<std::shared_ptr<const FolderReader>> AdapterFolderUnderRoot(
    const std::string& root, const std::string& path, int64_t max_bytes, BeneathMode mode) {
  if (root.empty()) {
    return absl::FailedPreconditionError(
        "LoadAdapter is off: the server has no --adapter-root (nor a --state-dir)");
  }
  // One answer for every path that is not a folder under the root, whether
  // it exists elsewhere or not.
  const absl::Status not_here = absl::NotFoundError(absl::StrCat(
      "path '", path, "' is not a folder under the server's adapter root; give it relative "
      "to the root"));
  std::string relative = path;
  if (!path.empty() && path.front() == '/') {
    // Absolute: inside the root as given or as resolved.
    char real_root[PATH_MAX];
    std::string prefix = JoinPath(root, "");
    if (!absl::StartsWith(path, prefix)) {
      if (realpath(root.c_str(), real_root) == nullptr) return not_here;
      prefix = JoinPath(real_root, "");
      if (!absl::StartsWith(path, prefix)) return not_here;
    }
    relative = path.substr(prefix.size());
  }
  auto folder = FolderReader::Beneath(root, relative, max_bytes, mode, "--max-adapter-bytes");
  if (!folder.ok()) return not_here;
  return *folder;
}

grpc::Status EmbeddingService::LoadAdapter(grpc::ServerContext* context,
                                           const v1::LoadAdapterRequest* request,
                                           v1::LoadAdapterResponse* /*response*/) {
  const absl::Time start = absl::Now();
  if (auto caller = AuthorizeCall(options_.auth, *context, Role::kAdmin, "LoadAdapter"); !caller.ok()) {
    return Finish("LoadAdapter", start, caller.status());
  }
  if (engine() == nullptr) return Finish("LoadAdapter", start, kLoading);
  auto folder = AdapterFolderUnderRoot(options_.adapter_root, request->path(),
                                       options_.max_adapter_bytes);
  if (!folder.ok()) return Finish("LoadAdapter", start, folder.status());
  return Finish("LoadAdapter", start, engine()->LoadAdapter(request->name(), *std::move(folder)));
}

grpc::Status EmbeddingService::UnloadAdapter(grpc::ServerContext* context,
                                             const v1::UnloadAdapterRequest* request,
                                             v1::UnloadAdapterResponse* /*response*/) {
  const absl::Time start = absl::Now();
  if (auto caller = AuthorizeCall(options_.auth, *context, Role::kAdmin, "UnloadAdapter"); !caller.ok()) {
    return Finish("UnloadAdapter", start, caller.status());
  }
  if (engine() == nullptr) return Finish("UnloadAdapter", start, kLoading);
  return Finish("UnloadAdapter", start, engine()->UnloadAdapter(request->name()));
}

}  // namespace llm2vec
