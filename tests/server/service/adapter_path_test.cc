// LoadAdapter's path: only folders under the adapter root, and one answer
// for everything else, so the server's other paths cannot be probed.
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

class AdapterPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = top_ + "/root";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/mine").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((top_ + "/outside").c_str(), 0755), 0);
    std::ofstream(root_ + "/file") << "x";
    ASSERT_EQ(symlink((top_ + "/outside").c_str(), (root_ + "/escape").c_str()), 0);
  }
  testing::TempDir tmp_{"llm2vec_adapters"};
  const std::string top_ = tmp_.path();
  std::string root_;
};

TEST_F(AdapterPathTest, FoldersUnderTheRootAreFound) {
  auto relative = AdapterDirUnderRoot(root_, "mine");
  ASSERT_TRUE(relative.ok()) << relative.status();
  auto absolute = AdapterDirUnderRoot(root_, *relative);
  ASSERT_TRUE(absolute.ok()) << absolute.status();
  EXPECT_EQ(*absolute, *relative);
}

TEST_F(AdapterPathTest, EverythingElseGetsTheSameNotFound) {
  auto message = [&](const std::string& path) {
    absl::Status s = AdapterDirUnderRoot(root_, path).status();
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
  EXPECT_NE(message("escape").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message("file").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message(top_ + "/outside").find("is not a folder under"), std::string::npos);
  EXPECT_NE(message("missing").find("is not a folder under"), std::string::npos);
}

TEST_F(AdapterPathTest, NoRootNoLoads) {
  EXPECT_TRUE(absl::IsFailedPrecondition(AdapterDirUnderRoot("", "mine").status()));
}

}  // namespace
}  // namespace llm2vec
