// A one-line progress bar for long command line work, drawn on a stream
// (stderr) with '\r', at most every 200 ms and once at the end:
//
//   embedding [##########----------]  1536/3000  51%  412 texts/s  eta 4 s
//
// Work counted here uses Advance (the bar measures rate and ETA itself);
// work measured elsewhere, e.g. a training job on a server, uses Update
// with its own detail text:
//
//   job-3 [##----------------------] 120/1000 12%  loss 2.3456  lr 4.8e-05  eta 3m20s
//
// Threading: one thread at a time.
#ifndef LLM2VEC_COMMON_PROGRESS_BAR_H_
#define LLM2VEC_COMMON_PROGRESS_BAR_H_

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace llm2vec {

class ProgressBar {
 public:
  // `out` null draws nothing. `unit` names what is counted ("texts").
  ProgressBar(std::ostream* out, std::string label, int64_t total, std::string unit);
  // Ends the line if it was drawn and not finished.
  ~ProgressBar();

  // `n` more items are done.
  void Advance(int64_t n);
  // Sets the count to `done` and shows `detail` in place of the bar's own
  // rate and ETA (for work whose rate is measured elsewhere).
  void Update(int64_t done, std::string detail);
  // Prints `line` on a line of its own where the bar is, then redraws the
  // bar below it (for events while the bar runs).
  void Print(const std::string& line);
  // Draws the final state and ends the line.
  void Finish();
  // Ends the line where the work stands (stopped short of the total).
  void Stop();

  // Implementation details follow.
 private:
  void Draw();

  std::ostream* out_;
  std::string label_, unit_;
  std::string detail_;  // replaces rate and ETA when has_detail_
  bool has_detail_ = false;
  int64_t total_ = 0, done_ = 0;
  bool finished_ = false, drawn_ = false;
  size_t drawn_width_ = 0;  // characters of the line on screen
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_PROGRESS_BAR_H_
