#include "tests/testdata.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace llm2vec::testing {

namespace {
bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
}  // namespace

std::string TestdataDir() {
  const char* env = std::getenv("LLM2VEC_TESTDATA");
  std::string dir = (env != nullptr && *env != '\0') ? env : LLM2VEC_DEFAULT_TESTDATA;
  return IsDir(dir) ? dir : "";
}

std::string TestdataPath(const std::string& relative) { return TestdataDir() + "/" + relative; }

nlohmann::json LoadJson(const std::string& relative) {
  std::ifstream in(TestdataPath(relative));
  EXPECT_TRUE(in.good()) << "cannot open " << TestdataPath(relative);
  nlohmann::json j;
  if (in.good()) in >> j;
  return j;
}

TempDir::TempDir(const std::string& prefix) {
  std::string templ = "/tmp/" + prefix + "_XXXXXX";
  EXPECT_NE(::mkdtemp(templ.data()), nullptr) << templ;
  path_ = templ;
}

TempDir::~TempDir() {
  // Depth first, not following symlinks (a test may link out of the folder).
  ::nftw(
      path_.c_str(),
      [](const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

}  // namespace llm2vec::testing
