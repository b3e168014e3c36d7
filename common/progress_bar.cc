#include "common/progress_bar.h"

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

void ProgressBar::Update(int64_t done, std::string detail) {
  done_ = std::clamp<int64_t>(done, 0, total_);
  detail_ = std::move(detail);
  has_detail_ = true;
  const auto now = std::chrono::steady_clock::now();
  if (!drawn_ || now - last_draw_ >= std::chrono::milliseconds(200)) Draw();
}

void ProgressBar::Print(const std::string& line) {
  if (out_ == nullptr) return;
  if (drawn_ && !finished_) {
    *out_ << "\r" << std::string(drawn_width_, ' ') << "\r" << line << "\n";
    Draw();
  } else {
    *out_ << line << "\n" << std::flush;
  }
}

void ProgressBar::Stop() {
  if (finished_) return;
  finished_ = true;
  if (out_ == nullptr || !drawn_) return;
  Draw();  // the latest count (an update may have been throttled)
  *out_ << "\n" << std::flush;
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
  if (has_detail_) {
    if (!detail_.empty()) line += "  " + detail_;
  } else if (rate > 0) {
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
  // Clear the tail of a longer previous line.
  const size_t width = line.size() - 1;  // without the '\r'
  if (width < drawn_width_) line += std::string(drawn_width_ - width, ' ');
  drawn_width_ = width;
  *out_ << line << std::flush;
}

}  // namespace llm2vec
