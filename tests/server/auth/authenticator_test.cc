#include "server/auth/authenticator.h"

#include <fstream>
#include <string>

#include "common/sha256.h"
#include "gtest/gtest.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

void WriteKeys(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

TEST(AuthenticatorTest, WithoutKeysEveryoneIsAnAnonymousAdmin) {
  Authenticator open;
  EXPECT_FALSE(open.enabled());
  auto caller = open.Authorize("", Role::kAdmin, "LoadAdapter");
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->name, "");
  EXPECT_TRUE(caller->admin());
}

TEST(AuthenticatorTest, RolesDecideAndTheRefusalNamesTheCallAndTheRoleItNeeds) {
  testing::TempDir dir;
  WriteKeys(dir.Join("keys"), "reader embed " + Sha256Hex("k1") + "\n");
  auto auth = Authenticator::FromFile(dir.Join("keys"));
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE((*auth)->enabled());
  EXPECT_TRUE((*auth)->Authorize("Bearer k1", Role::kEmbed, "Embed").ok());

  auto denied = (*auth)->Authorize("Bearer k1", Role::kTrain, "Train");
  ASSERT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.status().message(), "Train needs the role 'train'; this API key has: embed");

  EXPECT_EQ((*auth)->Authorize("", Role::kEmbed, "Embed").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ((*auth)->Authorize("Bearer k2", Role::kEmbed, "Embed").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AuthenticatorTest, ReloadTakesNewKeysAndKeepsTheOldOnesWhenTheFileIsBad) {
  testing::TempDir dir;
  const std::string path = dir.Join("keys");
  WriteKeys(path, "old embed " + Sha256Hex("k-old") + "\n");
  auto auth = Authenticator::FromFile(path);
  ASSERT_TRUE(auth.ok());

  WriteKeys(path, "new embed " + Sha256Hex("k-new") + "\n");
  ASSERT_TRUE((*auth)->Reload().ok());
  EXPECT_TRUE((*auth)->Authorize("Bearer k-new", Role::kEmbed, "Embed").ok());
  EXPECT_FALSE((*auth)->Authorize("Bearer k-old", Role::kEmbed, "Embed").ok());

  WriteKeys(path, "broken line\n");
  const absl::Status bad = (*auth)->Reload();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("line 1"), std::string::npos) << bad;
  EXPECT_TRUE((*auth)->Authorize("Bearer k-new", Role::kEmbed, "Embed").ok());
}

TEST(AuthenticatorTest, AMissingKeyFileIsAnErrorAtStart) {
  testing::TempDir dir;
  EXPECT_FALSE(Authenticator::FromFile(dir.Join("absent")).ok());
}

}  // namespace
}  // namespace llm2vec
