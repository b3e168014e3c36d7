// Byte-pair encoding with ranked merges, with the semantics of the Hugging
// Face `tokenizers` BPE model: a word starts as its characters (unknown ones
// become <0xXX> byte tokens with byte_fallback, else the unk token), then the
// adjacent pair with the lowest merge rank is merged, leftmost first, until
// no ranked pair is left. Used for tokenizer.json BPE models and for GGUF
// "gpt2" vocabularies (llama.cpp's BPE session merges the same way).
//
// Threading: immutable after Create(); EncodeWord is thread-safe (scratch
// space belongs to the caller).
#ifndef LLM2VEC_MODEL_TOKENIZER_BPE_MODEL_H_
#define LLM2VEC_MODEL_TOKENIZER_BPE_MODEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llm2vec {

class BpeModel {
 public:
  struct Options {
    int32_t unk_id = -1;               // -1: characters without a token are dropped
    bool byte_fallback = false;        // unknown characters -> <0xXX> tokens
    bool fuse_unk = false;             // consecutive unknowns -> one unk
    bool ignore_merges = false;        // a word that is a token is taken whole
    bool skip_invalid_merges = false;  // drop merges of unknown pieces instead of failing
    std::string continuing_subword_prefix;
    std::string end_of_word_suffix;
  };

  // Reusable buffers for EncodeWord; one per thread / per Encode call.
  struct Scratch {
    struct Symbol {
      int32_t id;
      int32_t prev, next;
      bool alive;
    };
    struct Candidate {
      int32_t rank;
      int32_t pos;
      int32_t new_id;
    };
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
    std::string piece;
  };

  // `id_to_token[id]` is the piece of id (gaps are empty strings and never
  // match). `merges` are (left, right) pieces in rank order. Errors name the
  // merge whose pieces or result are not in the vocabulary.
  static absl::StatusOr<std::unique_ptr<BpeModel>> Create(
      std::vector<std::string> id_to_token, const std::vector<std::pair<std::string, std::string>>& merges,
      Options options);

  // Appends the ids of `word` (one pre-token) to `ids`.
  void EncodeWord(absl::string_view word, Scratch* scratch, std::vector<int32_t>* ids) const;

  // -1 when absent.
  int32_t TokenToId(absl::string_view token) const;
  // "" when out of range.
  const std::string& IdToToken(int32_t id) const;
  int32_t size() const { return static_cast<int32_t>(id_to_token_.size()); }
  const Options& options() const { return options_; }

  // Implementation details follow.
 private:
  BpeModel() = default;
  // Appends the initial symbols of `word`.
  void InitialSymbols(absl::string_view word, Scratch* scratch) const;
  // Ranked merge of the pair (left, right), or nullptr.
  const std::pair<int32_t, int32_t>* FindMerge(int32_t left, int32_t right) const;

  Options options_;
  std::vector<std::string> id_to_token_;
  absl::flat_hash_map<std::string, int32_t> token_to_id_;
  // (left id << 32 | right id) -> (rank, merged id)
  absl::flat_hash_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  std::array<int32_t, 256> byte_ids_{};   // <0xXX> tokens, -1 when absent
  std::array<int32_t, 128> ascii_ids_{};  // token of each ASCII character, -1 when absent
  bool all_bytes_ = false;                // every <0xXX> token exists
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TOKENIZER_BPE_MODEL_H_
