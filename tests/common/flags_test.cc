#include "common/flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace llm2vec {
namespace {

absl::Status ParseArgs(FlagSet& flags, std::vector<std::string> args) {
  std::vector<char*> argv;
  static char program[] = "prog";
  argv.push_back(program);
  for (std::string& a : args) argv.push_back(a.data());
  return flags.Parse(static_cast<int>(argv.size()), argv.data());
}

TEST(ParseBytes, TakesPlainBytesAndBinaryUnits) {
  int64_t x = 0;
  ASSERT_TRUE(ParseBytes("1048576", &x).ok());
  EXPECT_EQ(x, 1048576);
  ASSERT_TRUE(ParseBytes("512M", &x).ok());
  EXPECT_EQ(x, int64_t{512} << 20);
  ASSERT_TRUE(ParseBytes("16GiB", &x).ok());
  EXPECT_EQ(x, int64_t{16} << 30);
  ASSERT_TRUE(ParseBytes("1.5K", &x).ok());
  EXPECT_EQ(x, 1536);
  ASSERT_TRUE(ParseBytes("2T", &x).ok());
  EXPECT_EQ(x, int64_t{2} << 40);
}

TEST(ParseBytes, RefusesWhatIsNotASize) {
  int64_t x = 7;
  for (const char* bad : {"", "G", "-1G", "12Q", "1e3", "10000000000T", "1.2.3M", "5 G"}) {
    absl::Status s = ParseBytes(bad, &x);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find(std::string("'") + bad + "'"), std::string::npos) << s;
  }
  EXPECT_EQ(x, 7);
}

TEST(BytesText, ReadsAsPeopleWriteSizes) {
  EXPECT_EQ(BytesText(512), "512 B");
  EXPECT_EQ(BytesText(1536), "1.50 KiB");
  EXPECT_EQ(BytesText(int64_t{16} << 30), "16.0 GiB");
  EXPECT_EQ(BytesText(int64_t{300} << 20), "300 MiB");
}

TEST(FlagSetBytes, ParsesAndNamesTheFlagOnErrors) {
  FlagSet flags("prog", "test", "");
  int64_t limit = int64_t{1} << 30;
  flags.Bytes("limit", &limit, "a limit", 1024);
  EXPECT_NE(flags.Help().find("--limit BYTES"), std::string::npos) << flags.Help();
  EXPECT_NE(flags.Help().find("[default: 1.00 GiB]"), std::string::npos) << flags.Help();
  ASSERT_TRUE(ParseArgs(flags, {"--limit", "2G"}).ok());
  EXPECT_EQ(limit, int64_t{2} << 30);

  FlagSet low("prog", "test", "");
  low.Bytes("limit", &limit, "a limit", 1024);
  absl::Status s = ParseArgs(low, {"--limit=100"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--limit"), std::string::npos) << s;
  EXPECT_NE(s.message().find("1.00 KiB"), std::string::npos) << s;

  FlagSet junk("prog", "test", "");
  junk.Bytes("limit", &limit, "a limit");
  s = ParseArgs(junk, {"--limit", "lots"});
  EXPECT_NE(s.message().find("--limit: 'lots' is not a size"), std::string::npos) << s;
}

}  // namespace
}  // namespace llm2vec
