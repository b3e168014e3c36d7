#include "model/train/training_data.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <utility>

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
                                                             const std::string& name,
                                                             const LineShuffle& shuffle) {
  std::unique_ptr<LineReader> r(new LineReader());
  r->path_ = name.empty() ? path : name;
  r->open_path_ = path;
  r->shuffle_ = shuffle;
  r->in_.open(path, std::ios::binary);
  if (!r->in_) {
    return absl::NotFoundError(absl::StrCat("data file '", r->path_, "' cannot be opened"));
  }
  if (!shuffle.enabled) return r;
  if (shuffle.max_index_lines < 0 || shuffle.buffer_lines < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shuffle bounds: max_index_lines ", shuffle.max_index_lines, " must be >= 0 and ",
        "buffer_lines ", shuffle.buffer_lines, " >= 1"));
  }
  r->random_.open(path, std::ios::binary);
  if (!r->random_) {
    return absl::NotFoundError(absl::StrCat("data file '", r->path_, "' cannot be opened"));
  }
  // Index the lines, unless there are too many.
  r->mode_ = Mode::kExact;
  while (auto place = r->ReadSequential(nullptr)) {
    if (static_cast<int64_t>(r->index_.size()) >= shuffle.max_index_lines) {
      r->mode_ = Mode::kBuffer;
      r->index_.clear();
      r->index_.shrink_to_fit();
      break;
    }
    r->index_.push_back(*place);
  }
  r->in_.clear();
  r->in_.seekg(0);
  r->offset_ = 0;
  r->line_ = 0;
  return r;
}

std::optional<LineReader::Place> LineReader::ReadSequential(std::string* text) {
  std::string line;
  while (std::getline(in_, line)) {
    const Place place{offset_, line_ + 1};
    offset_ += line.size() + (in_.eof() ? 0 : 1);
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (IsBlank(line)) continue;
    if (text != nullptr) *text = std::move(line);
    return place;
  }
  return std::nullopt;
}

