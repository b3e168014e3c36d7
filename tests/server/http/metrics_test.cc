#include "server/http/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace llm2vec {
namespace {

std::string Serialize(Metrics& metrics) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, metrics.registry()->Collect());
  return out.str();
}

// Samples of the exposition text: `name{labels}` -> value.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

// The value of a sample; fails the test when it is absent.
double Value(const std::map<std::string, double>& samples, const std::string& key) {
  const auto it = samples.find(key);
  EXPECT_NE(it, samples.end()) << "no sample " << key;
  return it == samples.end() ? -1 : it->second;
}

TEST(MetricsTest, CountersAndHistogramsMove) {
  std::unique_ptr<Metrics> metrics = Metrics::Create();
  metrics->RequestDone("Embed", "OK", 0.003);
  metrics->RequestDone("Embed", "OK", 0.2);
  metrics->RequestDone("http_embeddings", "INVALID_ARGUMENT", 0.0001);
  metrics->Tokenized(0.0002, 3, 40);
  metrics->InputLength(5);
  metrics->InputLength(300);
  metrics->Queued(0.004);
  metrics->Batch(0.05, 4, 30, 40, 2);
  metrics->Batch(0.02, 1, 10, 10, 1);
  metrics->Dropped("deadline", 3);
  metrics->Rejected("queue_full");
  metrics->Rejected("queue_full");
  metrics->SetQueueDepth(7, 1234);
  metrics->SetAdaptersLoaded(2);
  metrics->SetModelLoadSeconds(12.5);

  const auto s = Samples(Serialize(*metrics));
  EXPECT_EQ(Value(s, R"(llm2vec_requests_total{method="Embed",outcome="OK"})"), 2);
  EXPECT_EQ(Value(s, R"(llm2vec_requests_total{method="http_embeddings",outcome="INVALID_ARGUMENT"})"),
            1);
  EXPECT_EQ(Value(s, R"(llm2vec_request_duration_seconds_count{method="Embed"})"), 2);
  EXPECT_DOUBLE_EQ(Value(s, R"(llm2vec_request_duration_seconds_sum{method="Embed"})"), 0.203);
  // 0.003 s falls in le=0.005 but not le=0.0025; 0.2 s in le=0.25.
  EXPECT_EQ(Value(s, R"(llm2vec_request_duration_seconds_bucket{method="Embed",le="0.0025"})"), 0);
  EXPECT_EQ(Value(s, R"(llm2vec_request_duration_seconds_bucket{method="Embed",le="0.005"})"), 1);
  EXPECT_EQ(Value(s, R"(llm2vec_request_duration_seconds_bucket{method="Embed",le="0.25"})"), 2);
  EXPECT_EQ(Value(s, R"(llm2vec_request_duration_seconds_bucket{method="Embed",le="0.0005"})"), 0);
  EXPECT_EQ(Value(s, R"(llm2vec_request_duration_seconds_bucket{method="Embed",le="30"})"), 2);

  EXPECT_EQ(Value(s, "llm2vec_tokenize_duration_seconds_count"), 1);
  EXPECT_EQ(Value(s, "llm2vec_request_size_inputs_sum"), 3);
  EXPECT_EQ(Value(s, "llm2vec_request_size_tokens_sum"), 40);
  EXPECT_EQ(Value(s, "llm2vec_input_length_tokens_count"), 2);
  EXPECT_EQ(Value(s, "llm2vec_input_length_tokens_sum"), 305);
  EXPECT_EQ(Value(s, R"(llm2vec_input_length_tokens_bucket{le="8"})"), 1);
  EXPECT_EQ(Value(s, R"(llm2vec_input_length_tokens_bucket{le="512"})"), 2);
  EXPECT_EQ(Value(s, R"(llm2vec_queue_duration_seconds_bucket{le="0.005"})"), 1);
  EXPECT_EQ(Value(s, R"(llm2vec_queue_duration_seconds_bucket{le="0.0025"})"), 0);

  EXPECT_EQ(Value(s, "llm2vec_inference_duration_seconds_count"), 2);
  EXPECT_DOUBLE_EQ(Value(s, "llm2vec_inference_duration_seconds_sum"), 0.07);
  EXPECT_EQ(Value(s, "llm2vec_batch_size_requests_sum"), 5);
  EXPECT_EQ(Value(s, "llm2vec_batch_size_tokens_sum"), 50);
  EXPECT_EQ(Value(s, "llm2vec_batch_real_tokens_total"), 40);
  EXPECT_EQ(Value(s, "llm2vec_batch_padded_tokens_total"), 50);
  EXPECT_EQ(Value(s, "llm2vec_forward_passes_total"), 3);
  // Padding 1 - 30/40 = 0.25 and 0 (the unpadded batch lands in le="0").
  EXPECT_EQ(Value(s, "llm2vec_batch_padding_ratio_count"), 2);
  EXPECT_DOUBLE_EQ(Value(s, "llm2vec_batch_padding_ratio_sum"), 0.25);
  EXPECT_EQ(Value(s, R"(llm2vec_batch_padding_ratio_bucket{le="0"})"), 1);
  EXPECT_EQ(Value(s, R"(llm2vec_batch_padding_ratio_bucket{le="0.2"})"), 1);
  EXPECT_EQ(Value(s, R"(llm2vec_batch_padding_ratio_bucket{le="0.3"})"), 2);

  EXPECT_EQ(Value(s, R"(llm2vec_dropped_tasks_total{reason="deadline"})"), 3);
  EXPECT_EQ(Value(s, R"(llm2vec_dropped_tasks_total{reason="cancelled"})"), 0);
  EXPECT_EQ(Value(s, R"(llm2vec_rejected_requests_total{reason="queue_full"})"), 2);
  EXPECT_EQ(Value(s, R"(llm2vec_rejected_requests_total{reason="invalid"})"), 0);
  EXPECT_EQ(Value(s, "llm2vec_queue_depth_requests"), 7);
  EXPECT_EQ(Value(s, "llm2vec_queue_depth_tokens"), 1234);
  EXPECT_EQ(Value(s, "llm2vec_adapters_loaded"), 2);
  EXPECT_EQ(Value(s, "llm2vec_model_load_seconds"), 12.5);

  // Gauges are levels, not sums.
  metrics->SetQueueDepth(0, 0);
  EXPECT_EQ(Value(Samples(Serialize(*metrics)), "llm2vec_queue_depth_requests"), 0);
}

