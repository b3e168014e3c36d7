// The Backend that runs the LLM2Vec Encoder (libtorch). The only part of
// the service that touches tensors; its tensor methods run on the device
// worker, and every exception libtorch (or anything under it) throws is
// caught here, at the edge, and returned as a Status (ExceptionStatus).
//
// Threading: as Backend.
#ifndef LLM2VEC_SERVER_SERVICE_TORCH_BACKEND_H_
#define LLM2VEC_SERVER_SERVICE_TORCH_BACKEND_H_

#include <memory>

#include "server/service/backend.h"

namespace llm2vec {

class Encoder;

// Takes the encoder (and with it the model); every forward pass uses
// `attention`.
std::unique_ptr<Backend> MakeTorchBackend(std::unique_ptr<Encoder> encoder,
                                          AttentionMode attention);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVICE_TORCH_BACKEND_H_
