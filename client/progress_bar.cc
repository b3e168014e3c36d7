#include "client/progress_bar.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

namespace llm2vec {

ProgressBar::ProgressBar(std::ostream* out, std::string label, int64_t total, std::string unit)
    : out_(out),
      label_(std::move(label)),
      unit_(std::move(unit)),
      total_(std::max<int64_t>(total, 0)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (drawn_ && !finished_ && out_ != nullptr) *out_ << "\n" << std::flush;
}

void ProgressBar::Advance(int64_t n) {
  done_ = std::min(total_, done_ + n);
  const auto now = std::chrono::steady_clock::now();
  if (!drawn_ || now - last_draw_ >= std::chrono::milliseconds(200)) Draw();
}

void ProgressBar::Finish() {
  if (finished_) return;
  const bool shown = drawn_ && done_ == total_;  // the final state is on screen already
  done_ = total_;
  if (!shown) Draw();
  finished_ = true;
  if (out_ != nullptr) *out_ << "\n" << std::flush;
}

void ProgressBar::Draw() {
  if (out_ == nullptr) return;
  constexpr int kWidth = 24;
  const auto now = std::chrono::steady_clock::now();
  last_draw_ = now;
  drawn_ = true;
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / total_;
  const int filled = static_cast<int>(fraction * kWidth);
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? done_ / secs : 0;
  std::string line = "\r" + label_ + " [" + std::string(filled, '#') +
                     std::string(kWidth - filled, '-') + "] " + std::to_string(done_) + "/" +
                     std::to_string(total_) + " " +
                     std::to_string(static_cast<int>(std::floor(fraction * 100))) + "%";
  char buf[64];
  if (rate > 0) {
    std::snprintf(buf, sizeof(buf), "  %.0f %s/s", rate, unit_.c_str());
    line += buf;
    if (done_ < total_) {
      std::snprintf(buf, sizeof(buf), "  eta %.0f s", (total_ - done_) / rate);
      line += buf;
    } else {
      std::snprintf(buf, sizeof(buf), "  %.1f s", secs);
      line += buf;
    }
  }
  line += "   ";  // clears the tail of a longer previous line
  *out_ << line << std::flush;
}

}  // namespace llm2vec
