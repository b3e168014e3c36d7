// Masked next token prediction (LLM2Vec step 2), as the reference does it
// (see ../shared/docs/llm2vec-method.md): BERT-style masking of the input,
// then the ordinary shifted language-model loss with bidirectional
// attention, restricted to the masked positions: the label of position i
// is read from the logits at position i-1.
#ifndef LLM2VEC_MODEL_TRAIN_MNTP_H_
#define LLM2VEC_MODEL_TRAIN_MNTP_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <random>
#include <vector>

#include "model/nn/transformer.h"
#include "model/train/trainer_options.h"
#include "model/tokenizer/tokenizer.h"

namespace llm2vec {

// Label of positions that are not targets (PyTorch's ignore_index).
inline constexpr int32_t kIgnoreLabel = -100;

// What masking needs to know about the vocabulary.
struct MaskingVocab {
  int32_t mask_id = -1;
  // ids that are never chosen and never drawn as random tokens
  // (BOS/EOS/pad/unk and every other special or control token).
  std::vector<bool> special;
  // The ids random replacements are drawn from, uniformly: every id of
  // both the model's and the tokenizer's vocabulary that is not special.
  std::vector<int32_t> random_pool;

  // The tokenizer's "<mask>" when it has one, else the blank "_" as the
  // reference (`convert_tokens_to_ids("_")`): the vocabulary piece "_"
  // exactly, else its byte-fallback piece "<0x5F>", else the last id of
  // Encode("_", no specials) (the first is usually the word-start marker
  // "▁", which would make every word boundary look masked).
  // `model_vocab_size` bounds the ids (the embedding matrix's rows).
  static MaskingVocab FromTokenizer(const Tokenizer& tokenizer, int64_t model_vocab_size);
};

// One masked sequence.
struct MaskedSequence {
  std::vector<int32_t> ids;     // the input with replacements
  std::vector<int32_t> labels;  // original id at chosen positions, kIgnoreLabel elsewhere
  int64_t chosen = 0;           // positions with a label
};

// Masks `ids` (one unpadded sequence): each position that is not special
// and not position 0 (it has no previous position to predict it from) is
// chosen with probability mask_ratio; a chosen position becomes the mask
// token with probability 0.8, a random non-special token with 0.1, and
// stays unchanged with 0.1 (or always the mask token with all_mask).
// Deterministic given the state of `rng`.
MaskedSequence MaskSequence(const std::vector<int32_t>& ids, const MaskingVocab& vocab,
                            const MaskOptions& options, std::mt19937_64& rng);

struct MntpLoss {
  at::Tensor loss;  // scalar float32: mean cross-entropy over the targets
  int64_t targets = 0;
};

// The MNTP loss of a right-padded batch:
//   ids, labels: (B, T) int64; lengths: (B) int64.
// Runs `model` with `options` (use bidirectional attention; train = true
// for dropout), takes the hidden state at i-1 for every labelled position
// i >= 1 and returns the mean cross-entropy of its logits against the
// label. Only the targets' logits are computed. No targets: a zero loss
// that still backpropagates (to nothing).
MntpLoss ComputeMntpLoss(const Transformer& model, const at::Tensor& ids, const at::Tensor& lengths,
                         const at::Tensor& labels, const ForwardOptions& options);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_MNTP_H_
