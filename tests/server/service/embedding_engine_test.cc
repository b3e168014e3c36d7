// The engine on a fake backend and a fake clock: validation, queue bounds,
// deadlines, cancellation, admission, adapters, errors and metrics,
// decided without sleeps. A Gate holds the fake device inside a batch for
// as long as a test needs work to queue behind it.
#include "server/service/embedding_engine.h"

#include <atomic>
#include <climits>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "server/http/metrics.h"
#include "tests/server/scheduler/fake_clock.h"

namespace llm2vec {
namespace {

// Holds Embed calls of the fake backend until the test lets them through.
class Gate {
 public:
  // From now on calls wait for Allow (those inside already may go on).
  void Hold() {
    absl::MutexLock lock(&mu_);
    allowed_ = entered_;
  }
  void Allow(int n) {
    absl::MutexLock lock(&mu_);
    allowed_ += n;
    cv_.SignalAll();
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    allowed_ = INT_MAX;
    cv_.SignalAll();
  }
  // Blocks until `n` calls have entered in all.
  void AwaitEntered(int n) {
    absl::MutexLock lock(&mu_);
    while (entered_ < n) cv_.Wait(&mu_);
  }
  // Called by the backend: enter, then wait to be allowed through.
  void Pass() {
    absl::MutexLock lock(&mu_);
    const int index = ++entered_;
    cv_.SignalAll();
    while (allowed_ < index) cv_.Wait(&mu_);
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  int entered_ ABSL_GUARDED_BY(mu_) = 0;
  int allowed_ ABSL_GUARDED_BY(mu_) = INT_MAX;
};

class FakeAdapter final : public Backend::Adapter {
 public:
  explicit FakeAdapter(float tag) : tag(tag) {}
  const float tag;
};

// Tokens are words (BOS first); an embedding is [tokens, pooled, pooling,
// adapter tag]; the text "fail" fails its batch.
class FakeBackend final : public Backend {
 public:
  explicit FakeBackend(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {
    info_.architecture = "fake";
    info_.format = "none";
    info_.dtype = "float32";
    info_.device = "cpu";
    info_.hidden_size = 4;
    info_.num_layers = 1;
    info_.max_position_embeddings = 8;
    info_.max_forward_tokens = 100;
  }
  const Info& info() const override { return info_; }

  absl::StatusOr<PreparedInput> Prepare(const EncodeInput& input, int64_t max_tokens,
                                        Truncation truncation) const override {
    ++prepared;
    std::vector<std::string> words = absl::StrSplit(input.text, ' ', absl::SkipEmpty());
    if (words.empty()) return absl::InvalidArgumentError("has no tokens (empty text?)");
    PreparedInput p;
    p.ids.push_back(1);
    for (const std::string& w : words) p.ids.push_back(2 + static_cast<int32_t>(w.size()));
    if (static_cast<int64_t>(p.ids.size()) > max_tokens) {
      if (truncation == Truncation::kNone) {
        return absl::InvalidArgumentError(
            absl::StrCat("has ", p.ids.size(), " tokens; the limit is ", max_tokens));
      }
      p.ids.resize(static_cast<size_t>(max_tokens));
    }
    p.pooled = static_cast<int64_t>(p.ids.size()) - 1;
    if (input.text == "fail") p.ids.back() = -1;
    if (input.text == "throw") p.ids.back() = -2;
    if (input.text == "nan") p.ids.back() = -3;
    return p;
  }

  std::vector<Token> Tokenize(const std::string& text, bool add_special_tokens) const override {
    std::vector<Token> tokens;
    if (add_special_tokens) tokens.push_back({1, "<s>", true});
    for (absl::string_view w : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
      tokens.push_back({2 + static_cast<int32_t>(w.size()), std::string(w)});
    }
    return tokens;
  }
  // Id n decodes to "w<n>"; ids from 100 on are outside the vocabulary.
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids,
                                     bool skip_special_tokens) const override {
    std::vector<std::string> words;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= 100) {
        return absl::InvalidArgumentError(absl::StrCat("token id ", ids[i], " at position ", i));
      }
      if (!(skip_special_tokens && ids[i] == 1)) words.push_back(absl::StrCat("w", ids[i]));
    }
    return absl::StrJoin(words, " ");
  }


