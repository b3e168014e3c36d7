// `llm2vec-train`: trains one LLM2Vec LoRA adapter without a server (MNTP,
// unsupervised SimCSE or supervised contrastive), for workstations and
// batch clusters. The output folder is a PEFT adapter that
// `llm2vec encode --model BASE [--adapter EARLIER]... --adapter OUTPUT` loads.
//
// Progress goes to stderr: one line updated in place on a terminal, a line
// every --log-every steps otherwise. Ctrl-C stops after the current step and
// writes a checkpoint to resume from.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/atomic_dir.h"
#include "common/cli_common.h"
#include "common/flags.h"
#include "model/nn/model_loader.h"
#include "model/nn/tensor_io.h"
#include "model/train/trainer.h"

namespace llm2vec {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

// Flags whose default depends on the objective are strings ("" = the
// objective's default) parsed here, so --help shows no misleading default.
absl::Status ParseInt(const std::string& flag, const std::string& text, int64_t min, int64_t* out) {
  if (text.empty()) return absl::OkStatus();
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v)) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": '", text, "' is not an integer"));
  }
  if (v < min) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", v, " must be >= ", min));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ParseDouble(const std::string& flag, const std::string& text, double* out) {
  if (text.empty()) return absl::OkStatus();
  double v = 0;
  if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": '", text, "' is not a number"));
  }
  *out = v;
  return absl::OkStatus();
}

std::string ProgressLine(const TrainProgress& p) {
  return absl::StrFormat("step %d/%d  loss %.4f  lr %.3g  %.0f tok/s  elapsed %s  ETA %s", p.step,
                         p.total_steps, p.loss, p.lr, p.tokens_per_second,
                         FormatDuration(p.elapsed_seconds), FormatDuration(p.eta_seconds));
}

// The model reference as adapter_config.json's base_model_name_or_path: an
// absolute path for local models, the hub id otherwise.
std::string BaseModelReference(const std::string& model) {
  std::error_code ec;
  if (fs::exists(model, ec)) return fs::absolute(model, ec).lexically_normal().string();
  return model;
}

