// Small operations on finished embedding vectors (plain floats, no tensors):
// cosine similarity and the compact output encodings offered to
// storage-bound clients.
#ifndef LLM2VEC_SERVER_SERVICE_VECTOR_OPS_H_
#define LLM2VEC_SERVER_SERVICE_VECTOR_OPS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace llm2vec {

// Cosine similarity of two equal-length vectors; 0 when either is zero.
float Cosine(const std::vector<float>& a, const std::vector<float>& b);

// Matryoshka truncation to the first `dimensions` values (0 keeps all),
// then optional L2 normalisation, in place (as PostProcess does on tensors).
void TruncateAndNormalize(std::vector<float>* v, int64_t dimensions, bool normalize);

// Symmetric int8 quantisation: v ~= int8 * scale, scale = max|v| / 127
// (scale 0 for an all-zero vector). Returns the bytes; sets *scale. Values
// should be finite (the engine refuses embeddings that are not, see
// AllFinite); a NaN or infinity counts as 0 here, never as undefined
// behaviour.
std::string QuantizeInt8(const std::vector<float>& v, float* scale);

// One bit per value, 1 when > 0, most significant bit first, zero-padded
// to whole bytes.
std::string PackBinary(const std::vector<float>& v);

// Whether every value is finite (no NaN, no infinity).
bool AllFinite(const std::vector<float>& v);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVICE_VECTOR_OPS_H_
