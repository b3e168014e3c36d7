// Hub downloads (model/hf_download.h) against a fake hub: a small HTTP/1.1
// server on 127.0.0.1 serving the real files of the stories260k test model
// with the hub's protocol (repo info API, HEAD with ETag / X-Linked-Etag, a
// 302 redirect of weights to a "CDN" path). Nothing here touches the
// network beyond the loopback interface.
#include "model/hub/hf_download.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "model/formats/gguf.h"
#include "model/hub/hf_hub.h"
#include "model/hub/resolve_model_path.h"
#include "model/tokenizer/tokenizer.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

namespace fs = std::filesystem;
using ::llm2vec::testing::TestdataPath;

// sha256sum of the test data files (an independent reference).
constexpr char kModelSha256[] = "7fe20d74ed0c9325c818c61ad972080a09b1d862dea4d4868f25afdff0ac6f98";
constexpr char kTokenizerConfigSha256[] =
    "3c8264680d51d540c42beeca5c51d2a1aaa5b30b5c03819d4ac63749bf9cd042";
constexpr char kGgufSha256[] = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";

constexpr char kCommitMain[] = "1111111111111111111111111111111111111111";
constexpr char kCommitV1[] = "2222222222222222222222222222222222222222";
constexpr char kRepo[] = "test-org/stories260k";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---------------------------------------------------------------------------
// A tiny HTTP/1.1 server on 127.0.0.1 (an ephemeral port): one connection
// at a time, one request per connection, answered by a handler on the
// server's thread. Records every request.
// Threading: requests() may be called from any thread.
struct FakeRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Closes the connection after this many body bytes; -1: the whole body.
  int64_t drop_after = -1;
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  explicit FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // an ephemeral port
    socklen_t len = sizeof(addr);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakeHttpServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }

  std::string endpoint() const { return absl::StrCat("http://127.0.0.1:", port_); }

  std::vector<FakeRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stopping_) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      Handle(fd);
      ::close(fd);
    }
  }

  void Handle(int fd) {
    std::string in;
    char buffer[4096];
    while (in.find("\r\n\r\n") == std::string::npos && in.size() < (64 << 10)) {
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) return;
      in.append(buffer, n);
    }
    FakeRequest request;
    std::vector<std::string> lines = absl::StrSplit(in.substr(0, in.find("\r\n\r\n")), "\r\n");
    std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
    if (first.size() < 2) return;
    request.method = first[0];
    request.path = first[1];
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == std::string::npos) continue;
      request.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
          std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
    }
    const FakeResponse response = handler_(request);
    std::string out = absl::StrCat("HTTP/1.1 ", response.status, " Status\r\n");
    for (const auto& [name, value] : response.headers)
      absl::StrAppend(&out, name, ": ", value, "\r\n");
    absl::StrAppend(&out, "Content-Length: ", response.body.size(),
                    "\r\nConnection: close\r\n\r\n");
    if (request.method != "HEAD") {
      const size_t n = response.drop_after < 0
                           ? response.body.size()
                           : std::min<size_t>(response.drop_after, response.body.size());
      out.append(response.body, 0, n);
    }
    for (size_t sent = 0; sent < out.size();) {
      const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += n;
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<FakeRequest> requests_;  // guarded by mu_
};

// ---------------------------------------------------------------------------
// The fake hub: repositories, their revisions, and the hub's answers.

struct FakeRepo {
  // rfilename -> content; files absent here are listed but never served.
  std::map<std::string, std::string> files;
  std::vector<std::string> siblings;
  // LFS files (redirected to /cdn/<sha256>) -> their sha256.
  std::map<std::string, std::string> lfs;
};

// A stand-in git blob id for a file's ETag (40 hex digits).
std::string FakeEtag(const std::string& file) {
  std::string hex;
  for (unsigned char c : file) absl::StrAppend(&hex, absl::Hex(c, absl::kZeroPad2));
  hex.resize(40, '0');
  return hex;
}

class HfDownloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LLM2VEC_REQUIRE_TESTDATA();
    char dir_template[] = "/tmp/llm2vec_hf_download_XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    cache_ = dir_template;

    FakeRepo& stories = repos_[kRepo];
    for (const char* f :
         {"config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json",
          "tokenizer.json", "tokenizer_config.json", "LICENSE-llama2.c"}) {
      stories.files[f] = ReadFile(TestdataPath(std::string("models/stories260k-hf/") + f));
      stories.siblings.push_back(f);
    }
    stories.siblings.push_back("pytorch_model.bin");  // never to be fetched
    stories.siblings.push_back("onnx/model.safetensors");
    stories.lfs["model.safetensors"] = kModelSha256;

    const std::string gguf = ReadFile(TestdataPath("models/stories260k-gguf/stories260K.gguf"));
    FakeRepo& one_gguf = repos_["test-org/stories-gguf"];
    one_gguf.files = {{"stories260K.gguf", gguf}, {"README.md", "# stories\n"}};
    one_gguf.siblings = {".gitattributes", "README.md", "stories260K.gguf"};
    one_gguf.lfs["stories260K.gguf"] = kGgufSha256;

    FakeRepo& many_gguf = repos_["test-org/many-gguf"];
    many_gguf.files = {{"a-f16.gguf", "a small stand-in"}, {"sub/b-f32.gguf", gguf}};
    many_gguf.siblings = {"README.md", "a-f16.gguf", "sub/b-f32.gguf"};
    many_gguf.lfs["sub/b-f32.gguf"] = kGgufSha256;

    server_ = std::make_unique<FakeHttpServer>([this](const FakeRequest& r) { return Answer(r); });
    ::setenv("HF_ENDPOINT", server_->endpoint().c_str(), 1);
    ::setenv("HF_HUB_CACHE", cache_.c_str(), 1);
    ::setenv("HF_TOKEN_PATH", (cache_ + "/no-token-file").c_str(), 1);
    ::setenv("NO_PROXY", "127.0.0.1", 1);
    ::setenv("no_proxy", "127.0.0.1", 1);
    for (const char* v :
         {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"}) {
      ::unsetenv(v);
    }
  }

  void TearDown() override {
    server_.reset();
    for (const char* v :
         {"HF_ENDPOINT", "HF_HUB_CACHE", "HF_TOKEN_PATH", "HF_TOKEN", "HF_HUB_OFFLINE"}) {
      ::unsetenv(v);
    }
    if (!cache_.empty()) fs::remove_all(cache_);
  }

  // The hub's answer to `r`.
  FakeResponse Answer(const FakeRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    FakeResponse response;
    static const std::map<std::string, std::string> kCommits = {{"main", kCommitMain},
                                                                {"v1.0", kCommitV1},
                                                                {kCommitMain, kCommitMain},
                                                                {kCommitV1, kCommitV1}};
    absl::string_view path = r.path;
    if (absl::ConsumePrefix(&path, "/api/models/")) {
      const std::vector<std::string> parts = absl::StrSplit(path, '/');
      const std::string id = parts.size() == 4 ? parts[0] + "/" + parts[1] : "";
      if (id == "test-org/private") {
        response.status = 401;
        response.headers = {{"X-Error-Code", "RepoNotFound"},
                            {"X-Error-Message", "Invalid username or password."}};
      } else if (repos_.count(id) == 0 || parts[2] != "revision") {
        response.status = 404;
        response.body = R"({"error":"Repository not found"})";
      } else if (kCommits.count(parts[3]) == 0) {
        response.status = 404;
        response.headers = {{"X-Error-Code", "RevisionNotFound"},
                            {"X-Error-Message", "Invalid rev id: " + parts[3]}};
      } else {
        nlohmann::json j;
        j["id"] = id;
        j["sha"] = kCommits.at(parts[3]);
        j["siblings"] = nlohmann::json::array();
        for (const std::string& f : repos_[id].siblings)
          j["siblings"].push_back({{"rfilename", f}});
        response.body = j.dump();
        response.headers = {{"Content-Type", "application/json"}};
      }
      return response;
    }
    if (absl::ConsumePrefix(&path, "/cdn/")) {
      for (const auto& [id, repo] : repos_) {
        for (const auto& [file, sha] : repo.lfs) {
          if (sha != path) continue;
          response.body = repo.files.at(file);
          if (corrupt_) response.body[response.body.size() / 2] ^= 1;
          response.headers = {{"ETag", "\"cdn-md5-not-the-blob-name\""}};
          auto range = r.headers.find("range");
          int64_t from = 0;
          if (honor_range_ && range != r.headers.end() &&
              absl::SimpleAtoi(absl::StripSuffix(absl::StripPrefix(range->second, "bytes="), "-"),
                               &from)) {
            response.status = 206;
            response.headers.push_back(
                {"Content-Range", absl::StrCat("bytes ", from, "-", response.body.size() - 1, "/",
                                               response.body.size())});
            response.body = response.body.substr(from);
          }
          if (drops_left_ > 0) {
            --drops_left_;
            response.drop_after = drop_after_;
          }
          return response;
        }
      }
      response.status = 404;
      return response;
    }
    // /{org}/{name}/resolve/{commit}/{file...}
    const std::vector<std::string> parts = absl::StrSplit(absl::StripPrefix(path, "/"), '/');
    if (parts.size() >= 5 && parts[2] == "resolve" && repos_.count(parts[0] + "/" + parts[1]) &&
        (parts[3] == kCommitMain || parts[3] == kCommitV1)) {
      const FakeRepo& repo = repos_[parts[0] + "/" + parts[1]];
      std::string file = parts[4];
      for (size_t i = 5; i < parts.size(); ++i) file += "/" + parts[i];
      if (repo.files.count(file) != 0) {
        if (auto lfs = repo.lfs.find(file); lfs != repo.lfs.end()) {
          response.status = 302;
          response.headers = {{"Location", "/cdn/" + lfs->second},
                              {"X-Linked-Etag", "\"" + lfs->second + "\""},
                              {"X-Linked-Size", std::to_string(repo.files.at(file).size())},
                              {"ETag", "\"hub-etag-of-the-pointer\""}};
          return response;
        }
        response.body = repo.files.at(file);
        if (file == "tokenizer.json") {
          response.headers = {{"ETag", "W/\"" + FakeEtag(file) + "\""}};  // weak
        } else if (file != "tokenizer_config.json") {                     // that one has no ETag
          response.headers = {{"ETag", "\"" + FakeEtag(file) + "\""}};
        }
        return response;
      }
    }
    response.status = 404;
    response.headers = {{"X-Error-Code", "EntryNotFound"}};
    return response;
  }

  std::string RepoDir(const std::string& id) const {
    return cache_ + "/models--" + id.substr(0, id.find('/')) + "--" + id.substr(id.find('/') + 1);
  }

  // The requests whose path starts with `prefix` (and whose method is
  // `method`, unless "").
  int CountRequests(const std::string& method, const std::string& prefix) const {
    int n = 0;
    for (const FakeRequest& r : server_->requests()) {
      n += (method.empty() || r.method == method) && absl::StartsWith(r.path, prefix);
    }
    return n;
  }

  // The regular files in `dir`.
  static std::vector<std::string> FilesIn(const std::string& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  // `file` of the stories260k snapshot `commit` is a relative link to the
  // blob `blob`, holding the original bytes.
  void ExpectLinkedBlob(const std::string& commit, const std::string& file,
                        const std::string& blob) {
    const std::string link = RepoDir(kRepo) + "/snapshots/" + commit + "/" + file;
    ASSERT_TRUE(fs::is_symlink(link)) << link;
    EXPECT_EQ(fs::read_symlink(link).string(), "../../blobs/" + blob) << file;
    const std::string blob_path = RepoDir(kRepo) + "/blobs/" + blob;
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(blob_path))) << blob_path;
    EXPECT_TRUE(ReadFile(link) == repos_[kRepo].files[file]) << file << " differs";
  }

  std::string cache_;
  std::unique_ptr<FakeHttpServer> server_;
  std::mutex mu_;
  // Under mu_ while the server runs: its repositories and misbehaviours.
  std::map<std::string, FakeRepo> repos_;
  bool honor_range_ = true;
  bool corrupt_ = false;
  int drops_left_ = 0;      // CDN answers still to cut short
  int64_t drop_after_ = 0;  // bytes sent before cutting
};

