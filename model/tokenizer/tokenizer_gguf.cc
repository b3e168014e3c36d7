#include "model/tokenizer/tokenizer_gguf.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "model/tokenizer/unicode.h"

namespace llm2vec {
namespace {

// tokenizer.ggml.token_type values.
constexpr int32_t kTypeNormal = 1;
constexpr int32_t kTypeUnknown = 2;
constexpr int32_t kTypeControl = 3;
constexpr int32_t kTypeUserDefined = 4;
constexpr int32_t kTypeByte = 6;

constexpr char kSpaceMark[] = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// Pre-tokenizer patterns of llama.cpp's BPE vocabularies (tokenizer.ggml.pre),
// written as in the models' own tokenizer.json files.
constexpr char kLlama3Pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr char kQwen2Pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct PreConfig {
  const char* pattern;
  bool ignore_merges;
};

absl::StatusOr<PreConfig> PreConfigFor(const std::string& pre) {
  if (pre == "default" || pre == "gpt-2" || pre == "gpt2" || pre == "phi-2" || pre == "roberta-bpe") {
    return PreConfig{kGpt2SplitPattern, false};
  }
  if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3") {
    return PreConfig{kLlama3Pattern, true};
  }
  if (pre == "smaug-bpe") return PreConfig{kLlama3Pattern, false};
  if (pre == "qwen2" || pre == "deepseek-r1-qwen" || pre == "megrez") return PreConfig{kQwen2Pattern, false};
  return absl::InvalidArgumentError(absl::StrCat("unsupported tokenizer.ggml.pre '", pre,
                                                 "' for a gpt2 vocabulary (supported: GPT-2, Llama-3 and "
                                                 "Qwen2 families)"));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GgufTokenizer>> GgufTokenizer::Create(const GgufVocab& vocab) {
  std::unique_ptr<GgufTokenizer> tok(new GgufTokenizer());
  if (vocab.tokens.empty()) return absl::InvalidArgumentError("GGUF vocabulary has no tokens");
  if (!vocab.token_types.empty() && vocab.token_types.size() != vocab.tokens.size()) {
    return absl::InvalidArgumentError("GGUF vocabulary: token_types and tokens differ in length");
  }
  tok->tokens_ = vocab.tokens;
  tok->types_ = vocab.token_types;
  const auto n = static_cast<int32_t>(vocab.tokens.size());
  auto valid = [n](int32_t id) { return id >= 0 && id < n ? id : -1; };
  tok->bos_id_ = valid(vocab.bos_id);
  tok->eos_id_ = valid(vocab.eos_id);
  tok->unk_id_ = valid(vocab.unk_id);
  tok->pad_id_ = valid(vocab.pad_id);
  tok->add_bos_ = vocab.add_bos && tok->bos_id_ >= 0;
  tok->add_eos_ = vocab.add_eos && tok->eos_id_ >= 0;
  tok->add_space_prefix_ = vocab.add_space_prefix;

  if (vocab.model == "llama") {
    tok->spm_ = true;
    tok->spm_model_ = std::make_unique<SpmModel>(vocab.tokens, vocab.scores, tok->unk_id_);
  } else if (vocab.model == "gpt2") {
    tok->spm_ = false;
    auto pre = PreConfigFor(vocab.pre);
    if (!pre.ok()) return pre.status();
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(vocab.merges.size());
    for (const std::string& merge : vocab.merges) {
      // As llama.cpp: the separator is the first space after the first byte.
      const size_t space = merge.find(' ', 1);
      if (space == std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("GGUF merge '", merge, "' is not \"left right\""));
      }
      merges.emplace_back(merge.substr(0, space), merge.substr(space + 1));
    }
    BpeModel::Options options;
    options.unk_id = tok->unk_id_;
    options.ignore_merges = pre->ignore_merges;
    options.skip_invalid_merges = true;
    auto model = BpeModel::Create(vocab.tokens, merges, options);
    if (!model.ok()) return model.status();
    tok->bpe_model_ = *std::move(model);
    const nlohmann::json config = {
        {"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", pre->pattern}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
    auto pre_tokenizer = ParsePreTokenizer(config);
    if (!pre_tokenizer.ok()) return pre_tokenizer.status();
    tok->pre_tokenizer_ = *std::move(pre_tokenizer);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported tokenizer.ggml.model '", vocab.model, "' (supported: llama, gpt2)"));
  }

  std::vector<AddedToken> specials, user_defined;
  for (int32_t id = 0; id < n; ++id) {
    const int32_t type = tok->TypeOf(id);
    if (type != kTypeControl && type != kTypeUnknown && type != kTypeUserDefined) continue;
    AddedToken token;
    token.content = vocab.tokens[id];
    token.id = id;
    token.special = type != kTypeUserDefined;
    specials.push_back(token);
    if (type == kTypeUserDefined) user_defined.push_back(token);
  }
  tok->parse_special_matcher_ = AddedTokenMatcher(specials);
  tok->user_defined_matcher_ = AddedTokenMatcher(user_defined);
  return tok;
}

int32_t GgufTokenizer::TypeOf(int32_t id) const {
  if (types_.empty()) return kTypeNormal;
  return types_[id];
}

int32_t GgufTokenizer::TokenToId(absl::string_view piece) const {
  return spm_ ? spm_model_->TokenToId(piece) : bpe_model_->TokenToId(piece);
}

std::string GgufTokenizer::IdToPiece(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return "";
  return tokens_[id];
}

bool GgufTokenizer::IsSpecial(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return false;
  if (types_.empty()) return id == bos_id_ || id == eos_id_ || id == unk_id_ || id == pad_id_;
  const int32_t type = types_[id];
  return type == kTypeControl || type == kTypeUnknown;
}

void GgufTokenizer::EncodeRun(absl::string_view run, bool after_special, BpeModel::Scratch* scratch,
                              std::vector<int32_t>* ids) const {
  if (spm_) {
    std::string text;
    text.reserve(run.size() + 8);
    if (add_space_prefix_ && after_special) text += kSpaceMark;
    for (char c : run) {
      if (c == ' ') {
        text += kSpaceMark;
      } else {
        text.push_back(c);
      }
    }
    spm_model_->Encode(text, ids);
    return;
  }
  std::vector<std::string> pieces;
  if (unicode::IsValidUtf8(run)) {
    pieces.emplace_back(run);
  } else {
    pieces.push_back(unicode::RepairUtf8(run));
  }
  pre_tokenizer_->PreTokenize(&pieces, /*at_text_start=*/false);
  for (const std::string& piece : pieces) bpe_model_->EncodeWord(piece, scratch, ids);
}

std::vector<int32_t> GgufTokenizer::Encode(absl::string_view text, bool add_special_tokens) const {
  return EncodeWithOptions(text, add_special_tokens, /*parse_special=*/true);
}

std::vector<int32_t> GgufTokenizer::EncodeWithOptions(absl::string_view text, bool add_special,
                                                      bool parse_special) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special && add_bos_) ids.push_back(bos_id_);
  const AddedTokenMatcher& matcher = parse_special ? parse_special_matcher_ : user_defined_matcher_;
  std::vector<AddedTokenMatcher::Piece> pieces;
  if (matcher.empty()) {
    if (!text.empty()) pieces.push_back({0, text.size(), -1});
  } else {
    matcher.Split(text, &pieces);
  }
  BpeModel::Scratch scratch;
  bool after_special = true;  // the text start counts as one
  for (const auto& piece : pieces) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
      after_special = true;
    } else {
      EncodeRun(text.substr(piece.begin, piece.end - piece.begin), after_special, &scratch, &ids);
      after_special = false;
    }
  }
  if (add_special && add_eos_) ids.push_back(eos_id_);
  return ids;
}

