// A real Prometheus (Debian's, installed by setup.sh) scrapes the real
// server, and every query of the Grafana dashboard
// (deploy/grafana/llm2vec-dashboard.json) runs on what it scraped: the
// queries parse, and each names series that exist (promtool alone checks
// only the exposition's syntax). deploy/prometheus/prometheus.yml passes
// promtool's config check.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/server/server_process.h"
#include "tests/testdata.h"

extern char** environ;

namespace llm2vec {
namespace {

using nlohmann::json;
using ::llm2vec::testing::Http;
using ::llm2vec::testing::ServerProcess;

// The dashboard queries that have no series on a CPU server, and why.
const std::set<std::string> kGpuOnly = {"llm2vec_device_memory_bytes"};

bool OnPath(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

// CI (CI=true) must run every test: a missing program fails there and is
// skipped only on a machine set up without it.
bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

#define LLM2VEC_REQUIRE_PROGRAM(program)                                              \
  do {                                                                                \
    if (!OnPath(program)) {                                                           \
      if (InCi()) FAIL() << program << " is not on PATH; ./setup.sh installs it";     \
      GTEST_SKIP() << program << " is not on PATH (./setup.sh installs it)";          \
    }                                                                                 \
  } while (false)

// A port free now on 127.0.0.1 (bound, read, released).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrCat("%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// Every "expr" in the dashboard.
void CollectExprs(const json& node, std::vector<std::string>* out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "expr" && value.is_string()) {
        out->push_back(value.get<std::string>());
      } else {
        CollectExprs(value, out);
      }
    }
  } else if (node.is_array()) {
    for (const json& v : node) CollectExprs(v, out);
  }
}

// A Prometheus server scraping `target` every second, until destroyed.
class Prometheus {
 public:
  Prometheus(const std::string& dir, const std::string& target) : port_(FreePort()) {
    const std::string config = dir + "/prometheus.yml";
    std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                          << "scrape_configs:\n  - job_name: llm2vec\n    static_configs:\n"
                          << "      - targets: [\"" << target << "\"]\n";
    const std::string listen = absl::StrCat("--web.listen-address=127.0.0.1:", port_);
    const std::string storage = "--storage.tsdb.path=" + dir + "/tsdb";
    const std::string config_flag = "--config.file=" + config;
    const std::string log = dir + "/prometheus.log";
    std::vector<std::string> args = {"prometheus", config_flag, storage, listen};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawnp(&pid_, "prometheus", &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Prometheus() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0 && port_ > 0; }

  // /api/v1/query of `promql`: the parsed answer (null when unreachable).
  json Query(const std::string& promql) const {
    auto [code, body] = Http(port_, "GET", "/api/v1/query?query=" + UrlEncode(promql));
    if (code <= 0) return json();
    return json::parse(body, nullptr, /*allow_exceptions=*/false);
  }

  // Waits (at most 60 s) until `promql` returns a series whose value is at
  // least `min`: a synchronisation with the scrapes, not a timing decision.
  bool AwaitAtLeast(const std::string& promql, double min) const {
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (absl::Now() < until) {
      const json answer = Query(promql);
      if (answer.is_object() && answer.value("status", "") == "success" &&
          !answer["data"]["result"].empty() &&
          std::stod(answer["data"]["result"][0]["value"][1].get<std::string>()) >= min) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

TEST(PrometheusE2eTest, ARealPrometheusScrapesTheServerAndEveryDashboardQueryHasData) {
  LLM2VEC_REQUIRE_TESTDATA();
  LLM2VEC_REQUIRE_PROGRAM("prometheus");
  ServerProcess server({});
  // Traffic on both ports, so the per-request series exist.
  for (int i = 0; i < 3; ++i) {
    v1::EmbedRequest request;
    request.add_inputs()->set_text("Once upon a time");
    ASSERT_TRUE(server.client().Embed(request).ok());
  }
  ASSERT_EQ(Http(server.http_port(), "POST", "/v1/embeddings", R"({"input": "hi"})").first, 200);
  ASSERT_EQ(Http(server.http_port(), "POST", "/embed", R"({"inputs": "hi"})").first, 200);

  Prometheus prometheus(server.dir(), absl::StrCat("127.0.0.1:", server.metrics_port()));
  ASSERT_TRUE(prometheus.started());
  // Scraped and up, with what the calls above counted.
  ASSERT_TRUE(prometheus.AwaitAtLeast(R"(up{job="llm2vec"})", 1))
      << "Prometheus never scraped the server; its log is in " << server.dir();
  ASSERT_TRUE(prometheus.AwaitAtLeast(R"(llm2vec_requests_total{method="Embed",outcome="OK"})", 3));
  EXPECT_TRUE(prometheus.AwaitAtLeast(
      R"(llm2vec_requests_total{method="http_embeddings",outcome="OK"})", 1));
  EXPECT_TRUE(prometheus.AwaitAtLeast(R"(llm2vec_requests_total{method="tei_embed",outcome="OK"})",
                                      1));
  // rate() over the dashboard's windows needs two samples or more.
  ASSERT_TRUE(prometheus.AwaitAtLeast(R"(count_over_time(up{job="llm2vec"}[1m]))", 3));

  std::ifstream file(std::string(LLM2VEC_SOURCE_DIR) + "/deploy/grafana/llm2vec-dashboard.json");
  ASSERT_TRUE(file.good());
  std::vector<std::string> exprs;
  CollectExprs(json::parse(file), &exprs);
  ASSERT_GE(exprs.size(), 20u);
  // The HPA's metrics are series names too ("metric: {name: ...}").
  std::ifstream hpa(std::string(LLM2VEC_SOURCE_DIR) + "/deploy/kubernetes/hpa.yaml");
  const std::string hpa_text((std::istreambuf_iterator<char>(hpa)), std::istreambuf_iterator<char>());
  const std::regex hpa_metric(R"(metric:\s*\{\s*name:\s*([a-z0-9_]+))");
  size_t hpa_metrics = 0;
  for (auto it = std::sregex_iterator(hpa_text.begin(), hpa_text.end(), hpa_metric);
       it != std::sregex_iterator(); ++it) {
    exprs.push_back((*it)[1].str());
    ++hpa_metrics;
  }
  EXPECT_GE(hpa_metrics, 1u);
  const std::regex metric_name("llm2vec_[a-z_]+");
  for (const std::string& expr : exprs) {
    SCOPED_TRACE(expr);
    const json answer = prometheus.Query(expr);
    ASSERT_TRUE(answer.is_object());
    EXPECT_EQ(answer.value("status", ""), "success") << answer.dump();
    bool gpu_only = false;
    for (auto it = std::sregex_iterator(expr.begin(), expr.end(), metric_name);
         it != std::sregex_iterator(); ++it) {
      gpu_only = gpu_only || kGpuOnly.count(it->str()) > 0;
    }
    if (gpu_only) {
      EXPECT_TRUE(answer["data"]["result"].empty()) << "a CPU server has no device memory";
    } else {
      EXPECT_FALSE(answer["data"]["result"].empty()) << "no series: " << answer.dump();
    }
  }
}

TEST(PrometheusE2eTest, TheShippedScrapeConfigIsValid) {
  LLM2VEC_REQUIRE_PROGRAM("promtool");
  const std::string command = absl::StrCat("promtool check config ", LLM2VEC_SOURCE_DIR,
                                           "/deploy/prometheus/prometheus.yml >/dev/null 2>&1");
  EXPECT_EQ(std::system(command.c_str()), 0);
}

}  // namespace
}  // namespace llm2vec