TEST_F(HfDownloadTest, DownloadsIntoThePythonCacheLayout) {
  ::setenv("HF_TOKEN", "hf_test_token", 1);
  auto path = ResolveModelPath(kRepo);
  ASSERT_TRUE(path.ok()) << path.status();
  const std::string repo = RepoDir(kRepo);
  EXPECT_EQ(*path, repo + "/snapshots/" + kCommitMain);
  EXPECT_EQ(ReadFile(repo + "/refs/main"), kCommitMain);

  // Blob names: X-Linked-Etag for the redirected weights (not the ETag of
  // the redirect or of the CDN), ETag (weak or not) else, sha256 without.
  ExpectLinkedBlob(kCommitMain, "model.safetensors", kModelSha256);
  ExpectLinkedBlob(kCommitMain, "tokenizer_config.json", kTokenizerConfigSha256);
  for (const char* f :
       {"config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json"}) {
    ExpectLinkedBlob(kCommitMain, f, FakeEtag(f));
  }
  EXPECT_EQ(FilesIn(repo + "/snapshots/" + kCommitMain).size(), 6u);
  EXPECT_EQ(FilesIn(repo + "/blobs").size(), 6u);  // no .incomplete left over
  EXPECT_EQ(
      CountRequests("", "/" + std::string(kRepo) + "/resolve/" + kCommitMain + "/LICENSE-llama2.c"),
      0);
  EXPECT_EQ(CountRequests("", "/" + std::string(kRepo) + "/resolve/" + kCommitMain + "/onnx"), 0);
  EXPECT_EQ(CountRequests("GET", "/cdn/"), 1);
  EXPECT_EQ(CountRequests("HEAD", "/cdn/"), 0);  // HEAD stops at the hub's redirect
  for (const FakeRequest& r : server_->requests()) {
    if (absl::StartsWith(r.path, "/api/")) {
      ASSERT_EQ(r.headers.count("authorization"), 1u) << r.path;
      EXPECT_EQ(r.headers.at("authorization"), "Bearer hf_test_token");
    }
  }
  auto tokenizer = Tokenizer::FromFile(*path + "/tokenizer.json");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();

  // Second time: all from the cache, no request.
  const size_t requests = server_->requests().size();
  auto again = ResolveModelPath(kRepo);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *path);
  EXPECT_EQ(server_->requests().size(), requests);
}

