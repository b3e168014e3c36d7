#include "model/formats/gguf.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace llm2vec {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint64_t kDefaultAlignment = 32;
// Guards against absurd counts in a corrupt header before we allocate.
constexpr uint64_t kMaxCount = uint64_t{1} << 28;

enum GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6,
  kBool = 7, kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

// Bounds-checked little-endian cursor over the mapped header.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, size_t size)
      : path_(path), data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T>
  absl::Status Read(T* out, const char* what) {
    if (size_ - pos_ < sizeof(T)) return Truncated(what);
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return absl::OkStatus();
  }

  absl::Status ReadString(std::string* out, const char* what) {
    uint64_t len = 0;
    if (auto s = Read(&len, what); !s.ok()) return s;
    if (len > size_ - pos_) {
      return absl::InvalidArgumentError(absl::StrCat(
          path_, ": ", what, " has length ", len, " past the end of the file (",
          size_ - pos_, " bytes left at offset ", pos_, ")"));
    }
    out->assign(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return absl::OkStatus();
  }

  absl::Status Truncated(const char* what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": truncated GGUF header: cannot read ", what, " at offset ", pos_,
        " (file has ", size_, " bytes)"));
  }

 private:
  const std::string& path_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

absl::Status ReadValue(Cursor& c, uint32_t type, GgufValue* v, const std::string& key,
                       const std::string& path, int depth);

template <typename T>
absl::Status ReadScalar(Cursor& c, T* out, const std::string& key) {
  return c.Read(out, "metadata value");
}

absl::Status ReadValue(Cursor& c, uint32_t type, GgufValue* v, const std::string& key,
                       const std::string& path, int depth) {
  using K = GgufValue::Kind;
  switch (type) {
#define LLM2VEC_GGUF_INT(TYPE, CTYPE, KIND, FIELD)        \
  case TYPE: {                                            \
    CTYPE x{};                                            \
    if (auto s = ReadScalar(c, &x, key); !s.ok()) return s; \
    v->kind = KIND;                                       \
    v->FIELD = x;                                         \
    v->u = static_cast<uint64_t>(x);                      \
    v->i = static_cast<int64_t>(x);                       \
    return absl::OkStatus();                              \
  }
    LLM2VEC_GGUF_INT(kU8, uint8_t, K::kUint, u)
    LLM2VEC_GGUF_INT(kI8, int8_t, K::kInt, i)
    LLM2VEC_GGUF_INT(kU16, uint16_t, K::kUint, u)
    LLM2VEC_GGUF_INT(kI16, int16_t, K::kInt, i)
    LLM2VEC_GGUF_INT(kU32, uint32_t, K::kUint, u)
    LLM2VEC_GGUF_INT(kI32, int32_t, K::kInt, i)
    LLM2VEC_GGUF_INT(kU64, uint64_t, K::kUint, u)
    LLM2VEC_GGUF_INT(kI64, int64_t, K::kInt, i)
#undef LLM2VEC_GGUF_INT
    case kF32: {
      float x = 0;
      if (auto s = ReadScalar(c, &x, key); !s.ok()) return s;
      v->kind = K::kFloat;
      v->f = x;
      return absl::OkStatus();
    }
    case kF64: {
      double x = 0;
      if (auto s = ReadScalar(c, &x, key); !s.ok()) return s;
      v->kind = K::kFloat;
      v->f = x;
      return absl::OkStatus();
    }
    case kBool: {
      uint8_t x = 0;
      if (auto s = ReadScalar(c, &x, key); !s.ok()) return s;
      v->kind = K::kBool;
      v->b = x != 0;
      return absl::OkStatus();
    }
    case kString:
      v->kind = K::kString;
      return c.ReadString(&v->s, "metadata string");
    case kArray: {
      if (depth > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": metadata key '", key, "' has nested arrays"));
      }
      uint32_t elem_type = 0;
      uint64_t n = 0;
      if (auto s = c.Read(&elem_type, "array element type"); !s.ok()) return s;
      if (auto s = c.Read(&n, "array length"); !s.ok()) return s;
      // Every element takes at least one byte of the file: a count the
      // bytes left cannot hold is refused before anything is allocated.
      if (n > kMaxCount || n > c.remaining()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": metadata key '", key, "' claims ", n,
                         " array elements; only ", c.remaining(), " bytes follow"));
      }
      v->kind = K::kArray;
      v->array.resize(n);
      for (uint64_t k = 0; k < n; ++k) {
        if (auto s = ReadValue(c, elem_type, &v->array[k], key, path, depth + 1); !s.ok()) {
          return s;
        }
      }
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": metadata key '", key, "' has unknown value type ", type));
  }
}

