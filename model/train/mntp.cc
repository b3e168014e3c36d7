#include "model/train/mntp.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace llm2vec {

MaskingVocab MaskingVocab::FromTokenizer(const Tokenizer& tokenizer, int64_t model_vocab_size) {
  MaskingVocab v;
  const int32_t n = static_cast<int32_t>(model_vocab_size);
  v.special.assign(static_cast<size_t>(n), false);
  for (int32_t id = 0; id < n; ++id) v.special[id] = tokenizer.IsSpecial(id);
  for (int32_t id : {tokenizer.bos_id(), tokenizer.eos_id(), tokenizer.pad_id()}) {
    if (id >= 0 && id < n) v.special[id] = true;
  }
  // Random replacements: ids the tokenizer knows (models may have unused,
  // padded embedding rows beyond them).
  const int32_t known = std::min(n, tokenizer.vocab_size());
  for (int32_t id = 0; id < known; ++id) {
    if (!v.special[id]) v.random_pool.push_back(id);
  }
  auto valid = [&](int32_t id) { return id >= 0 && id < n; };
  if (int32_t id = tokenizer.TokenToId("<mask>"); valid(id)) {
    v.mask_id = id;
  } else if (int32_t blank = tokenizer.TokenToId("_"); valid(blank)) {
    v.mask_id = blank;
  } else if (int32_t byte = tokenizer.TokenToId("<0x5F>"); valid(byte)) {
    v.mask_id = byte;
  } else {
    std::vector<int32_t> ids = tokenizer.Encode("_", /*add_special_tokens=*/false);
    if (!ids.empty() && valid(ids.back())) v.mask_id = ids.back();
  }
  return v;
}

MaskedSequence MaskSequence(const std::vector<int32_t>& ids, const MaskingVocab& vocab,
                            const MaskOptions& options, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<size_t> pick(0, vocab.random_pool.empty() ? 0 : vocab.random_pool.size() - 1);
  MaskedSequence out;
  out.ids = ids;
  out.labels.assign(ids.size(), kIgnoreLabel);
  for (size_t i = 1; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    const bool special =
        id < 0 || (static_cast<size_t>(id) < vocab.special.size() && vocab.special[id]);
    if (special) continue;
    if (unit(rng) >= options.mask_ratio) continue;
    out.labels[i] = id;
    ++out.chosen;
    if (options.all_mask) {
      out.ids[i] = vocab.mask_id;
      continue;
    }
    const double r = unit(rng);
    if (r < 0.8) {
      out.ids[i] = vocab.mask_id;
    } else if (r < 0.9 && !vocab.random_pool.empty()) {
      out.ids[i] = vocab.random_pool[pick(rng)];
    }  // else: unchanged
  }
  return out;
}

MntpLoss ComputeMntpLoss(const Transformer& model, const at::Tensor& ids, const at::Tensor& lengths,
                         const at::Tensor& labels, const ForwardOptions& options) {
  const int64_t B = ids.size(0), T = ids.size(1);
  const int64_t C = model.config().hidden_size;
  at::Tensor hidden = model.Forward(ids, lengths, options);  // (B, T, C)
  // Position i's label is predicted from position i-1: pair hidden[:, :-1]
  // with labels[:, 1:].
  at::Tensor next_labels = labels.to(hidden.device()).narrow(1, 1, T - 1).reshape({-1});  // (B*(T-1))
  at::Tensor where = (next_labels != kIgnoreLabel).nonzero().squeeze(1);                 // (M)
  MntpLoss out;
  out.targets = where.numel();
  if (out.targets == 0) {
    out.loss = hidden.sum() * 0.0;  // keeps the graph, contributes nothing
    return out;
  }
  at::Tensor prev = hidden.narrow(1, 0, T - 1).reshape({B * (T - 1), C}).index_select(0, where);  // (M, C)
  at::Tensor logits = model.Logits(prev);                                                          // (M, V)
  at::Tensor target = next_labels.index_select(0, where);                                          // (M)
  out.loss = at::cross_entropy_loss(logits, target);  // mean over the M targets
  return out;
}

}  // namespace llm2vec