std::string GgufTokenizer::Decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;
    if (skip_special_tokens && IsSpecial(id)) continue;
    const std::string& piece = tokens_[id];
    const int32_t type = TypeOf(id);
    if (type == kTypeControl || type == kTypeUnknown || type == kTypeUserDefined) {
      bytes += piece;
    } else if (spm_) {
      if (type == kTypeByte && piece.size() == 6 && HexValue(piece[3]) >= 0 && HexValue(piece[4]) >= 0) {
        bytes.push_back(static_cast<char>(HexValue(piece[3]) * 16 + HexValue(piece[4])));
      } else {
        bytes += absl::StrReplaceAll(piece, {{kSpaceMark, " "}});
      }
    } else {
      for (size_t pos = 0; pos < piece.size();) {
        char32_t cp;
        const size_t len = unicode::DecodeUtf8(piece, pos, &cp);
        const int byte = unicode::UnicodeToByte(cp);
        if (byte >= 0) {
          bytes.push_back(static_cast<char>(byte));
        } else {
          bytes.append(piece, pos, len);
        }
        pos += len;
      }
    }
  }
  // SentencePiece's added leading space is not part of the text.
  if (spm_ && add_space_prefix_ && !bytes.empty() && bytes[0] == ' ') bytes.erase(0, 1);
  return unicode::RepairUtf8(bytes);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromGgufVocab(const GgufVocab& vocab) {
  auto tokenizer = GgufTokenizer::Create(vocab);
  if (!tokenizer.ok()) return tokenizer.status();
  return std::unique_ptr<Tokenizer>(*std::move(tokenizer));
}

}  // namespace llm2vec
