// Between the wire contract (llm2vec.v1 messages) and the engine's terms:
// request options checked and converted, responses built. No model work
// and no state: the engine calls these on RPC threads.
//
// Threading: pure functions.
#ifndef LLM2VEC_SERVER_SERVICE_WIRE_CONVERSION_H_
#define LLM2VEC_SERVER_SERVICE_WIRE_CONVERSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "llm2vec/v1/embedding.pb.h"
#include "model/nn/encode_types.h"

namespace llm2vec {

// EmbedOptions in the engine's terms.
struct EmbedSettings {
  PoolingMode pooling = PoolingMode::kMean;
  Truncation truncation = Truncation::kNone;
  // Matryoshka truncation (0 keeps all), then optional L2 normalisation.
  int64_t dimensions = 0;
  bool normalize = false;
  // "" is the base model.
  std::string adapter;
  int priority = 0;
};

// InvalidArgument naming the field and value for an unknown pooling,
// truncate or encoding value, a priority other than 0 and 1, or dimensions
// above `hidden_size`. Unspecified pooling is
// `default_pooling`.
absl::StatusOr<EmbedSettings> EmbedSettingsFromProto(const v1::EmbedOptions& options,
                                                     PoolingMode default_pooling,
                                                     int64_t hidden_size);

// One input in the engine's terms: text and instruction, or token ids
// (InvalidArgument naming inputs[index].token_ids for an id above
// INT32_MAX; the vocabulary is the model's to check).
absl::StatusOr<EncodeInput> EncodeInputFromProto(const v1::EmbedInput& input, int index);

// One embedding on the wire in `encoding`: float values, or packed int8
// (with its scale) or binary.
void EmbeddingToProto(const Embedding& embedding, v1::Encoding encoding, v1::Embedding* out);

// The inputs a Similarity request embeds: the query then the candidates,
// or each pair's a then b. InvalidArgument when it has neither or both.
absl::StatusOr<google::protobuf::RepeatedPtrField<v1::EmbedInput>> SimilarityInputs(
    const v1::SimilarityRequest& request);

// Scores (and for a query, the ranking cut to top_k) from the embeddings
// of SimilarityInputs(request), in that order.
void FillSimilarity(const v1::SimilarityRequest& request, const std::vector<Embedding>& embeddings,
                    v1::SimilarityResponse* response);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVICE_WIRE_CONVERSION_H_