  absl::StatusOr<Batch> Embed(const std::vector<PreparedInput>& inputs, PoolingMode pooling,
                              const Adapter* adapter) override {
    gate_->Pass();
    ++batches;
    {
      absl::MutexLock lock(&thread_mu_);
      device_thread_ = std::this_thread::get_id();
    }
    Batch batch;
    batch.forward_passes = 2;
    for (const PreparedInput& in : inputs) {
      if (in.ids.back() == -1) return absl::InternalError("the fake device failed");
      if (in.ids.back() == -2) throw std::runtime_error("a library threw");
      const float nan = std::numeric_limits<float>::quiet_NaN();
      const float tag = adapter ? static_cast<const FakeAdapter*>(adapter)->tag : 0.0f;
      batch.embeddings.push_back(
          {static_cast<int64_t>(in.ids.size()),
           {static_cast<float>(in.ids.size()), static_cast<float>(in.pooled),
            static_cast<float>(static_cast<int>(pooling)), in.ids.back() == -3 ? nan : tag}});
    }
    return batch;
  }

  absl::StatusOr<std::shared_ptr<const Adapter>> LoadAdapter(
      const FolderReader& folder) override {
    const std::string& path = folder.path();
    if (path == "bad") return absl::InvalidArgumentError("bad: not an adapter folder");
    return std::make_shared<const FakeAdapter>(static_cast<float>(path.size()));
  }

  std::optional<int64_t> DeviceMemoryInUse() const override { return std::nullopt; }

  std::atomic<int> batches{0};
  // Inputs tokenized (Prepare calls).
  mutable std::atomic<int> prepared{0};
  std::thread::id device_thread() {
    absl::MutexLock lock(&thread_mu_);
    return device_thread_;
  }

