#include "model/tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "model/tokenizer/unicode.h"

namespace llm2vec {
namespace {

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Heap order: lowest rank on top, then leftmost position.
bool LaterCandidate(const BpeModel::Scratch::Candidate& a, const BpeModel::Scratch::Candidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
}

std::string ByteTokenName(int byte) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "<0x%02X>", byte);
  return buf;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(
    std::vector<std::string> id_to_token, const std::vector<std::pair<std::string, std::string>>& merges,
    Options options) {
  std::unique_ptr<BpeModel> model(new BpeModel());
  model->options_ = std::move(options);
  model->id_to_token_ = std::move(id_to_token);
  model->token_to_id_.reserve(model->id_to_token_.size());
  for (size_t id = 0; id < model->id_to_token_.size(); ++id) {
    const std::string& token = model->id_to_token_[id];
    // A repeated piece maps to its last id, as in llama.cpp.
    if (!token.empty()) model->token_to_id_.insert_or_assign(token, static_cast<int32_t>(id));
  }
  model->all_bytes_ = true;
  for (int b = 0; b < 256; ++b) {
    model->byte_ids_[b] = model->TokenToId(ByteTokenName(b));
    if (model->byte_ids_[b] < 0) model->all_bytes_ = false;
  }
  for (int c = 0; c < 128; ++c) model->ascii_ids_[c] = model->TokenToId(std::string(1, static_cast<char>(c)));
  const std::string& prefix = model->options_.continuing_subword_prefix;
  model->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const int32_t left_id = model->TokenToId(left);
    const int32_t right_id = model->TokenToId(right);
    if (left_id < 0 || right_id < 0) {
      if (model->options_.skip_invalid_merges) continue;
      return absl::InvalidArgumentError(absl::StrCat("merge ", rank, " '", left, " ", right, "': '",
                                                     left_id < 0 ? left : right,
                                                     "' is not in the vocabulary"));
    }
    absl::string_view right_part = right;
    if (!prefix.empty() && absl::string_view(right).substr(0, prefix.size()) == prefix) {
      right_part.remove_prefix(prefix.size());
    }
    const std::string merged = absl::StrCat(left, right_part);
    const int32_t merged_id = model->TokenToId(merged);
    if (merged_id < 0) {
      if (model->options_.skip_invalid_merges) continue;
      return absl::InvalidArgumentError(
          absl::StrCat("merge ", rank, " '", left, " ", right, "': '", merged, "' is not in the vocabulary"));
    }
    // As in `tokenizers`, a repeated pair takes its last rank.
    model->merges_.insert_or_assign(PairKey(left_id, right_id),
                                    std::make_pair(static_cast<int32_t>(rank), merged_id));
  }
  return model;
}

int32_t BpeModel::TokenToId(absl::string_view token) const {
  auto it = token_to_id_.find(token);
  return it == token_to_id_.end() ? -1 : it->second;
}

const std::string& BpeModel::IdToToken(int32_t id) const {
  static const std::string* const kEmpty = new std::string();
  if (id < 0 || id >= size()) return *kEmpty;
  return id_to_token_[id];
}

const std::pair<int32_t, int32_t>* BpeModel::FindMerge(int32_t left, int32_t right) const {
  auto it = merges_.find(PairKey(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::InitialSymbols(absl::string_view word, Scratch* scratch) const {
  auto& symbols = scratch->symbols;
  const bool affixes = !options_.continuing_subword_prefix.empty() || !options_.end_of_word_suffix.empty();
  bool last_was_unk = false;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t len = unicode::Utf8LengthFromLead(static_cast<uint8_t>(word[pos]));
    const absl::string_view ch = word.substr(pos, len);
    const bool first = pos == 0;
    pos += ch.size();
    int32_t id;
    if (!affixes) {
      const auto lead = static_cast<uint8_t>(ch[0]);
      id = lead < 128 ? ascii_ids_[lead] : TokenToId(ch);
    } else {
      std::string& piece = scratch->piece;
      piece.clear();
      if (!first) piece += options_.continuing_subword_prefix;
      piece.append(ch.data(), ch.size());
      if (pos >= word.size()) piece += options_.end_of_word_suffix;
      id = TokenToId(piece);
    }
    if (id >= 0) {
      symbols.push_back({id, 0, 0, true});
      last_was_unk = false;
      continue;
    }
    if (options_.byte_fallback && (all_bytes_ || std::all_of(ch.begin(), ch.end(), [this](char c) {
                                     return byte_ids_[static_cast<uint8_t>(c)] >= 0;
                                   }))) {
      for (char c : ch) symbols.push_back({byte_ids_[static_cast<uint8_t>(c)], 0, 0, true});
      last_was_unk = false;
      continue;
    }
    if (options_.unk_id < 0) continue;  // no token for it at all
    if (options_.fuse_unk && last_was_unk) continue;
    symbols.push_back({options_.unk_id, 0, 0, true});
    last_was_unk = true;
  }
  for (size_t i = 0; i < symbols.size(); ++i) {
    symbols[i].prev = static_cast<int32_t>(i) - 1;
    symbols[i].next = i + 1 < symbols.size() ? static_cast<int32_t>(i) + 1 : -1;
  }
}

void BpeModel::EncodeWord(absl::string_view word, Scratch* scratch, std::vector<int32_t>* ids) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    const int32_t id = TokenToId(word);
    if (id >= 0) {
      ids->push_back(id);
      return;
    }
  }
  auto& symbols = scratch->symbols;
  auto& heap = scratch->heap;
  symbols.clear();
  heap.clear();
  InitialSymbols(word, scratch);
  if (symbols.size() > 1) {
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      if (const auto* merge = FindMerge(symbols[i].id, symbols[i + 1].id)) {
        heap.push_back({merge->first, static_cast<int32_t>(i), merge->second});
      }
    }
    std::make_heap(heap.begin(), heap.end(), LaterCandidate);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), LaterCandidate);
      const Scratch::Candidate top = heap.back();
      heap.pop_back();
      Scratch::Symbol& left = symbols[top.pos];
      if (!left.alive || left.next < 0) continue;
      Scratch::Symbol& right = symbols[left.next];
      // Skip candidates made stale by an earlier merge.
      const auto* merge = FindMerge(left.id, right.id);
      if (merge == nullptr || merge->second != top.new_id) continue;
      left.id = top.new_id;
      right.alive = false;
      left.next = right.next;
      if (left.next >= 0) symbols[left.next].prev = top.pos;
      if (left.prev >= 0) {
        if (const auto* m = FindMerge(symbols[left.prev].id, left.id)) {
          heap.push_back({m->first, left.prev, m->second});
          std::push_heap(heap.begin(), heap.end(), LaterCandidate);
        }
      }
      if (left.next >= 0) {
        if (const auto* m = FindMerge(left.id, symbols[left.next].id)) {
          heap.push_back({m->first, top.pos, m->second});
          std::push_heap(heap.begin(), heap.end(), LaterCandidate);
        }
      }
    }
  }
  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) ids->push_back(symbols[i].id);
}

}  // namespace llm2vec
