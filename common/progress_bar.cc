#include "common/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <utility>

namespace llm2vec {
namespace {

// Whether `out` writes to a terminal: only the standard streams are known.
bool IsTerminal(const std::ostream* out) {
  if (out == &std::cerr || out == &std::clog) return ::isatty(STDERR_FILENO) == 1;
  if (out == &std::cout) return ::isatty(STDOUT_FILENO) == 1;
  return false;
}

ProgressBar::Options CountingOptions(std::string unit) {
  ProgressBar::Options options;
  options.unit = std::move(unit);
  return options;
}

}  // namespace

ProgressBar::ProgressBar(std::ostream* out, std::string label, int64_t total, Options options)
    : out_(out),
      label_(std::move(label)),
      options_(std::move(options)),
      total_(total < 0 ? -1 : total) {
  if (options_.bytes) options_.unit = "MB";
  terminal_ = options_.terminal.has_value() ? *options_.terminal : IsTerminal(out_);
  start_ = Now();
  last_draw_ = start_;
}

ProgressBar::ProgressBar(std::ostream* out, std::string label, int64_t total, std::string unit)
    : ProgressBar(out, std::move(label), total, CountingOptions(std::move(unit))) {}

ProgressBar::~ProgressBar() {
  if (terminal_ && drawn_ && !finished_ && out_ != nullptr) *out_ << "\n" << std::flush;
}

void ProgressBar::Advance(int64_t n) {
  const int64_t done = total_ >= 0 ? std::min(total_, done_ + n) : done_ + n;
  if (done != done_) changed_ = true;
  done_ = done;
  MaybeShow();
}

void ProgressBar::Update(int64_t done, std::string detail) {
  done = total_ >= 0 ? std::clamp<int64_t>(done, 0, total_) : std::max<int64_t>(done, 0);
  if (done != done_ || !has_detail_ || detail != detail_) changed_ = true;
  done_ = done;
  detail_ = std::move(detail);
  has_detail_ = true;
  MaybeShow();
}

void ProgressBar::SetTotal(int64_t total) {
  total = std::max<int64_t>(total, -1);
  if (total != total_) changed_ = true;
  total_ = total;
  if (total_ >= 0) done_ = std::min(total_, done_);
}

void ProgressBar::StartAt(int64_t done) {
  done = total_ >= 0 ? std::clamp<int64_t>(done, 0, total_) : std::max<int64_t>(done, 0);
  if (done != done_) changed_ = true;
  done_ = done;
  start_done_ = done_;
  start_ = Now();
}

void ProgressBar::Print(const std::string& line) {
  if (out_ == nullptr) return;
  if (terminal_ && drawn_ && !finished_) {
    *out_ << "\r" << std::string(drawn_width_, ' ') << "\r" << line << "\n";
    Draw(Now());
  } else {
    *out_ << line << "\n" << std::flush;
  }
}

void ProgressBar::Stop() {
  if (finished_) return;
  finished_ = true;
  if (out_ == nullptr || !drawn_) return;
  if (terminal_) {
    Draw(Now());  // the latest count (an update may have been throttled)
    *out_ << "\n" << std::flush;
  } else {
    PrintLine(Now(), Ending::kStopped);
  }
}

void ProgressBar::Finish() {
  if (finished_) return;
  // The final state is on screen already.
  const bool shown = drawn_ && !changed_ && done_ == total_;
  if (total_ < 0) total_ = done_;
  done_ = total_;
  finished_ = true;
  if (!Visible()) return;
  if (terminal_) {
    if (!shown) Draw(Now());
    *out_ << "\n" << std::flush;
  } else {
    PrintLine(Now(), Ending::kDone);
  }
}

ProgressBar::Clock::time_point ProgressBar::Now() const {
  return options_.now ? options_.now() : Clock::now();
}

bool ProgressBar::Visible() const {
  // Once shown, always (a download that starts over at 0 keeps its line).
  return out_ != nullptr && (drawn_ || std::max(total_, done_) >= options_.min_total);
}

void ProgressBar::MaybeShow() {
  if (finished_ || !Visible()) return;
  const auto now = Now();
  if (terminal_) {
    if (!drawn_ || now - last_draw_ >= options_.redraw_interval) Draw(now);
  } else if (now - last_draw_ >= options_.line_interval) {
    PrintLine(now, Ending::kRunning);
  }
}

std::string ProgressBar::Count(int64_t n) const {
  if (!options_.bytes) return std::to_string(n);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", n / 1e6);
  return buf;
}

double ProgressBar::Rate(Clock::time_point now) const {
  const double secs = std::chrono::duration<double>(now - start_).count();
  return secs > 0 ? (done_ - start_done_) / secs : 0;
}

void ProgressBar::Draw(Clock::time_point now) {
  if (out_ == nullptr) return;
  constexpr int kWidth = 24;
  last_draw_ = now;
  drawn_ = true;
  changed_ = false;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = Rate(now);
  const char* rate_format = options_.bytes ? "  %.1f %s/s" : "  %.0f %s/s";
  std::string line = "\r" + label_;
  if (total_ >= 0) {
    const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / total_;
    const int filled = static_cast<int>(fraction * kWidth);
    line += " [" + std::string(filled, '#') + std::string(kWidth - filled, '-') + "] " +
            Count(done_) + "/" + Count(total_) + (options_.bytes ? " MB " : " ") +
            std::to_string(static_cast<int>(std::floor(fraction * 100))) + "%";
  } else {
    line += " " + Count(done_);
    if (!options_.unit.empty()) line += " " + options_.unit;
  }
  char buf[64];
  if (has_detail_) {
    if (!detail_.empty()) line += "  " + detail_;
  } else if (rate > 0) {
    std::snprintf(buf, sizeof(buf), rate_format, options_.bytes ? rate / 1e6 : rate,
                  options_.unit.c_str());
    line += buf;
    if (total_ < 0) {
      // No ETA without a total.
    } else if (done_ < total_) {
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

void ProgressBar::PrintLine(Clock::time_point now, Ending ending) {
  if (out_ == nullptr) return;
  last_draw_ = now;
  drawn_ = true;
  changed_ = false;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = Rate(now);
  const std::string unit = options_.unit.empty() ? "" : " " + options_.unit;
  // label: 1536 / 3000 texts (51%) | label: 512.0 MB / 3000.0 MB (17%)
  std::string line = label_ + ": " + Count(done_) + (options_.bytes ? unit : "");
  if (total_ >= 0) {
    const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / total_;
    line += " / " + Count(total_) + unit + " (" +
            std::to_string(static_cast<int>(std::floor(fraction * 100))) + "%)";
  } else if (!options_.bytes) {
    line += unit;
  }
  char buf[64];
  if (has_detail_) {
    if (!detail_.empty()) line += ", " + detail_;
  } else {
    if (options_.bytes) {
      std::snprintf(buf, sizeof(buf), ", %.1f", rate / 1e6);
    } else {
      std::snprintf(buf, sizeof(buf), ", %.0f", rate);
    }
    line += buf + unit + "/s";
    if (ending == Ending::kRunning && total_ >= 0 && done_ < total_ && rate > 0) {
      std::snprintf(buf, sizeof(buf), ", eta %.0f s", (total_ - done_) / rate);
      line += buf;
    }
  }
  if (ending == Ending::kDone) {
    std::snprintf(buf, sizeof(buf), ", done in %.1f s", secs);
    line += buf;
  } else if (ending == Ending::kStopped) {
    std::snprintf(buf, sizeof(buf), ", stopped after %.1f s", secs);
    line += buf;
  }
  *out_ << line << "\n" << std::flush;
}

}  // namespace llm2vec
