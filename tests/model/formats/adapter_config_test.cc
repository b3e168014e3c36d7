#include "model/formats/adapter_config.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace llm2vec {
namespace {

TEST(AdapterConfigTest, ReadsAPeftLoraConfig) {
  auto c = ParseLoraConfig(
      R"({"peft_type": "LORA", "r": 8, "lora_alpha": 16, "lora_dropout": 0.1,
          "use_rslora": true, "target_modules": ["q_proj", "v_proj"],
          "base_model_name_or_path": "org/base", "fan_in_fan_out": false,
          "modules_to_save": null})",
      "adapter_config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->r, 8);
  EXPECT_DOUBLE_EQ(c->scale(), 16 / std::sqrt(8.0));
  EXPECT_EQ(c->target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(c->base_model_name_or_path, "org/base");
  // Left out: PEFT's defaults; a single module as a string.
  auto d = ParseLoraConfig(R"({"r": 4, "target_modules": "down_proj"})", "a.json");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_DOUBLE_EQ(d->lora_alpha, 32);
  EXPECT_EQ(d->target_modules, std::vector<std::string>{"down_proj"});
}

TEST(AdapterConfigTest, WrongTypesAndValuesAreRefusedByFieldNeverThrown) {
  const struct {
    const char* text;
    const char* expected;
  } cases[] = {
      {"", "not valid JSON"},
      {"[1]", "not a JSON object"},
      {R"({"peft_type": 1, "r": 4})", "'peft_type' must be a string"},
      {R"({"peft_type": "IA3", "r": 4})", "peft_type 'IA3' is not supported"},
      {R"({"fan_in_fan_out": "yes", "r": 4})", "'fan_in_fan_out' must be true or false"},
      {R"({"fan_in_fan_out": true, "r": 4})", "fan_in_fan_out adapters are not supported"},
      {R"({})", "'r' must be an integer in 1..65536"},
      {R"({"r": "4"})", "'r' must be an integer"},
      {R"({"r": 0})", "'r' must be an integer"},
      {R"({"r": 1000000000})", "'r' must be an integer"},
      {R"({"r": 4.5})", "'r' must be an integer"},
      {R"({"r": 4, "lora_alpha": "8"})", "'lora_alpha' must be a finite number"},
      {R"({"r": 4, "lora_alpha": 1e999})", "not valid JSON"},  // out of double's range
      {R"({"r": 4, "lora_dropout": 1.5})", "'lora_dropout' must be a number in [0, 1)"},
      {R"({"r": 4, "use_rslora": 1})", "'use_rslora' must be true or false"},
      {R"({"r": 4, "target_modules": 3})", "'target_modules' must be a string or a list"},
      {R"({"r": 4, "target_modules": [1]})", "'target_modules' must hold strings"},
      {R"({"r": 4, "target_modules": ["fc1"]})", "target module 'fc1' is not supported"},
      {R"({"r": 4, "base_model_name_or_path": 7})", "'base_model_name_or_path' must be a string"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseLoraConfig(c.text, "dir/adapter_config.json");
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(parsed.status().message().find(c.expected), std::string::npos)
        << c.text << ": " << parsed.status().message();
    EXPECT_EQ(parsed.status().message().rfind("dir/adapter_config.json: ", 0), 0u);
  }
}

}  // namespace
}  // namespace llm2vec
