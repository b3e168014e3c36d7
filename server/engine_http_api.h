// The HTTP routes' functions (http_api.h) answered by the engine: the
// OpenAI and TEI calls become llm2vec.v1 requests, as gRPC clients would
// send them, so both ports share one set of rules, limits and metrics of
// the engine's own.
//
// Threading: the functions are thread-safe (the engine's calls are).
#ifndef LLM2VEC_SERVER_ENGINE_HTTP_API_H_
#define LLM2VEC_SERVER_ENGINE_HTTP_API_H_

#include <atomic>
#include <map>
#include <string>

#include "server/http/http_api.h"
#include "server/service/embedding_engine.h"

namespace llm2vec {

struct EngineHttpOptions {
  // TEI's prompt_name -> the instruction it stands for (--prompt).
  std::map<std::string, std::string> prompts;
  // TEI's /info max_client_batch_size.
  int64_t max_inputs_per_request = 0;
};

// Every function but healthy answers UNAVAILABLE while `engine` holds null
// (the model loads); `serving` is /health's answer. Both must outlive the
// functions.
HttpApi EngineHttpApi(const std::atomic<EmbeddingEngine*>* engine,
                      const std::atomic<bool>* serving, EngineHttpOptions options);

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_ENGINE_HTTP_API_H_
