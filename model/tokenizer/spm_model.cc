#include "model/tokenizer/spm_model.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "model/tokenizer/unicode.h"

namespace llm2vec {
namespace {

struct Symbol {
  int32_t prev, next;
  uint32_t offset, size;  // bytes of the text; size 0 once merged away
};

struct Bigram {
  float score;
  int32_t left, right;
  uint32_t size;
};

// Heap order: highest score on top, then leftmost.
bool LowerPriority(const Bigram& a, const Bigram& b) {
  return a.score < b.score || (a.score == b.score && a.left > b.left);
}

}  // namespace

SpmModel::SpmModel(std::vector<std::string> tokens, std::vector<float> scores, int32_t unk_id)
    : tokens_(std::move(tokens)), scores_(std::move(scores)), unk_id_(unk_id) {
  if (scores_.size() != tokens_.size()) scores_.assign(tokens_.size(), 0.0f);
  token_to_id_.reserve(tokens_.size());
  for (size_t id = 0; id < tokens_.size(); ++id) {
    token_to_id_.insert_or_assign(tokens_[id], static_cast<int32_t>(id));  // last one wins, as llama.cpp
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    int32_t id = TokenToId(name);
    if (id < 0) id = TokenToId(std::string(1, static_cast<char>(b)));
    byte_ids_[b] = id >= 0 ? id : unk_id_;
  }
}

int32_t SpmModel::TokenToId(absl::string_view token) const {
  auto it = token_to_id_.find(token);
  return it == token_to_id_.end() ? -1 : it->second;
}

void SpmModel::AppendBytes(absl::string_view bytes, std::vector<int32_t>* ids) const {
  for (char c : bytes) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id >= 0) ids->push_back(id);
  }
}

void SpmModel::Encode(absl::string_view text, std::vector<int32_t>* ids) const {
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t len =
        std::min(unicode::Utf8LengthFromLead(static_cast<uint8_t>(text[pos])), text.size() - pos);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({index - 1, index + 1, static_cast<uint32_t>(pos), static_cast<uint32_t>(len)});
    pos += len;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  std::vector<Bigram> heap;
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const absl::string_view merged =
        text.substr(symbols[left].offset, symbols[left].size + symbols[right].size);
    const int32_t id = TokenToId(merged);
    if (id < 0) return;
    heap.push_back({scores_[id], left, right, static_cast<uint32_t>(merged.size())});
    std::push_heap(heap.begin(), heap.end(), LowerPriority);
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int32_t>(i) - 1, static_cast<int32_t>(i));

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), LowerPriority);
    const Bigram top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    // Stale when either side was merged since the bigram was queued.
    if (left.size == 0 || right.size == 0 || left.size + right.size != top.size) continue;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    try_add(left.prev, top.left);
    try_add(top.left, left.next);
  }

  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const absl::string_view piece = text.substr(symbols[i].offset, symbols[i].size);
    const int32_t id = TokenToId(piece);
    if (id >= 0) {
      ids->push_back(id);
    } else {
      // Only single characters can lack a piece: merges always make pieces.
      AppendBytes(piece, ids);
    }
  }
}

}  // namespace llm2vec
