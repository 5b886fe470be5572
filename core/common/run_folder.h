#pragma once
// The run folder's layout: the one place that spells its file names (DESIGN.md, "The run folder").
// The trainer writes it, the GUI and the CLI read it; each builds paths here, so a name changes in
// one place. Torch-free and Qt-free (ui converts with QString::fromStdString).
//
//   <dir>/config.yaml, events.jsonl, events.discarded.jsonl, log.txt
//   <dir>/checkpoints/last.pt, epoch_<k>.pt, best.pt
//   <dir>/eval/results_<k>.json, metrics_<k>.json
//   <dir>/inspect/   the Inspect page's cache of predictions

#include <string>

namespace studio {

// The names of the folder's parts, for code that matches a path's pieces (a checkpoint's folder
// named "checkpoints", a metrics file inside "eval").
inline constexpr char kCheckpointsDirName[] = "checkpoints";
inline constexpr char kEvalDirName[] = "eval";
inline constexpr char kInspectDirName[] = "inspect";
inline constexpr char kLastCheckpointName[] = "last.pt";
inline constexpr char kBestCheckpointName[] = "best.pt";

struct RunFolder {
  std::string dir;

  [[nodiscard]] std::string config() const;            // config.yaml, the resolved recipe
  [[nodiscard]] std::string events() const;            // events.jsonl
  [[nodiscard]] std::string discarded_events() const;  // events.discarded.jsonl (cut on resume)
  [[nodiscard]] std::string log() const;               // log.txt
  [[nodiscard]] std::string checkpoints_dir() const;   // checkpoints
  [[nodiscard]] std::string last_checkpoint() const;   // checkpoints/last.pt
  [[nodiscard]] std::string epoch_checkpoint(int k) const;  // checkpoints/epoch_<k>.pt
  [[nodiscard]] std::string best_checkpoint() const;   // checkpoints/best.pt
  [[nodiscard]] std::string eval_dir() const;          // eval
  [[nodiscard]] std::string results(int k) const;      // eval/results_<k>.json
  [[nodiscard]] std::string metrics(int k) const;      // eval/metrics_<k>.json
  [[nodiscard]] std::string inspect_dir() const;       // inspect

  // The newest eval/metrics_<k>.json (highest k, compared as a number); "" when there is none.
  [[nodiscard]] std::string latest_metrics() const;
};

// k of a file name "metrics_<k>.json" (digits only, at most 15), else -1.
[[nodiscard]] long metrics_epoch(const std::string& file_name);

// The required fields of an events.jsonl line, and the event types the trainer writes.
namespace event_field {
inline constexpr char kType[] = "type";
inline constexpr char kTime[] = "time";
inline constexpr char kEpoch[] = "epoch";
inline constexpr char kIter[] = "iter";
}  // namespace event_field

namespace event_type {
inline constexpr char kStart[] = "start";
inline constexpr char kTrain[] = "train";
inline constexpr char kEvalStart[] = "eval_start";  // an evaluation begins: "images" (GUI status)
inline constexpr char kEval[] = "eval";
inline constexpr char kCheckpoint[] = "checkpoint";
inline constexpr char kResume[] = "resume";
inline constexpr char kError[] = "error";
inline constexpr char kEnd[] = "end";
}  // namespace event_type

}  // namespace studio
