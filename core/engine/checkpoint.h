#pragma once
// The project's own checkpoints: runs/<name>/checkpoints/{last.pt, epoch_<k>.pt, best.pt}.
// (Their paths come from RunFolder, common/run_folder.h.)
// One torch archive (torch::serialize, a zip of pickles) holding
//   format          "studio-checkpoint-1"
//   model_names     [str]     named_parameters then named_buffers of the model (state-dict keys)
//   model_tensors   [Tensor]  in the same order (CPU)
//   optimizer       nested archive of torch::optim's own serialisation (SGD momentum buffers)
//   epoch, batch, iter, best_metric, best_epoch, seed   the trainer's position (TrainState)
//   epoch_images, world_size, batch_size   the loader's position as images of the epoch consumed
//                   by all ranks together, and the layout that consumed them (absent in files
//                   written before issue 5: read as -1 / 0 / 0)
//   rng_cpu         torch's default CPU generator state
//   category_ids, category_names   the classes the model predicts, in index order
// Written to a temporary file beside the target and renamed over it, so a crash never leaves a
// half-written checkpoint (and the previous last.pt stays usable).
//
// Test hook: when the environment has STUDIO_FAULT_KILL_DURING_SAVE=1, save_checkpoint runs the
// real atomic write until half of the bytes are in the temporary file and then raise(SIGKILL)s
// itself, before the fsync and the rename: the fault tests check that the half-written temporary
// file is there, last.pt is still the previous good checkpoint, and --resume works.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "data/dataset.h"

namespace studio {

// Where training stands; a checkpoint restores it exactly.
struct TrainState {
  int epoch = 0;             // epoch in progress, 0-based (== epochs when training finished)
  std::int64_t batch = 0;    // batches of `epoch` already done: the loader's position
  std::int64_t iter = 0;     // global iterations done
  double best_metric = -1;   // best evaluation so far (EvalSummary::key_metric: segm AP, box AP or VOC mAP; -1: none yet)
  int best_epoch = 0;        // epochs completed when best_metric was reached
  std::uint64_t seed = 0;    // the run's seed (loader shuffling, augmentation)
  // The loader's position independent of the number of processes: images of `epoch` consumed
  // by all ranks together (batch x batch_size x world_size for full batches). -1: unknown (a
  // checkpoint from before issue 5; the trainer then trusts `batch`).
  std::int64_t epoch_images = -1;
  int world_size = 0;        // processes and per-process batch that wrote it (0: unknown)
  int batch_size = 0;
  // The end of epoch `epoch` (its evaluation, its checkpoints) was stopped part-way (Stop during
  // the evaluation): a resumed run does it first, so the evaluation is not lost.
  bool epoch_end_pending = false;
};

struct CheckpointContents {
  TrainState state;
  std::vector<Category> categories;  // id and name (supercategory not kept)
  bool has_optimizer = false;
};

// Saves model (parameters + buffers), optimizer (may be null), state, categories and torch's CPU
// RNG state to `path`, atomically. Errors (studio::Error) name the path.
void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const torch::optim::Optimizer* optimizer, const TrainState& state,
                     const std::vector<Category>& categories);

// Restores everything save_checkpoint wrote into `model` and `optimizer` (may be null) and sets
// torch's CPU RNG state. The model must have the same parameter names and shapes: a missing or
// unexpected key or a shape mismatch is a studio::Error naming the file and the key.
CheckpointContents load_checkpoint(const std::string& path, torch::nn::Module& model,
                                   torch::optim::Optimizer* optimizer);

// Only the model weights (inference, fine-tuning): same checks as load_checkpoint.
void load_model_weights(const std::string& path, torch::nn::Module& model);

// Removes the temporary files that saves interrupted by a crash left in `dir` (".<name>.tmp<n>"
// beside the checkpoints, written by write_file_atomic) and returns their names.
std::vector<std::string> remove_interrupted_saves(const std::string& dir);

// State and categories without touching a model (e.g. to learn num_classes before building it).
[[nodiscard]] CheckpointContents read_checkpoint_info(const std::string& path);

}  // namespace studio
