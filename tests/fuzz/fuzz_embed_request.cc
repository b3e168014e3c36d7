// Fuzz target: EmbedRequest and SimilarityRequest messages as they arrive
// on the wire, through the server's validation of their options and
// inputs (wire_conversion.h), token ids included.
#include <cstddef>
#include <cstdint>
#include <string>

#include "llm2vec/v1/embedding.pb.h"
#include "server/service/wire_conversion.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llm2vec;
  v1::EmbedRequest embed;
  if (embed.ParseFromArray(data, static_cast<int>(size))) {
    (void)EmbedSettingsFromProto(embed.options(), PoolingMode::kMean, 64);
    for (int i = 0; i < embed.inputs_size(); ++i) (void)EncodeInputFromProto(embed.inputs(i), i);
  }
  v1::SimilarityRequest similarity;
  if (similarity.ParseFromArray(data, static_cast<int>(size))) {
    (void)EmbedSettingsFromProto(similarity.options(), PoolingMode::kMean, 64);
    (void)SimilarityInputs(similarity);
  }
  return 0;
}
