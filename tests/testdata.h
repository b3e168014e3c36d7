// Locating the shared test data pack (../shared/testdata, or
// $LLM2VEC_TESTDATA). Where the pack is absent a test skips itself with the
// reason, except under CI=true, where the absence is a failure.
#ifndef LLM2VEC_TESTS_TESTDATA_H_
#define LLM2VEC_TESTS_TESTDATA_H_

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace llm2vec::testing {

// The pack's root folder, or "" when absent.
std::string TestdataDir();
// Path of `relative` inside the pack.
std::string TestdataPath(const std::string& relative);
// Parses a JSON file of the pack (fails the test on error).
nlohmann::json LoadJson(const std::string& relative);

// A fresh folder /tmp/<prefix>_XXXXXX, removed with its contents at scope
// exit.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "llm2vec_test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace llm2vec::testing

// Skips the test (or fails it under CI=true) when the pack is absent.
#define LLM2VEC_REQUIRE_TESTDATA()                                            \
  do {                                                                        \
    if (::llm2vec::testing::TestdataDir().empty()) {                          \
      const char* ci = std::getenv("CI");                                     \
      if (ci != nullptr && std::string(ci) == "true") {                       \
        FAIL() << "test data pack not found (CI=true): set LLM2VEC_TESTDATA"; \
      }                                                                       \
      GTEST_SKIP() << "test data pack not found at ../shared/testdata "       \
                      "(set LLM2VEC_TESTDATA)";                               \
    }                                                                         \
  } while (0)

#endif  // LLM2VEC_TESTS_TESTDATA_H_
