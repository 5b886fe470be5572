#include "common/run_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace studio {

namespace {

// dir + "/" + name, without doubling a trailing slash ("runs/a/" as typed on a command line), as
// std::filesystem::path's operator/ joins.
std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

}  // namespace

std::string RunFolder::config() const { return join(dir, "config.yaml"); }
std::string RunFolder::events() const { return join(dir, "events.jsonl"); }
std::string RunFolder::discarded_events() const { return join(dir, "events.discarded.jsonl"); }
std::string RunFolder::log() const { return join(dir, "log.txt"); }
std::string RunFolder::checkpoints_dir() const { return join(dir, kCheckpointsDirName); }
std::string RunFolder::last_checkpoint() const { return checkpoints_dir() + "/" + kLastCheckpointName; }
std::string RunFolder::epoch_checkpoint(int k) const {
  return checkpoints_dir() + "/epoch_" + std::to_string(k) + ".pt";
}
std::string RunFolder::best_checkpoint() const { return checkpoints_dir() + "/" + kBestCheckpointName; }
std::string RunFolder::eval_dir() const { return join(dir, kEvalDirName); }
std::string RunFolder::results(int k) const { return eval_dir() + "/results_" + std::to_string(k) + ".json"; }
std::string RunFolder::metrics(int k) const { return eval_dir() + "/metrics_" + std::to_string(k) + ".json"; }
std::string RunFolder::inspect_dir() const { return join(dir, kInspectDirName); }

long metrics_epoch(const std::string& file_name) {
  static const std::string prefix = "metrics_", suffix = ".json";
  if (file_name.size() <= prefix.size() + suffix.size() || file_name.rfind(prefix, 0) != 0 ||
      file_name.compare(file_name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const std::string digits = file_name.substr(prefix.size(), file_name.size() - prefix.size() - suffix.size());
  if (digits.size() > 15 || !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
    return -1;
  return std::stol(digits);
}

std::string RunFolder::latest_metrics() const {
  std::error_code ec;
  long best = -1;
  std::string best_path;
  if (!fs::is_directory(eval_dir(), ec)) return "";
  for (const auto& entry : fs::directory_iterator(eval_dir(), ec)) {
    const long k = metrics_epoch(entry.path().filename().string());
    if (k > best) {
      best = k;
      best_path = entry.path().string();
    }
  }
  return best_path;
}

}  // namespace studio
