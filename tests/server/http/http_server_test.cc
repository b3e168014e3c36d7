// HttpServer over real loopback HTTP: a fake embed function, a small POSIX
// socket client, and the OpenAI wire format checked field by field.
#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace llm2vec {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- A minimal HTTP/1.1 client ---------------------------------------------

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  json Json() const { return json::parse(body); }
};

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{10, 0};  // a hung server fails the test instead of hanging it
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Reads one response (headers, then Content-Length bytes of body).
// `pending` carries bytes read past it to the next call.
Reply ReadReply(int fd, std::string* pending) {
  Reply reply;
  std::string& data = *pending;
  char buffer[4096];
  size_t header_end;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return reply;  // status 0: no (complete) response
    data.append(buffer, static_cast<size_t>(n));
  }
  std::istringstream head(data.substr(0, header_end));
  std::string line;
  std::getline(head, line);  // HTTP/1.1 200 OK
  reply.status = std::atoi(line.substr(line.find(' ') + 1).c_str());
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    reply.headers[absl::AsciiStrToLower(line.substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  data.erase(0, header_end + 4);
  size_t length = 0;
  if (!absl::SimpleAtoi(reply.headers["content-length"], &length)) {
    ADD_FAILURE() << "response without Content-Length";
    return reply;
  }
  while (data.size() < length) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  reply.body = data.substr(0, length);
  data.erase(0, std::min(length, data.size()));
  return reply;
}

std::string RequestText(const std::string& method, const std::string& path,
                        const std::string& body, bool keep_alive = false) {
  std::string text = absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  if (method == "POST") {
    absl::StrAppend(&text, "Content-Type: application/json\r\nContent-Length: ", body.size(),
                    "\r\n");
  }
  if (!keep_alive) text += "Connection: close\r\n";
  return absl::StrCat(text, "\r\n", body);
}

// Sends `raw` on a fresh connection and reads the answer.
Reply Raw(int port, const std::string& raw) {
  const int fd = Connect(port);
  if (fd < 0) {
    ADD_FAILURE() << "cannot connect to port " << port;
    return {};
  }
  SendAll(fd, raw);
  std::string pending;
  Reply reply = ReadReply(fd, &pending);
  close(fd);
  return reply;
}

Reply Get(int port, const std::string& path) { return Raw(port, RequestText("GET", path, "")); }
Reply Post(int port, const std::string& path, const std::string& body) {
  return Raw(port, RequestText("POST", path, body));
}

// ---- The fake model ----------------------------------------------------------

// Values whose text form is easy to get wrong: a float that is not a short
// decimal, the largest float, the smallest denormal, a negative.
std::vector<float> FakeEmbedding(const std::string& text, size_t index) {
  return {static_cast<float>(text.size()), 0.1f, -1.5f / static_cast<float>(index + 1),
          std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
          1.0f / 3.0f};
}

// A text that makes the fake model wait for its client to disconnect.
constexpr char kWaitForDisconnect[] = "wait for the client to hang up";

// What the fake model embeds for an input: its text, or "ids:1,2,3".
std::string InputText(const HttpInput& input) {
  return input.token_ids.empty() ? input.text : absl::StrCat("ids:", absl::StrJoin(input.token_ids, ","));
}

// The texts of a call's inputs.
std::vector<std::string> Texts(const HttpEmbedCall& call) {
  std::vector<std::string> texts;
  for (const HttpInput& in : call.inputs) texts.push_back(InputText(in));
  return texts;
}

class FakeModel {
 public:
  absl::StatusOr<HttpEmbedResult> Embed(const HttpEmbedCall& call) {
    if (call.inputs.size() == 1 && call.inputs[0].text == kWaitForDisconnect) {
      // Waits (at most 20 s) for the server to report the client gone, as
      // the engine polls a call's cancellation.
      const absl::Time give_up = absl::Now() + absl::Seconds(20);
      while (!(call.client_gone && call.client_gone()) && absl::Now() < give_up) {
        absl::SleepFor(absl::Milliseconds(5));
      }
      hung_up_client_seen_gone_ = call.client_gone && call.client_gone();
      saw_client_gone_.Notify();
      return absl::CancelledError("the client went away");
    }
    if (call.client_gone && call.client_gone()) connected_client_seen_gone_ = true;
    absl::MutexLock lock(&mu_);
    ++calls_;
    last_ = call;
    if (!next_status_.ok()) return next_status_;
    HttpEmbedResult result;
    for (size_t i = 0; i < call.inputs.size(); ++i) {
      const std::string text = InputText(call.inputs[i]);
      std::vector<float> e = FakeEmbedding(text, i);
      if (call.dimensions > 0) e.resize(static_cast<size_t>(call.dimensions));
      // Per token: two "tokens", the vector and its negation.
      if (call.per_token) {
        for (size_t d = 0, n = e.size(); d < n; ++d) e.push_back(-e[d]);
      }
      result.embeddings.push_back(std::move(e));
      result.tokens.push_back(call.per_token ? 2 : 1);
      result.prompt_tokens += static_cast<int64_t>(text.size());
    }
    if (drop_last_) result.embeddings.pop_back();
    if (nan_) result.embeddings[0][1] = std::numeric_limits<float>::quiet_NaN();
    result.model = reported_model_;
    return result;
  }

  // /similarity: the source's length minus each sentence's.
  absl::StatusOr<std::vector<float>> Similarity(const HttpSimilarityCall& call) {
    absl::MutexLock lock(&mu_);
    ++calls_;
    last_similarity_ = call;
    if (!next_status_.ok()) return next_status_;
    std::vector<float> scores;
    for (const std::string& s : call.sentences) {
      scores.push_back(static_cast<float>(call.source.size()) - static_cast<float>(s.size()));
    }
    return scores;
  }
  // /tokenize: one token per character, "<s>" first with special tokens.
  absl::StatusOr<std::vector<std::vector<HttpToken>>> Tokenize(const HttpTokenizeCall& call) {
    absl::MutexLock lock(&mu_);
    ++calls_;
    last_tokenize_ = call;
    if (!next_status_.ok()) return next_status_;
    std::vector<std::vector<HttpToken>> out;
    for (const std::string& text : call.texts) {
      auto& list = out.emplace_back();
      if (call.add_special_tokens) list.push_back({1, "<s>", true});
      for (char c : text) list.push_back({static_cast<int32_t>(c), std::string(1, c), false});
    }
    return out;
  }
  // /decode: the ids as characters, 1 as "<s>".
  absl::StatusOr<std::vector<std::string>> Decode(const HttpDecodeCall& call) {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (!next_status_.ok()) return next_status_;
    std::vector<std::string> out;
    for (const auto& ids : call.ids) {
      std::string& text = out.emplace_back();
      for (int32_t id : ids) {
        if (id == 1) {
          if (!call.skip_special_tokens) text += "<s>";
        } else {
          text += static_cast<char>(id);
        }
      }
    }
    return out;
  }
  absl::StatusOr<HttpInfo> Info() {
    absl::MutexLock lock(&mu_);
    if (!next_status_.ok()) return next_status_;
    HttpInfo info;
    info.model_id = "org/llm2vec-test";
    info.dtype = "float32";
    info.pooling = "mean";
    info.max_input_length = 512;
    info.max_batch_tokens = 16384;
    info.max_batch_requests = 256;
    info.max_client_batch_size = 2048;
    info.version = "9.9.9";
    return info;
  }
  HttpSimilarityCall last_similarity() {
    absl::MutexLock lock(&mu_);
    return last_similarity_;
  }
  HttpTokenizeCall last_tokenize() {
    absl::MutexLock lock(&mu_);
    return last_tokenize_;
  }

  void FailWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    next_status_ = std::move(status);
  }
  void set_reported_model(std::string model) {
    absl::MutexLock lock(&mu_);
    reported_model_ = std::move(model);
  }
  void set_drop_last(bool v) {
    absl::MutexLock lock(&mu_);
    drop_last_ = v;
  }
  void set_nan(bool v) {
    absl::MutexLock lock(&mu_);
    nan_ = v;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  // Notified when a kWaitForDisconnect call saw its client gone (or gave up).
  absl::Notification& saw_client_gone() { return saw_client_gone_; }
  bool connected_client_seen_gone() const { return connected_client_seen_gone_; }
  bool hung_up_client_seen_gone() const { return hung_up_client_seen_gone_; }
  HttpEmbedCall last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  HttpEmbedCall last_ ABSL_GUARDED_BY(mu_);
  HttpSimilarityCall last_similarity_ ABSL_GUARDED_BY(mu_);
  HttpTokenizeCall last_tokenize_ ABSL_GUARDED_BY(mu_);
  absl::Status next_status_ ABSL_GUARDED_BY(mu_);
  std::string reported_model_ ABSL_GUARDED_BY(mu_);
  bool drop_last_ ABSL_GUARDED_BY(mu_) = false;
  bool nan_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification saw_client_gone_;
  std::atomic<bool> connected_client_seen_gone_{false};
  std::atomic<bool> hung_up_client_seen_gone_{false};
};

constexpr char kModelName[] = "org/llm2vec-test";

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(HttpServer::Options{}); }

  void StartServer(HttpServer::Options options) {
    server_.reset();
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 4;
    options.metrics = metrics_.get();
    HttpApi api;
    api.embed = [this](const HttpEmbedCall& call) { return model_.Embed(call); };
    api.similarity = [this](const HttpSimilarityCall& call) { return model_.Similarity(call); };
    api.tokenize = [this](const HttpTokenizeCall& call) { return model_.Tokenize(call); };
    api.decode = [this](const HttpDecodeCall& call) { return model_.Decode(call); };
    api.info = [this] { return model_.Info(); };
    api.healthy = [this] { return healthy_.load(); };
    auto server = HttpServer::Start(options, std::move(api), kModelName);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->port(), 0);
  }

  int port() const { return server_->port(); }

  double MetricSample(const std::string& key) {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, metrics_->registry()->Collect());
    std::istringstream in(out.str());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(key + " ", 0) == 0) return std::stod(line.substr(key.size() + 1));
    }
    return -1;
  }

  FakeModel model_;
  std::atomic<bool> healthy_{true};
  std::unique_ptr<Metrics> metrics_ = Metrics::Create();
  std::unique_ptr<HttpServer> server_;
};

