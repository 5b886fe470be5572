#include "engine/heartbeat.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace studio {
namespace {

constexpr char kSetup = 'u';  // between create() and the first collective: may take long alone
constexpr char kComputing = 'c';
constexpr char kWaiting = 'w';  // in a collective
constexpr char kSolo = 's';     // SoloScope
constexpr char kDone = 'd';     // the DistContext is gone

std::string heartbeat_key(int rank) { return "studio/heartbeat/" + std::to_string(rank); }

Heartbeat::Beat parse_beat(const std::vector<std::uint8_t>& v) {
  Heartbeat::Beat b;
  char phase = kSetup;
  const std::string text(v.begin(), v.end());
  long long beats = 0, iter = 0, moves = 0;
  if (std::sscanf(text.c_str(), "%lld %lld %c %lld", &beats, &iter, &phase, &moves) == 4) {
    b.beats = beats;
    b.iteration = iter;
    b.phase = phase;
    b.moves = moves;
  }
  return b;
}

std::string seconds_text(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

}  // namespace

std::string dist_error_text(const std::exception& e) {
  std::string msg = e.what();
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) msg = c->what_without_backtrace();
  for (const char* cut : {"\nException raised from", "\nframe #"})
    if (auto at = msg.find(cut); at != std::string::npos) msg.resize(at);
  return msg;
}

Heartbeat::Heartbeat(const DistEnv& env, std::chrono::milliseconds stall,
                     c10::intrusive_ptr<c10d::Store> store)
    : env_(env),
      stall_(stall),
      interval_(std::clamp<std::chrono::milliseconds>(stall / 10, std::chrono::milliseconds(50),
                                                      std::chrono::milliseconds(1000))),
      store_(std::move(store)) {
  publish();
}

Heartbeat::~Heartbeat() { stop(); }

void Heartbeat::start() {
  if (stall_.count() > 0) thread_ = std::thread([this] { run(); });
}

void Heartbeat::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  phase_ = kDone;
  publish();
}

void Heartbeat::set_iteration(std::int64_t iteration) {
  iteration_ = iteration;
  moves_.fetch_add(1);
}

void Heartbeat::enter_wait() {
  if (solo_ == 0) phase_ = kWaiting;
  moves_.fetch_add(1);
  wait_since_ = Clock::now().time_since_epoch().count();
}

void Heartbeat::leave_wait() {
  wait_since_ = 0;
  if (solo_ == 0) phase_ = kComputing;
  moves_.fetch_add(1);
}

void Heartbeat::enter_solo() {
  if (solo_++ == 0) phase_ = kSolo;
  moves_.fetch_add(1);
}

void Heartbeat::leave_solo() {
  if (--solo_ == 0) phase_ = kComputing;
  moves_.fetch_add(1);
}

std::string Heartbeat::stalled() {
  if (!found_) return {};
  std::lock_guard<std::mutex> lock(mutex_);
  acknowledged_ = true;
  return message_;
}

void Heartbeat::publish() {
  char text[96];
  std::snprintf(text, sizeof text, "%lld %lld %c %lld", static_cast<long long>(beats_++),
                static_cast<long long>(iteration_.load()), phase_.load(),
                static_cast<long long>(moves_.load()));
  const std::string t = text;
  try {
    store_->set(heartbeat_key(env_.rank), std::vector<std::uint8_t>(t.begin(), t.end()));
  } catch (const std::exception&) {
    // The store is gone (rank 0 ended) or slow: the watch below names it if it matters.
  }
}

void Heartbeat::look(Clock::time_point since) {
  const Clock::time_point now = Clock::now();
  if (since != tracked_since_) {  // a new wait: fresh baselines
    tracked_since_ = since;
    seen_.assign(static_cast<std::size_t>(env_.world_size), Seen{});
  }
  for (int r = 0; r < env_.world_size; ++r) {
    if (r == env_.rank) continue;
    Seen& s = seen_[static_cast<std::size_t>(r)];
    Beat b;
    try {
      b = parse_beat(store_->get(heartbeat_key(r)));
    } catch (const std::exception& e) {
      if (now - since >= stall_)
        found("the c10d store at " + env_.master_addr + ":" + std::to_string(env_.master_port) +
              " (held by rank 0) did not answer for " + seconds_text(stall_) +
              ": rank 0 is stopped, frozen or gone (" + dist_error_text(e) + ")");
      return;
    }
    if (s.first) {
      s.first = false;
      s.beat = b;
      s.alive_at = s.moved_at = now;
      continue;
    }
    if (b.beats != s.beat.beats) s.alive_at = now;
    if (b.moves != s.beat.moves || b.phase != s.beat.phase) s.moved_at = now;
    s.beat = b;
  }
  if (now - since < stall_) return;
  for (int r = 0; r < env_.world_size; ++r) {
    if (r == env_.rank) continue;
    const Seen& s = seen_[static_cast<std::size_t>(r)];
    if (s.first) continue;
    const std::string who = "rank " + std::to_string(r);
    const std::string last = "; its last heartbeat was in iteration " + std::to_string(s.beat.iteration);
    if (s.beat.phase == kDone) {
      found(who + " has left the job (it ended or failed)" + last);
      return;
    }
    if (now - s.alive_at >= stall_) {
      found(who + " stalled: no heartbeat for " + seconds_text(stall_) +
            " (the process is stopped or frozen, or its machine was lost)" + last);
      return;
    }
    if (s.beat.phase == kComputing && now - s.moved_at >= stall_) {
      found(who + " stalled: alive but no progress for " + seconds_text(stall_) + " in iteration " +
            std::to_string(s.beat.iteration) + " while the others wait for it (a deadlock, or a lost GPU?)");
      return;
    }
  }
}

void Heartbeat::found(const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (found_) return;
  message_ = message + " (train.stall_timeout " + seconds_text(stall_) + ")";
  found_ = true;
  found_at_ = Clock::now();
}

void Heartbeat::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    publish();
    const std::int64_t since = wait_since_;
    if (since != 0 && !found_) look(Clock::time_point(Clock::duration(since)));
    lock.lock();
    // The training thread picks the finding up in its collective (Gloo: at once). One that
    // never does (blocked in a CUDA call behind a NCCL collective) must not keep the job alive.
    if (found_ && !acknowledged_ &&
        Clock::now() - found_at_ >= std::max(stall_, std::chrono::milliseconds(5000))) {
      std::fprintf(stderr,
                   "error: rank %d: %s; the training thread does not respond, so this process exits\n",
                   env_.rank, message_.c_str());
      std::fflush(stderr);
      std::_Exit(1);
    }
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace studio
