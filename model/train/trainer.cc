#include "model/train/trainer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/atomic_dir.h"
#include "common/mapped_file.h"
#include "model/formats/safetensors.h"
#include "model/nn/tensor_io.h"
#include "model/train/hyperparameters.h"

namespace llm2vec {
namespace {

namespace fs = std::filesystem;

constexpr char kStateFile[] = "trainer_state.json";
constexpr char kOptimizerFile[] = "optimizer.safetensors";
constexpr char kCheckpointPrefix[] = "checkpoint-";

std::string HexOf(const at::Tensor& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  at::Tensor b = bytes.to(at::kCPU).contiguous();
  const uint8_t* p = b.data_ptr<uint8_t>();
  std::string out;
  out.reserve(static_cast<size_t>(b.numel()) * 2);
  for (int64_t i = 0; i < b.numel(); ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

std::optional<at::Tensor> BytesOfHex(const std::string& hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  at::Tensor t = at::empty({static_cast<int64_t>(hex.size() / 2)}, at::kByte);
  uint8_t* p = t.data_ptr<uint8_t>();
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    p[i / 2] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return t;
}

// The default generator of `device` (dropout draws from it).
at::Generator DefaultGenerator(at::Device device) {
  return at::globalContext().defaultGenerator(device.is_cpu() ? at::Device(at::kCPU) : device);
}

// -1 when `name` is not "checkpoint-<step>".
int64_t CheckpointStep(const std::string& name) {
  const std::string prefix = kCheckpointPrefix;
  if (name.compare(0, prefix.size(), prefix) != 0 || name.size() == prefix.size()) return -1;
  int64_t step = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

// checkpoint-<step> folders of `dir` holding a trainer state, by step.
std::map<int64_t, std::string> ListCheckpoints(const std::string& dir) {
  std::map<int64_t, std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const int64_t step = CheckpointStep(it->path().filename().string());
    if (step >= 0 && fs::exists(it->path() / kStateFile)) out[step] = it->path().string();
  }
  return out;
}

}  // namespace

Trainer::Trainer(TrainerOptions options, std::unique_ptr<Encoder> encoder)
    : options_(std::move(options)), encoder_(std::move(encoder)) {}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(LoadedModel model,
                                                         const TrainerOptions& options) {
  if (auto s = ValidateTrainerOptions(options); !s.ok()) return s;
  const TrainerOptions& o = options;
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (model.transformer == nullptr || model.tokenizer == nullptr) {
    return bad("training needs a loaded transformer and tokenizer");
  }
  auto base_config = Llm2VecConfigOf(model);
  if (!base_config.ok()) return base_config.status();
  try {
    Encoder::Options eo;
    eo.llm2vec.max_length = o.max_length;
    // Training inputs are cut by tokens (max_length) only, as the reference.
    eo.llm2vec.doc_max_length = std::numeric_limits<int64_t>::max();
    eo.num_threads = o.num_threads;
    TrainerOptions resolved = o;
    if (resolved.lora.base_model_name_or_path.empty()) {
      resolved.lora.base_model_name_or_path = model.path;
    }
    auto encoder = Encoder::Create(std::move(model), eo);
    if (!encoder.ok()) return encoder.status();
    std::unique_ptr<Trainer> t(new Trainer(std::move(resolved), std::move(*encoder)));
    t->base_config_ = *base_config;
    // Seed everything random: dropout (libtorch), masking, the LoRA init.
    at::manual_seed(o.seed);
    t->rng_.seed(o.seed);
    const Transformer& tr = t->encoder_->transformer();
    auto lora = TrainableLora::Create(tr, t->options_.lora, o.seed);
    if (!lora.ok()) return lora.status();
    t->lora_ = std::move(*lora);
    AdamW::Options ao;
    ao.weight_decay = o.weight_decay;
    t->optimizer_ = std::make_unique<AdamW>(t->lora_->parameters(), ao);
    const Tokenizer& tok = t->encoder_->tokenizer();
    t->pad_id_ = tok.pad_id() >= 0 ? tok.pad_id() : tok.eos_id() >= 0 ? tok.eos_id() : 0;
    if (o.objective == Objective::kMntp) {
      t->vocab_ = MaskingVocab::FromTokenizer(tok, tr.config().vocab_size);
      if (t->vocab_.mask_id < 0) {
        return absl::FailedPreconditionError(
            "the tokenizer has no \"<mask>\" and no token for \"_\" to mask with");
      }
    }
    if (auto s = t->OpenData(); !s.ok()) return s;
    t->run_start_ = std::chrono::steady_clock::now();
    return t;
  } catch (const std::exception& e) {
    return ExceptionStatus(e, "creating the trainer");
  }
}

LineShuffle Trainer::Shuffle() const {
  // As the reference's Trainer draws its batches: a new order every epoch,
  // from the job's seed.
  LineShuffle shuffle;
  shuffle.enabled = true;
  shuffle.seed = options_.seed;
  return shuffle;
}

std::string Trainer::data_order() const {
  if (packer_) return "MNTP sequences packed from the lines in file order";
  return sentences_ ? sentences_->order() : triples_->order();
}

const char* Trainer::DataOrderKind() const {
  if (packer_) return "file";
  return sentences_ ? sentences_->order_kind() : triples_->order_kind();
}

absl::Status Trainer::OpenData() {
  const std::string& name = DataName();
  switch (options_.objective) {
    case Objective::kMntp: {
      auto p = MntpPacker::Open(options_.data_path, tokenizer(), options_.max_length, name);
      if (!p.ok()) return p.status();
      packer_ = std::move(*p);
      break;
    }
    case Objective::kSimCse: {
      auto r = LineReader::Open(options_.data_path, name, Shuffle());
      if (!r.ok()) return r.status();
      sentences_ = std::move(*r);
      break;
    }
    case Objective::kSupervised: {
      auto r = TripleReader::Open(options_.data_path, name, Shuffle());
      if (!r.ok()) return r.status();
      triples_ = std::move(*r);
      break;
    }
  }
  return absl::OkStatus();
}

Llm2VecConfig Trainer::llm2vec_config() const {
  // How to use the adapter, not how it was trained: the base model's
  // lengths (the method's 512 / 400 by default; a SimCSE run's 128-token
  // training sequences must not cap the embeddings), mean pooling as
  // trained.
  Llm2VecConfig c = base_config_;
  c.pooling_mode = PoolingMode::kMean;
  return c;
}

double Trainer::LearningRate(int64_t step) const {
  const int64_t n = options_.steps, w = options_.warmup_steps;
  if (step < w) return options_.lr * static_cast<double>(step) / static_cast<double>(w);
  if (n <= w) return 0.0;
  return options_.lr * std::max(0.0, static_cast<double>(n - step) / static_cast<double>(n - w));
}

absl::StatusOr<TrainingBatch> Trainer::NextBatch() {
  try {
    const int64_t B = options_.batch_size;
    TrainingBatch batch;
    std::vector<std::vector<int32_t>> rows;
    std::vector<int64_t> pooled;
    switch (options_.objective) {
      case Objective::kMntp: {
        std::vector<std::vector<int32_t>> labels;
        for (int64_t b = 0; b < B; ++b) {
          auto seq = packer_->Next();
          if (!seq.ok()) return seq.status();
          MaskedSequence m = MaskSequence(*seq, vocab_, options_.mask, rng_);
          rows.push_back(std::move(m.ids));
          labels.push_back(std::move(m.labels));
          pooled.push_back(0);
        }
        batch.inputs = MakeTokenBatch(rows, pooled, pad_id_);
        // Labels padded with kIgnoreLabel, like the inputs.
        const int64_t T = batch.inputs.ids.size(1);
        std::vector<int64_t> flat(static_cast<size_t>(B * T), kIgnoreLabel);
        for (int64_t b = 0; b < B; ++b) {
          std::copy(labels[b].begin(), labels[b].end(), flat.begin() + b * T);
        }
        batch.labels = at::tensor(flat, at::kLong).view({B, T});
        batch.model_tokens = batch.inputs.tokens;
        break;
      }
      case Objective::kSimCse: {
        int64_t skipped = 0;  // lines in a row without text tokens
        while (static_cast<int64_t>(rows.size()) < B) {
          auto line = sentences_->Next();
          if (!line.ok()) return line.status();
          auto p = encoder_->Prepare({*line, ""}, options_.max_length, Encoder::Truncation::kEnd);
          if (!p.ok() || p->pooled <= 0) {  // e.g. only special-token text
            if (++skipped > 10000) {
              return absl::InvalidArgumentError(absl::StrCat(
                  DataName(), ": ", skipped, " lines in a row before line ",
                  sentences_->last_line_number(), " have no text tokens"));
            }
            continue;
          }
          skipped = 0;
          rows.push_back(std::move(p->ids));
          pooled.push_back(p->pooled);
        }
        batch.inputs = MakeTokenBatch(rows, pooled, pad_id_);
        batch.model_tokens = 2 * batch.inputs.tokens;
        break;
      }
      case Objective::kSupervised: {
        std::vector<std::vector<int32_t>> docs;
        std::vector<int64_t> doc_pooled;
        std::vector<std::vector<int32_t>> negs;
        std::vector<int64_t> neg_pooled;
        while (static_cast<int64_t>(rows.size()) < B) {
          auto t = triples_->Next();
          if (!t.ok()) return t.status();
          const Encoder::Truncation cut = Encoder::Truncation::kEnd;
          auto q = encoder_->Prepare({t->query, t->instruction}, options_.max_length, cut);
          auto pos = encoder_->Prepare({t->positive, ""}, options_.max_length, cut);
          auto neg = encoder_->Prepare({t->negative, ""}, options_.max_length, cut);
          for (const auto* p : {&q, &pos, &neg}) {
            if (!p->ok() || (*p)->pooled <= 0) {
              return absl::InvalidArgumentError(absl::StrCat(
                  DataName(), " line ", triples_->position().line,
                  ": query, positive and negative need text tokens",
                  p->ok() ? "" : absl::StrCat(" (", p->status().message(), ")")));
            }
          }
          rows.push_back(std::move(q->ids));
          pooled.push_back(q->pooled);
          docs.push_back(std::move(pos->ids));
          doc_pooled.push_back(pos->pooled);
          negs.push_back(std::move(neg->ids));
          neg_pooled.push_back(neg->pooled);
        }
        // Candidates: all positives, then all negatives.
        docs.insert(docs.end(), negs.begin(), negs.end());
        doc_pooled.insert(doc_pooled.end(), neg_pooled.begin(), neg_pooled.end());
        batch.inputs = MakeTokenBatch(rows, pooled, pad_id_);
        batch.documents = MakeTokenBatch(docs, doc_pooled, pad_id_);
        batch.model_tokens = batch.inputs.tokens + batch.documents.tokens;
        break;
      }
    }
    return batch;
  } catch (const std::exception& e) {
    return ExceptionStatus(e, "reading a training batch");
  }
}

at::Tensor Trainer::Loss(const TrainingBatch& batch, const ForwardOptions& forward) const {
  const Transformer& model = transformer();
  switch (options_.objective) {
    case Objective::kMntp:
      return ComputeMntpLoss(model, batch.inputs.ids, batch.inputs.lengths, batch.labels, forward)
          .loss;
    case Objective::kSimCse:
      return SimCseLoss(model, batch.inputs, forward, options_.scale);
    case Objective::kSupervised:
      return SupervisedContrastiveLoss(model, batch.inputs, batch.documents, forward,
                                       options_.scale);
  }
  return at::Tensor();
}

absl::StatusOr<double> Trainer::EvaluateLoss(const TrainingBatch& batch) {
  try {
    c10::NoGradGuard no_grad;
    LoraWeights view = lora_->ForwardView(transformer().dtype());
    ForwardOptions forward;
    forward.attention = AttentionMode::kBidirectional;
    forward.lora = &view;
    forward.train = false;
    return Loss(batch, forward).item<double>();
  } catch (const std::exception& e) {
    return ExceptionStatus(e, "evaluating the loss");
  }
}

absl::StatusOr<TrainProgress> Trainer::Step() {
  while (true) {
    auto done = MicroStep();
    if (!done.ok()) return done.status();
    if (done->has_value()) return **done;
  }
}

absl::StatusOr<std::optional<TrainProgress>> Trainer::MicroStep() {
  try {
    return MicroStepImpl();
  } catch (const std::exception& e) {
    DiscardStep();
    return ExceptionStatus(e, absl::StrCat("training step ", step_ + 1));
  }
}

absl::StatusOr<std::optional<TrainProgress>> Trainer::MicroStepImpl() {
  c10::AutoGradMode grad(true);
  if (step_ >= options_.steps) {
    return absl::FailedPreconditionError(
        absl::StrCat("training is done: step ", step_, " of ", options_.steps));
  }
  if (run_steps_ == 0 && micro_ == 0) {
    run_start_ = std::chrono::steady_clock::now();
    run_tokens_ = 0;
  }
  auto batch = NextBatch();
  if (!batch.ok()) {
    DiscardStep();
    return batch.status();
  }
  // A fresh view each micro-batch: casts (non-float32 models) must see the
  // current parameters.
  LoraWeights view = lora_->ForwardView(transformer().dtype());
  ForwardOptions forward;
  forward.attention = AttentionMode::kBidirectional;
  forward.lora = &view;
  forward.attention_dropout = options_.attention_dropout;
  forward.train = true;
  forward.checkpoint_layers = options_.gradient_checkpointing;
  at::Tensor loss = Loss(*batch, forward);
  (loss / static_cast<double>(options_.grad_accum)).backward();
  micro_loss_ += loss.item<double>();
  micro_tokens_ += batch->model_tokens;
  if (++micro_ < options_.grad_accum) return std::optional<TrainProgress>();

  TrainProgress p;
  p.lr = LearningRate(step_);
  p.tokens = micro_tokens_;
  p.loss = micro_loss_ / static_cast<double>(options_.grad_accum);
  p.grad_norm = ClipGradNorm(lora_->parameters(), options_.max_grad_norm);
  optimizer_->Step(p.lr);
  DiscardStep();  // applied: the next micro-batch starts a new step
  ++step_;
  ++run_steps_;
  run_tokens_ += p.tokens;
  p.step = step_;
  p.total_steps = options_.steps;
  p.elapsed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start_).count();
  if (p.elapsed_seconds > 0) {
    p.tokens_per_second = static_cast<double>(run_tokens_) / p.elapsed_seconds;
  }
  p.eta_seconds = p.elapsed_seconds / static_cast<double>(run_steps_) *
                  static_cast<double>(std::max<int64_t>(0, options_.steps - step_));
  if (options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0) {
    const std::string dir =
        (fs::path(options_.checkpoint_dir) / absl::StrCat(kCheckpointPrefix, step_)).string();
    if (auto s = SaveCheckpoint(dir); !s.ok()) return s;
    PruneCheckpoints();
    p.checkpoint = dir;
  }
  return std::optional<TrainProgress>(p);
}

void Trainer::DiscardStep() {
  optimizer_->ZeroGrad();
  micro_ = 0;
  micro_loss_ = 0;
  micro_tokens_ = 0;
}

absl::Status Trainer::Train(const ProgressCallback& on_step,
                            const std::function<bool()>& should_stop) {
  run_steps_ = 0;
  while (step_ < options_.steps) {
    if (should_stop && should_stop()) return absl::OkStatus();
    auto p = Step();
    if (!p.ok()) return p.status();
    if (on_step) on_step(*p);
  }
  return absl::OkStatus();
}

absl::Status Trainer::SaveAdapter(const std::string& dir) const {
  try {
    return lora_->Save(dir, llm2vec_config());
  } catch (const std::exception& e) {
    return ExceptionStatus(e, absl::StrCat("saving the adapter to ", dir));
  }
}

absl::Status Trainer::WriteCheckpointFiles(const std::string& dir) const {
  if (auto s = lora_->WriteFiles(dir, llm2vec_config()); !s.ok()) return s;
  // AdamW moments, named after their parameters.
  const AdamW::State& st = optimizer_->state();
  const std::vector<std::string>& names = lora_->parameter_names();
  std::vector<at::Tensor> host;
  std::map<std::string, SafetensorsEntry> entries;
  for (size_t i = 0; i < names.size(); ++i) {
    for (const auto& [suffix, t] : {std::pair<const char*, const at::Tensor*>{".exp_avg", &st.exp_avg[i]},
                                    {".exp_avg_sq", &st.exp_avg_sq[i]}}) {
      at::Tensor h = t->to(at::kCPU, at::kFloat).contiguous();
      host.push_back(h);
      entries[names[i] + suffix] = {"F32", h.sizes().vec(), h.data_ptr(),
                                    static_cast<uint64_t>(h.numel()) * sizeof(float)};
    }
  }
  if (auto s = WriteSafetensors(dir + "/" + kOptimizerFile, entries); !s.ok()) return s;
  nlohmann::ordered_json j;
  j["objective"] = ObjectiveName(options_.objective);
  j["step"] = step_;
  j["total_steps"] = options_.steps;
  j["lora_r"] = options_.lora.r;
  j["optimizer_steps"] = st.step;
  j["data_path"] = DataName();
  DataPosition pos = packer_     ? packer_->position()
                     : sentences_ ? sentences_->position()
                                  : triples_->position();
  j["data"] = {{"order", DataOrderKind()}, {"offset", pos.offset}, {"line", pos.line},
               {"epoch", pos.epoch},  {"pending", pos.pending},
               {"draws", pos.draws},  {"buffer", pos.buffer}};
  std::ostringstream rng;
  rng << rng_;
  j["mask_rng"] = rng.str();
  {
    at::Generator gen = DefaultGenerator(transformer().device());
    std::lock_guard<std::mutex> lock(gen.mutex());
    j["torch_rng"] = HexOf(gen.get_state());
  }
  return WriteFileSynced(dir + "/" + kStateFile, j.dump(2) + "\n");
}

absl::Status Trainer::SaveCheckpoint(const std::string& dir) const {
  try {
    auto staging = MakeStagingDir(dir);
    if (!staging.ok()) return staging.status();
    if (auto s = WriteCheckpointFiles(*staging); !s.ok()) {
      RemoveTree(*staging).IgnoreError();
      return s;
    }
    return CommitStagingDir(*staging, dir);
  } catch (const std::exception& e) {
    return ExceptionStatus(e, absl::StrCat("writing checkpoint ", dir));
  }
}

void Trainer::PruneCheckpoints() const {
  std::map<int64_t, std::string> all = ListCheckpoints(options_.checkpoint_dir);
  while (static_cast<int>(all.size()) > options_.keep_checkpoints) {
    RemoveTree(all.begin()->second).IgnoreError();
    all.erase(all.begin());
  }
}

std::vector<std::string> Trainer::Checkpoints(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& [step, path] : ListCheckpoints(dir)) out.insert(out.begin(), path);
  return out;
}

absl::StatusOr<std::string> Trainer::LatestCheckpoint(const std::string& dir) {
  if (fs::exists(fs::path(dir) / kStateFile)) return dir;
  std::map<int64_t, std::string> all = ListCheckpoints(dir);
  if (all.empty()) {
    return absl::NotFoundError(absl::StrCat("'", dir, "' is not a checkpoint and holds no ",
                                            kCheckpointPrefix, "<step> folder"));
  }
  return all.rbegin()->second;
}

absl::Status Trainer::Resume(const std::string& checkpoint_dir) {
  const std::string state_path = checkpoint_dir + "/" + kStateFile;
  auto text = ReadFileToString(state_path);
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(state_path, ": ", what));
  };
  if (j.is_discarded() || !j.is_object()) return bad("not valid JSON");
  try {
    if (j.value("objective", "") != ObjectiveName(options_.objective)) {
      return bad(absl::StrCat("checkpoint of objective '", j.value("objective", ""),
                              "' cannot resume a ", ObjectiveName(options_.objective), " run"));
    }
    if (!j.contains("step") || !j["step"].is_number_integer() || j["step"].get<int64_t>() < 0) {
      return bad("'step' must be a non-negative integer");
    }
    if (auto s = lora_->LoadFrom(checkpoint_dir, transformer().config()); !s.ok()) return s;
    // Optimizer moments.
    auto archive = SafetensorsArchive::OpenFile(checkpoint_dir + "/" + kOptimizerFile);
    if (!archive.ok()) return archive.status();
    const std::vector<std::string>& names = lora_->parameter_names();
    const at::Device device = transformer().device();
    AdamW::State st;
    for (const std::string& name : names) {
      for (const std::string& suffix : {std::string(".exp_avg"), std::string(".exp_avg_sq")}) {
        const SafetensorsView* v = (*archive)->Find(name + suffix);
        if (v == nullptr || v->dtype != "F32") {
          return bad(absl::StrCat(kOptimizerFile, " lacks F32 tensor ", name, suffix));
        }
        at::Tensor t = CopyToTensor(v->data, at::kFloat, v->shape, device, at::kFloat);
        (suffix == ".exp_avg" ? st.exp_avg : st.exp_avg_sq).push_back(t);
      }
    }
    if (!j.contains("optimizer_steps") || !j["optimizer_steps"].is_array()) {
      return bad("'optimizer_steps' is missing");
    }
    st.step = j["optimizer_steps"].get<std::vector<int64_t>>();
    if (auto s = optimizer_->LoadState(st); !s.ok()) return bad(std::string(s.message()));
    // Data position.
    if (!j.contains("data") || !j["data"].is_object()) return bad("'data' is missing");
    // Positions mean different things in file order and shuffled: a
    // checkpoint of one cannot continue the other.
    const std::string order = j["data"].value("order", "file");
    if (order != DataOrderKind()) {
      return bad(absl::StrCat("it read the data in '", order, "' order; this run reads in '",
                              DataOrderKind(), "' order (", data_order(), ")"));
    }
    DataPosition pos;
    pos.offset = j["data"].value("offset", uint64_t{0});
    pos.line = j["data"].value("line", int64_t{0});
    pos.epoch = j["data"].value("epoch", int64_t{0});
    pos.pending = j["data"].value("pending", std::vector<int32_t>());
    pos.draws = j["data"].value("draws", int64_t{0});
    pos.buffer = j["data"].value("buffer", std::vector<uint64_t>());
    absl::Status seek = packer_     ? packer_->Seek(pos)
                        : sentences_ ? sentences_->Seek(pos)
                                     : triples_->Seek(pos);
    if (!seek.ok()) return seek;
    // Generators.
    std::istringstream rng(j.value("mask_rng", ""));
    rng >> rng_;
    if (rng.fail()) return bad("'mask_rng' is not a generator state");
    auto bytes = BytesOfHex(j.value("torch_rng", ""));
    if (!bytes) return bad("'torch_rng' is not hex");
    {
      at::Generator gen = DefaultGenerator(device);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(*bytes);
    }
    step_ = j["step"].get<int64_t>();
    return absl::OkStatus();
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  } catch (const std::exception& e) {
    return ExceptionStatus(e, absl::StrCat("resuming from ", checkpoint_dir));
  }
}

}  // namespace llm2vec