 private:
  absl::Mutex thread_mu_;
  std::thread::id device_thread_ ABSL_GUARDED_BY(thread_mu_);
  std::shared_ptr<Gate> gate_;
  Info info_;
};

// Waits (polling) for a condition that other threads make true; fails the
// test after 10 s. A synchronisation point, not a timing decision.
void WaitFor(const std::function<bool()>& done, const char* what) {
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (!done()) {
    ASSERT_LT(absl::Now(), until) << "timed out waiting for " << what;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

double MetricValue(Metrics& metrics, const std::string& series) {
  prometheus::TextSerializer serializer;
  const std::string text = serializer.Serialize(metrics.registry()->Collect());
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return 0;
}

v1::EmbedRequest Request(const std::vector<std::string>& texts) {
  v1::EmbedRequest r;
  for (const std::string& t : texts) r.add_inputs()->set_text(t);
  return r;
}

struct Harness {
  explicit Harness(EmbeddingEngine::Options options = {}) : gate(std::make_shared<Gate>()) {
    options.cancel_poll = absl::Milliseconds(1);
    auto b = std::make_unique<FakeBackend>(gate);
    backend = b.get();
    metrics = Metrics::Create();
    auto e = EmbeddingEngine::Create(std::move(b), options, &clock, metrics.get());
    EXPECT_TRUE(e.ok()) << e.status();
    engine = std::move(*e);
  }
  ~Harness() {
    gate->Open();
    engine.reset();
  }
  CallContext Call(absl::Time deadline = absl::InfiniteFuture()) {
    CallContext call;
    call.deadline = deadline;
    call.method = "Embed";
    return call;
  }
  // Starts Embed(texts) on a thread; the status lands in *out.
  std::thread Start(std::vector<std::string> texts, absl::Status* out,
                    CallContext call = CallContext()) {
    return std::thread([this, texts, out, call]() { *out = engine->Embed(Request(texts), call).status(); });
  }

  FakeClock clock;
  std::shared_ptr<Gate> gate;
  FakeBackend* backend = nullptr;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<EmbeddingEngine> engine;
};

TEST(EmbeddingEngineTest, EmbedsInOrderWithTheRequestsOptions) {
  Harness h;
  v1::EmbedRequest request = Request({"one two", "three", "four five six"});
  request.set_request_id("r1");
  request.mutable_options()->set_pooling(v1::POOLING_LAST_TOKEN);
  auto r = h.engine->Embed(request, h.Call());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->request_id(), "r1");
  ASSERT_EQ(r->embeddings_size(), 3);
  const int last = static_cast<int>(PoolingMode::kLastToken);
  EXPECT_EQ(r->embeddings(0).tokens(), 3u);
  EXPECT_EQ(r->embeddings(1).tokens(), 2u);
  EXPECT_EQ(r->embeddings(2).tokens(), 4u);
  EXPECT_EQ(r->embeddings(2).values(1), 3);  // pooled
  EXPECT_EQ(r->embeddings(2).values(2), last);
  EXPECT_EQ(r->usage().total_tokens(), 9u);

  // Matryoshka truncation, then normalisation.
  request.mutable_options()->set_dimensions(2);
  request.mutable_options()->set_normalize(true);
  r = h.engine->Embed(request, h.Call());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->embeddings(0).values_size(), 2);
  const float n = std::hypot(r->embeddings(0).values(0), r->embeddings(0).values(1));
  EXPECT_NEAR(n, 1.0f, 1e-6);
  EXPECT_NEAR(r->embeddings(0).values(0) / r->embeddings(0).values(1), 3.0f / 2.0f, 1e-6);

  // What the fake reported reaches Info and the metrics.
  const v1::InfoResponse info = h.engine->Info();
  EXPECT_EQ(info.architecture(), "fake");
  EXPECT_EQ(info.max_forward_tokens(), 100u);
  EXPECT_EQ(info.max_input_tokens(), 8u);
  EXPECT_EQ(MetricValue(*h.metrics, "llm2vec_forward_passes_total"), 2.0 * h.backend->batches);
}

TEST(EmbeddingEngineTest, BadRequestsNameTheFieldAndNeverReachTheDevice) {
  EmbeddingEngine::Options options;
  options.max_inputs_per_request = 2;
  options.max_input_bytes = 32;
  Harness h(options);
  auto expect = [&](v1::EmbedRequest request, absl::StatusCode code, const std::string& text) {
    absl::Status s = h.engine->Embed(request, h.Call()).status();
    EXPECT_EQ(s.code(), code) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), text)) << s;
  };
  expect(Request({}), absl::StatusCode::kInvalidArgument, "inputs is empty");
  expect(Request({"a", "b", "c"}), absl::StatusCode::kInvalidArgument,
         "inputs has 3 entries; max_inputs_per_request is 2");
  v1::EmbedRequest bad = Request({"a"});
  bad.mutable_options()->set_pooling(static_cast<v1::Pooling>(99));
  expect(bad, absl::StatusCode::kInvalidArgument, "options.pooling 99 is not a known value");
  bad = Request({"a"});
  bad.mutable_options()->set_truncate(static_cast<v1::Truncate>(7));
  expect(bad, absl::StatusCode::kInvalidArgument, "options.truncate 7 is not a known value");
  bad = Request({"a"});
  bad.mutable_options()->set_priority(1000);
  expect(bad, absl::StatusCode::kInvalidArgument, "options.priority 1000 is not 0 (normal) or 1 (high)");
  bad = Request({"a"});
  bad.mutable_options()->set_encoding(static_cast<v1::Encoding>(9));
  expect(bad, absl::StatusCode::kInvalidArgument, "options.encoding 9 is not a known value");
  bad = Request({"a"});
  bad.mutable_options()->set_dimensions(5);
  expect(bad, absl::StatusCode::kInvalidArgument, "options.dimensions 5 exceeds the embedding size 4");
  bad = Request({"a"});
  bad.mutable_options()->set_adapter("x");
  expect(bad, absl::StatusCode::kNotFound, "options.adapter 'x' is not loaded (loaded: none)");
  expect(Request({"a", "  "}), absl::StatusCode::kInvalidArgument, "inputs[1] has no tokens");
  expect(Request({"a b c d e f g h i"}), absl::StatusCode::kInvalidArgument,
         "inputs[0] has 10 tokens; the limit is 8 (max_input_tokens; set truncate)");
  // Bytes are checked before tokenizing, for Embed and Tokenize alike.
  expect(Request({"a", std::string(40, 'b')}), absl::StatusCode::kInvalidArgument,
         "inputs[1] is 40 bytes; max_input_bytes is 32");
  v1::TokenizeRequest tokenize;
  tokenize.add_inputs()->set_text(std::string(40, 'b'));
  EXPECT_EQ(h.engine->Tokenize(tokenize).status().message(),
            "inputs[0] is 40 bytes; max_input_bytes is 32");
  bad = Request({"a"});
  bad.set_request_id(std::string(257, 'r'));
  expect(bad, absl::StatusCode::kInvalidArgument, "request_id is 257 bytes; at most 256");
  EXPECT_EQ(h.backend->batches, 0);
  // With truncation the same input runs, cut to the limit.
  v1::EmbedRequest cut = Request({"a b c d e f g h i"});
  cut.mutable_options()->set_truncate(v1::TRUNCATE_END);
  auto r = h.engine->Embed(cut, h.Call());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->embeddings(0).tokens(), 8u);
}

