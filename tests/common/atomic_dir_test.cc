#include "common/atomic_dir.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>

#include "common/mapped_file.h"
#include "gtest/gtest.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

class AtomicDirTest : public ::testing::Test {
 protected:
  std::set<std::string> Entries() const {
    std::set<std::string> names;
    DIR* d = opendir(dir_.c_str());
    while (const dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.insert(n);
    }
    closedir(d);
    return names;
  }
  testing::TempDir tmp_{"llm2vec_atomic"};
  const std::string dir_ = tmp_.path();
};

TEST_F(AtomicDirTest, AFolderReplacesTheOldOneWholeAndLeavesNothingBehind) {
  const std::string dest = dir_ + "/adapter";
  for (const std::string version : {"one", "two"}) {
    auto staging = MakeStagingDir(dest);
    ASSERT_TRUE(staging.ok()) << staging.status();
    ASSERT_TRUE(WriteFileSynced(*staging + "/weights", version).ok());
    ASSERT_TRUE(CommitStagingDir(*staging, dest).ok());
    EXPECT_EQ(*ReadFileToString(dest + "/weights"), version);
    EXPECT_EQ(Entries(), std::set<std::string>{"adapter"});
  }
  // Never a file in the folder's place.
  std::ofstream(dir_ + "/file") << "x";
  auto staging = MakeStagingDir(dir_ + "/file");
  ASSERT_TRUE(staging.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(CommitStagingDir(*staging, dir_ + "/file")));
}

TEST_F(AtomicDirTest, StaleStagingFoldersAreRemovedAndNothingElse) {
  for (const char* name : {"a.tmp-AbC123", "b.old-77", "keep", "c.tmp-x", "keep.tmp-AbC123x"}) {
    ASSERT_EQ(mkdir((dir_ + "/" + name).c_str(), 0755), 0);
  }
  std::ofstream(dir_ + "/file.tmp-AbC123") << "a file, not a staging folder";
  EXPECT_EQ(RemoveStaleStagingDirs(dir_), 2);
  EXPECT_EQ(Entries(),
            (std::set<std::string>{"keep", "c.tmp-x", "keep.tmp-AbC123x", "file.tmp-AbC123"}));
  EXPECT_EQ(RemoveStaleStagingDirs(dir_ + "/missing"), 0);
}

TEST_F(AtomicDirTest, AFileIsReplacedWhole) {
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/ports.json", "{\"grpc\": 1}").ok());
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/ports.json", "{\"grpc\": 2}").ok());
  EXPECT_EQ(*ReadFileToString(dir_ + "/ports.json"), "{\"grpc\": 2}");
  EXPECT_EQ(Entries(), std::set<std::string>{"ports.json"});
}

}  // namespace
}  // namespace llm2vec
