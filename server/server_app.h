// llm2vec-server: the embedding service, as a function its binaries call
// (server_main.cc; tests/server/slow_server_main.cc wraps the backend).
//
//   llm2vec-server --model models/stories260K.gguf [--adapter NAME=DIR]...
//
// Loads the model (optionally merging adapters), loads named adapters
// unmerged, warms up, then serves gRPC (llm2vec.v1.EmbeddingService,
// grpc.health.v1, reflection), the OpenAI-compatible HTTP endpoint and
// Prometheus metrics. SIGTERM/SIGINT: health goes NOT_SERVING, new work is
// refused, queued work drains within --drain-timeout-s, then it exits.
//
// Threading: call once per process, from main, after UsePassiveOpenMpWaits.
#ifndef LLM2VEC_SERVER_SERVER_APP_H_
#define LLM2VEC_SERVER_SERVER_APP_H_

#include <functional>
#include <memory>

#include "server/service/backend.h"

namespace llm2vec {

// What a binary may change in the server it runs.
struct ServerHooks {
  // Wraps the model's backend before the engine takes it (a test binary
  // slows the device with it). Null: the backend as loaded.
  std::function<std::unique_ptr<Backend>(std::unique_ptr<Backend>)> wrap_backend;
};

// Parses the flags (--help explains them), loads the model, serves until
// SIGTERM/SIGINT and drains. Returns the process exit code.
int RunServer(int argc, char** argv, const ServerHooks& hooks = {});

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVER_APP_H_
