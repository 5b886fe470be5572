#pragma once
// Progress reporting and cancellation for long work (loading, checking, generating), shared by
// the command line (prints) and the GUI (a worker thread forwards to a progress bar).
#include <atomic>
#include <cstddef>
#include <functional>
#include <string>

namespace studio {

struct Progress {
  // Called with (done, total, stage). May be called from worker threads; keep it cheap.
  std::function<void(std::size_t done, std::size_t total, const std::string& stage)> report;
  // Set to true by the caller to ask the work to stop; the work then throws studio::Cancelled.
  const std::atomic<bool>* cancel = nullptr;

  void operator()(std::size_t done, std::size_t total, const std::string& stage) const {
    if (report) report(done, total, stage);
  }
  [[nodiscard]] bool cancelled() const { return cancel && cancel->load(std::memory_order_relaxed); }
  // Throws studio::Cancelled when cancellation was asked for.
  void check_cancel() const;
};

struct Cancelled : std::exception {
  [[nodiscard]] const char* what() const noexcept override { return "cancelled"; }
};

inline void Progress::check_cancel() const {
  if (cancelled()) throw Cancelled();
}

}  // namespace studio