int Run(int argc, char** argv) {
  FlagSet flags("llm2vec-train",
                "Trains an LLM2Vec LoRA adapter (see the method doc): MNTP on plain text (one\n"
                "document per line, packed), unsupervised SimCSE (one sentence per line), or\n"
                "supervised contrastive on JSON lines {\"query\",\"positive\",\"negative\",\n"
                "\"instruction\"}. Earlier adapters given with --adapter are merged first (SimCSE\n"
                "starts from base + MNTP). Writes a PEFT adapter folder to --output.",
                "LLM2VEC_TRAIN_");
  std::string objective_name, model, data, output, device = "cpu", dtype = "float32";
  std::vector<std::string> adapters;
  flags.String("objective", &objective_name, "NAME", "training objective", true);
  flags.Choices("objective", {"mntp", "simcse", "supervised"});
  flags.String("model", &model, "PATH_OR_ID",
               "base model: Hugging Face folder, .gguf file or hub id from the local cache", true);
  flags.List("adapter", &adapters, "DIR",
             "LoRA adapter folder merged into the base before training, in order");
  flags.String("data", &data, "FILE", "training data (text lines, or JSON lines for supervised)",
               true);
  flags.String("output", &output, "DIR", "adapter folder to write (replaced atomically)", true);
  int64_t steps = 1000, grad_accum = 1, seed = 42, rank = 16, checkpoint_every = 0,
          log_every = 10, threads = 0;
  std::string batch_size, max_length, lr, warmup, scale, attention_dropout;
  double mask_ratio = 0.2, alpha = 32, lora_dropout = 0.05, weight_decay = 0, max_grad_norm = 1.0;
  bool all_mask = false, gradient_checkpointing = false;
  std::string checkpoint_dir, resume;
  flags.Int("steps", &steps, "N", "optimizer steps", 1);
  flags.String("batch-size", &batch_size, "N",
               "examples per micro-batch [default: mntp 32, simcse 128, supervised 64]");
  flags.Int("grad-accum", &grad_accum, "N", "micro-batches per optimizer step", 1);
  flags.String("max-length", &max_length, "N",
               "tokens per sequence, BOS included [default: mntp 512, simcse 128, supervised 512]");
  flags.String("lr", &lr, "X", "peak learning rate [default: mntp 5e-5, simcse 3e-5, supervised 2e-4]");
  flags.String("warmup-steps", &warmup, "N",
               "linear warmup steps, then linear decay to 0 [default: supervised 300, else 0]");
  flags.Double("weight-decay", &weight_decay, "X", "AdamW weight decay");
  flags.Double("max-grad-norm", &max_grad_norm, "X", "gradient clipping norm (0 disables)");
  flags.Int("seed", &seed, "N", "seed of the LoRA init, dropout and masking", 0);
  flags.Double("mask-ratio", &mask_ratio, "X", "MNTP: share of tokens chosen as targets");
  flags.Bool("all-mask", &all_mask, "MNTP: replace every chosen token by the mask token (no 80/10/10)");
  flags.Int("rank", &rank, "N", "LoRA rank r", 1, 4096);
  flags.Double("alpha", &alpha, "X", "LoRA alpha (scale = alpha / r)");
  flags.Double("lora-dropout", &lora_dropout, "X", "dropout on the LoRA input in training");
  flags.String("attention-dropout", &attention_dropout, "X",
               "dropout on attention probabilities [default: simcse 0.3, else 0]");
  flags.String("scale", &scale, "X",
               "contrastive: cosine similarity multiplier [default: simcse 20, supervised 50]");
  flags.Bool("gradient-checkpointing", &gradient_checkpointing,
             "recompute each layer in backward instead of keeping its activations (far less "
             "memory for long sequences, ~1/3 more compute)");
  flags.Int("checkpoint-every", &checkpoint_every, "N", "write a checkpoint every N steps (0: never)", 0);
  flags.String("checkpoint-dir", &checkpoint_dir, "DIR",
               "where checkpoint-<step> folders go [default: <output>-checkpoints]");
  flags.String("resume", &resume, "DIR", "resume from a checkpoint folder (or its newest checkpoint-<step>)");
  flags.Int("log-every", &log_every, "N", "progress line every N steps when stderr is not a terminal", 1);
  flags.Int("threads", &threads, "N", "CPU threads (0 = all cores)", 0, 1024);
  flags.String("device", &device, "DEVICE", "cpu, cuda or cuda:N");
  flags.String("dtype", &dtype, "DTYPE", "compute dtype of the base weights (the adapter trains in float32)");
  flags.Choices("dtype", {"float32", "bfloat16", "float16"});
  if (auto s = flags.Parse(argc, argv); !s.ok()) return CliUsage(std::string(s.message()));
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }

  const Objective objective = *ParseObjective(objective_name);
  TrainerOptions options = TrainerOptions::Defaults(objective);
  options.data_path = data;
  options.steps = steps;
  options.grad_accum = grad_accum;
  options.seed = static_cast<uint64_t>(seed);
  options.weight_decay = weight_decay;
  options.max_grad_norm = max_grad_norm;
  options.mask.mask_ratio = mask_ratio;
  options.mask.all_mask = all_mask;
  options.lora.r = rank;
  options.lora.lora_alpha = alpha;
  options.lora.lora_dropout = lora_dropout;
  options.lora.base_model_name_or_path = BaseModelReference(model);
  options.checkpoint_every = checkpoint_every;
  options.gradient_checkpointing = gradient_checkpointing;
  options.num_threads = static_cast<int>(threads);
  for (absl::Status s : {ParseInt("batch-size", batch_size, 1, &options.batch_size),
                         ParseInt("max-length", max_length, 2, &options.max_length),
                         ParseDouble("lr", lr, &options.lr),
                         ParseInt("warmup-steps", warmup, 0, &options.warmup_steps),
                         ParseDouble("scale", scale, &options.scale),
                         ParseDouble("attention-dropout", attention_dropout, &options.attention_dropout)}) {
    if (!s.ok()) return CliUsage(std::string(s.message()));
  }
  // Options the trainer would refuse later, named by their flags now.
  if (!(options.lr > 0)) return CliUsage(absl::StrCat("--lr: ", options.lr, " must be positive"));
  if (!(mask_ratio > 0 && mask_ratio <= 1)) {
    return CliUsage(absl::StrCat("--mask-ratio: ", mask_ratio, " must be in (0, 1]"));
  }
  if (!(alpha > 0)) return CliUsage(absl::StrCat("--alpha: ", alpha, " must be positive"));
  if (!(lora_dropout >= 0 && lora_dropout < 1)) {
    return CliUsage(absl::StrCat("--lora-dropout: ", lora_dropout, " must be in [0, 1)"));
  }
  if (!(options.attention_dropout >= 0 && options.attention_dropout < 1)) {
    return CliUsage(absl::StrCat("--attention-dropout: ", options.attention_dropout, " must be in [0, 1)"));
  }
  if (!(options.scale > 0)) return CliUsage(absl::StrCat("--scale: ", options.scale, " must be positive"));
  if (!(weight_decay >= 0)) return CliUsage(absl::StrCat("--weight-decay: ", weight_decay, " must be >= 0"));
  {
    std::error_code ec;
    if (!fs::is_regular_file(data, ec)) return CliUsage(absl::StrCat("--data: '", data, "' is not a file"));
    // Never replace a folder that is not an adapter (e.g. --output $HOME).
    if (fs::exists(output, ec) &&
        !(fs::is_directory(output, ec) &&
          (fs::is_empty(output, ec) || fs::exists(fs::path(output) / "adapter_config.json", ec)))) {
      return CliUsage(absl::StrCat("--output: '", output,
                               "' exists and is not an adapter folder; refusing to replace it"));
    }
    // Fail now, not after training, when the output cannot be written.
    auto probe = MakeStagingDir(output);
    if (!probe.ok()) return CliFail(absl::StrCat("--output: ", probe.status().message()));
    RemoveTree(*probe).IgnoreError();
  }
  options.checkpoint_dir = checkpoint_dir.empty() ? output + "-checkpoints" : checkpoint_dir;

  LoadOptions load;
  load.device = device;
  load.dtype = dtype;
  load.merge_adapters = adapters;
  auto loaded = LoadModel(model, load);
  if (!loaded.ok()) return CliFail(absl::StrCat("--model: ", loaded.status().message()));
  std::cerr << "llm2vec-train: loaded " << loaded->path << " (" << loaded->format << ", "
            << loaded->transformer->config().architecture << ", " << dtype << " on " << device
            << ", " << adapters.size() << " adapter(s) merged) in " << loaded->load_seconds
            << " s\n";
  auto trainer = Trainer::Create(std::move(*loaded), options);
  if (!trainer.ok()) return CliUsage(std::string(trainer.status().message()));
  Trainer& t = **trainer;
  if (!resume.empty()) {
    auto dir = Trainer::LatestCheckpoint(resume);
    if (!dir.ok()) return CliFail(absl::StrCat("--resume: ", dir.status().message()));
    if (auto s = t.Resume(*dir); !s.ok()) return CliFail(absl::StrCat("--resume: ", s.message()));
    std::cerr << "llm2vec-train: resumed from " << *dir << " at step " << t.step() << "\n";
  }
  const TrainerOptions& o = t.options();
  std::cerr << absl::StrFormat(
      "llm2vec-train: %s, %d steps x %d x %d examples of <= %d tokens, lr %.3g (warmup %d), "
      "LoRA r=%d alpha=%g dropout=%g (%d parameters), seed %d\n",
      ObjectiveName(o.objective), o.steps, o.grad_accum, o.batch_size, o.max_length, o.lr,
      o.warmup_steps, o.lora.r, o.lora.lora_alpha, o.lora.lora_dropout, t.lora().num_parameters(),
      o.seed);

  ::signal(SIGINT, OnInterrupt);
  ::signal(SIGTERM, OnInterrupt);
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  const int64_t first_step = t.step();
  double last_loss = 0;
  auto on_step = [&](const TrainProgress& p) {
    last_loss = p.loss;
    const bool log = p.step == first_step + 1 || p.step == p.total_steps || p.step % log_every == 0 ||
                     !p.checkpoint.empty();
    if (tty) {
      std::cerr << "\r" << ProgressLine(p) << "\033[K" << std::flush;
      if (!p.checkpoint.empty()) std::cerr << "\n  checkpoint " << p.checkpoint << "\n";
    } else if (log) {
      std::cerr << ProgressLine(p) << (p.checkpoint.empty() ? "" : "  checkpoint " + p.checkpoint)
                << "\n";
    }
  };
  const auto start = std::chrono::steady_clock::now();
  absl::Status trained = t.Train(on_step, [] { return g_interrupted.load(); });
  if (tty) std::cerr << "\n";
  if (!trained.ok()) return CliFail(std::string(trained.message()));
  if (t.step() < o.steps) {
    const std::string dir = (fs::path(o.checkpoint_dir) / absl::StrCat("checkpoint-", t.step())).string();
    if (auto s = t.SaveCheckpoint(dir); !s.ok()) return CliFail(std::string(s.message()));
    std::cerr << "llm2vec-train: interrupted at step " << t.step() << "/" << o.steps
              << "; continue with --resume " << dir << "\n";
    return 130;
  }
  if (auto s = t.SaveAdapter(output); !s.ok()) return CliFail(std::string(s.message()));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << absl::StrFormat("llm2vec-train: wrote %s (step %d, last loss %.4f, %s)\n", output,
                               t.step(), last_loss, FormatDuration(seconds));
  return 0;
}

}  // namespace
}  // namespace llm2vec

int main(int argc, char** argv) {
  // Exit codes (cli_common.h): 1 the training failed (model, data,
  // checkpoint or disk errors), 2 the command line is wrong.
  llm2vec::SetCliProgramName("llm2vec-train");
  llm2vec::TuneHostMalloc();
  return llm2vec::Run(argc, argv);
}
