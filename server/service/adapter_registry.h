// The named LoRA adapters the engine serves unmerged: name -> weights (on
// the device, opaque here) and the folder they came from.
//
// Threading: thread-safe (one internal mutex). RPC threads check names;
// the device worker inserts, removes and looks up weights for a batch. A
// batch keeps its adapter's weights alive (shared_ptr) even if the adapter
// is removed while the batch runs.
#ifndef LLM2VEC_SERVER_SERVICE_ADAPTER_REGISTRY_H_
#define LLM2VEC_SERVER_SERVICE_ADAPTER_REGISTRY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "model/formats/adapter_config.h"
#include "server/service/backend.h"

namespace llm2vec {


class AdapterRegistry {
 public:
  // At most `max_adapters` loaded at once (each holds device memory).
  explicit AdapterRegistry(int64_t max_adapters) : max_adapters_(max_adapters) {}

  // InvalidArgument for a name ValidAdapterName refuses; AlreadyExists
  // when the name is taken; ResourceExhausted when max_adapters are loaded.
  absl::Status CheckNewName(const std::string& name) const;
  // As CheckNewName, then adds.
  absl::Status Insert(const std::string& name, std::shared_ptr<const Backend::Adapter> weights,
                      const std::string& path);
  // NotFound when no adapter has that name.
  absl::Status Remove(const std::string& name);

  // The weights, or null when `name` is not loaded.
  std::shared_ptr<const Backend::Adapter> Find(const std::string& name) const;
  // NotFound naming the loaded adapters when `name` is not one of them.
  absl::Status CheckLoaded(const std::string& name) const;
  // The folder `name` was loaded from (NotFound when none).
  absl::StatusOr<std::string> Path(const std::string& name) const;
  // Sorted.
  std::vector<std::string> Names() const;
  int64_t size() const;

  // Implementation details follow.
 private:
  struct Entry {
    std::shared_ptr<const Backend::Adapter> weights;
    std::string path;
  };
  absl::Status CheckRoomLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t max_adapters_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> adapters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace llm2vec

#endif  // LLM2VEC_SERVER_SERVICE_ADAPTER_REGISTRY_H_
