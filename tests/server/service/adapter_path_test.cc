// LoadAdapter's path: only folders under the adapter root, opened beneath
// it, one answer for everything else (so the server's other paths cannot
// be probed), files read without following links and within a byte budget.
// Every case runs with openat2 and with the component walk.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "server/service/embedding_service.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

constexpr int64_t kBudget = 1 << 20;

class AdapterPathTest : public ::testing::TestWithParam<BeneathMode> {
 protected:
  void SetUp() override {
    root_ = top_ + "/root";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/mine").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((top_ + "/outside").c_str(), 0755), 0);
    std::ofstream(root_ + "/file") << "x";
    std::ofstream(root_ + "/mine/adapter_config.json") << "{}";
    std::ofstream(top_ + "/outside/secret") << "the server's secret";
    ASSERT_EQ(symlink((top_ + "/outside").c_str(), (root_ + "/escape").c_str()), 0);
    ASSERT_EQ(symlink((top_ + "/outside/secret").c_str(), (root_ + "/mine/linked").c_str()), 0);
  }
  absl::StatusOr<std::shared_ptr<const FolderReader>> Open(const std::string& path,
                                                           int64_t budget = kBudget) {
    return AdapterFolderUnderRoot(root_, path, budget, GetParam());
  }
  testing::TempDir tmp_{"llm2vec_adapters"};
  const std::string top_ = tmp_.path();
  std::string root_;
};

TEST_P(AdapterPathTest, FoldersUnderTheRootAreFoundRelativeOrAbsolute) {
  auto relative = Open("mine");
  ASSERT_TRUE(relative.ok()) << relative.status();
  EXPECT_EQ((*relative)->path(), root_ + "/mine");
  auto text = (*relative)->ReadFile("adapter_config.json");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "{}");
  auto absolute = Open(root_ + "/mine");
  ASSERT_TRUE(absolute.ok()) << absolute.status();
  EXPECT_EQ((*absolute)->path(), root_ + "/mine");
}

TEST_P(AdapterPathTest, EverythingElseGetsTheSameNotFound) {
  auto message = [&](const std::string& path) {
    absl::Status s = Open(path).status();
    EXPECT_TRUE(absl::IsNotFound(s)) << path << ": " << s;
    return std::string(s.message());
  };
  const std::string expected = [](const std::string& p) {
    return "path '" + p + "' is not a folder under the server's adapter root; give it relative to the root";
  }("/etc");
  // An existing folder outside, a missing one, a climb out, a symlink that
  // leads out, a file, an absolute path outside: the same words.
  EXPECT_EQ(message("/etc"), expected);
  EXPECT_EQ(message("/no/such/folder"),
            "path '/no/such/folder' is not a folder under the server's adapter root; give it "
            "relative to the root");
  EXPECT_NE(message("../outside").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message("mine/../../outside").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message("escape").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message("escape/").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message("file").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message(top_ + "/outside").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message(root_ + "/../outside").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message("missing").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message("").find("is not a folder under"), std::string::npos);
}

TEST_P(AdapterPathTest, AFileThatIsALinkIsNotReadEvenInsideTheFolder) {
  auto folder = Open("mine");
  ASSERT_TRUE(folder.ok()) << folder.status();
  EXPECT_FALSE((*folder)->HasFile("linked"));
  auto text = (*folder)->ReadFile("linked");
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("it is a link"), std::string::npos) << text.status();
  EXPECT_EQ(text.status().message().find("secret\""), std::string::npos);
  EXPECT_FALSE((*folder)->MapFile("linked").ok());
  EXPECT_FALSE((*folder)->ReadFile("../file").ok());
}

TEST_P(AdapterPathTest, AFolderSwappedForALinkAfterTheOpenStillReadsTheOpenedFolder) {
  auto folder = Open("mine");
  ASSERT_TRUE(folder.ok()) << folder.status();
  // Swap: mine -> elsewhere, and a link to the outside in its place.
  ASSERT_EQ(rename((root_ + "/mine").c_str(), (root_ + "/moved").c_str()), 0);
  ASSERT_EQ(symlink((top_ + "/outside").c_str(), (root_ + "/mine").c_str()), 0);
  std::ofstream(top_ + "/outside/adapter_config.json") << "{\"outside\": true}";
  auto text = (*folder)->ReadFile("adapter_config.json");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "{}");
  EXPECT_TRUE(absl::IsNotFound(Open("mine").status()));
}

TEST_P(AdapterPathTest, TheFilesOfOneFolderShareOneByteBudget) {
  std::ofstream(root_ + "/mine/big.safetensors") << std::string(600, 'b');
  std::ofstream(root_ + "/mine/big2.safetensors") << std::string(600, 'b');
  auto folder = Open("mine", 1000);
  ASSERT_TRUE(folder.ok()) << folder.status();
  ASSERT_TRUE((*folder)->MapFile("big.safetensors").ok());
  auto second = (*folder)->MapFile("big2.safetensors");
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(second.status())) << second.status();
  EXPECT_NE(second.status().message().find("(--max-adapter-bytes)"), std::string::npos)
      << second.status();
}

TEST_P(AdapterPathTest, NoRootNoLoads) {
  EXPECT_TRUE(absl::IsFailedPrecondition(AdapterFolderUnderRoot("", "mine", kBudget).status()));
}

INSTANTIATE_TEST_SUITE_P(Openat2AndWalk, AdapterPathTest,
                         ::testing::Values(BeneathMode::kAuto, BeneathMode::kWalk),
                         [](const ::testing::TestParamInfo<BeneathMode>& info) {
                           return info.param == BeneathMode::kAuto ? "Openat2" : "Walk";
                         });

}  // namespace
}  // namespace llm2vec