TEST(EmbeddingEngineTest, AFullQueueRefusesAtOnceAndCountsIt) {
  EmbeddingEngine::Options options;
  options.worker.queue.max_batch_requests = 1;
  options.worker.queue.max_queue_requests = 2;
  Harness h(options);
  h.gate->Hold();
  absl::Status a, b, c;
  std::thread ta = h.Start({"running"}, &a);
  h.gate->AwaitEntered(1);
  std::thread tb = h.Start({"queued one"}, &b);
  std::thread tc = h.Start({"queued two"}, &c);
  WaitFor([&] { return h.engine->queue_stats().queued_requests == 2; }, "two queued inputs");
  absl::Status refused = h.engine->Embed(Request({"one too many"}), h.Call()).status();
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "the queue holds 2 inputs")) << refused;
  EXPECT_EQ(MetricValue(*h.metrics, R"(llm2vec_rejected_requests_total{reason="queue_full"})"), 1);
  h.gate->Open();
  ta.join();
  tb.join();
  tc.join();
  EXPECT_TRUE(a.ok() && b.ok() && c.ok()) << a << b << c;
  EXPECT_EQ(h.backend->batches, 3);
}

TEST(EmbeddingEngineTest, ADeadlineThatPassesWhileQueuedDropsTheWorkBeforeCompute) {
  EmbeddingEngine::Options options;
  options.worker.queue.max_batch_requests = 1;
  Harness h(options);
  h.gate->Hold();
  absl::Status running, late;
  std::thread tr = h.Start({"running"}, &running);
  h.gate->AwaitEntered(1);
  std::thread tl = h.Start({"late"}, &late, h.Call(h.clock.Now() + absl::Milliseconds(100)));
  WaitFor([&] { return h.engine->queue_stats().queued_requests == 1; }, "the late input queued");
  h.clock.Advance(absl::Milliseconds(200));
  h.gate->Open();
  tr.join();
  tl.join();
  EXPECT_TRUE(running.ok()) << running;
  EXPECT_TRUE(absl::IsDeadlineExceeded(late)) << late;
  EXPECT_EQ(h.backend->batches, 1);  // "late" never ran
  EXPECT_EQ(MetricValue(*h.metrics, R"(llm2vec_dropped_tasks_total{reason="deadline"})"), 1);
}

TEST(EmbeddingEngineTest, ACancelledCallIsAnsweredAndItsWorkDropped) {
  EmbeddingEngine::Options options;
  options.worker.queue.max_batch_requests = 1;
  Harness h(options);
  h.gate->Hold();
  absl::Status running, cancelled;
  std::thread tr = h.Start({"running"}, &running);
  h.gate->AwaitEntered(1);
  auto gone = std::make_shared<std::atomic<bool>>(false);
  CallContext call = h.Call();
  call.is_cancelled = [gone] { return gone->load(); };
  std::thread tc = h.Start({"cancel me"}, &cancelled, call);
  WaitFor([&] { return h.engine->queue_stats().queued_requests == 1; }, "the input queued");
  gone->store(true);
  tc.join();  // answered while the device is still busy
  EXPECT_TRUE(absl::IsCancelled(cancelled)) << cancelled;
  h.gate->Open();
  tr.join();
  WaitFor(
      [&] {
        return MetricValue(*h.metrics, R"(llm2vec_dropped_tasks_total{reason="cancelled"})") == 1;
      },
      "the queue to drop the cancelled task");
  EXPECT_EQ(h.backend->batches, 1);
}

