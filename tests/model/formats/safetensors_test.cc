// safetensors headers whose sizes do not add up are refused with a message
// naming the tensor, never read past the file or overflowed.
#include "model/formats/safetensors.h"

#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testdata.h"

namespace llm2vec {
namespace {

// A file with `header` (JSON) and `data_bytes` zero bytes of data.
absl::Status OpenWith(const std::string& header, size_t data_bytes) {
  testing::TempDir dir("llm2vec_st");
  const std::string path = dir.Join("model.safetensors");
  std::string bytes(8, '\0');
  const uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  bytes += header;
  bytes.append(data_bytes, '\0');
  std::ofstream(path, std::ios::binary) << bytes;
  return SafetensorsArchive::OpenFile(path).status();
}

TEST(SafetensorsTest, AWellFormedFileOpens) {
  EXPECT_TRUE(OpenWith(R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}})", 16)
                  .ok());
}

TEST(SafetensorsTest, SizesThatDoNotAddUpAreRefused) {
  struct Case {
    std::string header;
    std::string message;
  };
  const Case cases[] = {
      {R"({"w": {"dtype": "F32", "shape": [9223372036854775808], "data_offsets": [0, 16]}})",
       "tensor 'w': dimension 9223372036854775808 is too large"},
      {R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 16]}})",
       "tensor 'w': shape's size overflows 64 bits"},
      {R"({"w": {"dtype": "Q4_K", "shape": [4], "data_offsets": [0, 16]}})",
       "tensor 'w': dtype 'Q4_K' is not supported"},
      {R"({"w": {"dtype": "F32", "shape": [8], "data_offsets": [0, 16]}})",
       "tensor 'w': shape and dtype F32 need 32 bytes but data_offsets span 16"},
      {R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 17]}})",
       "lie outside the 16 data bytes"},
  };
  for (const Case& c : cases) {
    absl::Status s = OpenWith(c.header, 16);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), c.message)) << s;
  }
}

}  // namespace
}  // namespace llm2vec
