#include "model/train/training_data.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace llm2vec {
namespace {

bool IsBlank(const std::string& line) {
  for (char c : line) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path,
                                                             const std::string& name) {
  std::unique_ptr<LineReader> r(new LineReader());
  r->path_ = name.empty() ? path : name;
  r->in_.open(path, std::ios::binary);
  if (!r->in_) {
    return absl::NotFoundError(absl::StrCat("data file '", r->path_, "' cannot be opened"));
  }
  return r;
}

absl::StatusOr<std::string> LineReader::Next() {
  // A pass that starts at the top and finds no text means there is none.
  bool pass_from_top = offset_ == 0;
  bool found = false;
  std::string line;
  while (true) {
    if (!std::getline(in_, line)) {
      if (pass_from_top && !found) {
        return absl::InvalidArgumentError(
            absl::StrCat("data file '", path_, "' has no non-empty lines"));
      }
      ++epoch_;
      in_.clear();
      in_.seekg(0);
      offset_ = 0;
      line_ = 0;
      pass_from_top = true;
      continue;
    }
    offset_ += line.size() + (in_.eof() ? 0 : 1);
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (IsBlank(line)) continue;
    found = true;
    last_line_ = line_;
    return line;
  }
}

DataPosition LineReader::position() const {
  DataPosition p;
  p.offset = offset_;
  p.line = line_;
  p.epoch = epoch_;
  return p;
}

absl::Status LineReader::Seek(const DataPosition& position) {
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(position.offset));
  if (!in_) {
    return absl::InvalidArgumentError(
        absl::StrCat("data file '", path_, "' cannot seek to byte ", position.offset));
  }
  offset_ = position.offset;
  line_ = position.line;
  epoch_ = position.epoch;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MntpPacker>> MntpPacker::Open(const std::string& path,
                                                            const Tokenizer& tokenizer,
                                                            int64_t max_length,
                                                            const std::string& name) {
  if (max_length < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_length ", max_length, " is too small for MNTP (at least 2)"));
  }
  auto lines = LineReader::Open(path, name);
  if (!lines.ok()) return lines.status();
  std::unique_ptr<MntpPacker> p(new MntpPacker());
  p->lines_ = std::move(*lines);
  p->tokenizer_ = &tokenizer;
  p->max_length_ = max_length;
  // The template's leading special token (BOS for Llama), if any.
  std::vector<int32_t> probe = tokenizer.Encode("a", /*add_special_tokens=*/true);
  if (!probe.empty() && tokenizer.IsSpecial(probe.front())) p->prefix_ = {probe.front()};
  return p;
}

absl::StatusOr<std::vector<int32_t>> MntpPacker::Next() {
  const size_t text_len = static_cast<size_t>(max_length_) - prefix_.size();
  while (pending_.size() < text_len) {
    auto line = lines_->Next();
    if (!line.ok()) return line.status();
    std::vector<int32_t> ids = tokenizer_->Encode(*line, /*add_special_tokens=*/false);
    pending_.insert(pending_.end(), ids.begin(), ids.end());
  }
  std::vector<int32_t> seq = prefix_;
  seq.insert(seq.end(), pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(text_len));
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(text_len));
  return seq;
}

DataPosition MntpPacker::position() const {
  DataPosition p = lines_->position();
  p.pending = pending_;
  return p;
}

absl::Status MntpPacker::Seek(const DataPosition& position) {
  if (auto s = lines_->Seek(position); !s.ok()) return s;
  pending_ = position.pending;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TripleReader>> TripleReader::Open(const std::string& path,
                                                                 const std::string& name) {
  auto lines = LineReader::Open(path, name);
  if (!lines.ok()) return lines.status();
  std::unique_ptr<TripleReader> r(new TripleReader());
  r->lines_ = std::move(*lines);
  return r;
}

absl::StatusOr<Triple> TripleReader::Next() {
  auto line = lines_->Next();
  if (!line.ok()) return line.status();
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat(lines_->path(), " line ", lines_->last_line_number(), ": ", what));
  };
  nlohmann::json j = nlohmann::json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  Triple t;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"query", &t.query},
                          {"positive", &t.positive},
                          {"negative", &t.negative}}) {
    if (!j.contains(key) || !j[key].is_string()) {
      return bad(absl::StrCat("needs a string field \"", key, "\""));
    }
    *out = j[key].get<std::string>();
  }
  if (j.contains("instruction") && !j["instruction"].is_null()) {
    if (!j["instruction"].is_string()) return bad("\"instruction\" must be a string");
    t.instruction = j["instruction"].get<std::string>();
  }
  return t;
}

}  // namespace llm2vec
