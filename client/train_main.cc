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
#include "model/train/hyperparameters.h"
#include "model/train/trainer.h"
#include "model/train/training_memory.h"

namespace llm2vec {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

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
  flags.String("data", &data, "FILE",
               "training data (text lines, or JSON lines for supervised). SimCSE and supervised "
               "lines are shuffled every epoch from --seed, as the reference's Trainer does: "
               "exactly (an index of the lines) up to 4194304 lines, beyond that through a "
               "shuffle buffer of 65536 lines; MNTP packs consecutive lines in file order. The "
               "order used is printed at start (and is a job event on the server)",
               true);
  flags.String("output", &output, "DIR", "adapter folder to write (replaced atomically)", true);
  int64_t log_every = 10, threads = 0;
  std::string checkpoint_dir, resume;
  HyperparameterFlags hyperparameters;
  hyperparameters.Register(flags);
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
  options.lora.base_model_name_or_path = BaseModelReference(model);
  options.num_threads = static_cast<int>(threads);
  auto given = hyperparameters.Given(flags);
  if (!given.ok()) return CliUsage(std::string(given.status().message()));
  for (const auto& [h, value] : *given) h->set(&options, value);
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
  const ModelConfig model_config = loaded->transformer->config();
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
      "LoRA r=%d alpha=%g dropout=%g (%d parameters), seed %d; estimated memory %s\n",
      ObjectiveName(o.objective), o.steps, o.grad_accum, o.batch_size, o.max_length, o.lr,
      o.warmup_steps, o.lora.r, o.lora.lora_alpha, o.lora.lora_dropout, t.lora().num_parameters(),
      o.seed, BytesText(EstimateTrainingBytes(o, model_config)));
  std::cerr << "llm2vec-train: data order: " << t.data_order() << "\n";

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