TEST_F(HfDownloadTest, RevisionsGetTheirOwnSnapshotAndShareBlobs) {
  ASSERT_TRUE(ResolveModelPath(kRepo).ok());
  const std::string repo = RepoDir(kRepo);
  const int file_gets = CountRequests("GET", "/" + std::string(kRepo) + "/resolve/");

  auto v1 = ResolveModelPath(std::string(kRepo) + "@v1.0");
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(*v1, repo + "/snapshots/" + kCommitV1);
  EXPECT_EQ(ReadFile(repo + "/refs/v1.0"), kCommitV1);
  ExpectLinkedBlob(kCommitV1, "model.safetensors", kModelSha256);
  ExpectLinkedBlob(kCommitV1, "config.json", FakeEtag("config.json"));
  // Blobs with an ETag were reused; only the one named by its sha256 had to
  // be fetched again to learn its name.
  EXPECT_EQ(CountRequests("GET", "/cdn/"), 1);
  EXPECT_EQ(CountRequests("GET", "/" + std::string(kRepo) + "/resolve/"), file_gets + 1);
  EXPECT_EQ(FilesIn(repo + "/blobs").size(), 6u);

  // A commit hash in the cache needs no request and writes no ref.
  const size_t requests = server_->requests().size();
  auto by_commit = ResolveModelPath(std::string(kRepo) + "@" + kCommitMain);
  ASSERT_TRUE(by_commit.ok()) << by_commit.status();
  EXPECT_EQ(*by_commit, repo + "/snapshots/" + kCommitMain);
  EXPECT_EQ(server_->requests().size(), requests);
  EXPECT_EQ(FilesIn(repo + "/refs"), (std::vector<std::string>{"main", "v1.0"}));

  auto missing = ResolveModelPath(std::string(kRepo) + "@v9");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  const std::string message(missing.status().message());
  EXPECT_NE(message.find("'v9'"), std::string::npos) << message;
  EXPECT_NE(message.find(server_->endpoint() + "/api/models/test-org/stories260k/revision/v9"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("HTTP 404"), std::string::npos) << message;
  EXPECT_NE(message.find("Invalid rev id: v9"), std::string::npos) << message;
}

TEST_F(HfDownloadTest, MissingRepositoryIsNotFoundWithTheUrl) {
  auto r = ResolveModelPath("test-org/absent");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  const std::string message(r.status().message());
  EXPECT_NE(message.find(server_->endpoint() + "/api/models/test-org/absent/revision/main"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("HTTP 404"), std::string::npos) << message;
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
  EXPECT_NE(message.find("models--test-org--absent"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(RepoDir("test-org/absent")));
}

TEST_F(HfDownloadTest, UnauthorizedSaysATokenMayBeNeeded) {
  auto r = ResolveModelPath("test-org/private");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  const std::string message(r.status().message());
  EXPECT_NE(message.find("HTTP 401"), std::string::npos) << message;
  EXPECT_NE(message.find("HF_TOKEN"), std::string::npos) << message;
  EXPECT_NE(message.find(server_->endpoint() + "/api/models/test-org/private/revision/main"),
            std::string::npos)
      << message;
}

TEST_F(HfDownloadTest, OfflineRefusesToDownloadButReadsTheCache) {
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  auto r = ResolveModelPath(kRepo);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(r.status().message()).find("HF_HUB_OFFLINE=1"), std::string::npos)
      << r.status();
  EXPECT_TRUE(server_->requests().empty());

  ::unsetenv("HF_HUB_OFFLINE");
  ASSERT_TRUE(ResolveModelPath(kRepo).ok());
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  const size_t requests = server_->requests().size();
  auto cached = ResolveModelPath(kRepo);
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(*cached, RepoDir(kRepo) + "/snapshots/" + kCommitMain);
  EXPECT_EQ(server_->requests().size(), requests);
}

TEST_F(HfDownloadTest, DroppedConnectionLeavesNoCompleteLookingFile) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    honor_range_ = false;  // every try restarts, and is cut again
    drops_left_ = 1000;
    drop_after_ = 100000;
  }
  auto r = ResolveModelPath(kRepo);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  const std::string message(r.status().message());
  EXPECT_NE(message.find("/resolve/" + std::string(kCommitMain) + "/model.safetensors"),
            std::string::npos)
      << message;
  EXPECT_EQ(CountRequests("GET", "/cdn/"), HubDownloadOptions().max_attempts);

  const std::string repo = RepoDir(kRepo);
  EXPECT_FALSE(fs::exists(repo + "/snapshots"));  // nothing linked
  EXPECT_FALSE(fs::exists(repo + "/refs/main"));
  const std::string partial = repo + "/blobs/" + kModelSha256 + ".incomplete";
  EXPECT_EQ(fs::file_size(partial), 100000u);
  EXPECT_FALSE(fs::exists(repo + "/blobs/" + kModelSha256));
  // Every other blob is a whole file.
  for (const std::string& name : FilesIn(repo + "/blobs")) {
    if (absl::EndsWith(name, ".incomplete")) continue;
    bool whole = false;
    for (const auto& [file, content] : repos_[kRepo].files) {
      whole |= ReadFile(repo + "/blobs/" + name) == content;
    }
    EXPECT_TRUE(whole) << name;
  }
  EXPECT_FALSE(ResolveModelPath(kRepo).ok());

  // The next run resumes from the partial file.
  {
    std::lock_guard<std::mutex> lock(mu_);
    honor_range_ = true;
    drops_left_ = 0;
  }
  auto resumed = ResolveModelPath(kRepo);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  FakeRequest last_cdn;
  for (const FakeRequest& req : server_->requests()) {
    if (absl::StartsWith(req.path, "/cdn/")) last_cdn = req;
  }
  EXPECT_EQ(last_cdn.headers.count("range") ? last_cdn.headers.at("range") : "", "bytes=100000-");
  ExpectLinkedBlob(kCommitMain, "model.safetensors", kModelSha256);
  EXPECT_FALSE(fs::exists(partial));
}

