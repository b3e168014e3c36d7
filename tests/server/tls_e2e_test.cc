// End-to-end: TLS and mutual TLS on the real server, gRPC (the C++ client
// library and `llm2vec`) and HTTPS (curl), with certificates the test makes
// (tls/make_test_certs.sh, openssl): handshakes that must work, ones that
// must fail, certificate files refused at start, and certificates replaced
// while serving.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/embedding_client.h"
#include "tests/server/server_process.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

using ::llm2vec::testing::DemoModel;
using ::llm2vec::testing::RunCommand;
using ::llm2vec::testing::ServerProcess;
using ::llm2vec::testing::TempDir;

class TlsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LLM2VEC_REQUIRE_TESTDATA();
    auto made = RunCommand(absl::StrCat(LLM2VEC_MAKE_TEST_CERTS, " ", certs_.path()),
                           certs_.Join("make.err"));
    ASSERT_EQ(made.first, 0) << "openssl could not make the test certificates";
  }
  std::string Cert(const std::string& name) const { return certs_.Join(name); }

  // Info through the client library: the gRPC status code.
  absl::StatusCode Info(const ServerProcess& server, const ServerConnection& base) const {
    EmbeddingClient::Options o;
    o.connection = base;
    o.connection.target = server.grpc_target();
    o.timeout = absl::Seconds(10);
    auto client = EmbeddingClient::Connect(o);
    if (!client.ok()) return client.status().code();
    return (*client)->Info().status().code();
  }
  ServerConnection Trusting(const std::string& ca) const {
    ServerConnection c;
    c.tls_ca = Cert(ca);
    return c;
  }
  // curl's HTTP status for GET /health ("000" when no answer came).
  std::string Curl(const ServerProcess& server, const std::string& scheme,
                   const std::string& flags) const {
    return RunCommand(absl::StrCat("curl -s -o /dev/null -w '%{http_code}' --max-time 10 ",
                                   flags, " ", scheme, "://127.0.0.1:", server.http_port(),
                                   "/health"),
                      certs_.Join("curl.err"))
        .second;
  }

  TempDir certs_;
};

TEST_F(TlsE2eTest, ServesGrpcAndHttpsOnlyOverTlsWithItsCertificate) {
  ServerProcess server({"--tls-cert", Cert("server.crt"), "--tls-key", Cert("server.key")});
  EXPECT_EQ(Info(server, Trusting("ca.crt")), absl::StatusCode::kOk) << server.Log();
  EXPECT_EQ(Info(server, ServerConnection()), absl::StatusCode::kUnavailable);  // plaintext
  EXPECT_EQ(Info(server, Trusting("other-ca.crt")), absl::StatusCode::kUnavailable);

  EXPECT_EQ(Curl(server, "https", "--cacert " + Cert("ca.crt")), "200") << server.Log();
  EXPECT_EQ(Curl(server, "http", ""), "000");
  EXPECT_EQ(Curl(server, "https", "--cacert " + Cert("other-ca.crt")), "000");

  // The command line client: --tls-ca.
  const std::string cli = LLM2VEC_CLI_BIN;
  auto info = RunCommand(absl::StrCat(cli, " info --server ", server.grpc_target(), " --tls-ca ",
                                      Cert("ca.crt")),
                         certs_.Join("cli.err"));
  EXPECT_EQ(info.first, 0);
  EXPECT_NE(info.second.find("\"architecture\""), std::string::npos);
}

TEST_F(TlsE2eTest, MutualTlsNeedsAClientCertificateFromTheClientCa) {
  // With mutual TLS the server may listen beyond loopback without keys.
  ServerProcess server({"--host", "0.0.0.0", "--tls-cert", Cert("server.crt"), "--tls-key",
                        Cert("server.key"), "--tls-client-ca", Cert("ca.crt")});
  ServerConnection client = Trusting("ca.crt");
  client.tls_cert = Cert("client.crt");
  client.tls_key = Cert("client.key");
  EXPECT_EQ(Info(server, client), absl::StatusCode::kOk) << server.Log();
  EXPECT_EQ(Info(server, Trusting("ca.crt")), absl::StatusCode::kUnavailable);  // no certificate
  ServerConnection rogue = Trusting("ca.crt");
  rogue.tls_cert = Cert("rogue-client.crt");
  rogue.tls_key = Cert("rogue-client.key");
  EXPECT_EQ(Info(server, rogue), absl::StatusCode::kUnavailable);

  const std::string ca = "--cacert " + Cert("ca.crt");
  EXPECT_EQ(Curl(server, "https",
                 ca + " --cert " + Cert("client.crt") + " --key " + Cert("client.key")),
            "200");
  EXPECT_EQ(Curl(server, "https", ca), "000");
  EXPECT_EQ(Curl(server, "https", ca + " --cert " + Cert("rogue-client.crt") + " --key " +
                                      Cert("rogue-client.key")),
            "000");
  EXPECT_EQ(server.Log().find("WARNING"), std::string::npos) << server.Log();
}