// Deadline-aware admission counts the batch on the device and the
// request's own batch, not only the queued tokens.
TEST(EmbeddingEngineTest, AdmissionRefusesADeadlineTheRunningAndOwnBatchesWouldMiss) {
  EmbeddingEngine::Options options;
  options.worker.queue.max_batch_requests = 1;
  Harness h(options);
  // One measured batch: 3 tokens in 300 ms (10 tokens/s, 0.3 s a batch).
  h.gate->Hold();
  absl::Status warm, running, queued;
  std::thread tw = h.Start({"warm up"}, &warm);
  h.gate->AwaitEntered(1);
  h.clock.Advance(absl::Milliseconds(300));
  h.gate->Allow(1);
  tw.join();
  ASSERT_TRUE(warm.ok()) << warm;
  std::thread tr = h.Start({"running"}, &running);
  h.gate->AwaitEntered(2);
  std::thread tq = h.Start({"queued"}, &queued);
  WaitFor([&] { return h.engine->queue_stats().queued_requests == 1; }, "one queued input");
  // Ahead: 2 queued tokens (0.2 s) + the running batch and its own (0.6 s)
  // + its 2 tokens (0.2 s) = 1 s, x1.5: a 1.4 s deadline cannot be met.
  // Its 2 tokens are estimated (the requests so far had 2-3 tokens per
  // input), so it is refused before it is tokenized: refusals stay cheap.
  const int prepared_before = h.backend->prepared.load();
  absl::Status hurry =
      h.engine->Embed(Request({"hurry"}), h.Call(h.clock.Now() + absl::Milliseconds(1400)))
          .status();
  EXPECT_TRUE(absl::IsResourceExhausted(hurry)) << hurry;
  EXPECT_EQ(h.backend->prepared.load(), prepared_before);
  EXPECT_TRUE(absl::StrContains(hurry.message(), "past this request's deadline")) << hurry;
  EXPECT_EQ(
      MetricValue(*h.metrics, R"(llm2vec_rejected_requests_total{reason="deadline_unmeetable"})"),
      1);
  h.gate->Open();
  tr.join();
  tq.join();
  EXPECT_TRUE(running.ok() && queued.ok());
  // A deadline the estimate can meet is admitted.
  auto ok = h.engine->Embed(Request({"relaxed"}), h.Call(h.clock.Now() + absl::Seconds(2)));
  EXPECT_TRUE(ok.ok()) << ok.status();
}

// POOLING_NONE returns every token's state (TEI's /embed_all), alone:
// nothing that treats the values as one vector applies, and the answer is
// bounded.
TEST(EmbeddingEngineTest, PoolingNoneReturnsTheStatesAsTheyAreAndIsBounded) {
  Harness h;
  v1::EmbedRequest request = Request({"one two"});
  request.mutable_options()->set_pooling(v1::POOLING_NONE);
  auto r = h.engine->Embed(request, h.Call());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->embeddings_size(), 1);
  // The fake's four values, untouched (normalising would change them).
  EXPECT_EQ(r->embeddings(0).values(0), 3);
  EXPECT_EQ(r->embeddings(0).values(2), static_cast<int>(PoolingMode::kNone));
  for (auto set : std::vector<std::function<void(v1::EmbedOptions*)>>{
           [](v1::EmbedOptions* o) { o->set_normalize(true); },
           [](v1::EmbedOptions* o) { o->set_dimensions(2); },
           [](v1::EmbedOptions* o) { o->set_encoding(v1::ENCODING_INT8); }}) {
    v1::EmbedRequest bad = request;
    set(bad.mutable_options());
    absl::Status s = h.engine->Embed(bad, h.Call()).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "do not apply")) << s;
  }
  v1::SimilarityRequest similarity;
  similarity.mutable_query()->set_text("a");
  similarity.add_candidates()->set_text("b");
  similarity.mutable_options()->set_pooling(v1::POOLING_NONE);
  absl::Status s = h.engine->Similarity(similarity, h.Call()).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  // 2^24 values at most: 4 values a token here, so 2^22 tokens.
  std::string many;
  for (int i = 0; i < (1 << 22); ++i) many += "w ";
  request = Request({many});
  request.mutable_options()->set_pooling(v1::POOLING_NONE);
  request.mutable_options()->set_truncate(v1::TRUNCATE_END);
  EmbeddingEngine::Options options;
  options.max_input_bytes = 1 << 24;
  options.max_input_tokens = 1 << 23;
  options.worker.queue.max_queue_tokens = 1 << 23;
  options.worker.queue.max_batch_tokens = 1 << 23;
  Harness big(options);
  s = big.engine->Embed(request, big.Call()).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "4194305 tokens x 4 values is over the limit of "
                                             "16777216 values per request"))
      << s;
  EXPECT_EQ(big.backend->batches.load(), 0);
}

