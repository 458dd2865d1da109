#pragma once
#include <chrono>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace moesim {

// A progress line with an ETA on standard error, redrawn at most twice a second, and only
// when standard error is a terminal: piped or redirected output stays clean.
class ProgressLine {
 public:
  ProgressLine(std::string label, double total) : label_(std::move(label)), total_(total) {}
  ~ProgressLine() { finish(); }

  static bool enabled() {
    static const bool terminal = isatty(STDERR_FILENO);
    return terminal;
  }

  // `done` of `total` finished; `detail` is appended (e.g. what is running now).
  void update(double done, const std::string& detail = "") {
    if (!enabled()) return;
    const double wall = elapsed_s();
    if (wall - last_s_ < 0.5 && done < total_) return;
    last_s_ = wall;
    std::string eta = "";
    if (done > 0 && done < total_) eta = ", ETA " + seconds(wall * (total_ - done) / done);
    std::fprintf(stderr, "\r%s: %3.0f%%, %s%s%s   ", label_.c_str(), 100 * done / total_, seconds(wall).c_str(),
                 eta.c_str(), detail.empty() ? "" : (", " + detail).c_str());
    std::fflush(stderr);
    shown_ = true;
  }

  void finish() {
    if (shown_) std::fprintf(stderr, "\r%*s\r", 100, "");
    shown_ = false;
  }

  // Seconds as "12 s" or "3 min 20 s".
  static std::string seconds(double s) {
    char buf[32];
    if (s < 60) std::snprintf(buf, sizeof buf, "%.0f s", s);
    else std::snprintf(buf, sizeof buf, "%d min %02d s", int(s / 60), int(s) % 60);
    return buf;
  }

 private:
  double elapsed_s() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  std::string label_;
  double total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double last_s_ = -1;
  bool shown_ = false;
};

}  // namespace moesim
