// The progress of long command line work on a stream (stderr), counted in
// items ("texts", "steps") or in bytes (shown as MB and MB/s).
//
// On a terminal, one line redrawn with '\r' at most every 200 ms and once at
// the end:
//
//   embedding [############------------] 1536/3000 51%  412 texts/s  eta 4 s
//   model.safetensors [####--------------------] 512.0/3000.0 MB 17%  85.3 MB/s  eta 29 s
//
// Elsewhere (a log file, a pipe), plain lines without '\r' or escape codes,
// at most every 5 s, and a final one:
//
//   embedding: 1536 / 3000 texts (51%), 412 texts/s, eta 4 s
//   embedding: 3000 / 3000 texts (100%), 410 texts/s, done in 7.3 s
//
// Work counted here uses Advance (the bar measures rate and ETA itself);
// work measured elsewhere, e.g. a training job on a server, uses Update
// with its own detail text:
//
//   job-3 [##----------------------] 120/1000 12%  loss 2.3456  lr 4.8e-05  eta 3m20s
//
// The total may be unknown at first (a download before the server's
// Content-Length) and set later with SetTotal; a resumed download starts the
// count at the bytes already there with StartAt, so its rate counts only the
// bytes received.
//
// Threading: one thread at a time.
#ifndef LLM2VEC_COMMON_PROGRESS_BAR_H_
#define LLM2VEC_COMMON_PROGRESS_BAR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace llm2vec {

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    // What is counted, shown after counts and in rates ("texts": "412
    // texts/s"). Not used when `bytes`.
    std::string unit;
    // Counts are bytes: shown as MB (10^6 bytes), rates as MB/s.
    bool bytes = false;
    // Whether `out` is a terminal (one line redrawn with '\r') or not (plain
    // lines). Unset: isatty() of file descriptor 2 for std::cerr and
    // std::clog, of 1 for std::cout; any other stream is not a terminal.
    std::optional<bool> terminal;
    // On a terminal, the line is redrawn at most this often.
    Clock::duration redraw_interval = std::chrono::milliseconds(200);
    // Elsewhere, a line at most this often (and a final one).
    Clock::duration line_interval = std::chrono::seconds(5);
    // Nothing is shown while both the total and the count are below this
    // (e.g. the small files of a download); 0: always shown.
    int64_t min_total = 0;
    // The clock; unset: Clock::now. Tests drive their own.
    std::function<Clock::time_point()> now;
  };

  // `out` null shows nothing. `total` < 0: unknown until SetTotal (or
  // Finish, which takes the count as the total).
  ProgressBar(std::ostream* out, std::string label, int64_t total, Options options);
  // Counts `unit`s ("texts"), with the default options.
  ProgressBar(std::ostream* out, std::string label, int64_t total, std::string unit);
  // Ends the line if it was drawn on a terminal and not finished.
  ~ProgressBar();

  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `n` more items (bytes) are done.
  void Advance(int64_t n);
  // Sets the count to `done` and shows `detail` in place of the bar's own
  // rate and ETA (for work whose rate is measured elsewhere).
  void Update(int64_t done, std::string detail);
  // The total is known now (< 0: unknown again).
  void SetTotal(int64_t total);
  // Sets the count to `done` and measures the rate from here on: a download
  // that resumes with `done` bytes on disk, or starts over at 0.
  void StartAt(int64_t done);
  // Prints `line` on a line of its own where the bar is, then redraws the
  // bar below it on a terminal (for events while the bar runs).
  void Print(const std::string& line);
  // Shows the final state (the total reached) and ends the line.
  void Finish();
  // Ends the line where the work stands (stopped short of the total); off a
  // terminal, a last line if any was printed.
  void Stop();

  // Implementation details follow.
 private:
  enum class Ending { kRunning, kDone, kStopped };

  Clock::time_point Now() const;
  // Shows the current state if the interval since the last one has passed.
  void MaybeShow();
  // Whether anything is shown: `out_` set, and the work at least min_total
  // or already shown.
  bool Visible() const;
  // The terminal's line, redrawn in place.
  void Draw(Clock::time_point now);
  // One plain line.
  void PrintLine(Clock::time_point now, Ending ending);
  // A count as shown: "1536", or "512.0" (MB) when counting bytes.
  std::string Count(int64_t n) const;
  // Items (bytes) per second since the start, 0 before any time passed.
  double Rate(Clock::time_point now) const;

  std::ostream* out_;
  std::string label_;
  Options options_;
  bool terminal_ = false;
  std::string detail_;  // replaces rate and ETA when has_detail_
  bool has_detail_ = false;
  int64_t total_ = -1;  // < 0: unknown
  int64_t done_ = 0;
  int64_t start_done_ = 0;    // the count at start_ (a resumed download's bytes)
  bool finished_ = false;
  bool drawn_ = false;        // a line was drawn or printed
  bool changed_ = true;       // the state differs from the last line drawn or printed
  size_t drawn_width_ = 0;    // characters of the line on screen (terminal)
  Clock::time_point start_, last_draw_;
};

}  // namespace llm2vec

#endif  // LLM2VEC_COMMON_PROGRESS_BAR_H_