TEST_F(HfDownloadTest, ResumesWithinOneRunAfterADrop) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    drops_left_ = 2;
    drop_after_ = 300000;
  }
  auto r = ResolveModelPath(kRepo);
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::string> ranges;
  for (const FakeRequest& req : server_->requests()) {
    if (absl::StartsWith(req.path, "/cdn/")) {
      ranges.push_back(req.headers.count("range") ? req.headers.at("range") : "");
    }
  }
  EXPECT_EQ(ranges, (std::vector<std::string>{"", "bytes=300000-", "bytes=600000-"}));
  ExpectLinkedBlob(kCommitMain, "model.safetensors", kModelSha256);
}

TEST_F(HfDownloadTest, CorruptContentIsRejected) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    corrupt_ = true;
  }
  auto r = ResolveModelPath(kRepo);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(r.status().message()).find(kModelSha256), std::string::npos) << r.status();
  for (const std::string& name : FilesIn(RepoDir(kRepo) + "/blobs")) {
    EXPECT_FALSE(absl::StartsWith(name, kModelSha256)) << name;
  }
}

TEST_F(HfDownloadTest, RepositoryOfOneGgufResolvesToIt) {
  auto path = ResolveModelPath("test-org/stories-gguf");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path,
            RepoDir("test-org/stories-gguf") + "/snapshots/" + kCommitMain + "/stories260K.gguf");
  EXPECT_EQ(fs::read_symlink(*path).string(), std::string("../../blobs/") + kGgufSha256);
  EXPECT_TRUE(ReadFile(*path) == repos_["test-org/stories-gguf"].files["stories260K.gguf"]);
  EXPECT_TRUE(GgufFile::Open(*path).ok());
  EXPECT_EQ(CountRequests(
                "", "/test-org/stories-gguf/resolve/" + std::string(kCommitMain) + "/README.md"),
            0);
  // From the cache too.
  const size_t requests = server_->requests().size();
  auto again = ResolveModelPath("test-org/stories-gguf");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *path);
  EXPECT_EQ(server_->requests().size(), requests);
}

