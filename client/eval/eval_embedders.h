// The two TextEmbedders of `llm2vec eval`: a local model run in-process
// (model/encoder.h) and a running llm2vec-server called through the C++
// client (client/embedding_client.h). Both return raw (unnormalised)
// pooled embeddings; texts too long are cut at the end, as the reference
// does.
//
// Threading: one Embed call at a time.
#ifndef LLM2VEC_CLIENT_EVAL_EVAL_EMBEDDERS_H_
#define LLM2VEC_CLIENT_EVAL_EVAL_EMBEDDERS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/eval/eval_tasks.h"
#include "client/server_connection.h"

namespace llm2vec {

struct LocalEmbedderOptions {
  // Model folder, .gguf file, PEFT adapter folder or hub id.
  std::string model;
  // PEFT adapter folders merged into the weights, in order.
  std::vector<std::string> adapters;
  // mean, weighted_mean, last_token, eos_token or bos_token; "" takes the
  // model's llm2vec_config.json, else mean.
  std::string pooling;
  // "cpu", "cuda" or "cuda:N".
  std::string device = "cpu";
  // Compute dtype: float32, bfloat16 or float16.
  std::string dtype = "float32";
  // CPU threads; 0 = all cores (or $OMP_NUM_THREADS).
  int threads = 0;
  // Tokens per input, BOS included; 0 = llm2vec_config.json's, else 512.
  int64_t max_length = 0;
  // Causal attention (the decoder as it was trained) instead of LLM2Vec's
  // bidirectional attention.
  bool causal = false;
};

// Loads the model (logging what was loaded to stderr) and builds the
// encoder.
absl::StatusOr<std::unique_ptr<TextEmbedder>> CreateLocalEmbedder(
    const LocalEmbedderOptions& options);

struct RemoteEmbedderOptions {
  // The target ("host:port" or any gRPC target) and the API key.
  ServerConnection server;
  // As LocalEmbedderOptions::pooling; "" = the server's default.
  std::string pooling;
  // A named LoRA adapter loaded on the server; "" for none.
  std::string adapter;
  // Deadline of each Embed call.
  int64_t timeout_s = 120;
};

// Connects and checks that the server is SERVING (else an error starting
// with the status code, e.g. "UNAVAILABLE: ...").
absl::StatusOr<std::unique_ptr<TextEmbedder>> CreateRemoteEmbedder(
    const RemoteEmbedderOptions& options);

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_EVAL_EVAL_EMBEDDERS_H_