// Bytes per element of the dense types we read; 0 for block-quantized ones.
uint64_t DenseTypeSize(uint32_t type) {
  switch (type) {
    case 0: return 4;   // F32
    case 1: return 2;   // F16
    case 30: return 2;  // BF16
    case 24: return 1;  // I8
    case 25: return 2;  // I16
    case 26: return 4;  // I32
    case 27: return 8;  // I64
    case 28: return 8;  // F64
    default: return 0;
  }
}

}  // namespace

std::string GgmlTypeName(uint32_t type) {
  static const char* const kNames[] = {
      "F32",     "F16",    "Q4_0",  "Q4_1",   "Q4_2",   "Q4_3",  "Q5_0",  "Q5_1",
      "Q8_0",    "Q8_1",   "Q2_K",  "Q3_K",   "Q4_K",   "Q5_K",  "Q6_K",  "Q8_K",
      "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS",
      "I8",      "I16",    "I32",   "I64",    "F64",    "IQ1_M", "BF16",  "Q4_0_4_4",
      "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0"};
  if (type < sizeof(kNames) / sizeof(kNames[0])) return kNames[type];
  return absl::StrCat("type#", type);
}

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  file->file_ = std::move(*mapped);
  if (auto s = file->Parse(); !s.ok()) return s;
  return file;
}

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::FromBytes(std::string bytes,
                                                              const std::string& name) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = name;
  file->file_ = MappedFile::FromBytes(std::move(bytes), name);
  if (auto s = file->Parse(); !s.ok()) return s;
  return file;
}

absl::Status GgufFile::Parse() {
  Cursor c(path_, file_->data(), file_->size());
  uint32_t magic = 0;
  if (auto s = c.Read(&magic, "magic"); !s.ok()) return s;
  if (magic != kGgufMagic) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": not a GGUF file (bad magic)"));
  }
  if (auto s = c.Read(&version_, "version"); !s.ok()) return s;
  if (version_ != 2 && version_ != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": GGUF version ", version_, " is not supported (supported: 2, 3)"));
  }
  uint64_t n_tensors = 0, n_kv = 0;
  if (auto s = c.Read(&n_tensors, "tensor count"); !s.ok()) return s;
  if (auto s = c.Read(&n_kv, "metadata count"); !s.ok()) return s;
  // A metadata entry takes at least 13 bytes (key length, type, a value
  // byte) and a tensor entry at least 32 (name length, rank, one dim, type,
  // offset): counts the file cannot hold are refused before allocating.
  if (n_tensors > kMaxCount || n_kv > kMaxCount) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": implausible counts in header: ", n_tensors, " tensors, ", n_kv, " keys"));
  }
  if (n_kv > c.remaining() / 13 || n_tensors > c.remaining() / 32 ||
      n_kv * 13 + n_tensors * 32 > c.remaining()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": the header lists ", n_tensors, " tensors and ", n_kv,
        " keys, more than the ", c.remaining(), " bytes that follow can hold (truncated file?)"));
  }
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key;
    uint32_t type = 0;
    if (auto s = c.ReadString(&key, "metadata key"); !s.ok()) return s;
    if (auto s = c.Read(&type, "metadata type"); !s.ok()) return s;
    GgufValue value;
    if (auto s = ReadValue(c, type, &value, key, path_, 0); !s.ok()) return s;
    metadata_[key] = std::move(value);
  }
  struct Raw {
    uint64_t offset;
  };
  std::vector<Raw> raw(n_tensors);
  tensors_.resize(n_tensors);
  for (uint64_t t = 0; t < n_tensors; ++t) {
    GgufTensorInfo& info = tensors_[t];
    uint32_t n_dims = 0;
    if (auto s = c.ReadString(&info.name, "tensor name"); !s.ok()) return s;
    if (auto s = c.Read(&n_dims, "tensor rank"); !s.ok()) return s;
    if (n_dims == 0 || n_dims > 4) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": tensor '", info.name, "' has rank ", n_dims));
    }
    info.ne.resize(n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = 0;
      if (auto s = c.Read(&ne, "tensor dim"); !s.ok()) return s;
      if (ne == 0 || ne > (uint64_t{1} << 40)) {
        return absl::InvalidArgumentError(
            absl::StrCat(path_, ": tensor '", info.name, "' has dimension ", ne));
      }
      info.ne[d] = static_cast<int64_t>(ne);
    }
    if (auto s = c.Read(&info.type, "tensor type"); !s.ok()) return s;
    if (auto s = c.Read(&raw[t].offset, "tensor offset"); !s.ok()) return s;
    tensor_index_[info.name] = t;
  }
  uint64_t alignment = kDefaultAlignment;
  if (const GgufValue* a = Find("general.alignment"); a != nullptr) {
    if (a->kind != GgufValue::Kind::kUint || a->u == 0 || (a->u & (a->u - 1)) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": general.alignment must be a power of two"));
    }
    alignment = a->u;
  }
  const uint64_t data_start = (c.pos() + alignment - 1) / alignment * alignment;
  for (uint64_t t = 0; t < n_tensors; ++t) {
    GgufTensorInfo& info = tensors_[t];
    const uint64_t elem = DenseTypeSize(info.type);
    if (elem == 0) continue;  // quantized: size checked by whoever reads it (it refuses)
    // Overflow-checked: dims up to 2^40 each multiply past 2^64.
    uint64_t n = 1;
    bool overflow = false;
    for (int64_t ne : info.ne) overflow |= __builtin_mul_overflow(n, static_cast<uint64_t>(ne), &n);
    overflow |= __builtin_mul_overflow(n, elem, &info.nbytes);
    uint64_t begin = 0;
    overflow |= __builtin_add_overflow(data_start, raw[t].offset, &begin);
    if (overflow) {
      return absl::InvalidArgumentError(absl::StrCat(
          path_, ": tensor '", info.name, "' has a size or offset that overflows 64 bits"));
    }
    if (begin > file_->size() || info.nbytes > file_->size() - begin) {
      return absl::InvalidArgumentError(absl::StrCat(
          path_, ": tensor '", info.name, "' data [", begin, ", ", begin + info.nbytes,
          ") lies past the end of the file (", file_->size(), " bytes); truncated file?"));
    }
    info.data = file_->data() + begin;
  }
  return absl::OkStatus();
}

