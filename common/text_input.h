// Reading texts for the command line tools: one text per line, or JSON
// lines {"text": "...", "instruction": "..."} (texts may then contain
// newlines).
#ifndef LLM2VEC_COMMON_TEXT_INPUT_H_
#define LLM2VEC_COMMON_TEXT_INPUT_H_

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace llm2vec {

struct TextRecord {
  std::string text;
  std::string instruction;
};

// Reads all records from `in`. Plain lines lose their "\n" (and a "\r"
// before it); a final line without newline counts. JSON-lines errors name
// the line number of `source`.
absl::StatusOr<std::vector<TextRecord>> ReadTextRecords(std::istream& in, bool jsonl,
                                                        const std::string& source);

// Whether `path` names a JSON-lines file (ends in .jsonl).
bool IsJsonlPath(const std::string& path);

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_TEXT_INPUT_H_
