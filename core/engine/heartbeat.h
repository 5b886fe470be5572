#pragma once
// Stalled-rank detection behind DistContext (distributed.h, "Stalled ranks"). Internal to the
// engine: distributed.cpp owns one per process when train.stall_timeout is above 0.
//
// Each rank's key studio/heartbeat/<rank> in the c10d store holds "<beats> <iteration> <phase>
// <moves>": beats counts the heartbeat thread's writes (the process is alive), moves counts the
// training thread's steps into and out of collectives and its iterations (it makes progress),
// phase says what the training thread does: u set-up, c computing, w waiting in a collective,
// s working alone (SoloScope), d gone. The thread writes every stall/10 (50 ms..1 s); only while
// its own training thread has waited in a collective does it read the others.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <vector>

#include "engine/distributed.h"

namespace studio {

// An exception's message without c10's backtrace.
[[nodiscard]] std::string dist_error_text(const std::exception& e);

class Heartbeat {
 public:
  using Clock = std::chrono::steady_clock;
  struct Beat {  // one rank's key, read
    std::int64_t beats = -1, iteration = 0, moves = 0;
    char phase = 'u';
  };

  // `store`: a connection of its own whose timeout is the stall time (a frozen store is then
  // found in that time). Writes the first beat at once (before the caller checks in).
  Heartbeat(const DistEnv& env, std::chrono::milliseconds stall, c10::intrusive_ptr<c10d::Store> store);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  void start();  // the thread
  void stop();   // joins it and writes "gone"; idempotent

  // The training thread's side.
  void set_iteration(std::int64_t iteration);
  void enter_wait();
  void leave_wait();
  void enter_solo();
  void leave_solo();
  // Why this rank should stop waiting: a stalled rank named with its last iteration ("" while
  // nothing is wrong).
  [[nodiscard]] std::string stalled();

 private:
  struct Seen {
    bool first = true;
    Beat beat;
    Clock::time_point alive_at, moved_at;
  };

  void publish();
  void look(Clock::time_point since);
  void found(const std::string& message);
  void run();

  const DistEnv env_;
  const std::chrono::milliseconds stall_, interval_;
  c10::intrusive_ptr<c10d::Store> store_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::int64_t beats_ = 0;  // heartbeat thread (and the last write in stop(), after the join)
  std::atomic<std::int64_t> iteration_{0}, moves_{0};
  std::atomic<char> phase_{'u'};
  std::atomic<std::int64_t> wait_since_{0};  // steady-clock ticks; 0 = not in a collective
  int solo_ = 0;                             // training thread only
  std::atomic<bool> found_{false};
  bool acknowledged_ = false;
  std::string message_;
  Clock::time_point found_at_;
  Clock::time_point tracked_since_{};  // the wait the baselines in seen_ belong to
  std::vector<Seen> seen_;
};

}  // namespace studio
