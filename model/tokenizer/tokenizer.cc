// Tokenizer::FromFile (picks the loader from the file's content) and
// FindSpecialTokenFrame.
#include "model/tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/mapped_file.h"
#include "model/formats/gguf.h"

namespace llm2vec {
namespace {

// True when the file starts with the GGUF magic.
absl::StatusOr<bool> HasGgufMagic(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat(path, ": cannot open tokenizer file"));
  char magic[4] = {};
  const size_t n = std::fread(magic, 1, sizeof(magic), f);
  std::fclose(f);
  return n == 4 && magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F';
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::string& path) {
  // A model folder: its tokenizer.json.
  if (IsDirectory(path)) return FromJsonFile(path + "/tokenizer.json");
  auto gguf = HasGgufMagic(path);
  if (!gguf.ok()) return gguf.status();
  if (!*gguf) return FromJsonFile(path);
  auto file = GgufFile::Open(path);
  if (!file.ok()) return file.status();
  auto vocab = ReadGgufVocab(**file);
  if (!vocab.ok()) return vocab.status();
  auto tokenizer = FromGgufVocab(*vocab);
  if (!tokenizer.ok())
    return absl::Status(tokenizer.status().code(), absl::StrCat(path, ": ", tokenizer.status().message()));
  return tokenizer;
}

SpecialTokenFrame FindSpecialTokenFrame(const Tokenizer& tokenizer) {
  const std::vector<int32_t> plain = tokenizer.Encode("a", /*add_special_tokens=*/false);
  const std::vector<int32_t> framed = tokenizer.Encode("a", /*add_special_tokens=*/true);
  SpecialTokenFrame frame;
  const auto at = plain.empty() ? framed.end()
                                : std::search(framed.begin(), framed.end(), plain.begin(), plain.end());
  if (at != framed.end()) {
    frame.before.assign(framed.begin(), at);
    frame.after.assign(at + static_cast<std::ptrdiff_t>(plain.size()), framed.end());
    return frame;
  }
  auto first_text = framed.begin();
  while (first_text != framed.end() && tokenizer.IsSpecial(*first_text)) ++first_text;
  auto end_text = framed.end();
  while (end_text != first_text && tokenizer.IsSpecial(*(end_text - 1))) --end_text;
  frame.before.assign(framed.begin(), first_text);
  frame.after.assign(end_text, framed.end());
  return frame;
}

}  // namespace llm2vec