// Checks a float array against `expected`, bit for bit after parsing.
void ExpectFloats(const json& array, const std::vector<float>& expected) {
  ASSERT_TRUE(array.is_array()) << array.dump();
  ASSERT_EQ(array.size(), expected.size());
  for (size_t d = 0; d < expected.size(); ++d) {
    EXPECT_EQ(static_cast<float>(array[d].get<double>()), expected[d]) << "dimension " << d;
  }
}

TEST_F(HttpServerTest, ListInputGivesFloatEmbeddings) {
  const Reply reply = Post(
      port(), "/v1/embeddings",
      R"({"input": ["a cat", "hello"], "model": "m1", "dimensions": 5, "user": "u-1"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.headers.at("content-type"), "application/json");

  const HttpEmbedCall call = model_.last();
  EXPECT_THAT(Texts(call), ElementsAre("a cat", "hello"));
  EXPECT_EQ(call.model, "m1");
  EXPECT_EQ(call.dimensions, 5);

  const json response = reply.Json();
  EXPECT_EQ(response["object"], "list");
  EXPECT_EQ(response["model"], "m1");
  EXPECT_EQ(response["usage"]["prompt_tokens"], 10);
  EXPECT_EQ(response["usage"]["total_tokens"], 10);
  ASSERT_EQ(response["data"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const json& item = response["data"][i];
    EXPECT_EQ(item["object"], "embedding");
    EXPECT_EQ(item["index"], i);
    std::vector<float> expected = FakeEmbedding(call.inputs[i].text, i);
    expected.resize(5);
    ExpectFloats(item["embedding"], expected);
  }
}

TEST_F(HttpServerTest, StringInputIsOneText) {
  const Reply reply = Post(port(), "/v1/embeddings", R"({"input": "Once upon a time"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_THAT(Texts(model_.last()), ElementsAre("Once upon a time"));
  EXPECT_EQ(model_.last().model, "");
  EXPECT_EQ(model_.last().dimensions, 0);
  const json response = reply.Json();
  ASSERT_EQ(response["data"].size(), 1u);
  ExpectFloats(response["data"][0]["embedding"], FakeEmbedding("Once upon a time", 0));
  // No model asked for, none reported: the server's.
  EXPECT_EQ(response["model"], kModelName);
}

// OpenAI's token-array inputs: one array is one input, an array of arrays
// several; the ids reach the model as sent.
TEST_F(HttpServerTest, TokenArraysAreInputs) {
  Reply reply = Post(port(), "/v1/embeddings", R"({"input": [5, 0, 2147483647], "user": "u1"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_THAT(Texts(model_.last()), ElementsAre("ids:5,0,2147483647"));
  ASSERT_EQ(reply.Json()["data"].size(), 1u);
  ExpectFloats(reply.Json()["data"][0]["embedding"], FakeEmbedding("ids:5,0,2147483647", 0));

  reply = Post(port(), "/v1/embeddings", R"({"input": [[1, 2], [3]]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_THAT(Texts(model_.last()), ElementsAre("ids:1,2", "ids:3"));
  ASSERT_EQ(reply.Json()["data"].size(), 2u);
  ExpectFloats(reply.Json()["data"][1]["embedding"], FakeEmbedding("ids:3", 1));
}

// A token array is bounded like a text (4 bytes an id, max_input_bytes),
// while it is parsed; arrays of arrays are counted as inputs.
TEST_F(HttpServerTest, TokenArraysAreBoundedWhileParsed) {
  HttpServer::Options options;
  options.max_inputs = 2;
  options.max_input_bytes = 12;  // 3 ids
  StartServer(options);
  EXPECT_EQ(Post(port(), "/v1/embeddings", R"({"input": [1, 2, 3]})").status, 200);
  EXPECT_EQ(Post(port(), "/v1/embeddings", R"({"input": [[1, 2, 3], [4, 5, 6]]})").status, 200);
  for (const std::string body : {R"({"input": [1, 2, 3, 4]})", R"({"input": [[1], [1, 2, 3, 4]]})"}) {
    const Reply reply = Post(port(), "/v1/embeddings", body);
    EXPECT_EQ(reply.status, 400) << body;
    EXPECT_EQ(reply.Json()["error"]["message"],
              "a token array in 'input' has more than 3 ids (max_input_bytes / 4)");
  }
  const Reply reply = Post(port(), "/v1/embeddings", R"({"input": [[1], [2], [3]]})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.Json()["error"]["message"],
            "'input' has more than 2 entries; max_inputs_per_request is 2");
}

TEST_F(HttpServerTest, ModelReportedByTheEmbedFunctionWins) {
  model_.set_reported_model("org/base+adapter");
  const Reply reply = Post(port(), "/v1/embeddings", R"({"input": "x", "model": "adapter"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json()["model"], "org/base+adapter");
}

TEST_F(HttpServerTest, Base64IsLittleEndianFloat32) {
  const Reply reply = Post(port(), "/v1/embeddings",
                           R"({"input": ["ab", "xyz"], "encoding_format": "base64"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json response = reply.Json();
  ASSERT_EQ(response["data"].size(), 2u);
  const std::vector<std::string> texts = {"ab", "xyz"};
  for (size_t i = 0; i < 2; ++i) {
    const json& embedding = response["data"][i]["embedding"];
    ASSERT_TRUE(embedding.is_string()) << embedding.dump();
    std::string bytes;
    ASSERT_TRUE(absl::Base64Unescape(embedding.get<std::string>(), &bytes));
    const std::vector<float> expected = FakeEmbedding(texts[i], i);
    ASSERT_EQ(bytes.size(), 4 * expected.size());
    for (size_t d = 0; d < expected.size(); ++d) {
      // Assemble little-endian explicitly, whatever this machine's order.
      uint32_t bits = 0;
      for (int b = 0; b < 4; ++b) {
        bits |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[4 * d + b])) << (8 * b);
      }
      float value;
      std::memcpy(&value, &bits, 4);
      EXPECT_EQ(value, expected[d]) << "embedding " << i << " dimension " << d;
    }
  }
}

struct BadRequestCase {
  std::string body;
  std::string param;  // "" = null
  std::string message;
};

TEST_F(HttpServerTest, InvalidBodiesNameTheField) {
  const std::vector<BadRequestCase> cases = {
      {"not json", "", "request body is not valid JSON"},
      {"[1, 2]", "", "must be a JSON object; got array"},
      {R"({"model": "m"})", "input", "'input' is required"},
      {R"({"input": null})", "input", "'input' is required"},
      {R"({"input": ""})", "input", "'input' is an empty string"},
      {R"({"input": []})", "input", "'input' is an empty array"},
      {R"({"input": ["a", 3]})", "input", "'input[1]' is a number; expected a string"},
      {R"({"input": ["a", true]})", "input", "'input[1]' is a boolean; expected a string"},
      {R"({"input": ["a", [1]]})", "input", "'input[1]' is an array; expected a string"},
      {R"({"input": ["a", ""]})", "input", "'input[1]' is an empty string"},
      {R"({"input": 5})", "input",
       "'input' is number; expected a string, an array of strings, an array of token ids or an "
       "array of arrays of token ids"},
      // Token ids: OpenAI's other two shapes.
      {R"({"input": [1, -2]})", "input", "'input[1]' is -2; expected a token id"},
      {R"({"input": [1, 2.5]})", "input", "'input[1]' is 2.5; expected a token id"},
      {R"({"input": [1, "a"]})", "input", R"('input[1]' is "a"; expected a token id)"},
      {R"({"input": [[1], 2]})", "input",
       "'input[1]' is a number; expected an array of token ids"},
      {R"({"input": [[1], []]})", "input", "'input[1]' is an empty array"},
      {R"({"input": [[1], [3, 2147483648]]})", "input",
       "'input[1][1]' is 2147483648; expected a token id (an integer from 0 to 2147483647)"},
      {R"({"input": "a", "user": 5})", "user", "'user' is number; expected a string"},
      {R"({"input": "a", "model": 7})", "model", "'model' is number; expected a string"},
      {R"({"input": "a", "encoding_format": "hex"})", "encoding_format",
       R"('encoding_format' is "hex"; expected "float" or "base64")"},
      {R"({"input": "a", "encoding_format": 1})", "encoding_format", "'encoding_format' is 1;"},
      {R"({"input": "a", "dimensions": 0})", "dimensions",
       "'dimensions' is 0; expected a positive integer"},
      {R"({"input": "a", "dimensions": -4})", "dimensions", "'dimensions' is -4"},
      {R"({"input": "a", "dimensions": 2.5})", "dimensions", "'dimensions' is 2.5"},
      {R"({"input": "a", "dimensions": "8"})", "dimensions", R"('dimensions' is "8")"},
      {R"({"input": "a", "dimensions": 18446744073709551615})", "dimensions",
       "'dimensions' is 18446744073709551615"},
  };
  for (const BadRequestCase& c : cases) {
    SCOPED_TRACE(c.body);
    const Reply reply = Post(port(), "/v1/embeddings", c.body);
    EXPECT_EQ(reply.status, 400);
    const json error = reply.Json()["error"];
    EXPECT_EQ(error["type"], "invalid_request_error");
    EXPECT_EQ(error["param"], c.param.empty() ? json(nullptr) : json(c.param));
    EXPECT_THAT(error["message"].get<std::string>(), HasSubstr(c.message));
  }
  EXPECT_EQ(model_.calls(), 0);
  const double n = static_cast<double>(cases.size());
  EXPECT_EQ(MetricSample(R"(llm2vec_requests_total{method="http_embeddings",outcome="INVALID_ARGUMENT"})"),
            n);
  EXPECT_EQ(MetricSample(R"(llm2vec_rejected_requests_total{reason="invalid"})"), n);
}

// Every call of an API route is counted once, by route, with its outcome;
// only the ones refused before the model count as rejected.
TEST_F(HttpServerTest, EveryCallIsCountedOnceByRouteWithItsOutcome) {
  ASSERT_EQ(Post(port(), "/v1/embeddings", R"({"input": "a"})").status, 200);
  ASSERT_EQ(Post(port(), "/embed", R"({"inputs": "a"})").status, 200);
  ASSERT_EQ(Post(port(), "/tokenize", R"({"inputs": "a"})").status, 200);
  model_.FailWith(absl::ResourceExhaustedError("queue is full"));
  ASSERT_EQ(Post(port(), "/v1/embeddings", R"({"input": "a"})").status, 429);
  ASSERT_EQ(Post(port(), "/embed", R"({"inputs": "a"})").status, 429);
  EXPECT_EQ(MetricSample(R"(llm2vec_rejected_requests_total{reason="invalid"})"), 0);
  EXPECT_EQ(MetricSample(R"(llm2vec_requests_total{method="http_embeddings",outcome="OK"})"), 1);
  EXPECT_EQ(MetricSample(
                R"(llm2vec_requests_total{method="http_embeddings",outcome="RESOURCE_EXHAUSTED"})"),
            1);
  EXPECT_EQ(MetricSample(R"(llm2vec_requests_total{method="tei_embed",outcome="OK"})"), 1);
  EXPECT_EQ(MetricSample(R"(llm2vec_requests_total{method="tei_embed",outcome="RESOURCE_EXHAUSTED"})"),
            1);
  EXPECT_EQ(MetricSample(R"(llm2vec_requests_total{method="tei_tokenize",outcome="OK"})"), 1);
  ASSERT_EQ(Post(port(), "/embed", R"({"inputs": 5})").status, 422);
  EXPECT_EQ(MetricSample(R"(llm2vec_requests_total{method="tei_embed",outcome="INVALID_ARGUMENT"})"),
            1);
  EXPECT_EQ(MetricSample(R"(llm2vec_rejected_requests_total{reason="invalid"})"), 1);
}

struct ErrorCase {
  absl::Status status;
  int http;
  std::string type;
  std::string code;
};

TEST_F(HttpServerTest, EmbedErrorsMapToHttpStatuses) {
  const std::vector<ErrorCase> cases = {
      {absl::InvalidArgumentError("input 0 has 9000 tokens; max_input_tokens is 8192"), 400,
       "invalid_request_error", ""},
      {absl::NotFoundError("no adapter named \"x\""), 404, "invalid_request_error",
       "model_not_found"},
      {absl::ResourceExhaustedError("queue is full: 5000 of 4096 tokens"), 429, "rate_limit_error",
       "rate_limit_exceeded"},
      {absl::UnavailableError("server is shutting down"), 503, "server_error",
       "service_unavailable"},
      {absl::DeadlineExceededError("deadline passed while queued"), 504, "server_error",
       "timeout"},
      {absl::InternalError("CUDA out of memory"), 500, "server_error", "internal_error"},
      {absl::FailedPreconditionError("odd state"), 500, "server_error", "internal_error"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.status.ToString());
    model_.FailWith(c.status);
    const Reply reply = Post(port(), "/v1/embeddings", R"({"input": ["a", "b"]})");
    EXPECT_EQ(reply.status, c.http);
    EXPECT_EQ(HttpStatusFor(c.status.code()), c.http);
    const json error = reply.Json()["error"];
    EXPECT_EQ(error["message"], std::string(c.status.message()));
    EXPECT_EQ(error["type"], c.type);
    EXPECT_EQ(error["code"], c.code.empty() ? json(nullptr) : json(c.code));
    EXPECT_EQ(error["param"], c.http == 404 ? json("model") : json(nullptr));
  }
}

TEST_F(HttpServerTest, BrokenResultsAreServerErrors) {
  model_.set_drop_last(true);
  Reply reply = Post(port(), "/v1/embeddings", R"({"input": ["a", "b"]})");
  EXPECT_EQ(reply.status, 500);
  EXPECT_THAT(reply.Json()["error"]["message"].get<std::string>(),
              HasSubstr("returned 1 embeddings for 2 inputs"));
  model_.set_drop_last(false);
  model_.set_nan(true);
  reply = Post(port(), "/v1/embeddings", R"({"input": ["a"]})");
  EXPECT_EQ(reply.status, 500);
  EXPECT_THAT(reply.Json()["error"]["message"].get<std::string>(),
              HasSubstr("embedding 0 has value nan at dimension 1"));
}

TEST_F(HttpServerTest, HealthFollowsTheHealthFunction) {
  Reply reply = Get(port(), "/health");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Json(), json({{"status", "ok"}}));
  healthy_ = false;
  reply = Get(port(), "/health");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.Json()["status"], "unavailable");
  healthy_ = true;
  EXPECT_EQ(Get(port(), "/health").status, 200);
}

TEST_F(HttpServerTest, ModelsListsTheOneModel) {
  Reply reply = Get(port(), "/v1/models");
  ASSERT_EQ(reply.status, 200);
  json models = reply.Json();
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], kModelName);
  EXPECT_EQ(models["data"][0]["object"], "model");
  EXPECT_GT(models["data"][0]["created"].get<int64_t>(), 1'600'000'000);

  reply = Get(port(), absl::StrCat("/v1/models/", kModelName));
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Json()["id"], kModelName);

  reply = Get(port(), "/v1/models/other");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.Json()["error"]["code"], "model_not_found");
}

