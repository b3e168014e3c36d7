#include "model/tokenizer/hf_pre_tokenizers.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/tokenizer/hf_pattern.h"
#include "model/tokenizer/regex.h"
#include "model/tokenizer/unicode.h"

namespace llm2vec {

const char kGpt2SplitPattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

namespace {

// What happens to the delimiters (matches) when splitting, as in `tokenizers`.
enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

absl::StatusOr<Behavior> ParseBehavior(const std::string& name) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  return absl::InvalidArgumentError(absl::StrCat("unsupported Split behavior '", name, "'"));
}

struct Part {
  size_t begin, end;
  bool is_match;
};

// Splits `text` around the matches of `pattern`, appending the non-empty
// pieces to `out`.
void SplitText(const Regex& pattern, Behavior behavior, bool invert, absl::string_view text,
               std::vector<Regex::Span>* matches, std::vector<Part>* parts, std::vector<std::string>* out) {
  matches->clear();
  pattern.FindAll(text, matches);
  parts->clear();
  size_t prev = 0;
  for (const auto& [begin, end] : *matches) {
    if (begin != prev) parts->push_back({prev, begin, invert});
    parts->push_back({begin, end, !invert});
    prev = end;
  }
  if (prev != text.size()) parts->push_back({prev, text.size(), invert});

  std::vector<Part> merged;
  switch (behavior) {
    case Behavior::kRemoved:
      for (const Part& p : *parts) {
        if (!p.is_match) merged.push_back(p);
      }
      break;
    case Behavior::kIsolated:
      merged = *parts;
      break;
    case Behavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Part& p : *parts) {
        if (p.is_match && !previous_match && !merged.empty()) {
          merged.back().end = p.end;
        } else {
          merged.push_back(p);
        }
        previous_match = p.is_match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous_match = false;
      for (size_t i = parts->size(); i-- > 0;) {
        const Part& p = (*parts)[i];
        if (p.is_match && !previous_match && !merged.empty()) {
          merged.back().begin = p.begin;
        } else {
          merged.push_back(p);
        }
        previous_match = p.is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    }
    case Behavior::kContiguous: {
      bool previous_match = false;
      for (const Part& p : *parts) {
        if (p.is_match == previous_match && !merged.empty()) {
          merged.back().end = p.end;
        } else {
          merged.push_back(p);
        }
        previous_match = p.is_match;
      }
      break;
    }
  }
  for (const Part& p : merged) {
    if (p.end > p.begin) out->emplace_back(text.substr(p.begin, p.end - p.begin));
  }
}

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void PreTokenize(std::vector<std::string>* pieces, bool at_text_start) const override {
    for (const auto& step : steps_) step->PreTokenize(pieces, at_text_start);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(std::unique_ptr<Regex> pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void PreTokenize(std::vector<std::string>* pieces, bool at_text_start) const override {
    std::vector<std::string> out;
    std::vector<Regex::Span> matches;
    std::vector<Part> parts;
    for (const std::string& piece : *pieces)
      SplitText(*pattern_, behavior_, invert_, piece, &matches, &parts, &out);
    *pieces = std::move(out);
  }

 private:
  std::unique_ptr<Regex> pattern_;
  Behavior behavior_;
  bool invert_;
};

// Maps every byte to the GPT-2 byte-level alphabet, optionally after adding
// a leading space and splitting with the GPT-2 pattern.
class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<Regex> split)
      : add_prefix_space_(add_prefix_space), split_(std::move(split)) {}
  void PreTokenize(std::vector<std::string>* pieces, bool at_text_start) const override {
    if (add_prefix_space_) {
      for (std::string& piece : *pieces) {
        if (piece.empty() || piece[0] != ' ') piece.insert(0, " ");
      }
    }
    if (split_ != nullptr) {
      std::vector<std::string> out;
      std::vector<Regex::Span> matches;
      std::vector<Part> parts;
      for (const std::string& piece : *pieces) {
        SplitText(*split_, Behavior::kIsolated, false, piece, &matches, &parts, &out);
      }
      *pieces = std::move(out);
    }
    std::string mapped;
    for (std::string& piece : *pieces) {
      mapped.clear();
      for (char c : piece) {
        const absl::string_view u = unicode::ByteToUnicode(static_cast<uint8_t>(c));
        mapped.append(u.data(), u.size());
      }
      piece.swap(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> split_;  // null: no splitting
};

// SentencePiece's white-space handling: ' ' -> replacement, optional
// leading replacement, optional split before each replacement.
class MetaspacePreTokenizer : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  MetaspacePreTokenizer(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split) {}
  void PreTokenize(std::vector<std::string>* pieces, bool at_text_start) const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < pieces->size(); ++i) {
      std::string text;
      const std::string& piece = (*pieces)[i];
      for (char c : piece) {
        if (c == ' ') {
          text += replacement_;
        } else {
          text.push_back(c);
        }
      }
      const bool starts = text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts &&
          (prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && at_text_start && i == 0))) {
        text.insert(0, replacement_);
      }
      if (!split_) {
        if (!text.empty()) out.push_back(std::move(text));
        continue;
      }
      // MergedWithNext on the replacement: each piece begins at one.
      size_t begin = 0;
      size_t pos = text.find(replacement_, replacement_.size() > 0 ? 1 : 0);
      while (pos != std::string::npos && !replacement_.empty()) {
        if (pos > begin) out.push_back(text.substr(begin, pos - begin));
        begin = pos;
        pos = text.find(replacement_, pos + replacement_.size());
      }
      if (text.size() > begin) out.push_back(text.substr(begin));
    }
    *pieces = std::move(out);
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
};

