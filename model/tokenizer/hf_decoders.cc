#include "model/tokenizer/hf_decoders.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/tokenizer/hf_pattern.h"
#include "model/tokenizer/json_numbers.h"
#include "model/tokenizer/regex.h"
#include "model/tokenizer/unicode.h"

namespace llm2vec {
namespace {

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void Decode(std::vector<std::string>* tokens) const override {
    for (const auto& step : steps_) step->Decode(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

// Byte-level alphabet back to bytes; all tokens become one string. A token
// with a character outside the alphabet is taken as it is.
class ByteLevelDecoder : public Decoder {
 public:
  void Decode(std::vector<std::string>* tokens) const override {
    std::string bytes;
    std::string token_bytes;
    for (const std::string& token : *tokens) {
      token_bytes.clear();
      bool mapped = true;
      for (size_t pos = 0; pos < token.size();) {
        char32_t cp;
        pos += unicode::DecodeUtf8(token, pos, &cp);
        const int byte = unicode::UnicodeToByte(cp);
        if (byte < 0) {
          mapped = false;
          break;
        }
        token_bytes.push_back(static_cast<char>(byte));
      }
      bytes += mapped ? token_bytes : token;
    }
    tokens->assign(1, unicode::RepairUtf8(bytes));
  }
};

// Replaces the replacement character by spaces; the first token loses its
// replacement characters unless prepend_scheme is "never".
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void Decode(std::vector<std::string>* tokens) const override {
    if (replacement_.empty()) return;
    for (size_t i = 0; i < tokens->size(); ++i) {
      std::string& token = (*tokens)[i];
      std::string out;
      size_t pos = 0;
      for (size_t hit = token.find(replacement_); hit != std::string::npos;
           hit = token.find(replacement_, pos)) {
        out.append(token, pos, hit - pos);
        if (!(i == 0 && strip_first_)) out.push_back(' ');
        pos = hit + replacement_.size();
      }
      out.append(token, pos, std::string::npos);
      token = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::unique_ptr<Regex> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Decode(std::vector<std::string>* tokens) const override {
    std::vector<Regex::Span> matches;
    for (std::string& token : *tokens) {
      matches.clear();
      pattern_->FindAll(token, &matches);
      if (matches.empty()) continue;
      std::string out;
      size_t pos = 0;
      for (const auto& [begin, end] : matches) {
        out.append(token, pos, begin - pos);
        out += content_;
        pos = end;
      }
      out.append(token, pos, std::string::npos);
      token = std::move(out);
    }
  }

 private:
  std::unique_ptr<Regex> pattern_;
  std::string content_;
};

// Runs of <0xXX> tokens become the text they spell, or one U+FFFD per byte
// when that is not valid UTF-8.
class ByteFallbackDecoder : public Decoder {
 public:
  void Decode(std::vector<std::string>* tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t byte_count = 0;
    auto flush = [&] {
      if (byte_count == 0) return;
      if (unicode::IsValidUtf8(bytes)) {
        out.push_back(bytes);
      } else {
        for (size_t i = 0; i < byte_count; ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      bytes.clear();
      byte_count = 0;
    };
    for (std::string& token : *tokens) {
      const int byte = ParseByteToken(token);
      if (byte >= 0) {
        bytes.push_back(static_cast<char>(byte));
        ++byte_count;
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    *tokens = std::move(out);
  }

 private:
  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }
  // The byte of a "<0xXX>" token, else -1.
  static int ParseByteToken(const std::string& token) {
    if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
    const int hi = HexValue(token[3]), lo = HexValue(token[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
};

class FuseDecoder : public Decoder {
 public:
  void Decode(std::vector<std::string>* tokens) const override {
    tokens->assign(1, absl::StrJoin(*tokens, ""));
  }
};

// Removes up to `start` leading and `stop` trailing copies of a character
// from each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void Decode(std::vector<std::string>* tokens) const override {
    if (content_.empty()) return;
    const size_t n = content_.size();
    for (std::string& token : *tokens) {
      size_t begin = 0, end = token.size();
      for (size_t i = 0; i < start_ && end - begin >= n && token.compare(begin, n, content_) == 0; ++i)
        begin += n;
      for (size_t i = 0; i < stop_ && end - begin >= n && token.compare(end - n, n, content_) == 0; ++i)
        end -= n;
      token = token.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Decoder>> ParseDecoder(const nlohmann::json& config) {
  const std::string type = config.at("type").get<std::string>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const auto& step : config.at("decoders")) {
      auto parsed = ParseDecoder(step);
      if (!parsed.ok()) return parsed.status();
      steps.push_back(*std::move(parsed));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    bool strip_first = config.value("add_prefix_space", true);
    if (config.contains("prepend_scheme") && config["prepend_scheme"].is_string()) {
      strip_first = config["prepend_scheme"].get<std::string>() != "never";
    }
    return std::make_unique<MetaspaceDecoder>(config.value("replacement", std::string("\xE2\x96\x81")),
                                              strip_first);
  }
  if (type == "Replace") {
    auto pattern = CompileHfPattern(config.at("pattern"));
    if (!pattern.ok()) return pattern.status();
    return std::make_unique<ReplaceDecoder>(*std::move(pattern), config.at("content").get<std::string>());
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    // How many leading / trailing copies of `content` to strip.
    constexpr int64_t kMaxStrip = 1 << 20;
    auto start = JsonInteger(config.value("start", nlohmann::json(0)), 0, kMaxStrip, "Strip: start");
    if (!start.ok()) return start.status();
    auto stop = JsonInteger(config.value("stop", nlohmann::json(0)), 0, kMaxStrip, "Strip: stop");
    if (!stop.ok()) return stop.status();
    return std::make_unique<StripDecoder>(config.at("content").get<std::string>(),
                                          static_cast<size_t>(*start), static_cast<size_t>(*stop));
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported decoder type '", type, "'"));
}

}  // namespace llm2vec