TEST_F(HfDownloadTest, SeveralGgufsAskForOneByName) {
  auto r = ResolveModelPath("test-org/many-gguf");
  ASSERT_FALSE(r.ok());
  const std::string message(r.status().message());
  for (const char* part : {"a-f16.gguf", "sub/b-f32.gguf", "test-org/many-gguf/<file>.gguf"}) {
    EXPECT_NE(message.find(part), std::string::npos) << part << " not in: " << message;
  }
  EXPECT_EQ(CountRequests("", "/test-org/many-gguf/resolve/"), 0);

  auto b = ResolveModelPath("test-org/many-gguf/sub/b-f32.gguf");
  ASSERT_TRUE(b.ok()) << b.status();
  const std::string snapshot = RepoDir("test-org/many-gguf") + "/snapshots/" + kCommitMain;
  EXPECT_EQ(*b, snapshot + "/sub/b-f32.gguf");
  EXPECT_EQ(fs::read_symlink(*b).string(), std::string("../../../blobs/") + kGgufSha256);
  EXPECT_TRUE(GgufFile::Open(*b).ok());
  EXPECT_EQ(
      CountRequests("", "/test-org/many-gguf/resolve/" + std::string(kCommitMain) + "/a-f16.gguf"),
      0);
  EXPECT_EQ(FilesIn(snapshot), (std::vector<std::string>{"sub"}));

  auto a = ResolveModelPath("test-org/many-gguf/a-f16.gguf@v1.0");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, RepoDir("test-org/many-gguf") + "/snapshots/" + kCommitV1 + "/a-f16.gguf");
  EXPECT_EQ(ReadFile(*a), "a small stand-in");

  auto absent = ResolveModelPath("test-org/many-gguf/c.gguf");
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(absent.status().message()).find("'c.gguf'"), std::string::npos)
      << absent.status();
}

TEST_F(HfDownloadTest, ReportsProgressOnStderr) {
  HubDownloadOptions options;
  options.endpoint = server_->endpoint();
  options.cache_dir = cache_;
  options.progress_min_bytes = 1000000;  // model.safetensors only
  HubReference ref;
  ref.repo_id = kRepo;
  ::testing::internal::CaptureStderr();
  auto path = DownloadFromHub(ref, options);
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_NE(err.find("model.safetensors: 1.0 MB / 1.0 MB (100%)"), std::string::npos) << err;
  EXPECT_NE(err.find("MB/s"), std::string::npos) << err;
  EXPECT_EQ(err.find("config.json:"), std::string::npos) << err;
}

TEST(HubReferenceTest, ParsesIdsRevisionsAndGgufFiles) {
  auto plain = ParseHubReference("org/name");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->repo_id, "org/name");
  EXPECT_EQ(plain->revision, "main");
  EXPECT_EQ(plain->filename, "");
  auto file = ParseHubReference("org/name/dir/model-f16.gguf@v2");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->repo_id, "org/name");
  EXPECT_EQ(file->revision, "v2");
  EXPECT_EQ(file->filename, "dir/model-f16.gguf");
  for (const char* bad :
       {"org", "org/name/config.json", "org/../x", "org/name@", "/org/name", "org/name@a/b"}) {
    EXPECT_FALSE(ParseHubReference(bad).ok()) << bad;
  }
  EXPECT_TRUE(IsModelFileToDownload("model-00001-of-00002.safetensors"));
  EXPECT_FALSE(IsModelFileToDownload("onnx/model-1.safetensors"));
  EXPECT_FALSE(IsModelFileToDownload("pytorch_model.bin"));
}

}  // namespace
}  // namespace llm2vec
