// The plain types of encoding, without libtorch: what callers of the
// encoder (and the server's engine, which must not include libtorch) pass
// in and get back. Their functions are in encode_types.cc (library
// llm2vec_encode_types, no libtorch).
//
// Threading: values; the functions are pure.
#ifndef LLM2VEC_MODEL_NN_ENCODE_TYPES_H_
#define LLM2VEC_MODEL_NN_ENCODE_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace llm2vec {

// Causal (the decoder as trained) or bidirectional (LLM2Vec) attention.
enum class AttentionMode { kCausal, kBidirectional };

enum class PoolingMode {
  kMean,          // mean over the pooled positions
  kWeightedMean,  // weights 1..L over the pooled positions, normalised to sum 1
  kLastToken,     // the last position ("eos_token" is an alias)
  kBosToken,      // position 0
  kNone,          // no pooling: every token's state
};

// "mean", "weighted_mean", "last_token" | "eos_token", "bos_token", "none".
absl::StatusOr<PoolingMode> ParsePoolingMode(const std::string& name);
std::string PoolingModeName(PoolingMode mode);

// How an input longer than its token limit is treated.
enum class Truncation {
  kNone,   // InvalidArgument naming the length and the limit
  kEnd,    // keep the first tokens (the reference's behaviour)
  kStart,  // keep the last tokens; a leading BOS stays first
};

struct EncodeInput {
  std::string text;
  std::string instruction;  // optional
  // Instead of text and instruction: the text's token ids without special
  // tokens (Encoder::Prepare adds those as for a text). (The initializer
  // lets {text, instruction} leave it out without a warning.)
  std::vector<int32_t> token_ids = {};
};

// The string the model sees for `input`, as the reference builds it:
// "{instruction.strip()} {text}", or the text alone without an instruction.
std::string ModelText(const EncodeInput& input);

// One tokenized input, ready for the device.
struct PreparedInput {
  std::vector<int32_t> ids;  // what the model sees, special tokens included
  int64_t pooled = 0;        // the last `pooled` positions are the text
};

struct Embedding {
  int64_t tokens = 0;         // tokens the model saw
  std::vector<float> values;  // (dims) pooled, or (tokens * hidden) for kNone
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_NN_ENCODE_TYPES_H_