void GgufFile::ReleaseTensorPages(const GgufTensorInfo& tensor) const {
  if (tensor.data != nullptr) {
    file_->DontNeed(static_cast<size_t>(tensor.data - file_->data()), tensor.nbytes);
  }
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
absl::Status Missing(const std::string& path, const std::string& key) {
  return absl::NotFoundError(absl::StrCat(path, ": metadata key '", key, "' is missing"));
}
absl::Status WrongType(const std::string& path, const std::string& key, const char* want) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": metadata key '", key, "' is not ", want));
}
}  // namespace

absl::StatusOr<std::string> GgufFile::GetString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (v->kind != GgufValue::Kind::kString) return WrongType(path_, key, "a string");
  return v->s;
}

absl::StatusOr<int64_t> GgufFile::GetInt(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (v->kind == GgufValue::Kind::kUint) return static_cast<int64_t>(v->u);
  if (v->kind == GgufValue::Kind::kInt) return v->i;
  return WrongType(path_, key, "an integer");
}

absl::StatusOr<double> GgufFile::GetFloat(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (v->kind == GgufValue::Kind::kFloat) return v->f;
  if (v->kind == GgufValue::Kind::kUint) return static_cast<double>(v->u);
  if (v->kind == GgufValue::Kind::kInt) return static_cast<double>(v->i);
  return WrongType(path_, key, "a number");
}

absl::StatusOr<bool> GgufFile::GetBool(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(path_, key);
  if (v->kind != GgufValue::Kind::kBool) return WrongType(path_, key, "a bool");
  return v->b;
}

absl::StatusOr<int64_t> GgufFile::GetIntOr(const std::string& key, int64_t fallback) const {
  return Find(key) == nullptr ? absl::StatusOr<int64_t>(fallback) : GetInt(key);
}
absl::StatusOr<double> GgufFile::GetFloatOr(const std::string& key, double fallback) const {
  return Find(key) == nullptr ? absl::StatusOr<double>(fallback) : GetFloat(key);
}
absl::StatusOr<bool> GgufFile::GetBoolOr(const std::string& key, bool fallback) const {
  return Find(key) == nullptr ? absl::StatusOr<bool>(fallback) : GetBool(key);
}