TEST(EmbeddingEngineTest, DecodeAnswersEachListOnTheCallingThreadWithinBounds) {
  EmbeddingEngine::Options options;
  options.max_inputs_per_request = 2;
  options.worker.queue.max_queue_tokens = 4;
  Harness h(options);
  auto texts = h.engine->Decode({{1, 5}, {7}}, /*skip_special_tokens=*/true);
  ASSERT_TRUE(texts.ok()) << texts.status();
  EXPECT_EQ(*texts, (std::vector<std::string>{"w5", "w7"}));
  texts = h.engine->Decode({{1, 5}}, /*skip_special_tokens=*/false);
  ASSERT_TRUE(texts.ok()) << texts.status();
  EXPECT_EQ(*texts, (std::vector<std::string>{"w1 w5"}));
  const std::vector<std::pair<std::vector<std::vector<int32_t>>, std::string>> bad = {
      {{}, "ids is empty"},
      {{{1}, {2}, {3}}, "ids has 3 lists; max_inputs_per_request is 2"},
      {{{1, 2, 3}, {4, 5}}, "ids has 5 ids in all; a Decode call takes at most 4"},
      {{{1}, {2, 100}}, "ids[1]: token id 100 at position 1"},
      {{{100}}, "ids: token id 100 at position 0"},
  };
  for (const auto& [ids, message] : bad) {
    absl::Status s = h.engine->Decode(ids, true).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), message)) << s;
  }
  EXPECT_EQ(h.backend->batches.load(), 0);
}

TEST(EmbeddingEngineTest, AdaptersLoadOnTheWorkerAndAFailedLoadChangesNothing) {
  Harness h;
  ASSERT_TRUE(h.engine->LoadAdapter("a", "/adapters/a").ok());
  EXPECT_EQ(h.engine->AdapterNames(), std::vector<std::string>{"a"});
  EXPECT_EQ(*h.engine->AdapterPath("a"), "/adapters/a");
  EXPECT_TRUE(absl::IsAlreadyExists(h.engine->LoadAdapter("a", "/adapters/a2")));
  EXPECT_TRUE(absl::IsInvalidArgument(h.engine->LoadAdapter("b", "bad")));
  EXPECT_TRUE(absl::IsInvalidArgument(h.engine->LoadAdapter("no/slash", "/x")));
  EXPECT_EQ(h.engine->AdapterNames(), std::vector<std::string>{"a"});
  v1::EmbedRequest request = Request({"with adapter"});
  request.mutable_options()->set_adapter("a");
  auto r = h.engine->Embed(request, h.Call());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->embeddings(0).values(3), static_cast<float>(std::string("/adapters/a").size()));
  EXPECT_EQ(h.engine->Info().adapters_size(), 1);
  ASSERT_TRUE(h.engine->UnloadAdapter("a").ok());
  EXPECT_TRUE(absl::IsNotFound(h.engine->UnloadAdapter("a")));
  ASSERT_TRUE(h.engine->LoadAdapter("a", "/adapters/a").ok());
  ASSERT_TRUE(h.engine->UnloadAdapter("a").ok());
  EXPECT_TRUE(absl::IsNotFound(h.engine->Embed(request, h.Call()).status()));
}

TEST(EmbeddingEngineTest, LoadedAdaptersAreCapped) {
  EmbeddingEngine::Options options;
  options.max_adapters = 1;
  Harness h(options);
  ASSERT_TRUE(h.engine->LoadAdapter("a", "/adapters/a").ok());
  absl::Status s = h.engine->LoadAdapter("b", "/adapters/b");
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_EQ(s.message(), "1 adapters are loaded, the server's limit (--max-adapters); unload one first");
  ASSERT_TRUE(h.engine->UnloadAdapter("a").ok());
  EXPECT_TRUE(h.engine->LoadAdapter("b", "/adapters/b").ok());
}

