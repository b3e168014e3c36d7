// The LLM2Vec text encoder: tokenizer + transformer (bidirectional by
// default) + pooling over the text's tokens, with instructions handled as
// the reference implementation does (see ../shared/docs/llm2vec-method.md):
// the model sees "{instruction.strip()} {text}" (or just the text), and
// only the last len(tokenize(text, no special tokens)) positions are pooled.
//
// Threading: Prepare() is const and thread-safe (tokenization only, for RPC
// threads). Encode()/EncodePrepared() run the model and must be called from
// one thread at a time (the device worker).
#ifndef LLM2VEC_MODEL_NN_ENCODER_H_
#define LLM2VEC_MODEL_NN_ENCODER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/nn/encode_types.h"
#include "model/nn/model_loader.h"
#include "model/nn/pooling.h"
#include "model/nn/transformer.h"

namespace llm2vec {

// Settings saved beside LLM2Vec checkpoints (llm2vec_config.json).
struct Llm2VecConfig {
  std::optional<PoolingMode> pooling_mode;
  int64_t max_length = 512;      // tokens per input, BOS included
  int64_t doc_max_length = 400;  // the text is cut (by words) to this many tokens
  bool skip_instruction = true;  // pool only the text's tokens
};
// Reads `dir`/llm2vec_config.json; the defaults when the file is absent.
absl::StatusOr<Llm2VecConfig> LoadLlm2VecConfig(const std::string& dir);

// The llm2vec_config.json that governs a loaded model: the most specific of
// its config_dirs (adapters first) that sets a pooling mode, else the base
// model's (or the defaults).
absl::StatusOr<Llm2VecConfig> Llm2VecConfigOf(const LoadedModel& model);

struct EncodeOptions {
  AttentionMode attention = AttentionMode::kBidirectional;
  PoolingMode pooling = PoolingMode::kMean;
  bool normalize = false;
  int64_t dimensions = 0;  // Matryoshka truncation; 0 keeps all
  // Unmerged adapter on top of the weights, or null.
  const LoraWeights* lora = nullptr;
  // ForwardOptions::skip_padding (off only to measure what it saves).
  bool skip_padding = true;
};

class Encoder {
 public:
  struct Options {
    // Defaults from llm2vec_config.json when the model folder has one.
    Llm2VecConfig llm2vec;
    // Token budget of one forward pass (padded tokens, B * T_max); 0 picks
    // one: on the CPU, small enough that the largest activation (tokens x
    // intermediate size) stays in malloc's heap (see TuneHostMalloc),
    // between 512 and 16384; on a GPU, 16384.
    int64_t max_batch_tokens = 0;
    // Intra-op threads for CPU math; 0 = $OMP_NUM_THREADS if set, else all
    // cores. Process-wide (libtorch's setting).
    int num_threads = 0;
  };

  static absl::StatusOr<std::unique_ptr<Encoder>> Create(LoadedModel model, const Options& options);

  // How Prepare treats an input longer than its token limit.
  using Truncation = ::llm2vec::Truncation;

  // Tokenizes one input as LLM2Vec does, to at most `max_tokens` tokens
  // (0: llm2vec_config's max_length). InvalidArgument when the text has no
  // tokens at all, or is too long under Truncation::kNone. Token-id inputs
  // get the tokenizer's special tokens around them (FindSpecialTokenFrame);
  // an id outside the vocabulary (the tokenizer's and the model's
  // embedding rows), or an instruction beside them, is InvalidArgument;
  // beyond doc_max_length ids, the rest is cut (the text's cut by words).
  absl::StatusOr<PreparedInput> Prepare(const EncodeInput& input, int64_t max_tokens = 0,
                                        Truncation truncation = Truncation::kEnd) const;

  // Embeds prepared inputs, in order. Inputs are sorted by length and run in
  // forward passes of at most max_batch_tokens padded tokens (one input
  // longer than that runs alone); results do not depend on batching.
  // `forward_passes` (may be null) is set to the number of passes run.
  absl::StatusOr<std::vector<Embedding>> EncodePrepared(const std::vector<PreparedInput>& inputs,
                                                        const EncodeOptions& options,
                                                        int64_t* forward_passes = nullptr);
  // Prepare + EncodePrepared. Errors name the offending input index.
  absl::StatusOr<std::vector<Embedding>> Encode(const std::vector<EncodeInput>& inputs,
                                                const EncodeOptions& options);

  // Greedy decoding with causal attention from `prompt` (BOS first) for up
  // to `max_tokens` new tokens; stops at EOS. Returns the new ids.
  absl::StatusOr<std::vector<int32_t>> Generate(const std::vector<int32_t>& prompt,
                                                int64_t max_tokens);

  const Tokenizer& tokenizer() const { return *model_.tokenizer; }
  const Transformer& transformer() const { return *model_.transformer; }
  Transformer& mutable_transformer() { return *model_.transformer; }
  const LoadedModel& model() const { return model_; }
  const Options& options() const { return options_; }
  // The token budget in force (Options::max_batch_tokens resolved).
  int64_t max_batch_tokens() const { return max_batch_tokens_; }
  // Default pooling: llm2vec_config.json's, else mean.
  PoolingMode default_pooling() const;

  // Implementation details follow.
 private:
  Encoder(LoadedModel model, Options options);
  // One forward pass over inputs[order[begin..end)]; fills out[order[i]].
  void RunBatch(const std::vector<PreparedInput>& inputs, const std::vector<size_t>& order,
                size_t begin, size_t end, const EncodeOptions& options,
                std::vector<Embedding>* out);

  LoadedModel model_;
  Options options_;
  int32_t pad_id_ = 0;
  int64_t max_batch_tokens_ = 0;
  // What the tokenizer adds around a text's ids.
  SpecialTokenFrame special_frame_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_NN_ENCODER_H_
