#include "common/mapped_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

class ReadFileTest : public ::testing::Test {
 protected:
  testing::TempDir tmp_{"llm2vec_read"};
  const std::string dir_ = tmp_.path();
};

TEST_F(ReadFileTest, ReadsARegularFileWhole) {
  std::ofstream(dir_ + "/a.json") << "{\"x\": 1}";
  auto text = ReadFileToString(dir_ + "/a.json");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "{\"x\": 1}");
  EXPECT_TRUE(absl::IsNotFound(ReadFileToString(dir_ + "/missing").status()));
}

// A FIFO would block an open for reading until a writer came: refused at
// once instead. So are folders, and files over the cap.
TEST_F(ReadFileTest, RefusesWhatIsNotASmallRegularFile) {
  ASSERT_EQ(mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  absl::Status s = ReadFileToString(dir_ + "/fifo").status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "not a regular file")) << s;
  EXPECT_TRUE(absl::IsInvalidArgument(ReadFileToString(dir_).status()));
  std::ofstream(dir_ + "/big") << std::string(100, 'x');
  s = ReadFileToString(dir_ + "/big", /*max_bytes=*/99).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "100 bytes, over the 99 this reader accepts")) << s;
  EXPECT_TRUE(ReadFileToString(dir_ + "/big", 100).ok());
}

}  // namespace
}  // namespace llm2vec
