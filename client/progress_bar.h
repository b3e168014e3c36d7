// A one-line progress bar for long command line work, drawn on a stream
// (stderr) with '\r', at most every 200 ms and once at the end:
//
//   embedding [##########----------]  1536/3000  51%  412 texts/s  eta 4 s
//
// Threading: one thread at a time.
#ifndef LLM2VEC_CLIENT_PROGRESS_BAR_H_
#define LLM2VEC_CLIENT_PROGRESS_BAR_H_

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
  // Draws the final state and ends the line.
  void Finish();

  // Implementation details follow.
 private:
  void Draw();

  std::ostream* out_;
  std::string label_, unit_;
  int64_t total_ = 0, done_ = 0;
  bool finished_ = false, drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_CLIENT_PROGRESS_BAR_H_
