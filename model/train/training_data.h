// Training data streamed from disk, never loaded whole:
//   - LineReader: the non-empty lines of a text file, cycling through the
//     file (epoch after epoch); its position can be saved and restored.
//   - MntpPacker: MNTP sequences: the token stream of consecutive lines
//     (no special tokens) cut into sequences of max_length tokens with the
//     template's BOS first, a line continuing in the next sequence as the
//     reference's `group_texts` does.
//   - TripleReader: supervised triples, one JSON object per line:
//     {"query": ..., "positive": ..., "negative": ..., "instruction": ...}
//     ("instruction" optional).
// SimCSE reads sentences with a LineReader: one line = one sentence.
//
// Threading: not thread-safe; used by the thread that trains.
#ifndef LLM2VEC_MODEL_TRAIN_TRAINING_DATA_H_
#define LLM2VEC_MODEL_TRAIN_TRAINING_DATA_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/tokenizer/tokenizer.h"

namespace llm2vec {

// Where a reader stands in its file (checkpoints store it).
struct DataPosition {
  uint64_t offset = 0;  // byte offset of the next line to read
  int64_t line = 0;     // 0-based number of that line
  int64_t epoch = 0;    // completed passes over the file
  // MNTP only: tokens of the last line not yet placed in a sequence.
  std::vector<int32_t> pending;
};

class LineReader {
 public:
  // NotFound when `path` cannot be opened.
  // `name` stands for the file in messages (default: `path`).
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(const std::string& path,
                                                          const std::string& name = "");

  // The next line that is not empty or all whitespace (without its line
  // end), starting again at the top after the last line. InvalidArgument
  // when the file holds no such line.
  absl::StatusOr<std::string> Next();

  // 1-based number of the line Next() returned last (for error messages).
  int64_t last_line_number() const { return last_line_; }
  const std::string& path() const { return path_; }

  DataPosition position() const;
  // Continues from `position` (offset, line, epoch; pending is ignored).
  absl::Status Seek(const DataPosition& position);

  // Implementation details follow.
 private:
  LineReader() = default;

  std::string path_;
  std::ifstream in_;
  uint64_t offset_ = 0;
  int64_t line_ = 0;
  int64_t epoch_ = 0;
  int64_t last_line_ = 0;
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
                                                            const std::string& name = "");

  // The next triple; InvalidArgument naming the file and line when a line
  // is not a JSON object with string fields query, positive and negative.
  absl::StatusOr<Triple> Next();

  DataPosition position() const { return lines_->position(); }
  absl::Status Seek(const DataPosition& position) { return lines_->Seek(position); }

  // Implementation details follow.
 private:
  TripleReader() = default;
  std::unique_ptr<LineReader> lines_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_TRAINING_DATA_H_
