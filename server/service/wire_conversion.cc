#include "server/service/wire_conversion.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/service/vector_ops.h"

namespace llm2vec {
namespace {

absl::StatusOr<PoolingMode> PoolingFromProto(v1::Pooling pooling, PoolingMode fallback) {
  switch (pooling) {
    case v1::POOLING_UNSPECIFIED: return fallback;
    case v1::POOLING_MEAN: return PoolingMode::kMean;
    case v1::POOLING_WEIGHTED_MEAN: return PoolingMode::kWeightedMean;
    case v1::POOLING_LAST_TOKEN: return PoolingMode::kLastToken;
    case v1::POOLING_BOS_TOKEN: return PoolingMode::kBosToken;
    case v1::POOLING_NONE: return PoolingMode::kNone;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("options.pooling ", static_cast<int>(pooling), " is not a known value"));
  }
}

absl::StatusOr<Truncation> TruncationFromProto(v1::Truncate t) {
  switch (t) {
    case v1::TRUNCATE_NONE: return Truncation::kNone;
    case v1::TRUNCATE_END: return Truncation::kEnd;
    case v1::TRUNCATE_START: return Truncation::kStart;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("options.truncate ", static_cast<int>(t), " is not a known value"));
  }
}

}  // namespace

absl::StatusOr<EmbedSettings> EmbedSettingsFromProto(const v1::EmbedOptions& options,
                                                     PoolingMode default_pooling,
                                                     int64_t hidden_size) {
  EmbedSettings settings;
  auto pooling = PoolingFromProto(options.pooling(), default_pooling);
  if (!pooling.ok()) return pooling.status();
  settings.pooling = *pooling;
  auto truncation = TruncationFromProto(options.truncate());
  if (!truncation.ok()) return truncation.status();
  settings.truncation = *truncation;
  if (options.dimensions() > hidden_size) {
    return absl::InvalidArgumentError(absl::StrCat("options.dimensions ", options.dimensions(),
                                                   " exceeds the embedding size ", hidden_size));
  }
  settings.dimensions = options.dimensions();
  settings.normalize = options.normalize();
  if (settings.pooling == PoolingMode::kNone &&
      (settings.dimensions > 0 || settings.normalize ||
       options.encoding() != v1::ENCODING_FLOAT32)) {
    return absl::InvalidArgumentError(
        "options.pooling POOLING_NONE returns every token's state as float32: dimensions, "
        "normalize and encoding do not apply");
  }
  settings.adapter = options.adapter();
  // The defined levels only: any larger value would let one client starve
  // the others.
  if (options.priority() != 0 && options.priority() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.priority ", options.priority(), " is not 0 (normal) or 1 (high)"));
  }
  settings.priority = options.priority();
  if (!v1::Encoding_IsValid(options.encoding())) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.encoding ", static_cast<int>(options.encoding()),
                     " is not a known value"));
  }
  return settings;
}

void EmbeddingToProto(const Embedding& embedding, v1::Encoding encoding, v1::Embedding* out) {
  out->set_tokens(static_cast<uint32_t>(embedding.tokens));
  switch (encoding) {
    case v1::ENCODING_INT8: {
      float scale = 0;
      out->set_packed(QuantizeInt8(embedding.values, &scale));
      out->set_scale(scale);
      break;
    }
    case v1::ENCODING_BINARY:
      out->set_packed(PackBinary(embedding.values));
      break;
    default:
      out->mutable_values()->Add(embedding.values.begin(), embedding.values.end());
      break;
  }
}

absl::StatusOr<google::protobuf::RepeatedPtrField<v1::EmbedInput>> SimilarityInputs(
    const v1::SimilarityRequest& request) {
  const bool has_query = request.has_query();
  if (has_query == (request.pairs_size() > 0)) {
    return absl::InvalidArgumentError(
        "pairs, query: give either pairs, or a query with candidates (not both)");
  }
  if (has_query && request.candidates().empty()) {
    return absl::InvalidArgumentError("candidates is empty: a query needs candidates");
  }
  google::protobuf::RepeatedPtrField<v1::EmbedInput> inputs;
  if (has_query) {
    *inputs.Add() = request.query();
    for (const auto& c : request.candidates()) *inputs.Add() = c;
  } else {
    for (const auto& p : request.pairs()) {
      *inputs.Add() = p.a();
      *inputs.Add() = p.b();
    }
  }
  return inputs;
}

void FillSimilarity(const v1::SimilarityRequest& request, const std::vector<Embedding>& embeddings,
                    v1::SimilarityResponse* response) {
  if (request.has_query()) {
    std::vector<std::pair<float, uint32_t>> ranked;
    for (size_t i = 1; i < embeddings.size(); ++i) {
      const float score = Cosine(embeddings[0].values, embeddings[i].values);
      response->add_scores(score);
      ranked.emplace_back(score, static_cast<uint32_t>(i - 1));
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    const size_t k = request.top_k() > 0 ? std::min<size_t>(request.top_k(), ranked.size())
                                         : ranked.size();
    for (size_t i = 0; i < k; ++i) {
      auto* r = response->add_ranking();
      r->set_index(ranked[i].second);
      r->set_score(ranked[i].first);
    }
  } else {
    for (size_t i = 0; i + 1 < embeddings.size(); i += 2) {
      response->add_scores(Cosine(embeddings[i].values, embeddings[i + 1].values));
    }
  }
}

absl::StatusOr<EncodeInput> EncodeInputFromProto(const v1::EmbedInput& input, int index) {
  EncodeInput out{input.text(), input.instruction(), {}};
  out.token_ids.reserve(static_cast<size_t>(input.token_ids_size()));
  for (int j = 0; j < input.token_ids_size(); ++j) {
    const uint32_t id = input.token_ids(j);
    if (id > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
      return absl::InvalidArgumentError(absl::StrCat("inputs[", index, "].token_ids[", j, "] is ",
                                                     id, "; token ids are below 2^31"));
    }
    out.token_ids.push_back(static_cast<int32_t>(id));
  }
  return out;
}

}  // namespace llm2vec
