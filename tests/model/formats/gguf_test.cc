// GGUF headers that lie about their sizes are refused with a message, before
// anything is allocated for them (what a fuzzer finds first).
#include "model/formats/gguf.h"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

class Bytes {
 public:
  template <typename T>
  Bytes& Put(T v) {
    s_.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return *this;
  }
  Bytes& Str(const std::string& v) {
    Put<uint64_t>(v.size());
    s_ += v;
    return *this;
  }
  // Header: magic, version 3, counts.
  static Bytes Header(uint64_t n_tensors, uint64_t n_kv) {
    Bytes b;
    b.s_ = "GGUF";
    b.Put<uint32_t>(3).Put<uint64_t>(n_tensors).Put<uint64_t>(n_kv);
    return b;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

absl::Status OpenBytes(const std::string& bytes) {
  testing::TempDir dir("llm2vec_gguf");
  const std::string path = dir.Join("model.gguf");
  std::ofstream(path, std::ios::binary) << bytes;
  return GgufFile::Open(path).status();
}

TEST(GgufTest, AnArrayLongerThanTheFileIsRefusedWithoutAllocating) {
  // One key whose u8 array claims 2^27 elements in a 60-byte file.
  Bytes b = Bytes::Header(0, 1);
  b.Str("a").Put<uint32_t>(9).Put<uint32_t>(0).Put<uint64_t>(uint64_t{1} << 27).Put<uint8_t>(1);
  absl::Status s = OpenBytes(b.str());
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "claims 134217728 array elements; only 1 bytes follow"))
      << s;
}

TEST(GgufTest, CountsTheFileCannotHoldAreRefused) {
  absl::Status s = OpenBytes(Bytes::Header(1000000, 0).str());
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StrContains(
      s.message(), "lists 1000000 tensors and 0 keys, more than the 0 bytes that follow can hold"))
      << s;
  s = OpenBytes(Bytes::Header(0, 1000000).str());
  EXPECT_TRUE(absl::StrContains(s.message(), "more than the 0 bytes that follow can hold")) << s;
  s = OpenBytes(Bytes::Header(uint64_t{1} << 40, 0).str());
  EXPECT_TRUE(absl::StrContains(s.message(), "implausible counts")) << s;
}

TEST(GgufTest, SizesAndOffsetsThatOverflowAreRefused) {
  // Four dims of 2^40: 2^160 elements.
  Bytes big = Bytes::Header(1, 0);
  big.Str("t").Put<uint32_t>(4);
  for (int d = 0; d < 4; ++d) big.Put<uint64_t>(uint64_t{1} << 40);
  big.Put<uint32_t>(0).Put<uint64_t>(0);  // F32, offset 0
  absl::Status s = OpenBytes(big.str());
  EXPECT_TRUE(absl::StrContains(s.message(), "overflows 64 bits")) << s;
  // An offset near 2^64 wraps past the data start.
  Bytes far = Bytes::Header(1, 0);
  far.Str("t").Put<uint32_t>(1).Put<uint64_t>(4).Put<uint32_t>(0).Put<uint64_t>(~uint64_t{0} - 8);
  s = OpenBytes(far.str());
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "overflows 64 bits") ||
              absl::StrContains(s.message(), "past the end of the file"))
      << s;
}

TEST(GgufTest, AWellFormedSmallFileOpens) {
  Bytes ok = Bytes::Header(1, 1);
  ok.Str("general.architecture").Put<uint32_t>(8).Str("llama");
  ok.Str("t").Put<uint32_t>(1).Put<uint64_t>(2).Put<uint32_t>(0).Put<uint64_t>(0);
  std::string bytes = ok.str();
  bytes.resize((bytes.size() + 31) / 32 * 32, '\0');  // data starts aligned
  bytes.append(8, '\0');                              // two float32
  EXPECT_TRUE(OpenBytes(bytes).ok()) << OpenBytes(bytes);
}

}  // namespace
}  // namespace llm2vec
