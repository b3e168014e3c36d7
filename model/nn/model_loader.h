// Loads a model and its tokenizer from a Hugging Face folder, a GGUF file,
// a hub id in the local cache, or a PEFT adapter folder (whose
// `base_model_name_or_path` is loaded and the adapter merged into it).
//
// Weights are read through memory maps and copied tensor by tensor into the
// compute dtype, releasing each mapped range after its copy, so peak memory
// stays near the weight bytes at the compute dtype.
#ifndef LLM2VEC_MODEL_NN_MODEL_LOADER_H_
#define LLM2VEC_MODEL_NN_MODEL_LOADER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/nn/transformer.h"
#include "model/tokenizer/tokenizer.h"

namespace llm2vec {

struct LoadOptions {
  // "cpu", "cuda" or "cuda:N".
  std::string device = "cpu";
  // "float32", "bfloat16" or "float16".
  std::string dtype = "float32";
  // LoRA adapter folders merged into the weights, in order, after any
  // adapter the model reference itself names.
  std::vector<std::string> merge_adapters;
  // Weights to share instead of reading them (e.g. a training job on the
  // served model): they must be this model's, loaded with these options and
  // adapters already merged; only the tokenizer and metadata are read, and
  // nothing is merged (merging would change the shared tensors). The new
  // Transformer holds its own references to the tensors.
  const Transformer* shared_weights = nullptr;
};

struct LoadedModel {
  std::unique_ptr<Transformer> transformer;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string path;    // resolved local path of the base model
  std::string format;  // "gguf" or "safetensors"
  // Folders holding llm2vec_config.json candidates, most specific first
  // (the adapters, then the model).
  std::vector<std::string> config_dirs;
  double load_seconds = 0;
};

absl::StatusOr<LoadedModel> LoadModel(const std::string& path_or_id, const LoadOptions& options);

// The HF name of a GGUF tensor name ("blk.3.attn_q.weight" ->
// "model.layers.3.self_attn.q_proj.weight"); "" when unknown.
std::string HfNameOfGgufTensor(const std::string& gguf_name);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_NN_MODEL_LOADER_H_
