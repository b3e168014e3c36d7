#include "common/api_keys.h"

#include <fstream>
#include <string>

#include "common/sha256.h"
#include "gtest/gtest.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

constexpr char kAliceKey[] = "l2v_alice-secret";
constexpr char kOpsKey[] = "l2v_ops-secret";

std::string KeyFile() {
  return "# name roles sha256\n"
         "alice embed,train " + Sha256Hex(kAliceKey) + "\n"
         "\n"
         "   ops   admin   " + Sha256Hex(kOpsKey) + "  \n";
}

TEST(ApiKeysTest, AuthenticatesKnownKeysWithTheirRoles) {
  auto keys = ApiKeys::Parse(KeyFile(), "keys");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 2u);

  auto alice = keys->Authenticate(std::string("Bearer ") + kAliceKey);
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->name, "alice");
  EXPECT_TRUE(alice->Has(Role::kEmbed));
  EXPECT_TRUE(alice->Has(Role::kTrain));
  EXPECT_FALSE(alice->Has(Role::kAdmin));
  EXPECT_FALSE(alice->admin());

  // The scheme is case-insensitive; admin holds every role.
  auto ops = keys->Authenticate(std::string("bearer ") + kOpsKey);
  ASSERT_TRUE(ops.ok()) << ops.status();
  EXPECT_EQ(ops->name, "ops");
  EXPECT_TRUE(ops->Has(Role::kEmbed));
  EXPECT_TRUE(ops->Has(Role::kTrain));
  EXPECT_TRUE(ops->admin());
}

TEST(ApiKeysTest, RefusesMissingMalformedAndUnknownKeysWithoutNamingAny) {
  auto keys = ApiKeys::Parse(KeyFile(), "keys");
  ASSERT_TRUE(keys.ok());
  for (const std::string& header :
       {std::string(), std::string("Bearer"), std::string("Bearer "), std::string(kAliceKey),
        std::string("Basic ") + kAliceKey, std::string("Bearer l2v_alice-secreT"),
        std::string("Bearer ") + Sha256Hex(kAliceKey), "Bearer " + std::string(300, 'x')}) {
    auto caller = keys->Authenticate(header);
    ASSERT_FALSE(caller.ok()) << header;
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated) << header;
    const std::string message(caller.status().message());
    EXPECT_EQ(message.find("alice"), std::string::npos) << message;
    EXPECT_EQ(message.find(Sha256Hex(kAliceKey)), std::string::npos) << message;
  }
}

TEST(ApiKeysTest, ParseErrorsNameTheLineAndTheProblem) {
  const std::string hash = Sha256Hex(kAliceKey);
  struct Case {
    std::string text;
    std::string expected;
  } cases[] = {
      {"", "holds no keys"},
      {"# only a comment\n", "holds no keys"},
      {"alice embed\n", "line 1: expected NAME ROLES SHA256, found 2 fields"},
      {"alice embed " + hash + " extra\n", "found 4 fields"},
      {"\nal/ice embed " + hash + "\n", "line 2: the name must be"},
      {"alice root " + hash + "\n", "role 'root' is not one of embed, train, priority, admin"},
      {"alice embed,,train " + hash + "\n", "role '' is not one of"},
      {"alice embed " + std::string(kAliceKey) + "\n", "the key itself never goes in this file"},
      {"alice embed " + std::string(64, 'A') + "\n", "64 lower-case hex digits"},
      {"alice embed " + hash + "\nalice train " + Sha256Hex("other") + "\n",
       "line 2: the name 'alice' repeats"},
      {"alice embed " + hash + "\nbob train " + hash + "\n", "line 2: the same key as 'alice'"},
  };
  for (const Case& c : cases) {
    auto keys = ApiKeys::Parse(c.text, "/etc/keys");
    ASSERT_FALSE(keys.ok()) << c.text;
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(keys.status().message().find(c.expected), std::string::npos)
        << keys.status().message() << "\nexpected: " << c.expected;
    EXPECT_NE(keys.status().message().find("/etc/keys"), std::string::npos);
  }
}

TEST(ApiKeysTest, LoadReadsRegularFilesOnly) {
  testing::TempDir dir;
  const std::string path = dir.Join("keys");
  std::ofstream(path) << KeyFile();
  auto keys = ApiKeys::Load(path);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 2u);
  EXPECT_FALSE(ApiKeys::Load(dir.path()).ok());
  EXPECT_FALSE(ApiKeys::Load(dir.Join("missing")).ok());
}

TEST(ApiKeysTest, GeneratedKeysAreRandomAndTheirLineAuthenticatesThem) {
  auto a = GenerateApiKey();
  auto b = GenerateApiKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->size(), 4u + 64u);
  EXPECT_EQ(a->rfind("l2v_", 0), 0u);

  auto line = ApiKeyFileLine("ci-bot", *ParseRoles("train,embed"), *a);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "ci-bot embed,train " + Sha256Hex(*a));
  EXPECT_EQ(line->find(*a), std::string::npos);  // the key itself is not in it
  auto keys = ApiKeys::Parse(*line, "generated");
  ASSERT_TRUE(keys.ok()) << keys.status();
  auto caller = keys->Authenticate("Bearer " + *a);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->name, "ci-bot");
  EXPECT_FALSE(keys->Authenticate("Bearer " + *b).ok());

  EXPECT_FALSE(ApiKeyFileLine("bad name", 1, *a).ok());
  EXPECT_FALSE(ApiKeyFileLine("x", 0, *a).ok());
}

}  // namespace
}  // namespace llm2vec
