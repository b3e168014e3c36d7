// llm2vec-server with a slow device, for end-to-end tests that need work to
// wait in the server's queue (overload, deadlines, cancellation, hang-ups,
// drain): every batch takes at least $LLM2VEC_TEST_BATCH_DELAY_MS. Built
// for the tests only; the production binary has no such switch.
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "model/nn/tensor_io.h"
#include "server/server_app.h"

namespace llm2vec {
namespace {

class SlowBackend final : public Backend {
 public:
  SlowBackend(std::unique_ptr<Backend> inner, absl::Duration delay)
      : inner_(std::move(inner)), delay_(delay) {}

  const Info& info() const override { return inner_->info(); }
  absl::StatusOr<PreparedInput> Prepare(const EncodeInput& input, int64_t max_tokens,
                                        Truncation truncation) const override {
    return inner_->Prepare(input, max_tokens, truncation);
  }
  std::vector<Token> Tokenize(const std::string& text, bool add_special_tokens) const override {
    return inner_->Tokenize(text, add_special_tokens);
  }
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids,
                                     bool skip_special_tokens) const override {
    return inner_->Decode(ids, skip_special_tokens);
  }
  absl::StatusOr<Batch> Embed(const std::vector<PreparedInput>& inputs, PoolingMode pooling,
                              const Adapter* adapter) override {
    const absl::Time start = absl::Now();
    auto batch = inner_->Embed(inputs, pooling, adapter);
    absl::SleepFor(delay_ - (absl::Now() - start));
    return batch;
  }
  absl::StatusOr<std::shared_ptr<const Adapter>> LoadAdapter(
      const FolderReader& folder) override {
    return inner_->LoadAdapter(folder);
  }
  std::optional<int64_t> DeviceMemoryInUse() const override { return inner_->DeviceMemoryInUse(); }

 private:
  std::unique_ptr<Backend> inner_;
  const absl::Duration delay_;
};

}  // namespace
}  // namespace llm2vec

int main(int argc, char** argv) {
  llm2vec::UsePassiveOpenMpWaits(argv);
  int64_t ms = 0;
  const char* env = std::getenv("LLM2VEC_TEST_BATCH_DELAY_MS");
  if (env != nullptr && !absl::SimpleAtoi(env, &ms)) ms = 0;
  llm2vec::ServerHooks hooks;
  hooks.wrap_backend = [ms](std::unique_ptr<llm2vec::Backend> backend) {
    return std::make_unique<llm2vec::SlowBackend>(std::move(backend), absl::Milliseconds(ms));
  };
  return llm2vec::RunServer(argc, argv, hooks);
}
