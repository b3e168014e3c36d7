// ProgressBar (common/progress_bar.h) on a string stream, with a clock the
// tests move by hand: plain lines off a terminal, '\r' redraws on one.
#include "common/progress_bar.h"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>

namespace llm2vec {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ProgressBarTest : public ::testing::Test {
 protected:
  // Options drawing on `out_` with the fake clock; `terminal` as given.
  ProgressBar::Options Opts(bool terminal, std::string unit = "") {
    ProgressBar::Options options;
    options.unit = std::move(unit);
    options.terminal = terminal;
    options.now = [this] { return now_; };
    return options;
  }
  ProgressBar::Options BytesOpts(bool terminal) {
    ProgressBar::Options options = Opts(terminal);
    options.bytes = true;
    return options;
  }
  // The output since the last call.
  std::string Take() {
    std::string s = out_.str();
    out_.str("");
    return s;
  }

  std::ostringstream out_;
  ProgressBar::Clock::time_point now_{};
};

TEST_F(ProgressBarTest, PlainLinesAtMostEveryIntervalAndAFinalLine) {
  ProgressBar bar(&out_, "embedding", 1000, Opts(/*terminal=*/false, "texts"));
  bar.Advance(100);
  EXPECT_EQ(Take(), "");  // within the first 5 s
  now_ += seconds(5);
  bar.Advance(400);
  EXPECT_EQ(Take(), "embedding: 500 / 1000 texts (50%), 100 texts/s, eta 5 s\n");
  now_ += seconds(4);
  bar.Advance(300);
  EXPECT_EQ(Take(), "");  // 4 s since the last line
  now_ += seconds(1);
  bar.Finish();
  const std::string last = Take();
  EXPECT_EQ(last, "embedding: 1000 / 1000 texts (100%), 100 texts/s, done in 10.0 s\n");
  EXPECT_EQ(last.find('\r'), std::string::npos);
  EXPECT_EQ(last.find('\x1b'), std::string::npos);
}

TEST_F(ProgressBarTest, ShortWorkOffATerminalPrintsOnlyTheFinalLine) {
  ProgressBar bar(&out_, "embedding", 3, Opts(/*terminal=*/false, "texts"));
  now_ += milliseconds(500);
  bar.Advance(3);
  EXPECT_EQ(Take(), "");
  bar.Finish();
  EXPECT_EQ(Take(), "embedding: 3 / 3 texts (100%), 6 texts/s, done in 0.5 s\n");
}

TEST_F(ProgressBarTest, IntervalIsAnOption) {
  ProgressBar::Options options = Opts(/*terminal=*/false, "texts");
  options.line_interval = seconds(1);
  ProgressBar bar(&out_, "x", 10, std::move(options));
  now_ += seconds(1);
  bar.Advance(1);
  EXPECT_EQ(Take(), "x: 1 / 10 texts (10%), 1 texts/s, eta 9 s\n");
}

TEST_F(ProgressBarTest, BytesAreShownAsMegabytes) {
  ProgressBar bar(&out_, "model.safetensors", 3000000, BytesOpts(/*terminal=*/false));
  now_ += seconds(5);
  bar.Advance(1500000);
  EXPECT_EQ(Take(), "model.safetensors: 1.5 MB / 3.0 MB (50%), 0.3 MB/s, eta 5 s\n");
  now_ += seconds(5);
  bar.Advance(1500000);
  bar.Finish();
  EXPECT_EQ(Take(),
            "model.safetensors: 3.0 MB / 3.0 MB (100%), 0.3 MB/s\n"
            "model.safetensors: 3.0 MB / 3.0 MB (100%), 0.3 MB/s, done in 10.0 s\n");
}

TEST_F(ProgressBarTest, UnknownTotalThenSetTotal) {
  ProgressBar bar(&out_, "f", -1, BytesOpts(/*terminal=*/false));
  now_ += seconds(5);
  bar.Advance(2000000);
  EXPECT_EQ(Take(), "f: 2.0 MB, 0.4 MB/s\n");
  bar.SetTotal(8000000);
  now_ += seconds(5);
  bar.Advance(2000000);
  EXPECT_EQ(Take(), "f: 4.0 MB / 8.0 MB (50%), 0.4 MB/s, eta 10 s\n");
}

TEST_F(ProgressBarTest, FinishWithAnUnknownTotalTakesTheCount) {
  ProgressBar bar(&out_, "f", -1, BytesOpts(/*terminal=*/false));
  bar.Advance(3000000);
  now_ += seconds(2);
  bar.Finish();
  EXPECT_EQ(Take(), "f: 3.0 MB / 3.0 MB (100%), 1.5 MB/s, done in 2.0 s\n");
}

TEST_F(ProgressBarTest, ResumedStartMeasuresTheRateFromThere) {
  ProgressBar bar(&out_, "f", 10000000, BytesOpts(/*terminal=*/false));
  bar.StartAt(6000000);  // 6 MB on disk already
  now_ += seconds(5);
  bar.Advance(2000000);  // 2 MB in 5 s
  EXPECT_EQ(Take(), "f: 8.0 MB / 10.0 MB (80%), 0.4 MB/s, eta 5 s\n");
  // Starting over at 0 (the server ignored the range).
  bar.StartAt(0);
  now_ += seconds(5);
  bar.Advance(1000000);
  EXPECT_EQ(Take(), "f: 1.0 MB / 10.0 MB (10%), 0.2 MB/s, eta 45 s\n");
}

TEST_F(ProgressBarTest, WorkBelowMinTotalShowsNothing) {
  ProgressBar::Options options = BytesOpts(/*terminal=*/false);
  options.min_total = 1000000;
  {
    ProgressBar small(&out_, "config.json", 500, options);
    now_ += seconds(10);
    small.Advance(500);
    small.Finish();
    EXPECT_EQ(Take(), "");
  }
  // An unknown total shows once the count reaches min_total.
  ProgressBar grows(&out_, "blob", -1, options);
  now_ += seconds(10);
  grows.Advance(999999);
  EXPECT_EQ(Take(), "");
  now_ += seconds(10);
  grows.Advance(1000001);
  EXPECT_EQ(Take(), "blob: 2.0 MB, 0.1 MB/s\n");
}

TEST_F(ProgressBarTest, PlainUpdateShowsTheDetail) {
  ProgressBar bar(&out_, "job-3", 1000, Opts(/*terminal=*/false, "steps"));
  now_ += seconds(5);
  bar.Update(120, "loss 2.3456  lr 4.8e-05");
  EXPECT_EQ(Take(), "job-3: 120 / 1000 steps (12%), loss 2.3456  lr 4.8e-05\n");
  bar.Print("checkpoint at step 100");
  EXPECT_EQ(Take(), "checkpoint at step 100\n");
  now_ += seconds(1);
  bar.Update(130, "loss 2.3");
  bar.Stop();
  EXPECT_EQ(Take(), "job-3: 130 / 1000 steps (13%), loss 2.3, stopped after 6.0 s\n");
}

TEST_F(ProgressBarTest, StopBeforeAnyLineOffATerminalPrintsNothing) {
  ProgressBar bar(&out_, "embedding", 10, Opts(/*terminal=*/false, "texts"));
  bar.Advance(1);
  bar.Stop();
  EXPECT_EQ(Take(), "");
}

TEST_F(ProgressBarTest, TerminalRedrawsOneLineWithCarriageReturn) {
  ProgressBar bar(&out_, "embedding", 3000, Opts(/*terminal=*/true, "texts"));
  now_ += seconds(1);
  bar.Advance(1500);  // the first update draws at once
  EXPECT_EQ(Take(), "\rembedding [############------------] 1500/3000 50%  1500 texts/s  eta 1 s");
  now_ += milliseconds(100);
  bar.Advance(100);
  EXPECT_EQ(Take(), "");  // within 200 ms of the last redraw
  now_ += milliseconds(900);
  bar.Finish();
  // One character shorter than the line before: a space clears it.
  EXPECT_EQ(Take(),
            "\rembedding [########################] 3000/3000 100%  1500 texts/s  2.0 s \n");
}

TEST_F(ProgressBarTest, TerminalFinishDrawsAThrottledLastUpdate) {
  ProgressBar bar(&out_, "embedding", 3000, Opts(/*terminal=*/true, "texts"));
  now_ += seconds(1);
  bar.Advance(1500);
  Take();
  now_ += milliseconds(100);
  bar.Advance(1500);  // the total, throttled
  EXPECT_EQ(Take(), "");
  bar.Finish();
  EXPECT_EQ(Take(),
            "\rembedding [########################] 3000/3000 100%  2727 texts/s  1.1 s \n");
}

TEST_F(ProgressBarTest, TerminalFinishKeepsAFinalStateOnScreen) {
  ProgressBar bar(&out_, "embedding", 3000, Opts(/*terminal=*/true, "texts"));
  now_ += seconds(1);
  bar.Advance(3000);
  EXPECT_EQ(Take(), "\rembedding [########################] 3000/3000 100%  3000 texts/s  1.0 s");
  now_ += seconds(1);
  bar.Finish();
  EXPECT_EQ(Take(), "\n");
}

TEST_F(ProgressBarTest, TerminalPrintGoesAboveTheBar) {
  ProgressBar bar(&out_, "job-3", 1000, Opts(/*terminal=*/true, "steps"));
  bar.Update(120, "loss 2.3456");
  const std::string drawn = "job-3 [##----------------------] 120/1000 12%  loss 2.3456";
  EXPECT_EQ(Take(), "\r" + drawn);
  bar.Print("checkpoint");
  EXPECT_EQ(Take(), "\r" + std::string(drawn.size(), ' ') + "\rcheckpoint\n\r" + drawn);
  bar.Update(130, "");  // throttled: no time passed
  EXPECT_EQ(Take(), "");
  bar.Stop();  // draws the latest count
  const std::string stopped = "job-3 [###---------------------] 130/1000 13%";
  EXPECT_EQ(Take(), "\r" + stopped + std::string(drawn.size() - stopped.size(), ' ') + "\n");
}

TEST_F(ProgressBarTest, TerminalShowsBytesAsMegabytes) {
  ProgressBar bar(&out_, "f", 3000000, BytesOpts(/*terminal=*/true));
  now_ += seconds(5);
  bar.Advance(1500000);
  EXPECT_EQ(Take(), "\rf [############------------] 1.5/3.0 MB 50%  0.3 MB/s  eta 5 s");
}

TEST_F(ProgressBarTest, TerminalUnknownTotalHasNoBar) {
  ProgressBar bar(&out_, "f", -1, BytesOpts(/*terminal=*/true));
  now_ += seconds(5);
  bar.Advance(2000000);
  EXPECT_EQ(Take(), "\rf 2.0 MB  0.4 MB/s");
  bar.SetTotal(4000000);
  now_ += seconds(5);
  bar.Advance(2000000);
  EXPECT_EQ(Take(), "\rf [########################] 4.0/4.0 MB 100%  0.4 MB/s  10.0 s");
}

TEST_F(ProgressBarTest, TerminalDestructorEndsAnUnfinishedLine) {
  {
    ProgressBar bar(&out_, "embedding", 10, Opts(/*terminal=*/true, "texts"));
    bar.Advance(1);
  }
  const std::string s = Take();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.front(), '\r');
  EXPECT_EQ(s.back(), '\n');
}

TEST_F(ProgressBarTest, AStringStreamIsNotATerminal) {
  // The constructor of existing callers, with the real clock.
  ProgressBar bar(&out_, "embedding", 3, "texts");
  bar.Advance(3);
  bar.Finish();
  const std::string s = Take();
  EXPECT_EQ(s.rfind("embedding: 3 / 3 texts (100%), ", 0), 0u) << s;
  EXPECT_NE(s.find(", done in "), std::string::npos) << s;
  EXPECT_EQ(s.find('\r'), std::string::npos) << s;
}

TEST_F(ProgressBarTest, NullStreamShowsNothing) {
  ProgressBar bar(nullptr, "embedding", 3, Opts(/*terminal=*/true, "texts"));
  bar.Advance(1);
  bar.Print("x");
  bar.Finish();
  EXPECT_EQ(Take(), "");
}

}  // namespace
}  // namespace llm2vec