absl::StatusOr<std::string> LineReader::ReadAt(const Place& place) {
  random_.clear();
  random_.seekg(static_cast<std::streamoff>(place.offset));
  std::string line;
  if (!random_ || !std::getline(random_, line)) {
    return absl::DataLossError(absl::StrCat("data file '", path_, "': line ", place.line,
                                            " (byte ", place.offset,
                                            ") cannot be read; was the file changed?"));
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

uint64_t LineReader::Uniform(uint64_t n, int64_t* draws) const {
  // Draw k of an epoch: SplitMix64's finaliser of a counter keyed by the
  // seed and the epoch, so that any epoch's sequence follows from
  // (seed, epoch) and a count. Values below 2^64 mod n are redrawn: no
  // modulo bias.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t z = shuffle_.seed * 0x9E3779B97F4A7C15ull +
                 static_cast<uint64_t>(epoch_) * 0xD1B54A32D192ED03ull +
                 static_cast<uint64_t>((*draws)++) * 0x8CB92BA72F3D8DD7ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    if (z >= threshold) return z % n;
  }
}

void LineReader::BuildOrder() {
  // Fisher-Yates with this epoch's draws.
  order_.resize(index_.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<uint32_t>(i);
  int64_t draws = 0;
  for (size_t i = order_.size(); i > 1; --i) {
    std::swap(order_[i - 1], order_[Uniform(i, &draws)]);
  }
  order_epoch_ = epoch_;
}

absl::StatusOr<std::string> LineReader::Next() {
  switch (mode_) {
    case Mode::kFileOrder: return NextFileOrder();
    case Mode::kExact: return NextExact();
    case Mode::kBuffer: return NextBuffered();
  }
  return absl::InternalError("unknown line order");
}

absl::StatusOr<std::string> LineReader::NextFileOrder() {
  // A pass that starts at the top and finds no text means there is none.
  bool pass_from_top = offset_ == 0;
  std::string line;
  while (true) {
    auto place = ReadSequential(&line);
    if (!place) {
      if (pass_from_top) {
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
    last_line_ = place->line;
    return line;
  }
}

absl::StatusOr<std::string> LineReader::NextExact() {
  if (index_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("data file '", path_, "' has no non-empty lines"));
  }
  if (next_ >= index_.size()) {
    ++epoch_;
    next_ = 0;
  }
  if (order_epoch_ != epoch_) BuildOrder();
  const Place& place = index_[order_[next_++]];
  last_line_ = place.line;
  return ReadAt(place);
}

absl::StatusOr<std::string> LineReader::NextBuffered() {
  const size_t capacity = static_cast<size_t>(shuffle_.buffer_lines);
  if (buffer_.empty()) {
    if (seq_done_) {
      // The epoch is over: the next one reads the file again.
      ++epoch_;
      draws_ = 0;
      in_.clear();
      in_.seekg(0);
      offset_ = 0;
      line_ = 0;
      seq_done_ = false;
    }
    while (buffer_.size() < capacity) {
      auto place = ReadSequential(nullptr);
      if (!place) {
        seq_done_ = true;
        break;
      }
      buffer_.push_back(*place);
    }
    if (buffer_.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("data file '", path_, "' has no non-empty lines"));
    }
  }
  const size_t j = Uniform(buffer_.size(), &draws_);
  const Place place = buffer_[j];
  std::optional<Place> refill = seq_done_ ? std::nullopt : ReadSequential(nullptr);
  if (refill) {
    buffer_[j] = *refill;
  } else {
    seq_done_ = true;
    buffer_[j] = buffer_.back();
    buffer_.pop_back();
  }
  last_line_ = place.line;
  return ReadAt(place);
}

std::string LineReader::order() const {
  switch (mode_) {
    case Mode::kFileOrder: return "file order";
    case Mode::kExact:
      return absl::StrCat("an exact shuffle of ", index_.size(), " lines per epoch (seed ",
                          shuffle_.seed, ")");
    case Mode::kBuffer:
      return absl::StrCat("a shuffle buffer of ", shuffle_.buffer_lines,
                          " lines (the file has over ", shuffle_.max_index_lines,
                          " lines; seed ", shuffle_.seed, ")");
  }
  return "";
}

const char* LineReader::order_kind() const {
  switch (mode_) {
    case Mode::kFileOrder: return "file";
    case Mode::kExact: return "exact";
    case Mode::kBuffer: return "buffer";
  }
  return "";
}

DataPosition LineReader::position() const {
  DataPosition p;
  p.epoch = epoch_;
  switch (mode_) {
    case Mode::kFileOrder:
      p.offset = offset_;
      p.line = line_;
      break;
    case Mode::kExact:
      p.line = static_cast<int64_t>(next_);
      break;
    case Mode::kBuffer:
      p.offset = offset_;
      p.line = line_;
      p.draws = draws_;
      for (const Place& place : buffer_) {
        p.buffer.push_back(place.offset);
        p.buffer.push_back(static_cast<uint64_t>(place.line));
      }
      // A file read to its end with the buffer still holding lines.
      if (seq_done_) p.buffer.push_back(UINT64_MAX);
      break;
  }
  return p;
}

absl::Status LineReader::Seek(const DataPosition& position) {
  const auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat("data file '", path_, "': cannot continue from the saved position: ", what));
  };
  epoch_ = position.epoch;
  if (mode_ == Mode::kExact) {
    if (position.line < 0 || static_cast<size_t>(position.line) > index_.size()) {
      return bad(absl::StrCat("line ", position.line, " of an epoch of ", index_.size(),
                              " lines"));
    }
    next_ = static_cast<size_t>(position.line);
    order_epoch_ = -1;
    return absl::OkStatus();
  }
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(position.offset));
  if (!in_) return bad(absl::StrCat("byte ", position.offset));
  offset_ = position.offset;
  line_ = position.line;
  if (mode_ == Mode::kBuffer) {
    draws_ = position.draws;
    std::vector<uint64_t> saved = position.buffer;
    seq_done_ = !saved.empty() && saved.back() == UINT64_MAX;
    if (seq_done_) saved.pop_back();
    if (saved.size() % 2 != 0) return bad("the buffer is not (offset, line) pairs");
    buffer_.clear();
    for (size_t i = 0; i < saved.size(); i += 2) {
      buffer_.push_back({saved[i], static_cast<int64_t>(saved[i + 1])});
    }
  }
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
                                                                 const std::string& name,
                                                                 const LineShuffle& shuffle) {
  auto lines = LineReader::Open(path, name, shuffle);
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
