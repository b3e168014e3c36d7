#include "tests/testdata.h"

#include <sys/stat.h>

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

}  // namespace llm2vec::testing
