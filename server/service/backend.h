// The line between the engine and the model (text-embeddings-inference's
// router / backend split): what the engine needs from a model, without
// libtorch. TorchBackend (torch_backend.h) runs the LLM2Vec Encoder; tests
// run the engine on a fake one.
//
// Threading: info(), Prepare(), Tokenize() and Decode() are const and thread-safe
// (RPC threads tokenize). Embed(), LoadAdapter() and DeviceMemoryInUse()
// run tensor work and are called from the device worker only, one at a
// time; they report failures (libtorch's included) as a Status and never
// throw.
#ifndef LLM2VEC_SERVER_SERVICE_BACKEND_H_
#define LLM2VEC_SERVER_SERVICE_BACKEND_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/folder_reader.h"
#include "model/nn/encode_types.h"

namespace llm2vec {

class Backend {
 public:
  // What Info reports, fixed at load.
  struct Info {
    std::string architecture;  // "llama", "qwen2", ...
    std::string format;        // "safetensors", "gguf"
    std::string dtype;         // "float32", ...
    std::string device;        // "cpu", "cuda:0"
    int64_t hidden_size = 0;
    int64_t num_layers = 0;
    int64_t max_position_embeddings = 0;
    AttentionMode attention = AttentionMode::kBidirectional;
    PoolingMode default_pooling = PoolingMode::kMean;
    // Padded tokens (inputs x longest) of one forward pass: Embed splits a
    // larger batch into several passes (and says how many).
    int64_t max_forward_tokens = 0;
  };

  // A loaded adapter's weights, on the backend's device. Opaque to the
  // engine; alive as long as a batch or the registry holds it.
  class Adapter {
   public:
    virtual ~Adapter() = default;
  };

  // The embeddings of one batch, in input order, and the forward passes it
  // took.
  struct Batch {
    std::vector<Embedding> embeddings;
    int64_t forward_passes = 0;
  };

  virtual ~Backend() = default;

  virtual const Info& info() const = 0;

  // Tokenizes one input as LLM2Vec does (instruction handling, pooled
  // positions), to at most `max_tokens`; InvalidArgument as the Encoder's
  // Prepare.
  virtual absl::StatusOr<PreparedInput> Prepare(const EncodeInput& input, int64_t max_tokens,
                                                Truncation truncation) const = 0;
  // The token ids of `text` and their pieces.
  struct Token {
    int32_t id = 0;
    std::string piece;
    bool special = false;  // BOS, EOS, added control tokens
    std::string text = {};  // the token decoded alone
  };
  virtual std::vector<Token> Tokenize(const std::string& text, bool add_special_tokens) const = 0;
  // The text of `ids`; InvalidArgument naming the first id outside the
  // vocabulary and its position.
  virtual absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids,
                                             bool skip_special_tokens) const = 0;

  // Device worker only. One batch with one pooling and adapter (null: the
  // base model).
  virtual absl::StatusOr<Batch> Embed(const std::vector<PreparedInput>& inputs, PoolingMode pooling,
                                      const Adapter* adapter) = 0;
  // Reads a PEFT adapter folder onto the device.
  virtual absl::StatusOr<std::shared_ptr<const Adapter>> LoadAdapter(
      const FolderReader& folder) = 0;
  // Bytes in use on the device (nullopt on the CPU).
  virtual std::optional<int64_t> DeviceMemoryInUse() const = 0;
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVICE_BACKEND_H_