TEST(EmbeddingEngineTest, ADeviceErrorFailsItsRequestAndTheEngineServesOn) {
  Harness h;
  absl::Status s = h.engine->Embed(Request({"fail"}), h.Call()).status();
  EXPECT_TRUE(absl::IsInternal(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "the fake device failed")) << s;
  EXPECT_TRUE(h.engine->Embed(Request({"fine"}), h.Call()).ok());
  // An exception on the device thread fails the batch, not the process.
  s = h.engine->Embed(Request({"throw"}), h.Call()).status();
  EXPECT_TRUE(absl::IsInternal(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "the batch failed: a library threw")) << s;
  // A NaN from the model is an error, not an embedding (and never reaches
  // the int8 packing).
  v1::EmbedRequest nan = Request({"fine", "nan"});
  nan.mutable_options()->set_encoding(v1::ENCODING_INT8);
  s = h.engine->Embed(nan, h.Call()).status();
  EXPECT_TRUE(absl::IsInternal(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "inputs[1]: the model produced a non-finite")) << s;
  s = h.engine->RunOnDevice([]() -> absl::Status { throw std::bad_alloc(); });
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_TRUE(h.engine->Embed(Request({"fine"}), h.Call()).ok());
}

// Other parts' tensor work (a training job's model load) runs on the
// device worker; work still queued when the worker stops is answered, and
// later work is refused at once, so no caller hangs at shutdown.
TEST(EmbeddingEngineTest, DeviceWorkRunsOnTheWorkerAndNoCallerHangsAtShutdown) {
  EmbeddingEngine::Options options;
  options.worker.queue.max_batch_requests = 1;
  Harness h(options);
  ASSERT_TRUE(h.engine->Embed(Request({"first"}), h.Call()).ok());
  std::thread::id ran_on;
  ASSERT_TRUE(h.engine->RunOnDevice([&] {
                    ran_on = std::this_thread::get_id();
                    return absl::OkStatus();
                  }).ok());
  EXPECT_EQ(ran_on, h.backend->device_thread());

  h.gate->Hold();
  absl::Status running;
  std::thread tr = h.Start({"running"}, &running);
  h.gate->AwaitEntered(2);
  absl::Status queued_work = absl::UnknownError("not answered");
  std::thread tw([&] { queued_work = h.engine->RunOnDevice([] { return absl::OkStatus(); }); });
  h.engine->BeginShutdown(absl::ZeroDuration());
  // New adapter work is refused once shutdown has begun.
  EXPECT_TRUE(absl::IsUnavailable(h.engine->LoadAdapter("a", "/adapters/a")));
  std::thread stopper([&] { h.engine->Shutdown(absl::ZeroDuration()); });
  h.gate->Open();
  stopper.join();
  tw.join();
  tr.join();
  EXPECT_TRUE(queued_work.ok() || absl::IsUnavailable(queued_work)) << queued_work;
  absl::Status after = h.engine->RunOnDevice([] { return absl::OkStatus(); });
  EXPECT_TRUE(absl::IsUnavailable(after)) << after;
}

TEST(EmbeddingEngineTest, TokenizeAnswersAtMostAQueuesWorthOfTokens) {
  EmbeddingEngine::Options options;
  options.worker.queue.max_queue_tokens = 6;
  options.worker.queue.max_batch_tokens = 6;
  options.max_input_tokens = 6;
  Harness h(options);
  v1::TokenizeRequest request;
  request.set_add_special_tokens(true);
  request.add_inputs()->set_text("a b");    // BOS + 2
  request.add_inputs()->set_text("c d e");  // BOS + 3: 7 in all
  auto refused = h.engine->Tokenize(request);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "inputs[0..1] come to 7 tokens; a Tokenize call returns at most 6 (max_queue_tokens)");
  request.mutable_inputs()->RemoveLast();
  EXPECT_TRUE(h.engine->Tokenize(request).ok());
}

TEST(EmbeddingEngineTest, TokenizeShowsWhatTheModelSees) {
  Harness h;
  v1::TokenizeRequest request;
  auto* in = request.add_inputs();
  in->set_text("a cat");
  in->set_instruction("Find");
  request.set_add_special_tokens(true);
  auto r = h.engine->Tokenize(request);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->tokens_size(), 1);
  EXPECT_EQ(r->tokens(0).pieces_size(), 4);  // <s> Find a cat
  EXPECT_EQ(r->tokens(0).pieces(1), "Find");
}

}  // namespace
}  // namespace llm2vec
