#include "server/service/adapter_registry.h"

#include <cctype>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace llm2vec {

absl::Status AdapterRegistry::CheckNewName(const std::string& name) const {
  if (!ValidAdapterName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "adapter name '", name, "' must be 1-128 characters of letters, digits, '-', '_', '.'"));
  }
  absl::MutexLock lock(&mu_);
  if (adapters_.count(name) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("adapter '", name, "' is already loaded"));
  }
  return CheckRoomLocked();
}

absl::Status AdapterRegistry::CheckRoomLocked() const {
  if (static_cast<int64_t>(adapters_.size()) < max_adapters_) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      adapters_.size(), " adapters are loaded, the server's limit (--max-adapters); unload one "
      "first"));
}

absl::Status AdapterRegistry::Insert(const std::string& name,
                                     std::shared_ptr<const Backend::Adapter> weights,
                                     const std::string& path) {
  if (absl::Status s = CheckNewName(name); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  // Checked again under the lock: another insert may have won the name or
  // the last place.
  if (absl::Status s = CheckRoomLocked(); !s.ok()) return s;
  if (!adapters_.emplace(name, Entry{std::move(weights), path}).second) {
    return absl::AlreadyExistsError(absl::StrCat("adapter '", name, "' is already loaded"));
  }
  return absl::OkStatus();
}

absl::Status AdapterRegistry::Remove(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (adapters_.erase(name) == 0) {
    return absl::NotFoundError(absl::StrCat("adapter '", name, "' is not loaded"));
  }
  return absl::OkStatus();
}

std::shared_ptr<const Backend::Adapter> AdapterRegistry::Find(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = adapters_.find(name);
  return it == adapters_.end() ? nullptr : it->second.weights;
}

absl::Status AdapterRegistry::CheckLoaded(const std::string& name) const {
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    if (adapters_.count(name) != 0) return absl::OkStatus();
    for (const auto& [n, entry] : adapters_) names.push_back(n);
  }
  return absl::NotFoundError(absl::StrCat("adapter '", name, "' is not loaded (loaded: ",
                                          names.empty() ? "none" : absl::StrJoin(names, ", "),
                                          ")"));
}

absl::StatusOr<std::string> AdapterRegistry::Path(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = adapters_.find(name);
  if (it == adapters_.end()) {
    return absl::NotFoundError(absl::StrCat("adapter '", name, "' is not loaded"));
  }
  return it->second.path;
}

std::vector<std::string> AdapterRegistry::Names() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, entry] : adapters_) names.push_back(name);
  return names;
}

int64_t AdapterRegistry::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(adapters_.size());
}

}  // namespace llm2vec