TEST(MetricsTest, ProcessMemoryIsReadFromProc) {
  std::unique_ptr<Metrics> metrics = Metrics::Create();
  EXPECT_EQ(Value(Samples(Serialize(*metrics)), "llm2vec_process_resident_memory_bytes"), 0);
  metrics->UpdateProcessMemory();
  const double rss = Value(Samples(Serialize(*metrics)), "llm2vec_process_resident_memory_bytes");
  // Our own reading of VmRSS (kB) from /proc/self/status, a different file.
  std::ifstream status("/proc/self/status");
  std::string line;
  double vmrss_bytes = 0;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) vmrss_bytes = std::stod(line.substr(6)) * 1024;
  }
  ASSERT_GT(vmrss_bytes, 0);
  EXPECT_GT(rss, 0.5 * vmrss_bytes);
  EXPECT_LT(rss, 2.0 * vmrss_bytes);
}

TEST(MetricsTest, DeviceMemoryAppearsOnlyOnceSet) {
  std::unique_ptr<Metrics> metrics = Metrics::Create();
  EXPECT_EQ(Samples(Serialize(*metrics)).count("llm2vec_device_memory_bytes"), 0u);
  metrics->SetDeviceMemory(int64_t{3} << 30);
  EXPECT_EQ(Value(Samples(Serialize(*metrics)), "llm2vec_device_memory_bytes"),
            static_cast<double>(int64_t{3} << 30));
}

// GET http://127.0.0.1:port/path over a plain socket; the whole response.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
    }
  }
  close(fd);
  return response;
}

TEST(MetricsExposerTest, ServesTheRegistryOnAFreePort) {
  std::unique_ptr<Metrics> metrics = Metrics::Create();
  metrics->RequestDone("Embed", "OK", 0.01);
  auto exposer = MetricsExposer::Start("127.0.0.1", 0, metrics->registry());
  ASSERT_TRUE(exposer.ok()) << exposer.status();
  ASSERT_GT((*exposer)->port(), 0);
  const std::string response = HttpGet((*exposer)->port(), "/metrics");
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  EXPECT_NE(response.find(R"(llm2vec_requests_total{method="Embed",outcome="OK"} 1)"),
            std::string::npos)
      << response;

  // The same port again is taken.
  auto second = MetricsExposer::Start("127.0.0.1", (*exposer)->port(), metrics->registry());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// promtool's linter checks names, units, suffixes and HELP texts.
TEST(MetricsTest, PromtoolAcceptsTheExposition) {
  if (!OnPath("promtool")) {
    // CI must run it; elsewhere a machine set up without it skips.
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") FAIL() << "promtool is not on PATH";
    GTEST_SKIP() << "promtool is not on PATH (./setup.sh installs it)";
  }
  std::unique_ptr<Metrics> metrics = Metrics::Create();
  // Every family with samples, labelled ones included.
  metrics->RequestDone("Embed", "OK", 0.01);
  metrics->Tokenized(0.001, 1, 10);
  metrics->InputLength(10);
  metrics->Queued(0.001);
  metrics->Batch(0.01, 1, 10, 10, 1);
  metrics->Dropped("cancelled", 1);
  metrics->Rejected("invalid");
  metrics->SetQueueDepth(1, 10);
  metrics->SetAdaptersLoaded(1);
  metrics->SetModelLoadSeconds(1);
  metrics->UpdateProcessMemory();
  metrics->SetDeviceMemory(1 << 20);

  char path[] = "/tmp/llm2vec_metrics_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << Serialize(*metrics);
  const std::string command = absl::StrCat("promtool check metrics < ", path, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  std::remove(path);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "promtool check metrics failed:\n"
      << output;
}

}  // namespace
}  // namespace llm2vec