TEST_F(HttpServerTest, UnknownPathsAndMethods) {
  Reply reply = Get(port(), "/v1/embeddings");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.headers["allow"], "POST");
  EXPECT_THAT(reply.Json()["error"]["message"].get<std::string>(),
              HasSubstr("GET is not allowed on /v1/embeddings"));
  EXPECT_EQ(Post(port(), "/health", "{}").status, 405);
  reply = Get(port(), "/v2/nothing");
  EXPECT_EQ(reply.status, 404);
  EXPECT_THAT(reply.Json()["error"]["message"].get<std::string>(),
              HasSubstr("no route for GET /v2/nothing"));
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  const int fd = Connect(port());
  ASSERT_GE(fd, 0);
  std::string pending;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(SendAll(
        fd, RequestText("POST", "/v1/embeddings", R"({"input": "again"})", /*keep_alive=*/true)));
    EXPECT_EQ(ReadReply(fd, &pending).status, 200) << "request " << i;
  }
  close(fd);
  EXPECT_EQ(model_.calls(), 3);
}

// A client that hangs up while its call waits is reported gone (the engine
// then cancels the call's queued work); one still connected is not.
TEST_F(HttpServerTest, ClientThatHangsUpIsReportedGone) {
  EXPECT_EQ(Post(port(), "/v1/embeddings", R"({"input": "still here"})").status, 200);
  EXPECT_FALSE(model_.connected_client_seen_gone());

  const int fd = Connect(port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, RequestText("POST", "/v1/embeddings",
                                      absl::StrCat(R"({"input": ")", kWaitForDisconnect, R"("})"),
                                      /*keep_alive=*/true)));
  close(fd);
  ASSERT_TRUE(model_.saw_client_gone().WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(model_.hung_up_client_seen_gone());
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413) {
  HttpServer::Options options;
  options.max_body_bytes = 1024;
  StartServer(options);

  // Exactly at the limit: read and parsed.
  std::string body = R"({"input": ")";
  body += std::string(1024 - body.size() - 2, 'a') + R"("})";
  ASSERT_EQ(body.size(), 1024u);
  EXPECT_EQ(Post(port(), "/v1/embeddings", body).status, 200);

  // Declared too long: refused before reading.
  body.insert(12, 3000, 'b');
  Reply reply = Post(port(), "/v1/embeddings", body);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.Json()["error"]["code"], "request_too_large");
  EXPECT_THAT(reply.Json()["error"]["message"].get<std::string>(),
              HasSubstr("request body is 4024 bytes; the limit is 1024 bytes"));
  EXPECT_EQ(reply.headers["connection"], "close");

  // Chunked, no length declared: refused once the limit is passed.
  std::string chunked =
      "POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close\r\n\r\n";
  for (int i = 0; i < 3; ++i) absl::StrAppend(&chunked, "200\r\n", std::string(512, 'c'), "\r\n");
  chunked += "0\r\n\r\n";
  reply = Raw(port(), chunked);
  EXPECT_EQ(reply.status, 413);
  EXPECT_THAT(reply.Json()["error"]["message"].get<std::string>(),
              HasSubstr("request body is over 1024 bytes"));

  EXPECT_EQ(model_.calls(), 1);
  EXPECT_EQ(MetricSample(R"(llm2vec_rejected_requests_total{reason="invalid"})"), 2);
}

