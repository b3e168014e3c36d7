#include "server/engine_http_api.h"

#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace llm2vec {
namespace {

absl::StatusOr<EmbeddingEngine*> Loaded(const std::atomic<EmbeddingEngine*>* engine) {
  EmbeddingEngine* e = engine->load();
  if (e == nullptr) return absl::UnavailableError("the model is still loading");
  return e;
}

// The instruction `name` stands for ("" for none); NOT_FOUND naming the
// server's prompts.
absl::StatusOr<std::string> Instruction(const EngineHttpOptions& options,
                                        const std::string& name) {
  if (name.empty()) return std::string();
  const auto it = options.prompts.find(name);
  if (it != options.prompts.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [known, _] : options.prompts) names.push_back(known);
  return absl::NotFoundError(absl::StrCat(
      "prompt_name '", name, "' is not one of this server's prompts (--prompt NAME=INSTRUCTION)",
      names.empty() ? ": it has none" : absl::StrCat(": ", absl::StrJoin(names, ", "))));
}

v1::Truncate TruncateProto(HttpTruncation t) {
  switch (t) {
    case HttpTruncation::kEnd: return v1::TRUNCATE_END;
    case HttpTruncation::kStart: return v1::TRUNCATE_START;
    case HttpTruncation::kNone: break;
  }
  return v1::TRUNCATE_NONE;
}

}  // namespace

HttpApi EngineHttpApi(const std::atomic<EmbeddingEngine*>* engine,
                      const std::atomic<bool>* serving, EngineHttpOptions options) {
  auto shared = std::make_shared<const EngineHttpOptions>(std::move(options));
  HttpApi api;
  api.embed = [engine, shared](const HttpEmbedCall& call) -> absl::StatusOr<HttpEmbedResult> {
    auto eng = Loaded(engine);
    if (!eng.ok()) return eng.status();
    auto instruction = Instruction(*shared, call.prompt_name);
    if (!instruction.ok()) return instruction.status();
    if (call.dimensions > std::numeric_limits<int32_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dimensions ", call.dimensions, " exceeds the embedding size"));
    }
    v1::EmbedRequest request;
    for (const HttpInput& in : call.inputs) {
      v1::EmbedInput* input = request.add_inputs();
      if (in.token_ids.empty()) {
        input->set_text(in.text);
        input->set_instruction(*instruction);
      } else {
        if (!instruction->empty()) {
          return absl::InvalidArgumentError(
              "prompt_name applies to texts; token-id inputs take no instruction");
        }
        for (int32_t id : in.token_ids) input->add_token_ids(static_cast<uint32_t>(id));
      }
    }
    v1::EmbedOptions* options = request.mutable_options();
    options->set_dimensions(static_cast<uint32_t>(call.dimensions));
    // OpenAI's embeddings have length 1 (code ranks them by dot product);
    // the engine cuts to `dimensions`, then normalises.
    options->set_normalize(call.normalize);
    options->set_truncate(TruncateProto(call.truncation));
    if (call.per_token) options->set_pooling(v1::POOLING_NONE);
    // "model" naming a loaded adapter selects it; any other name (clients
    // often send their own default) means the base model.
    for (const std::string& name : (*eng)->AdapterNames()) {
      if (name == call.model) options->set_adapter(name);
    }
    CallContext ctx;
    ctx.method = call.method;
    ctx.is_cancelled = call.client_gone;  // a closed connection cancels
    auto response = (*eng)->Embed(request, ctx);
    if (!response.ok()) return response.status();
    HttpEmbedResult result;
    for (const auto& e : response->embeddings()) {
      result.embeddings.emplace_back(e.values().begin(), e.values().end());
      result.tokens.push_back(e.tokens());
    }
    result.prompt_tokens = static_cast<int64_t>(response->usage().prompt_tokens());
    return result;
  };
  api.similarity =
      [engine, shared](const HttpSimilarityCall& call) -> absl::StatusOr<std::vector<float>> {
    auto eng = Loaded(engine);
    if (!eng.ok()) return eng.status();
    auto instruction = Instruction(*shared, call.prompt_name);
    if (!instruction.ok()) return instruction.status();
    v1::SimilarityRequest request;
    request.mutable_query()->set_text(call.source);
    request.mutable_query()->set_instruction(*instruction);
    for (const std::string& s : call.sentences) {
      v1::EmbedInput* candidate = request.add_candidates();
      candidate->set_text(s);
      candidate->set_instruction(*instruction);
    }
    request.mutable_options()->set_truncate(TruncateProto(call.truncation));
    CallContext ctx;
    ctx.method = "tei_similarity";
    ctx.is_cancelled = call.client_gone;
    auto response = (*eng)->Similarity(request, ctx);
    if (!response.ok()) return response.status();
    return std::vector<float>(response->scores().begin(), response->scores().end());
  };
  api.tokenize = [engine, shared](const HttpTokenizeCall& call)
      -> absl::StatusOr<std::vector<std::vector<HttpToken>>> {
    auto eng = Loaded(engine);
    if (!eng.ok()) return eng.status();
    auto instruction = Instruction(*shared, call.prompt_name);
    if (!instruction.ok()) return instruction.status();
    v1::TokenizeRequest request;
    for (const std::string& text : call.texts) {
      v1::EmbedInput* input = request.add_inputs();
      input->set_text(text);
      input->set_instruction(*instruction);
    }
    request.set_add_special_tokens(call.add_special_tokens);
    auto response = (*eng)->Tokenize(request);
    if (!response.ok()) return response.status();
    std::vector<std::vector<HttpToken>> out;
    for (const auto& tokens : response->tokens()) {
      std::vector<HttpToken>& list = out.emplace_back();
      for (int i = 0; i < tokens.ids_size(); ++i) {
        list.push_back({tokens.ids(i), i < tokens.texts_size() ? tokens.texts(i) : "",
                        i < tokens.special_size() && tokens.special(i)});
      }
    }
    return out;
  };
  api.decode =
      [engine](const HttpDecodeCall& call) -> absl::StatusOr<std::vector<std::string>> {
    auto eng = Loaded(engine);
    if (!eng.ok()) return eng.status();
    return (*eng)->Decode(call.ids, call.skip_special_tokens);
  };
  api.info = [engine, shared]() -> absl::StatusOr<HttpInfo> {
    auto eng = Loaded(engine);
    if (!eng.ok()) return eng.status();
    const v1::InfoResponse info = (*eng)->Info();
    HttpInfo out;
    out.model_id = info.model_id();
    out.dtype = info.dtype();
    out.pooling = info.default_pooling();
    out.max_input_length = info.max_input_tokens();
    out.max_batch_tokens = info.max_batch_tokens();
    out.max_batch_requests = info.max_batch_requests();
    out.max_client_batch_size = shared->max_inputs_per_request;
    out.version = info.version();
    return out;
  };
  api.healthy = [serving] { return serving->load(); };
  return api;
}

}  // namespace llm2vec
