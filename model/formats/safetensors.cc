#include "model/formats/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/atomic_dir.h"
#include "common/folder_reader.h"
#include "common/mapped_file.h"

namespace llm2vec {
int SafetensorsDtypeSize(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" ||
      dtype == "F8_E5M2") {
    return 1;
  }
  return 0;
}

absl::StatusOr<std::unique_ptr<SafetensorsArchive>> SafetensorsArchive::OpenFile(
    const std::string& path) {
  std::unique_ptr<SafetensorsArchive> archive(new SafetensorsArchive());
  if (auto s = archive->AddFile(path); !s.ok()) return s;
  archive->description_ = path;
  return archive;
}

absl::StatusOr<std::unique_ptr<SafetensorsArchive>> SafetensorsArchive::OpenFolder(
    const std::string& dir, const std::string& stem) {
  return OpenFolder(*FolderReader::AtPath(dir), stem);
}

absl::StatusOr<std::unique_ptr<SafetensorsArchive>> SafetensorsArchive::OpenFolder(
    const FolderReader& folder, const std::string& stem) {
  const std::string single = stem + ".safetensors";
  if (folder.HasFile(single)) {
    auto file = folder.MapFile(single);
    if (!file.ok()) return file.status();
    std::unique_ptr<SafetensorsArchive> archive(new SafetensorsArchive());
    if (auto s = archive->AddMapped(std::move(*file)); !s.ok()) return s;
    archive->description_ = folder.FilePath(single);
    return archive;
  }
  const std::string index_name = stem + ".safetensors.index.json";
  const std::string index_path = folder.FilePath(index_name);
  if (!folder.HasFile(index_name)) {
    return absl::NotFoundError(absl::StrCat(folder.path(), ": neither ", stem, ".safetensors nor ",
                                            stem, ".safetensors.index.json exists"));
  }
  auto text = folder.ReadFile(index_name);
  if (!text.ok()) return text.status();
  nlohmann::json index = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") ||
      !index["weight_map"].is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(index_path, ": not valid JSON with a \"weight_map\" object"));
  }
  std::set<std::string> shards;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string() || shard.get<std::string>().find('/') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path, ": weight_map entry for '", name, "' is not a shard file name"));
    }
    shards.insert(shard.get<std::string>());
  }
  std::unique_ptr<SafetensorsArchive> archive(new SafetensorsArchive());
  std::vector<std::string> paths;
  for (const std::string& shard : shards) {
    paths.push_back(folder.FilePath(shard));
    auto file = folder.MapFile(shard);
    if (!file.ok()) return file.status();
    if (auto s = archive->AddMapped(std::move(*file)); !s.ok()) return s;
  }
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (archive->Find(name) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          index_path, ": tensor '", name, "' is listed in ", shard.get<std::string>(),
          " but that shard does not hold it"));
    }
  }
  archive->description_ = absl::StrJoin(paths, ", ");
  return archive;
}

absl::StatusOr<std::unique_ptr<SafetensorsArchive>> SafetensorsArchive::FromBytes(
    std::string bytes, const std::string& name) {
  std::unique_ptr<SafetensorsArchive> archive(new SafetensorsArchive());
  archive->description_ = name;
  if (auto s = archive->AddMapped(MappedFile::FromBytes(std::move(bytes), name)); !s.ok()) {
    return s;
  }
  return archive;
}

absl::Status SafetensorsArchive::AddFile(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  return AddMapped(std::move(*mapped));
}

absl::Status SafetensorsArchive::AddMapped(std::unique_ptr<MappedFile> mapped_file) {
  const std::string path = mapped_file->path();
  const MappedFile& file = *mapped_file;
  if (file.size() < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": truncated safetensors file (", file.size(), " bytes)"));
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), 8);
  if (header_len > file.size() - 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": header length ", header_len, " runs past the end of the file (",
        file.size(), " bytes)"));
  }
  const char* header_begin = reinterpret_cast<const char*>(file.data() + 8);
  nlohmann::json header = nlohmann::json::parse(header_begin, header_begin + header_len,
                                                nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": header is not a JSON object"));
  }
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file.size() - data_start;
  for (const auto& item : header.items()) {
    // Named copies, not structured bindings: C++17 lambdas cannot capture
    // those (clang refuses; GCC allows it as an extension).
    const std::string& name = item.key();
    const nlohmann::json& entry = item.value();
    if (name == "__metadata__") continue;
    auto bad = [&](const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": tensor '", name, "': ", what));
    };
    if (!entry.is_object() || !entry.contains("dtype") || !entry["dtype"].is_string() ||
        !entry.contains("shape") || !entry["shape"].is_array() ||
        !entry.contains("data_offsets") || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2) {
      return bad("entry needs dtype, shape and data_offsets [begin, end]");
    }
    SafetensorsView view;
    view.name = name;
    view.dtype = entry["dtype"].get<std::string>();
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) return bad("shape holds a non-integer");
      const uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(INT64_MAX)) {
        return bad(absl::StrCat("dimension ", dim, " is too large"));
      }
      view.shape.push_back(static_cast<int64_t>(dim));
      overflow |= __builtin_mul_overflow(numel, dim, &numel);
    }
    const auto& off = entry["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      return bad("data_offsets are not integers");
    }
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      return bad(absl::StrCat("data_offsets [", begin, ", ", end, ") lie outside the ",
                              data_size, " data bytes; truncated file?"));
    }
    const int elem = SafetensorsDtypeSize(view.dtype);
    if (elem <= 0) {
      // Unknown to this reader: its size cannot be checked, so it is refused.
      return bad(absl::StrCat("dtype '", view.dtype, "' is not supported"));
    }
    uint64_t nbytes = 0;
    overflow |= __builtin_mul_overflow(numel, static_cast<uint64_t>(elem), &nbytes);
    if (overflow) return bad("shape's size overflows 64 bits");
    if (nbytes != end - begin) {
      return bad(absl::StrCat("shape and dtype ", view.dtype, " need ", nbytes,
                              " bytes but data_offsets span ", end - begin));
    }
    view.data = file.data() + data_start + begin;
    view.nbytes = end - begin;
    view.file = &file;
    view.offset = data_start + begin;
    if (tensors_.count(name) != 0) {
      return bad("appears in more than one shard");
    }
    tensors_[name] = std::move(view);
  }
  files_.push_back(std::move(mapped_file));
  return absl::OkStatus();
}

const SafetensorsView* SafetensorsArchive::Find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

absl::Status WriteSafetensors(const std::string& path,
                              const std::map<std::string, SafetensorsEntry>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.nbytes}}};
    offset += t.nbytes;
  }
  std::string head = header.dump();
  while ((8 + head.size()) % 8 != 0) head.push_back(' ');  // align data to 8 bytes
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(tmp, ": cannot create: ", std::strerror(errno)));
  }
  uint64_t len = head.size();
  bool ok = WriteAll(fd, absl::string_view(reinterpret_cast<const char*>(&len), 8)) &&
            WriteAll(fd, head);
  for (const auto& [name, t] : tensors) {
    ok = ok && WriteAll(fd, absl::string_view(static_cast<const char*>(t.data), t.nbytes));
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat(path, ": write failed: ", err));
  }
  return absl::OkStatus();
}

}  // namespace llm2vec
