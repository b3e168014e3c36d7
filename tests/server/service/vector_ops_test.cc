#include "server/service/vector_ops.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace llm2vec {
namespace {

TEST(VectorOpsTest, Int8QuantisationIsSymmetricAndNonFiniteValuesCountAsZero) {
  float scale = 0;
  const std::string q = QuantizeInt8({1.0f, -0.5f, 0.25f}, &scale);
  EXPECT_FLOAT_EQ(scale, 1.0f / 127);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(static_cast<int8_t>(q[0]), 127);
  EXPECT_EQ(static_cast<int8_t>(q[1]), -64);
  EXPECT_EQ(static_cast<int8_t>(q[2]), 32);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::string bad = QuantizeInt8({nan, 2.0f, inf, -2.0f}, &scale);
  EXPECT_FLOAT_EQ(scale, 2.0f / 127);
  EXPECT_EQ(static_cast<int8_t>(bad[0]), 0);
  EXPECT_EQ(static_cast<int8_t>(bad[1]), 127);
  EXPECT_EQ(static_cast<int8_t>(bad[2]), 0);
  EXPECT_EQ(static_cast<int8_t>(bad[3]), -127);
  EXPECT_TRUE(AllFinite({1.0f, -2.0f}));
  EXPECT_FALSE(AllFinite({1.0f, nan}));
  EXPECT_FALSE(AllFinite({inf}));
}

TEST(VectorOpsTest, BinaryPackingAndCosine) {
  EXPECT_EQ(PackBinary({1, -1, 0, 2, 1, 1, 1, 1, 1}), std::string("\x9f\x80", 2));
  EXPECT_NEAR(Cosine({1, 0}, {1, 1}), std::sqrt(0.5f), 1e-6);
  EXPECT_EQ(Cosine({0, 0}, {1, 1}), 0.0f);
}

}  // namespace
}  // namespace llm2vec
