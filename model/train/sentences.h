// Sentences from documents, for SimCSE's one-sentence-per-line data: the
// rule EVALUATION.md's data was made with, as committed code.
//
// A line is stripped of surrounding whitespace, then cut after every ".",
// "!" or "?" (optionally followed by one closing double quote, " or ”)
// that is followed by whitespace; the whitespace goes. Sentences of fewer than
// `min_words` words (runs of non-whitespace) are dropped. No other
// knowledge: "Mr. Smith" is cut after "Mr.", as the original script did.
//
// Threading: pure functions.
#ifndef LLM2VEC_MODEL_TRAIN_SENTENCES_H_
#define LLM2VEC_MODEL_TRAIN_SENTENCES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace llm2vec {

// The sentences of one line of a document, in order.
std::vector<std::string> SplitSentences(absl::string_view line, int min_words = 4);

// Words of `text`: runs of characters other than ASCII whitespace.
int64_t CountWordsIn(absl::string_view text);

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_TRAIN_SENTENCES_H_
