// Test harness for end-to-end tests: a real llm2vec-server child process on
// loopback with ephemeral ports (read back from --port-file), its log, and
// small HTTP and Prometheus-text helpers.
#ifndef LLM2VEC_TESTS_SERVER_SERVER_PROCESS_H_
#define LLM2VEC_TESTS_SERVER_SERVER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "client/embedding_client.h"

namespace llm2vec {
namespace testing {

// The demo model (stories260K GGUF) in the test data.
std::string DemoModel();

class ServerProcess {
 public:
  // Starts LLM2VEC_SERVER_BIN --model DemoModel() with ephemeral ports, one
  // thread, `extra_flags`, and (unless they name one) a --state-dir inside
  // its own temporary folder; waits until it serves. With a `batch_delay`,
  // the test build of the server (slow_server_main.cc) instead, whose every
  // batch takes at least that long: a slow device, so that work waits in
  // its queue.
  // A `file_size_limit` (bytes) is set as the server's RLIMIT_FSIZE: a
  // write beyond it fails as on a full disk.
  explicit ServerProcess(std::vector<std::string> extra_flags,
                         absl::Duration batch_delay = absl::ZeroDuration(),
                         int64_t file_size_limit = 0);
  // SIGKILLs a server still running; removes the temporary folder.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  static bool Exists(const std::string& path);
  std::string Log() const;
  // Sends `sig`; with wait, returns the exit status (-1 without).
  int Signal(int sig, bool wait);

  EmbeddingClient& client() { return *client_; }
  pid_t pid() const { return pid_; }
  std::string grpc_target() const;
  int http_port() const { return http_port_; }
  int metrics_port() const { return metrics_port_; }
  // The temporary folder (log, port file, default state).
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, port_file_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int grpc_port_ = 0, http_port_ = 0, metrics_port_ = 0;
  std::unique_ptr<EmbeddingClient> client_;
};

// Writes the first `lines` lines of the TinyStories validation slice to
// DATA_ROOT/stories.txt (creating the folder): training data for jobs.
void WriteStories(const std::string& data_root, int lines);

// Minimal HTTP/1.1 client over a loopback socket: returns (status, body).
// `headers`: more header lines, each ending in "\r\n".
std::pair<int, std::string> Http(int port, const std::string& method, const std::string& path,
                                 const std::string& body = "", const std::string& headers = "");

// Runs `command` in a shell, returning (exit code, stdout); stderr goes to
// `err_file`. The exit code is -1 when the command did not exit normally.
// `v` cut to its first `dims` values (0: all), then scaled to length 1 as
// the server normalises (sum of squares in double).
std::vector<float> UnitVector(std::vector<float> v, size_t dims = 0);

std::pair<int, std::string> RunCommand(const std::string& command, const std::string& err_file);

// The value of one sample line of Prometheus text ("name{labels} value"),
// -1 when absent.
double Sample(const std::string& text, const std::string& series);

}  // namespace testing
}  // namespace llm2vec

#endif  // LLM2VEC_TESTS_SERVER_SERVER_PROCESS_H_
