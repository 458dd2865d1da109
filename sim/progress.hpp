#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace moesim {

// A progress line with an ETA on standard error, redrawn at most twice a second, and only
// when standard error is a terminal: piped or redirected output stays clean. One line at a
// time: a line started while another is on screen (routing inside a plan search's ranking)
// stays silent. A line with a quiet time draws nothing until that much time has passed, so
// work that is usually quick shows progress only when it is not.
class ProgressLine {
 public:
  ProgressLine(std::string label, double total, double quiet_s = 0)
      : label_(std::move(label)), total_(total), quiet_s_(quiet_s) {}
  ~ProgressLine() { finish(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ProgressLine& operator=(ProgressLine&& o) noexcept {
    finish();
    label_ = std::move(o.label_), total_ = o.total_, quiet_s_ = o.quiet_s_, start_ = o.start_, last_s_ = o.last_s_;
    width_ = o.width_;
    o.finish();
    return *this;
  }

  static bool enabled() {
    static const bool terminal = isatty(STDERR_FILENO);
    return terminal;
  }

  // `done` of `total` finished; `detail` is appended (e.g. what is running now).
  void update(double done, const std::string& detail = "") {
    if (!enabled() || (on_screen() != nullptr && on_screen() != this)) return;
    const double wall = elapsed_s();
    if (wall < quiet_s_ || (wall - last_s_ < 0.5 && done < total_)) return;
    last_s_ = wall;
    std::string eta = "";
    if (done > 0 && done < total_) eta = ", ETA " + seconds(wall * (total_ - done) / done);
    const int width = std::fprintf(stderr, "\r%s: %3.0f%%, %s%s%s   ", label_.c_str(), 100 * done / total_,
                                   seconds(wall).c_str(), eta.c_str(), detail.empty() ? "" : (", " + detail).c_str());
    width_ = std::max(width_, width);
    std::fflush(stderr);
    on_screen() = this;
  }

  void finish() {
    if (on_screen() != this) return;
    std::fprintf(stderr, "\r%*s\r", width_, "");
    on_screen() = nullptr;
  }

  // Seconds as "12 s" or "3 min 20 s".
  static std::string seconds(double s) {
    char buf[32];
    if (s < 60) std::snprintf(buf, sizeof buf, "%.0f s", s);
    else std::snprintf(buf, sizeof buf, "%d min %02d s", int(s / 60), int(s) % 60);
    return buf;
  }

 private:
  static ProgressLine*& on_screen() {
    static ProgressLine* line = nullptr;
    return line;
  }
  double elapsed_s() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  std::string label_;
  double total_;
  double quiet_s_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double last_s_ = -1;
  int width_ = 0;  // the widest line drawn, which finish() blanks
};

}  // namespace moesim