// ---- text-embeddings-inference's routes ------------------------------------

TEST_F(HttpServerTest, TeiEmbedTakesItsFieldsAndAnswersBareArrays) {
  Reply reply = Post(port(), "/embed", R"({"inputs": "Once"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  // TEI's defaults: normalised, not truncated, no prompt.
  HttpEmbedCall call = model_.last();
  EXPECT_TRUE(call.normalize);
  EXPECT_EQ(call.truncation, HttpTruncation::kNone);
  EXPECT_EQ(call.prompt_name, "");
  EXPECT_FALSE(call.per_token);
  EXPECT_EQ(call.method, "tei_embed");
  ASSERT_TRUE(reply.Json().is_array());
  ASSERT_EQ(reply.Json().size(), 1u);
  ExpectFloats(reply.Json()[0], FakeEmbedding("Once", 0));

  // Strings and token arrays mix; every field TEI has.
  reply = Post(port(), "/embed", R"({"inputs": ["a cat", [5, 6]], "normalize": false,
      "truncate": true, "truncation_direction": "Left", "prompt_name": "query"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  call = model_.last();
  EXPECT_THAT(Texts(call), ElementsAre("a cat", "ids:5,6"));
  EXPECT_FALSE(call.normalize);
  EXPECT_EQ(call.truncation, HttpTruncation::kStart);
  EXPECT_EQ(call.prompt_name, "query");
  ASSERT_EQ(reply.Json().size(), 2u);
  ExpectFloats(reply.Json()[1], FakeEmbedding("ids:5,6", 1));
  ASSERT_EQ(Post(port(), "/embed", R"({"inputs": "a", "truncate": true})").status, 200);
  EXPECT_EQ(model_.last().truncation, HttpTruncation::kEnd);  // "right" by default
}

TEST_F(HttpServerTest, TeiEmbedAllAnswersEveryTokensState) {
  const Reply reply = Post(port(), "/embed_all", R"({"inputs": ["ab", "c"]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(model_.last().per_token);
  EXPECT_FALSE(model_.last().normalize);
  EXPECT_EQ(model_.last().method, "tei_embed_all");
  const json states = reply.Json();
  ASSERT_EQ(states.size(), 2u);
  // The fake's two tokens: its vector, then the negation.
  ASSERT_EQ(states[1].size(), 2u);
  const std::vector<float> v = FakeEmbedding("c", 1);
  ExpectFloats(states[1][0], v);
  std::vector<float> negated;
  for (float x : v) negated.push_back(-x);
  ExpectFloats(states[1][1], negated);
}

TEST_F(HttpServerTest, TeiSimilarityTokenizeDecodeAndInfo) {
  Reply reply = Post(port(), "/similarity", R"({"inputs": {"source_sentence": "abcd",
      "sentences": ["ab", "abc"]}, "parameters": {"prompt_name": "q", "truncate": true}})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json(), json::parse("[2.0, 1.0]"));
  EXPECT_EQ(model_.last_similarity().source, "abcd");
  EXPECT_THAT(model_.last_similarity().sentences, ElementsAre("ab", "abc"));
  EXPECT_EQ(model_.last_similarity().prompt_name, "q");
  EXPECT_EQ(model_.last_similarity().truncation, HttpTruncation::kEnd);

  reply = Post(port(), "/tokenize", R"({"inputs": ["hi", "x"]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json(), json::parse(R"([
      [{"id": 1, "text": "<s>", "special": true, "start": null, "stop": null},
       {"id": 104, "text": "h", "special": false, "start": null, "stop": null},
       {"id": 105, "text": "i", "special": false, "start": null, "stop": null}],
      [{"id": 1, "text": "<s>", "special": true, "start": null, "stop": null},
       {"id": 120, "text": "x", "special": false, "start": null, "stop": null}]])"));
  reply = Post(port(), "/tokenize", R"({"inputs": "x", "add_special_tokens": false,
      "prompt_name": "q"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json()[0].size(), 1u);
  EXPECT_EQ(model_.last_tokenize().prompt_name, "q");

  reply = Post(port(), "/decode", R"({"ids": [1, 104, 105]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json(), json::parse(R"(["hi"])"));
  reply = Post(port(), "/decode", R"({"ids": [[1, 104], [120]], "skip_special_tokens": false})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json(), json::parse(R"(["<s>h", "x"])"));

  reply = Get(port(), "/info");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json info = reply.Json();
  EXPECT_EQ(info["model_id"], "org/llm2vec-test");
  EXPECT_EQ(info["model_dtype"], "float32");
  EXPECT_EQ(info["model_type"], json::parse(R"({"embedding": {"pooling": "mean"}})"));
  EXPECT_EQ(info["max_input_length"], 512);
  EXPECT_EQ(info["max_batch_tokens"], 16384);
  EXPECT_EQ(info["max_client_batch_size"], 2048);
  EXPECT_EQ(info["max_concurrent_requests"], 4);  // the HTTP threads
  EXPECT_EQ(info["auto_truncate"], false);
  EXPECT_EQ(info["version"], "9.9.9");
}

TEST_F(HttpServerTest, TeiErrorsHaveTeisShapeAndStatuses) {
  struct Case {
    std::string path, body, message;
  };
  // Bodies refused here: 422 "validation", naming the field.
  const std::vector<Case> bad = {
      {"/embed", "not json", "request body is not valid JSON"},
      {"/embed", R"({"input": "a"})", "'inputs' is required"},
      {"/embed", R"({"inputs": ["a", 5]})", "'inputs[1]' is a number; expected a string or an array of token ids"},
      {"/embed", R"({"inputs": [[1], []]})", "'inputs[1]' is an empty array"},
      {"/embed", R"({"inputs": "a", "normalize": "yes"})", R"('normalize' is "yes"; expected true or false)"},
      {"/embed", R"({"inputs": "a", "truncation_direction": "up"})",
       R"('truncation_direction' is "up"; expected "right" or "left")"},
      {"/embed", R"({"inputs": "a", "prompt_name": 3})", "'prompt_name' is number; expected a string"},
      {"/similarity", R"({"inputs": {"sentences": ["a"]}})", "'inputs.source_sentence' is missing"},
      {"/similarity", R"({"inputs": {"source_sentence": "a", "sentences": []}})",
       "'inputs.sentences' must be a non-empty array of strings"},
      {"/similarity", R"({"inputs": {"source_sentence": "a", "sentences": ["b", 1]}})",
       "'inputs.sentences[1]' is a number"},
      {"/tokenize", R"({"inputs": [1, 2]})", "'inputs' is an array of token ids; /tokenize takes text"},
      {"/decode", R"({"ids": []})", "'ids' is required"},
      {"/decode", R"({"ids": [[1], 2]})", "'ids[1]' is a number; expected an array of token ids"},
      {"/decode", R"({"ids": [-1]})", "'ids[0]' is -1; expected a token id"},
  };
  for (const Case& c : bad) {
    SCOPED_TRACE(c.path + " " + c.body);
    const Reply reply = Post(port(), c.path, c.body);
    EXPECT_EQ(reply.status, 422);
    EXPECT_EQ(reply.Json()["error_type"], "validation");
    EXPECT_THAT(reply.Json()["error"].get<std::string>(), HasSubstr(c.message));
  }
  EXPECT_EQ(model_.calls(), 0);

  // The model's errors, by code, as TEI answers its own.
  const std::vector<std::tuple<absl::Status, int, std::string>> model_errors = {
      {absl::InvalidArgumentError("inputs[0] has 600 tokens; the limit is 512"), 413, "validation"},
      {absl::NotFoundError("prompt_name 'x' is not one of this server's prompts"), 422, "tokenizer"},
      {absl::ResourceExhaustedError("overloaded"), 429, "overloaded"},
      {absl::UnavailableError("the model is still loading"), 503, "unhealthy"},
      {absl::InternalError("the device failed"), 424, "backend"},
      {absl::DeadlineExceededError("too late"), 424, "backend"},
  };
  for (const auto& [status, http, type] : model_errors) {
    SCOPED_TRACE(status.ToString());
    model_.FailWith(status);
    for (const std::string path : {"/embed", "/embed_all", "/tokenize"}) {
      const Reply reply = Post(port(), path, R"({"inputs": "a"})");
      EXPECT_EQ(reply.status, http) << path;
      EXPECT_EQ(reply.Json(), json({{"error", std::string(status.message())}, {"error_type", type}}))
          << path;
    }
  }
  model_.FailWith(absl::OkStatus());

  // Too large a body: 413 in TEI's shape.
  HttpServer::Options options;
  options.max_body_bytes = 16;
  StartServer(options);
  const Reply large = Post(port(), "/embed", R"({"inputs": "a long text here"})");
  EXPECT_EQ(large.status, 413);
  EXPECT_EQ(large.Json()["error_type"], "validation");
}

TEST_F(HttpServerTest, MetricsAndHeadsThisServerLacksAreNamedNotFound) {
  HttpServer::Options options;
  options.metrics_port = 9191;
  StartServer(options);
  Reply reply = Get(port(), "/metrics");
  EXPECT_EQ(reply.status, 404);
  EXPECT_THAT(reply.body, HasSubstr("Prometheus metrics are served on port 9191 (--metrics-port)"));
  for (const std::string path : {"/rerank", "/predict", "/embed_sparse"}) {
    reply = Post(port(), path, R"({"query": "a", "texts": ["b"]})");
    EXPECT_EQ(reply.status, 404) << path;
    EXPECT_THAT(reply.Json()["error"].get<std::string>(), HasSubstr("SPLADE or classifier head"));
  }
  reply = Get(port(), "/embed");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.headers["allow"], "POST");
}

// An HttpApi whose functions answer nothing useful (for Start's checks).
HttpApi IdleApi() {
  HttpApi api;
  api.embed = [](const HttpEmbedCall&) { return HttpEmbedResult{}; };
  api.similarity = [](const HttpSimilarityCall&) { return std::vector<float>(); };
  api.tokenize = [](const HttpTokenizeCall&) { return std::vector<std::vector<HttpToken>>(); };
  api.decode = [](const HttpDecodeCall&) { return std::vector<std::string>(); };
  api.info = [] { return HttpInfo(); };
  api.healthy = [] { return true; };
  return api;
}

TEST_F(HttpServerTest, PortInUseIsAnError) {
  HttpServer::Options options;
  options.host = "127.0.0.1";
  options.port = port();
  auto second = HttpServer::Start(options, IdleApi(), "m");
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr(absl::StrCat("127.0.0.1:", port())));
}

TEST(HttpServerOptionsTest, InvalidOptionsAreRefused) {
  HttpServer::Options options;
  options.threads = 0;
  EXPECT_THAT(HttpServer::Start(options, IdleApi(), "m").status().message(),
              HasSubstr("threads is 0"));
  options = {};
  options.max_body_bytes = 0;
  EXPECT_THAT(HttpServer::Start(options, IdleApi(), "m").status().message(),
              HasSubstr("max_body_bytes is 0"));
  options = {};
  options.port = 70000;
  EXPECT_THAT(HttpServer::Start(options, IdleApi(), "m").status().message(),
              HasSubstr("port is 70000"));
  options = {};
  options.port = 0;
  HttpApi partial = IdleApi();
  partial.decode = nullptr;
  EXPECT_THAT(HttpServer::Start(options, partial, "m").status().message(),
              HasSubstr("needs every HttpApi function"));
}

}  // namespace
}  // namespace llm2vec
