#include "model/tokenizer/hf_normalizers.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/tokenizer/hf_pattern.h"
#include "model/tokenizer/regex.h"
#include "model/tokenizer/unicode.h"

namespace llm2vec {
namespace {

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void Normalize(std::string* text) const override {
    for (const auto& step : steps_) step->Normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

class NfcNormalizer : public Normalizer {
 public:
  void Normalize(std::string* text) const override { *text = unicode::NormalizeNfc(*text); }
};

class NfdNormalizer : public Normalizer {
 public:
  void Normalize(std::string* text) const override { *text = unicode::NormalizeNfd(*text); }
};

// Prepends a string to non-empty text.
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void Normalize(std::string* text) const override {
    if (!text->empty()) text->insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

// Replaces every match of a pattern by a fixed string.
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::unique_ptr<Regex> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Normalize(std::string* text) const override {
    std::vector<Regex::Span> matches;
    pattern_->FindAll(*text, &matches);
    if (matches.empty()) return;
    std::string out;
    out.reserve(text->size() + matches.size() * content_.size());
    size_t pos = 0;
    for (const auto& [begin, end] : matches) {
      out.append(*text, pos, begin - pos);
      out += content_;
      pos = end;
    }
    out.append(*text, pos, std::string::npos);
    *text = std::move(out);
  }

 private:
  std::unique_ptr<Regex> pattern_;
  std::string content_;
};

// Removes leading and/or trailing white space.
class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(std::string* text) const override {
    size_t begin = 0, end = text->size();
    if (left_) {
      while (begin < end) {
        char32_t cp;
        const size_t len = unicode::DecodeUtf8(*text, begin, &cp);
        if (!unicode::IsWhiteSpace(cp)) break;
        begin += len;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<uint8_t>((*text)[start]) & 0xC0) == 0x80) --start;
        char32_t cp;
        unicode::DecodeUtf8(*text, start, &cp);
        if (!unicode::IsWhiteSpace(cp)) break;
        end = start;
      }
    }
    *text = text->substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Normalizer>> ParseNormalizer(const nlohmann::json& config) {
  const std::string type = config.at("type").get<std::string>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const auto& step : config.at("normalizers")) {
      auto parsed = ParseNormalizer(step);
      if (!parsed.ok()) return parsed.status();
      steps.push_back(*std::move(parsed));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  if (type == "NFC") return std::make_unique<NfcNormalizer>();
  if (type == "NFD") return std::make_unique<NfdNormalizer>();
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(config.at("prepend").get<std::string>());
  if (type == "Replace") {
    auto pattern = CompileHfPattern(config.at("pattern"));
    if (!pattern.ok()) return pattern.status();
    return std::make_unique<ReplaceNormalizer>(*std::move(pattern), config.at("content").get<std::string>());
  }
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(config.value("strip_left", true),
                                             config.value("strip_right", true));
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported normalizer type '", type, "'"));
}

}  // namespace llm2vec
