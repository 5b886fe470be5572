#pragma once
// The run folder's records (DESIGN.md, "The run folder"): events.jsonl, log.txt and config.yaml.
// The GUI and `export-table` (core/eval/metrics_file.cpp) read events.jsonl while it grows, so a
// line is written whole and flushed at once. Event types: start, resume, train, eval, checkpoint,
// error, end;
// every line has type, time (Unix seconds), epoch and iter:
//   {"type":"train","time":..,"epoch":1,"iter":20,"loss_ins":..,"loss_cate":..,"loss":..,"lr":..,
//    "images_per_s":..,"data_time":..,"step_time":..}
//   {"type":"eval","time":..,"epoch":4,"iter":200,"segm":{"AP":..,...12},"bbox":{...12}}
// Data-parallel runs: "world_size" in start events, "gpu_mem_mb" in train events on CUDA; a
// resumed run first writes {"type":"resume","epoch":..,"iter":..,"world_size":..,"discarded":..}.
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/run_folder.h"

namespace studio {

struct Event {
  std::string type;
  int epoch = 0;            // epochs completed (train: the epoch in progress, 1-based)
  std::int64_t iter = 0;    // iterations completed
  std::vector<std::pair<std::string, double>> numbers;
  std::vector<std::pair<std::string, std::string>> texts;
  // Nested objects of numbers, e.g. {"segm": {"AP": .., ...}}.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, double>>>> groups;
};

// One JSON line (no newline); non-finite numbers are written as null.
[[nodiscard]] std::string event_to_json(const Event& event, double unix_time);

// Resuming from a checkpoint taken after `last_iter` iterations: keeps the lines of
// <run_dir>/events.jsonl whose iter is <= last_iter and appends the others (iterations that will
// be done again, and a line cut short by a kill) to events.discarded.jsonl, so events.jsonl has
// no lost or repeated iteration. events.jsonl is replaced atomically. Returns the lines moved
// (0 without an events.jsonl). Call before a RunLog opens the folder.
std::size_t truncate_events(const std::string& run_dir, std::int64_t last_iter);

// Writes into an existing or new run folder: creates it with checkpoints/ and eval/, appends to
// events.jsonl and log.txt (a resumed run continues the same files). Thread-safe.
// A disabled RunLog (data-parallel ranks other than 0) creates nothing and writes nothing.
class RunLog {
 public:
  explicit RunLog(std::string run_dir, bool enabled = true);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  void write_config(const Config& config);  // config.yaml = Config::to_yaml(), atomically
  void event(const Event& event);           // one line of events.jsonl, flushed
  void log(const std::string& line);        // "[YYYY-mm-dd HH:MM:SS] line" in log.txt, flushed

  [[nodiscard]] bool enabled() const { return enabled_; }
  [[nodiscard]] const std::string& dir() const { return folder_.dir; }
  [[nodiscard]] const RunFolder& folder() const { return folder_; }
  [[nodiscard]] std::string checkpoints_dir() const { return folder_.checkpoints_dir(); }
  [[nodiscard]] std::string eval_dir() const { return folder_.eval_dir(); }

 private:
  RunFolder folder_;
  bool enabled_;
  std::mutex mutex_;
  std::FILE* events_ = nullptr;
  std::FILE* log_ = nullptr;
};

}  // namespace studio
