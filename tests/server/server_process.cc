#include "tests/server/server_process.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace testing {

std::string DemoModel() { return TestdataPath("models/stories260k-gguf/stories260K.gguf"); }

ServerProcess::ServerProcess(std::vector<std::string> extra_flags, absl::Duration batch_delay,
                             int64_t file_size_limit) {
  char dir_template[] = "/tmp/llm2vec_e2e_XXXXXX";
  EXPECT_NE(mkdtemp(dir_template), nullptr);
  dir_ = dir_template;
  port_file_ = dir_ + "/ports.json";
  const bool slow = batch_delay > absl::ZeroDuration();
  std::vector<std::string> args = {slow ? LLM2VEC_SLOW_SERVER_BIN : LLM2VEC_SERVER_BIN, "--model", DemoModel(), "--port", "0",
                                   "--http-port", "0", "--metrics-port", "0",
                                   "--port-file", port_file_, "--threads", "1"};
  bool has_state_dir = false;
  for (const std::string& f : extra_flags) {
    if (absl::StartsWith(f, "--state-dir")) has_state_dir = true;
  }
  if (!has_state_dir) {
    args.push_back("--state-dir");
    args.push_back(dir_ + "/state");
  }
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  pid_ = fork();
  if (pid_ == 0) {
    if (std::freopen((dir_ + "/server.log").c_str(), "w", stderr) == nullptr) _exit(126);
    if (file_size_limit > 0) {
      const struct rlimit limit = {static_cast<rlim_t>(file_size_limit),
                                   static_cast<rlim_t>(file_size_limit)};
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(125);
    }
    if (slow) {
      const std::string ms = std::to_string(absl::ToInt64Milliseconds(batch_delay));
      setenv("LLM2VEC_TEST_BATCH_DELAY_MS", ms.c_str(), 1);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Wait (bounded) for the port file, written once serving.
  for (int i = 0; i < 600 && !Exists(port_file_); ++i) absl::SleepFor(absl::Milliseconds(50));
  std::ifstream in(port_file_);
  nlohmann::json ports = nlohmann::json::parse(in, nullptr, false);
  EXPECT_FALSE(ports.is_discarded()) << "server did not start: " << Log();
  if (!ports.is_discarded()) {
    grpc_port_ = ports["grpc"].get<int>();
    http_port_ = ports["http"].get<int>();
    metrics_port_ = ports["metrics"].get<int>();
  }
  EmbeddingClient::Options options;
  options.connection.target = grpc_target();
  options.timeout = absl::Seconds(30);
  client_ = std::move(*EmbeddingClient::Connect(options));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  (void)::system(("rm -rf " + dir_).c_str());
}

bool ServerProcess::Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string ServerProcess::Log() const {
  std::ifstream in(dir_ + "/server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int ServerProcess::Signal(int sig, bool wait) {
  kill(pid_, sig);
  if (!wait) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  exited_ = true;
  return status;
}

std::string ServerProcess::grpc_target() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

void WriteStories(const std::string& data_root, int lines) {
  ASSERT_EQ(::system(("mkdir -p " + data_root).c_str()), 0);
  std::ifstream in(TestdataPath("data/tinystories/tinystories_val_slice.txt"));
  std::ofstream out(data_root + "/stories.txt");
  std::string line;
  for (int i = 0; i < lines && std::getline(in, line); ++i) out << line << "\n";
  ASSERT_TRUE(out.good());
}

std::pair<int, std::string> Http(int port, const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& headers) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return {-1, ""};
  }
  std::string request = absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                                     "Connection: close\r\nContent-Type: application/json\r\n",
                                     headers, "Content-Length: ", body.size(), "\r\n\r\n", body);
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) response.append(buf, n);
  close(fd);
  const size_t sp = response.find(' ');
  const size_t split = response.find("\r\n\r\n");
  if (sp == std::string::npos || split == std::string::npos) return {-1, response};
  return {std::atoi(response.c_str() + sp + 1), response.substr(split + 4)};
}

std::vector<float> UnitVector(std::vector<float> v, size_t dims) {
  if (dims > 0 && dims < v.size()) v.resize(dims);
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(sum));
  return v;
}

std::pair<int, std::string> RunCommand(const std::string& command, const std::string& err_file) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>" + err_file).c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

double Sample(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) return std::stod(std::string(line.substr(series.size() + 1)));
  }
  return -1;
}

}  // namespace testing
}  // namespace llm2vec