TEST_F(TlsE2eTest, CertificateFilesAreCheckedAtStart) {
  struct Case {
    std::vector<std::string> flags;
    std::string expected;
  } cases[] = {
      {{"--tls-cert", Cert("server.crt"), "--tls-key", Cert("client.key")},
       "is not the key of the certificate in --tls-cert"},
      {{"--tls-cert", Cert("server.crt")}, "--tls-cert and --tls-key go together"},
      {{"--tls-client-ca", Cert("ca.crt")}, "--tls-client-ca needs --tls-cert and --tls-key"},
      {{"--tls-cert", Cert("server.key"), "--tls-key", Cert("server.key")},
       "no certificate"},
      {{"--tls-cert", Cert("server.crt"), "--tls-key", Cert("missing.key")}, "--tls-key"},
      {{"--tls-cert", Cert("server.crt"), "--tls-key", Cert("server.key"), "--tls-client-ca",
        Cert("server.key")},
       "--tls-client-ca"},
  };
  for (const Case& c : cases) {
    std::string command = absl::StrCat(LLM2VEC_SERVER_BIN, " --model ", DemoModel(),
                                       " --port 0 --http-port -1 --metrics-port -1 "
                                       "--state-dir none");
    for (const std::string& f : c.flags) absl::StrAppend(&command, " ", f);
    const std::string err = certs_.Join("server.err");
    auto result = RunCommand(command, err);
    EXPECT_EQ(result.first, 2) << command;
    std::FILE* f = std::fopen(err.c_str(), "r");
    ASSERT_NE(f, nullptr);
    std::string message(4096, '\0');
    message.resize(std::fread(message.data(), 1, message.size(), f));
    std::fclose(f);
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}

TEST_F(TlsE2eTest, ReplacedCertificatesAreServedWithoutARestart) {
  // The server reads these paths; the test replaces their contents.
  const std::string cert = certs_.Join("live.crt"), key = certs_.Join("live.key");
  auto install = [&](const std::string& name) {
    // Each file appears whole (rename), the key first.
    ASSERT_EQ(RunCommand(absl::StrCat("cp ", Cert(name + ".key"), " ", key, ".tmp && mv ", key,
                                      ".tmp ", key, " && cp ", Cert(name + ".crt"), " ", cert,
                                      ".tmp && mv ", cert, ".tmp ", cert),
                         certs_.Join("cp.err"))
                  .first,
              0);
  };
  install("server");
  ServerProcess server({"--tls-cert", cert, "--tls-key", key});
  EXPECT_EQ(Curl(server, "https", "--cacert " + Cert("ca.crt")), "200");
  EXPECT_EQ(Info(server, Trusting("ca.crt")), absl::StatusCode::kOk);

  install("server2");  // signed by the other CA
  server.Signal(SIGHUP, /*wait=*/false);
  // HTTP: on SIGHUP (done when the log says so); gRPC: its file watcher
  // (every 5 s). Both polled with a deadline.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (server.Log().find("reloaded the HTTP certificate") == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(Curl(server, "https", "--cacert " + Cert("other-ca.crt")), "200") << server.Log();
  EXPECT_EQ(Curl(server, "https", "--cacert " + Cert("ca.crt")), "000");
  while (Info(server, Trusting("other-ca.crt")) != absl::StatusCode::kOk &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(Info(server, Trusting("other-ca.crt")), absl::StatusCode::kOk) << server.Log();
  EXPECT_EQ(Info(server, Trusting("ca.crt")), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace llm2vec
