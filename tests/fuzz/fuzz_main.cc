// The driver of the fuzz targets in builds without libFuzzer (GCC, the
// sanitizer build): every file of the corpus folders goes through the
// target, then mutations of them (seeded, so a run repeats exactly) for
// --seconds. ctest runs each target so for a few seconds; the long runs use
// the libFuzzer build (-DLLM2VEC_FUZZ=ON, tests/fuzz/run_fuzzers.sh).
//
//   fuzz_gguf [--seconds S] [--seed N] CORPUS_DIR...
//
// A crash writes the input to ./crash-<target>.bin before the process dies.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));
// Optional, as in libFuzzer: one-time setup before the first input.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace {

// The input being run, for the crash handlers (async-signal-safe writes).
const std::string* g_current = nullptr;
char g_crash_path[256] = "crash.bin";

void WriteCurrentInput() {
  if (g_current == nullptr) return;
  const int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  (void)!::write(fd, g_current->data(), g_current->size());
  ::close(fd);
  const char note[] = "fuzz: the crashing input is in ";
  (void)!::write(2, note, sizeof(note) - 1);
  (void)!::write(2, g_crash_path, std::strlen(g_crash_path));
  (void)!::write(2, "\n", 1);
}

void OnFatalSignal(int sig) {
  WriteCurrentInput();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void Run(const std::string& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  g_current = nullptr;
}

// One of libFuzzer's kinds of mutation, chosen at random.
void Mutate(std::string* s, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  auto below = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  static const uint64_t kInteresting[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff,
                                          0xffffffff, 0x7fffffffffffffffull, ~0ull};
  switch (rng() % 9) {
    case 0:  // flip a bit
      if (!s->empty()) (*s)[below(s->size())] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:  // a random byte
      if (!s->empty()) (*s)[below(s->size())] = static_cast<char>(rng());
      break;
    case 2: {  // insert random bytes
      std::string bytes(1 + below(16), '\0');
      for (char& c : bytes) c = static_cast<char>(rng());
      s->insert(below(s->size() + 1), bytes);
      break;
    }
    case 3:  // erase a range
      if (!s->empty()) {
        const size_t at = below(s->size());
        s->erase(at, 1 + below(std::min<size_t>(64, s->size() - at)));
      }
      break;
    case 4:  // duplicate a range
      if (!s->empty()) {
        const size_t at = below(s->size());
        const std::string part = s->substr(at, 1 + below(64));
        s->insert(below(s->size() + 1), part);
      }
      break;
    case 5: {  // an interesting integer, 1, 2, 4 or 8 bytes, at a random place
      const uint64_t v = kInteresting[below(sizeof(kInteresting) / sizeof(kInteresting[0]))];
      const size_t width = size_t{1} << below(4);
      if (s->size() >= width) std::memcpy(&(*s)[below(s->size() - width + 1)], &v, width);
      break;
    }
    case 6:  // splice with another corpus entry
      if (!corpus.empty()) {
        const std::string& other = corpus[below(corpus.size())];
        *s = s->substr(0, below(s->size() + 1)) + other.substr(below(other.size() + 1));
      }
      break;
    case 7:  // truncate
      s->resize(below(s->size() + 1));
      break;
    default: {  // a JSON-ish or digit token
      static const char* kTokens[] = {"{", "}", "[", "]", "\"", ":", ",", "null", "-1", "1e309",
                                      "99999999999999999999", "\\u0000", "\xff", "\xc3"};
      s->insert(below(s->size() + 1), kTokens[below(sizeof(kTokens) / sizeof(kTokens[0]))]);
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  uint64_t seed = 1;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      dirs.push_back(arg);
    }
  }
  const char* base = std::strrchr(argv[0], '/');
  std::snprintf(g_crash_path, sizeof(g_crash_path), "crash-%s.bin", base ? base + 1 : argv[0]);
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) ::signal(sig, OnFatalSignal);
  if (__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(WriteCurrentInput);
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);

  std::vector<std::string> corpus;
  for (const std::string& dir : dirs) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      std::fprintf(stderr, "fuzz: cannot open corpus folder %s\n", dir.c_str());
      return 2;
    }
    while (const dirent* e = ::readdir(d)) {
      const std::string path = dir + "/" + e->d_name;
      struct stat st;
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 22)) {
        continue;
      }
      std::ifstream in(path, std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      corpus.push_back(bytes.str());
    }
    ::closedir(d);
  }
  for (const std::string& input : corpus) Run(input);

  std::mt19937_64 rng(seed);
  const auto stop = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < stop) {
    std::string input = corpus.empty() ? std::string() : corpus[rng() % corpus.size()];
    for (int m = 1 + static_cast<int>(rng() % 4); m > 0; --m) Mutate(&input, corpus, rng);
    Run(input);
    ++runs;
  }
  std::printf("%s: %zu corpus inputs and %llu mutations (seed %llu) in %.1f s: no crash\n",
              base ? base + 1 : argv[0], corpus.size(), static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(seed), seconds);
  return 0;
}