absl::StatusOr<std::unique_ptr<PreTokenizer>> MakeSplit(const std::string& pattern, Behavior behavior,
                                                        bool invert) {
  auto regex = Regex::Compile(pattern);
  if (!regex.ok()) return regex.status();
  return std::make_unique<SplitPreTokenizer>(*std::move(regex), behavior, invert);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const nlohmann::json& config) {
  const std::string type = config.at("type").get<std::string>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const auto& step : config.at("pretokenizers")) {
      auto parsed = ParsePreTokenizer(step);
      if (!parsed.ok()) return parsed.status();
      steps.push_back(*std::move(parsed));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Split") {
    auto pattern = CompileHfPattern(config.at("pattern"));
    if (!pattern.ok()) return pattern.status();
    auto behavior = ParseBehavior(config.at("behavior").get<std::string>());
    if (!behavior.ok()) return behavior.status();
    return std::make_unique<SplitPreTokenizer>(*std::move(pattern), *behavior, config.value("invert", false));
  }
  if (type == "ByteLevel") {
    std::unique_ptr<Regex> split;
    if (config.value("use_regex", true)) {
      auto regex = Regex::Compile(kGpt2SplitPattern);
      if (!regex.ok()) return regex.status();
      split = *std::move(regex);
    }
    return std::make_unique<ByteLevelPreTokenizer>(config.value("add_prefix_space", true), std::move(split));
  }
  if (type == "Metaspace") {
    using Prepend = MetaspacePreTokenizer::Prepend;
    Prepend prepend = Prepend::kAlways;
    if (config.contains("prepend_scheme") && !config["prepend_scheme"].is_null()) {
      const std::string scheme = config["prepend_scheme"].get<std::string>();
      if (scheme == "always") {
        prepend = Prepend::kAlways;
      } else if (scheme == "first") {
        prepend = Prepend::kFirst;
      } else if (scheme == "never") {
        prepend = Prepend::kNever;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("unsupported Metaspace prepend_scheme '", scheme, "'"));
      }
    } else if (!config.value("add_prefix_space", true)) {
      prepend = Prepend::kNever;
    }
    return std::make_unique<MetaspacePreTokenizer>(config.value("replacement", std::string("\xE2\x96\x81")),
                                                   prepend, config.value("split", true));
  }
  if (type == "Digits") {
    const bool individual = config.value("individual_digits", false);
    return MakeSplit("\\p{N}", individual ? Behavior::kIsolated : Behavior::kContiguous, false);
  }
  if (type == "Whitespace") return MakeSplit("\\w+|[^\\w\\s]+", Behavior::kRemoved, true);
  if (type == "WhitespaceSplit") return MakeSplit("\\s+", Behavior::kRemoved, false);
  return absl::InvalidArgumentError(absl::StrCat("unsupported pre_tokenizer type '", type, "'"));
}

}  // namespace llm2vec