absl::StatusOr<GgufVocab> ReadGgufVocab(const GgufFile& file) {
  GgufVocab vocab;
  auto model = file.GetString("tokenizer.ggml.model");
  if (!model.ok()) return model.status();
  vocab.model = *model;
  if (vocab.model != "llama" && vocab.model != "gpt2") {
    return absl::InvalidArgumentError(absl::StrCat(
        file.path(), ": tokenizer.ggml.model '", vocab.model,
        "' is not supported (supported: llama, gpt2)"));
  }
  if (const GgufValue* pre = file.Find("tokenizer.ggml.pre");
      pre != nullptr && pre->kind == GgufValue::Kind::kString) {
    vocab.pre = pre->s;
  } else {
    vocab.pre = "default";
  }
  const GgufValue* tokens = file.Find("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->kind != GgufValue::Kind::kArray) {
    return absl::InvalidArgumentError(
        absl::StrCat(file.path(), ": tokenizer.ggml.tokens is missing or not an array"));
  }
  vocab.tokens.reserve(tokens->array.size());
  for (const GgufValue& t : tokens->array) {
    if (t.kind != GgufValue::Kind::kString) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.path(), ": tokenizer.ggml.tokens holds a non-string"));
    }
    vocab.tokens.push_back(t.s);
  }
  const size_t n = vocab.tokens.size();
  if (const GgufValue* scores = file.Find("tokenizer.ggml.scores"); scores != nullptr) {
    if (scores->kind != GgufValue::Kind::kArray || scores->array.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          file.path(), ": tokenizer.ggml.scores must be an array of ", n, " floats"));
    }
    for (const GgufValue& s : scores->array) vocab.scores.push_back(static_cast<float>(s.f));
  }
  if (const GgufValue* types = file.Find("tokenizer.ggml.token_type"); types != nullptr) {
    if (types->kind != GgufValue::Kind::kArray || types->array.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          file.path(), ": tokenizer.ggml.token_type must be an array of ", n, " integers"));
    }
    for (const GgufValue& t : types->array) vocab.token_types.push_back(static_cast<int32_t>(t.i));
  }
  if (const GgufValue* merges = file.Find("tokenizer.ggml.merges"); merges != nullptr) {
    if (merges->kind != GgufValue::Kind::kArray) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.path(), ": tokenizer.ggml.merges is not an array"));
    }
    for (const GgufValue& m : merges->array) vocab.merges.push_back(m.s);
  }
  auto id = [&](const char* key, int32_t fallback) -> absl::StatusOr<int32_t> {
    auto v = file.GetIntOr(key, fallback);
    if (!v.ok()) return v.status();
    // llama.cpp writes uint32 -1 (4294967295) for "no such token".
    if (*v == int64_t{0xFFFFFFFF}) return -1;
    if (*v >= static_cast<int64_t>(n) || *v < -1) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.path(), ": ", key, " = ", *v, " is outside the vocabulary of ", n));
    }
    return static_cast<int32_t>(*v);
  };
  const bool spm = vocab.model == "llama";
  // llama.cpp defaults: SPM has <unk>=0, <s>=1, </s>=2; BPE (gpt2) 11 / 11.
  auto bos = id("tokenizer.ggml.bos_token_id", spm ? 1 : 11);
  auto eos = id("tokenizer.ggml.eos_token_id", spm ? 2 : 11);
  auto unk = id("tokenizer.ggml.unknown_token_id", spm ? 0 : -1);
  auto pad = id("tokenizer.ggml.padding_token_id", -1);
  for (auto* s : {&bos, &eos, &unk, &pad}) {
    if (!s->ok()) return s->status();
  }
  vocab.bos_id = *bos;
  vocab.eos_id = *eos;
  vocab.unk_id = *unk;
  vocab.pad_id = *pad;
  auto add_bos = file.GetBoolOr("tokenizer.ggml.add_bos_token", spm);
  auto add_eos = file.GetBoolOr("tokenizer.ggml.add_eos_token", false);
  auto add_space = file.GetBoolOr("tokenizer.ggml.add_space_prefix", spm);
  for (auto* s : {&add_bos, &add_eos, &add_space}) {
    if (!s->ok()) return s->status();
  }
  vocab.add_bos = *add_bos;
  vocab.add_eos = *add_eos;
  vocab.add_space_prefix = *add_space;
  return vocab;
}

}  // namespace llm2vec
