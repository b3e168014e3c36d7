// Training data streamed from disk, never loaded whole:
//   - LineReader: the non-empty lines of a text file, epoch after epoch, in
//     file order or shuffled (LineShuffle); its position can be saved and
//     restored, mid-epoch, bit for bit.
//   - MntpPacker: MNTP sequences: the token stream of consecutive lines
//     (no special tokens) cut into sequences of max_length tokens with the
//     template's BOS first, a line continuing in the next sequence as the
//     reference's `group_texts` does.
//   - TripleReader: supervised triples, one JSON object per line:
//     {"query": ..., "positive": ..., "negative": ..., "instruction": ...}
//     ("instruction" optional).
// SimCSE reads sentences with a LineReader: one line = one sentence. The
// trainer shuffles SimCSE's and the supervised lines, as the reference's
// Trainer draws its batches (MNTP's packed sequences still come in file
// order).
//
// Threading: not thread-safe; used by the thread that trains.
#ifndef LLM2VEC_MODEL_TRAIN_TRAINING_DATA_H_
#define LLM2VEC_MODEL_TRAIN_TRAINING_DATA_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/tokenizer/tokenizer.h"

namespace llm2vec {

// Where a reader stands in its file (checkpoints store it).
struct DataPosition {
  uint64_t offset = 0;  // byte offset of the next line to read
  int64_t line = 0;     // 0-based number of that line (an exact shuffle:
                        // how many of this epoch's lines were read)
  int64_t epoch = 0;    // completed passes over the file
  // MNTP only: tokens of the last line not yet placed in a sequence.
  std::vector<int32_t> pending;
  // A shuffle buffer: the draws of this epoch's generator so far, and the
  // lines in the buffer (byte offset, line number, ...).
  int64_t draws = 0;
  std::vector<uint64_t> buffer;
};

// How a LineReader orders the lines of an epoch.
struct LineShuffle {
  // False: file order.
  bool enabled = false;
  // Every epoch's order follows from (seed, epoch) alone.
  uint64_t seed = 0;
  // Up to this many non-empty lines: an exact permutation per epoch, through
  // an index of the lines (20 bytes a line, built by reading the file once
  // at open). More lines: a shuffle buffer of `buffer_lines` lines, each
  // read drawing one uniformly from the buffer and refilling its place
  // from the file (lines far apart in the file stay apart in time).
  int64_t max_index_lines = int64_t{1} << 22;
  int64_t buffer_lines = int64_t{1} << 16;
};

class LineReader {
 public:
  // NotFound when `path` cannot be opened.
  // `name` stands for the file in messages (default: `path`).
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(const std::string& path,
                                                          const std::string& name = "",
                                                          const LineShuffle& shuffle = {});

  // The next line that is not empty or all whitespace (without its line
  // end), in this epoch's order, starting a new epoch after the last line.
  // InvalidArgument when the file holds no such line.
  absl::StatusOr<std::string> Next();

  // 1-based number of the line Next() returned last (for error messages).
  int64_t last_line_number() const { return last_line_; }
  const std::string& path() const { return path_; }
  // "file order", "an exact shuffle of N lines per epoch (seed S)" or "a
  // shuffle buffer of N lines (the file has over M lines; seed S)".
  std::string order() const;
  // "file", "exact" or "buffer" (checkpoints record it).
  const char* order_kind() const;

  DataPosition position() const;
  // Continues from `position` (pending is ignored), as saved by a reader of
  // the same order kind on the same file.
  absl::Status Seek(const DataPosition& position);

  // Implementation details follow.
 private:
  enum class Mode { kFileOrder, kExact, kBuffer };
  // A non-empty line's place: byte offset and 1-based line number.
  struct Place {
    uint64_t offset = 0;
    int64_t line = 0;
  };

  LineReader() = default;
  // The next non-empty line's place in file order from offset_, without
  // wrapping; nullopt at the end of the file. `text` (may be null) gets the
  // line.
  std::optional<Place> ReadSequential(std::string* text);
  // The line at `place` (read through random_).
  absl::StatusOr<std::string> ReadAt(const Place& place);
  // A uniform draw from [0, n) of this epoch's generator.
  uint64_t Uniform(uint64_t n, int64_t* draws) const;
  // order_ for epoch_.
  void BuildOrder();
  absl::StatusOr<std::string> NextFileOrder();
  absl::StatusOr<std::string> NextExact();
  absl::StatusOr<std::string> NextBuffered();

  std::string path_;
  std::string open_path_;
  std::ifstream in_;
  // Shuffled modes read the chosen lines through this one.
  std::ifstream random_;
  Mode mode_ = Mode::kFileOrder;
  LineShuffle shuffle_;
  uint64_t offset_ = 0;
  int64_t line_ = 0;
  int64_t epoch_ = 0;
  int64_t last_line_ = 0;
  // Exact shuffle: every non-empty line, this epoch's order, how many read.
  std::vector<Place> index_;
  std::vector<uint32_t> order_;
  int64_t order_epoch_ = -1;
  size_t next_ = 0;
  // Shuffle buffer.
  std::vector<Place> buffer_;
  int64_t draws_ = 0;
  bool seq_done_ = false;  // the file's lines are all in or through the buffer
};

class MntpPacker {
 public:
  // `max_length` >= 2: tokens per sequence, BOS included.
  static absl::StatusOr<std::unique_ptr<MntpPacker>> Open(const std::string& path,
                                                          const Tokenizer& tokenizer,
                                                          int64_t max_length,
                                                          const std::string& name = "");

  // The next sequence: BOS (when the tokenizer's template adds one) then
  // max_length - 1 tokens of text.
  absl::StatusOr<std::vector<int32_t>> Next();

  DataPosition position() const;
  absl::Status Seek(const DataPosition& position);

  // Implementation details follow.
 private:
  MntpPacker() = default;

  std::unique_ptr<LineReader> lines_;
  const Tokenizer* tokenizer_ = nullptr;
  int64_t max_length_ = 0;
  std::vector<int32_t> prefix_;   // BOS, or nothing
  std::vector<int32_t> pending_;  // text tokens read but not yet used
};

struct Triple {
  std::string query;
  std::string positive;
  std::string negative;
  std::string instruction;  // "" when none
};

class TripleReader {
 public:
  static absl::StatusOr<std::unique_ptr<TripleReader>> Open(const std::string& path,
                                                            const std::string& name = "",
                                                            const LineShuffle& shuffle = {});

  // The next triple; InvalidArgument naming the file and line when a line
  // is not a JSON object with string fields query, positive and negative.
  absl::StatusOr<Triple> Next();

  DataPosition position() const { return lines_->position(); }
  absl::Status Seek(const DataPosition& position) { return lines_->Seek(position); }
  std::string order() const { return lines_->order(); }
  const char* order_kind() const { return lines_->order_kind(); }

  // Implementation details follow.
 private:
  TripleReader() = default;
  std::unique_ptr<LineReader> lines_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_TRAINING_DATA_H_
