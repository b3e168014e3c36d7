// Tokenizer::FromJsonFile: a Hugging Face tokenizer.json (model BPE) with
// the semantics of the `tokenizers` library / transformers.js:
//   1. added tokens are found in the raw text (non-normalized ones) and
//      become their ids;
//   2. each run of text between them is normalized, then split on the
//      normalized added tokens, pre-tokenized and encoded by the BPE model;
//   3. with add_special_tokens, the post-processor template wraps the ids.
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/atomic_dir.h"
#include "common/mapped_file.h"
#include "model/tokenizer/added_tokens.h"
#include "model/tokenizer/bpe_model.h"
#include "model/tokenizer/hf_decoders.h"
#include "model/tokenizer/hf_normalizers.h"
#include "model/tokenizer/hf_pre_tokenizers.h"
#include "model/tokenizer/json_numbers.h"
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/unicode.h"

namespace llm2vec {
namespace {

using nlohmann::json;

// Ids above this are refused (no real vocabulary comes close; it keeps
// `id + 1` and vocab_size far from overflow).
constexpr int32_t kMaxTokenId = 10'000'000;
// Normalizers, pre-tokenizers, decoders and post-processors nest through
// "Sequence"; real files nest a few levels. Parsing them recurses once per
// level, so a file nested deeper is refused first.
constexpr int kMaxJsonDepth = 64;

// Whether `root` nests deeper than `max_depth` (iterative: a hostile file
// must not overflow this check's own stack).
bool JsonDepthOver(const json& root, int max_depth) {
  std::vector<std::pair<const json*, int>> stack = {{&root, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (depth > max_depth) return true;
    if (node->is_structured()) {
      for (const json& child : *node) stack.emplace_back(&child, depth + 1);
    }
  }
  return false;
}


// One step of a post-processor: the output ids are the items in order, with
// a sequence item standing for the ids so far. An identity step is a single
// sequence item.
struct TemplateItem {
  bool is_sequence = false;
  std::vector<int32_t> ids;  // special token ids (not for sequence items)
};
using Template = std::vector<TemplateItem>;

// A special token entry of tokenizer_config.json / special_tokens_map.json:
// "<s>" or {"content": "<s>", ...}. "" when absent or null.
std::string SpecialTokenContent(const json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return "";
  const json& value = config[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  return "";
}

// Parses a sibling JSON file when present and well formed; null otherwise.
json ReadOptionalJson(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return nullptr;
  json parsed = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? json(nullptr) : parsed;
}

// A tokenizer.json pipeline: added-token matching, normalizer,
// pre-tokenizer, BPE model, post-processor templates and decoder.
// Threading: immutable after Build(); Encode/Decode keep their scratch space
// on the stack, so concurrent calls are safe.
class JsonTokenizer : public Tokenizer {
 public:
  // `path` names the file in errors and locates tokenizer_config.json.
  static absl::StatusOr<std::unique_ptr<JsonTokenizer>> Build(const json& root, const std::string& path);

  std::vector<int32_t> Encode(absl::string_view text, bool add_special_tokens) const override;
  std::string Decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const override;

  int32_t vocab_size() const override { return vocab_size_; }
  int32_t bos_id() const override { return bos_id_; }
  int32_t eos_id() const override { return eos_id_; }
  int32_t pad_id() const override { return pad_id_; }
  int32_t TokenToId(absl::string_view piece) const override;
  std::string IdToPiece(int32_t id) const override;
  bool IsSpecial(int32_t id) const override;

 private:
  absl::Status ParseModel(const json& config);
  absl::Status ParseAddedTokens(const json& config);
  absl::Status ParsePostProcessor(const json& config, std::vector<Template>* steps) const;
  void ResolveSpecialIds(const std::string& path);

  // Step 2 of the file comment, for one run of raw text.
  void EncodeRawRun(absl::string_view run, bool at_text_start, BpeModel::Scratch* scratch,
                    std::vector<int32_t>* ids) const;
  // Pre-tokenization and the model for normalized text.
  void EncodeNormalized(std::string text, bool at_text_start, BpeModel::Scratch* scratch,
                        std::vector<int32_t>* ids) const;

  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Normalizer> normalizer_;       // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer_;  // may be null
  std::unique_ptr<Decoder> decoder_;             // may be null
  std::vector<Template> post_processor_;         // applied in order
  AddedTokenMatcher raw_matcher_;                // added tokens with normalized=false
  AddedTokenMatcher normalized_matcher_;         // added tokens with normalized=true
  absl::flat_hash_map<int32_t, AddedToken> added_by_id_;
  absl::flat_hash_map<std::string, int32_t> added_by_content_;
  int32_t vocab_size_ = 0;
  int32_t bos_id_ = -1, eos_id_ = -1, pad_id_ = -1;
};

absl::Status JsonTokenizer::ParseModel(const json& config) {
  const std::string type = config.value("type", config.contains("merges") ? "BPE" : "");
  if (type != "BPE") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported model type '", type, "' (only BPE is implemented)"));
  }
  const json& vocab = config.at("vocab");
  if (!vocab.is_object()) return absl::InvalidArgumentError("model.vocab is not an object");
  std::vector<std::string> id_to_token;
  for (const auto& [token, id_json] : vocab.items()) {
    auto checked = JsonInteger(id_json, 0, kMaxTokenId, absl::StrCat("model.vocab: the id of '", token, "'"));
    if (!checked.ok()) return checked.status();
    const int64_t id = *checked;
    if (static_cast<size_t>(id) >= id_to_token.size()) id_to_token.resize(id + 1);
    id_to_token[id] = token;
  }
  std::vector<std::pair<std::string, std::string>> merges;
  const json& merges_json = config.at("merges");
  merges.reserve(merges_json.size());
  for (const json& merge : merges_json) {
    if (merge.is_string()) {
      const std::string line = merge.get<std::string>();
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("model.merges: '", line, "' is not \"left right\""));
      }
      merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2) {
      merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      return absl::InvalidArgumentError(absl::StrCat("model.merges: unsupported entry ", merge.dump()));
    }
  }
  auto string_or_empty = [&](const char* key) {
    return config.contains(key) && config[key].is_string() ? config[key].get<std::string>() : std::string();
  };
  BpeModel::Options options;
  options.byte_fallback = config.value("byte_fallback", false);
  options.fuse_unk = config.value("fuse_unk", false);
  options.ignore_merges = config.value("ignore_merges", false);
  options.continuing_subword_prefix = string_or_empty("continuing_subword_prefix");
  options.end_of_word_suffix = string_or_empty("end_of_word_suffix");
  const std::string unk = string_or_empty("unk_token");
  // BPE dropout is a training-time regularizer; inference encodes without it.
  if (!unk.empty()) {
    for (size_t id = 0; id < id_to_token.size(); ++id) {
      if (id_to_token[id] == unk) options.unk_id = static_cast<int32_t>(id);
    }
  }
  auto model = BpeModel::Create(std::move(id_to_token), merges, std::move(options));
  if (!model.ok()) return absl::InvalidArgumentError(absl::StrCat("model: ", model.status().message()));
  model_ = *std::move(model);
  return absl::OkStatus();
}

absl::Status JsonTokenizer::ParseAddedTokens(const json& config) {
  std::vector<AddedToken> raw, normalized;
  if (!config.is_null()) {
    for (const json& entry : config) {
      AddedToken token;
      token.content = entry.at("content").get<std::string>();
      auto id = JsonInteger(entry.at("id"), 0, kMaxTokenId,
                            absl::StrCat("added token '", token.content, "': id"));
      if (!id.ok()) return id.status();
      token.id = static_cast<int32_t>(*id);
      token.special = entry.value("special", false);
      token.lstrip = entry.value("lstrip", false);
      token.rstrip = entry.value("rstrip", false);
      token.single_word = entry.value("single_word", false);
      token.normalized = entry.value("normalized", !token.special);
      if (token.id < 0 || token.id > kMaxTokenId) {
        return absl::InvalidArgumentError(absl::StrCat("added token '", token.content, "' has id ",
                                                       token.id, ", outside [0, ", kMaxTokenId, "]"));
      }
      (token.normalized && normalizer_ != nullptr ? normalized : raw).push_back(token);
      added_by_content_[token.content] = token.id;
      added_by_id_[token.id] = std::move(token);
    }
  }
  raw_matcher_ = AddedTokenMatcher(raw);
  normalized_matcher_ = AddedTokenMatcher(normalized);
  return absl::OkStatus();
}

absl::Status JsonTokenizer::ParsePostProcessor(const json& config, std::vector<Template>* steps) const {
  if (config.is_null()) return absl::OkStatus();
  const std::string type = config.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const json& step : config.at("processors")) {
      absl::Status status = ParsePostProcessor(step, steps);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  if (type == "ByteLevel") return absl::OkStatus();  // offsets only
  if (type == "TemplateProcessing") {
    const json& specials = config.at("special_tokens");
    Template tmpl;
    for (const json& item : config.at("single")) {
      if (item.contains("Sequence")) {
        const std::string id = item["Sequence"].at("id").get<std::string>();
        if (id != "A") {
          return absl::InvalidArgumentError(
              absl::StrCat("TemplateProcessing: single template uses sequence '", id, "'"));
        }
        tmpl.push_back({true, {}});
      } else if (item.contains("SpecialToken")) {
        const std::string name = item["SpecialToken"].at("id").get<std::string>();
        if (!specials.contains(name)) {
          return absl::InvalidArgumentError(
              absl::StrCat("TemplateProcessing: special token '", name, "' is not in special_tokens"));
        }
        auto ids = JsonIntegers(specials[name].at("ids"), 0, kMaxTokenId,
                                absl::StrCat("TemplateProcessing: special token '", name, "' ids"));
        if (!ids.ok()) return ids.status();
        tmpl.push_back({false, *std::move(ids)});
      } else {
        return absl::InvalidArgumentError(absl::StrCat("TemplateProcessing: unsupported item ", item.dump()));
      }
    }
    steps->push_back(std::move(tmpl));
    return absl::OkStatus();
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    auto cls = JsonInteger(config.at("cls").at(1), 0, kMaxTokenId, absl::StrCat(type, ": cls id"));
    if (!cls.ok()) return cls.status();
    auto sep = JsonInteger(config.at("sep").at(1), 0, kMaxTokenId, absl::StrCat(type, ": sep id"));
    if (!sep.ok()) return sep.status();
    steps->push_back({{false, {static_cast<int32_t>(*cls)}},
                      {true, {}},
                      {false, {static_cast<int32_t>(*sep)}}});
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported post_processor type '", type, "'"));
}

void JsonTokenizer::ResolveSpecialIds(const std::string& path) {
  const std::string dir = ParentOf(path);
  const json configs[] = {ReadOptionalJson(dir + "/tokenizer_config.json"),
                          ReadOptionalJson(dir + "/special_tokens_map.json")};
  auto from_configs = [&](const char* key) -> int32_t {
    for (const json& config : configs) {
      const std::string content = SpecialTokenContent(config, key);
      if (!content.empty()) return TokenToId(content);
    }
    return -1;
  };
  auto first_present = [&](std::initializer_list<const char*> names) -> int32_t {
    for (const char* name : names) {
      auto it = added_by_content_.find(name);
      if (it != added_by_content_.end()) return it->second;
    }
    return -1;
  };
  bos_id_ = from_configs("bos_token");
  eos_id_ = from_configs("eos_token");
  pad_id_ = from_configs("pad_token");
  // Without config files: the template's leading token, then common names.
  if (bos_id_ < 0 && configs[0].is_null() && configs[1].is_null()) {
    for (const Template& tmpl : post_processor_) {
      if (!tmpl.empty() && !tmpl[0].is_sequence && tmpl[0].ids.size() == 1) bos_id_ = tmpl[0].ids[0];
    }
    if (bos_id_ < 0) bos_id_ = first_present({"<s>", "<|begin_of_text|>", "<bos>"});
  }
  if (eos_id_ < 0 && configs[0].is_null() && configs[1].is_null()) {
    eos_id_ = first_present({"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>"});
  }
}

absl::StatusOr<std::unique_ptr<JsonTokenizer>> JsonTokenizer::Build(const json& root,
                                                                    const std::string& path) {
  auto fail = [&](const absl::Status& status) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", status.message()));
  };
  if (!root.is_object()) return fail(absl::InvalidArgumentError("the top level is not a JSON object"));
  std::unique_ptr<JsonTokenizer> tok(new JsonTokenizer());
  if (!root.contains("model")) return fail(absl::InvalidArgumentError("no \"model\" section"));
  if (absl::Status s = tok->ParseModel(root["model"]); !s.ok()) return fail(s);
  if (root.contains("normalizer") && !root["normalizer"].is_null()) {
    auto normalizer = ParseNormalizer(root["normalizer"]);
    if (!normalizer.ok()) return fail(normalizer.status());
    tok->normalizer_ = *std::move(normalizer);
  }
  if (root.contains("pre_tokenizer") && !root["pre_tokenizer"].is_null()) {
    auto pre_tokenizer = ParsePreTokenizer(root["pre_tokenizer"]);
    if (!pre_tokenizer.ok()) return fail(pre_tokenizer.status());
    tok->pre_tokenizer_ = *std::move(pre_tokenizer);
  }
  if (root.contains("decoder") && !root["decoder"].is_null()) {
    auto decoder = ParseDecoder(root["decoder"]);
    if (!decoder.ok()) return fail(decoder.status());
    tok->decoder_ = *std::move(decoder);
  }
  if (absl::Status s = tok->ParseAddedTokens(root.value("added_tokens", json(nullptr))); !s.ok())
    return fail(s);
  if (absl::Status s =
          tok->ParsePostProcessor(root.value("post_processor", json(nullptr)), &tok->post_processor_);
      !s.ok()) {
    return fail(s);
  }
  tok->vocab_size_ = tok->model_->size();
  for (const auto& [id, token] : tok->added_by_id_) tok->vocab_size_ = std::max(tok->vocab_size_, id + 1);
  tok->ResolveSpecialIds(path);
  return tok;
}

int32_t JsonTokenizer::TokenToId(absl::string_view piece) const {
  auto it = added_by_content_.find(piece);
  if (it != added_by_content_.end()) return it->second;
  return model_->TokenToId(piece);
}

std::string JsonTokenizer::IdToPiece(int32_t id) const {
  auto it = added_by_id_.find(id);
  if (it != added_by_id_.end()) return it->second.content;
  return model_->IdToToken(id);
}

bool JsonTokenizer::IsSpecial(int32_t id) const {
  auto it = added_by_id_.find(id);
  return it != added_by_id_.end() && it->second.special;
}

void JsonTokenizer::EncodeNormalized(std::string text, bool at_text_start, BpeModel::Scratch* scratch,
                                     std::vector<int32_t>* ids) const {
  if (text.empty()) return;
  if (pre_tokenizer_ == nullptr) {
    model_->EncodeWord(text, scratch, ids);
    return;
  }
  std::vector<std::string> pieces;
  pieces.push_back(std::move(text));
  pre_tokenizer_->PreTokenize(&pieces, at_text_start);
  for (const std::string& piece : pieces) model_->EncodeWord(piece, scratch, ids);
}

void JsonTokenizer::EncodeRawRun(absl::string_view run, bool at_text_start, BpeModel::Scratch* scratch,
                                 std::vector<int32_t>* ids) const {
  std::string text(run);
  if (normalizer_ != nullptr) normalizer_->Normalize(&text);
  if (normalized_matcher_.empty()) {
    EncodeNormalized(std::move(text), at_text_start, scratch, ids);
    return;
  }
  std::vector<AddedTokenMatcher::Piece> pieces;
  normalized_matcher_.Split(text, &pieces);
  for (const auto& piece : pieces) {
    if (piece.id >= 0) {
      ids->push_back(piece.id);
    } else {
      EncodeNormalized(text.substr(piece.begin, piece.end - piece.begin), at_text_start && piece.begin == 0,
                       scratch, ids);
    }
  }
}

std::vector<int32_t> JsonTokenizer::Encode(absl::string_view input, bool add_special_tokens) const {
  std::string repaired;
  absl::string_view text = input;
  if (!unicode::IsValidUtf8(input)) {
    repaired = unicode::RepairUtf8(input);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  BpeModel::Scratch scratch;
  if (raw_matcher_.empty()) {
    EncodeRawRun(text, true, &scratch, &ids);
  } else {
    std::vector<AddedTokenMatcher::Piece> pieces;
    raw_matcher_.Split(text, &pieces);
    for (const auto& piece : pieces) {
      if (piece.id >= 0) {
        ids.push_back(piece.id);
      } else {
        EncodeRawRun(text.substr(piece.begin, piece.end - piece.begin), piece.begin == 0, &scratch, &ids);
      }
    }
  }
  if (add_special_tokens) {
    for (const Template& tmpl : post_processor_) {
      std::vector<int32_t> out;
      out.reserve(ids.size() + tmpl.size());
      for (const TemplateItem& item : tmpl) {
        if (item.is_sequence) {
          out.insert(out.end(), ids.begin(), ids.end());
        } else {
          out.insert(out.end(), item.ids.begin(), item.ids.end());
        }
      }
      ids = std::move(out);
    }
  }
  return ids;
}

std::string JsonTokenizer::Decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (skip_special_tokens && IsSpecial(id)) continue;
    auto it = added_by_id_.find(id);
    if (it != added_by_id_.end()) {
      tokens.push_back(it->second.content);
    } else if (id >= 0 && id < model_->size()) {
      tokens.push_back(model_->IdToToken(id));
    }
  }
  if (decoder_ == nullptr) return absl::StrJoin(tokens, " ");
  decoder_->Decode(&tokens);
  return absl::StrJoin(tokens, "");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJsonFile(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return FromJson(*text, path);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(const std::string& text,
                                                              const std::string& path) {
  try {
    const json root = json::parse(text);
    if (JsonDepthOver(root, kMaxJsonDepth)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": tokenizer.json nests deeper than ", kMaxJsonDepth,
          " levels (a Sequence of Sequences...); refused"));
    }
    auto tokenizer = JsonTokenizer::Build(root, path);
    if (!tokenizer.ok()) return tokenizer.status();
    return std::unique_ptr<Tokenizer>(*std::move(tokenizer));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": malformed tokenizer.json: ", e.what()));
  }
}

}  // namespace llm2vec
