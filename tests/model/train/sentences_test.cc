#include "model/train/sentences.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace llm2vec {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(SentencesTest, CutsAfterTerminatorsFollowedByWhitespace) {
  EXPECT_THAT(SplitSentences("Tom ran home. He was happy!  She smiled?", 1),
              ElementsAre("Tom ran home.", "He was happy!", "She smiled?"));
  // Several terminators end one sentence; the last sentence needs none.
  EXPECT_THAT(SplitSentences("Wow!! Really?! Yes", 1), ElementsAre("Wow!!", "Really?!", "Yes"));
  // No whitespace after the terminator: no cut.
  EXPECT_THAT(SplitSentences("He ate 3.5 apples.It was e.g.fine.", 1),
              ElementsAre("He ate 3.5 apples.It was e.g.fine."));
  // Tabs are whitespace too; the line's own ends are stripped.
  EXPECT_THAT(SplitSentences("  One.\tTwo.  ", 1), ElementsAre("One.", "Two."));
}

TEST(SentencesTest, AClosingDoubleQuoteStaysWithItsSentence) {
  EXPECT_THAT(SplitSentences("\"I am here.\" Mom said hello. \"Go!\" he said.", 1),
              ElementsAre("\"I am here.\"", "Mom said hello.", "\"Go!\"", "he said."));
  // The typographic closing quote ” (UTF-8).
  EXPECT_THAT(SplitSentences("\xe2\x80\x9cStop.\xe2\x80\x9d Then she left.", 1),
              ElementsAre("\xe2\x80\x9cStop.\xe2\x80\x9d", "Then she left."));
  // Single quotes close words too ("the dogs'"): not sentence ends.
  EXPECT_THAT(SplitSentences("'Go!' he said. \xe2\x80\x98Oh?\xe2\x80\x99 she asked.", 1),
              ElementsAre("'Go!' he said.", "\xe2\x80\x98Oh?\xe2\x80\x99 she asked."));
  // A quote that does not follow a terminator does not end a sentence.
  EXPECT_THAT(SplitSentences("He said \"yes\" and left.", 1),
              ElementsAre("He said \"yes\" and left."));
}

TEST(SentencesTest, ShortSentencesAreDroppedAndAbbreviationsAreNotKnown) {
  // Under 4 words (the default) goes.
  EXPECT_THAT(SplitSentences("Hi. The dog ran to the park. Yes it did. Yes it really did."),
              ElementsAre("The dog ran to the park.", "Yes it really did."));
  EXPECT_THAT(SplitSentences("Hi. Yes.", 4), IsEmpty());
  EXPECT_THAT(SplitSentences("", 1), IsEmpty());
  EXPECT_THAT(SplitSentences("   ", 1), IsEmpty());
  // As the original rule: an abbreviation ends a sentence.
  EXPECT_THAT(SplitSentences("Mr. Smith went home today.", 1),
              ElementsAre("Mr.", "Smith went home today."));
}

TEST(SentencesTest, WordsAreRunsOfNonWhitespace) {
  EXPECT_EQ(CountWordsIn(""), 0);
  EXPECT_EQ(CountWordsIn("  a  b\tc\n"), 3);
  EXPECT_EQ(CountWordsIn("don't stop-now"), 2);
}

}  // namespace
}  // namespace llm2vec
