#pragma once
// Data-parallel training over c10d (DESIGN.md, "Process model"). One process per device meets the
// others through a c10d TCPStore held by rank 0 at MASTER_ADDR:MASTER_PORT and joins one process
// group: ProcessGroupNCCL when LibTorch has CUDA and the device is a GPU, ProcessGroupGloo
// otherwise. The variables are torchrun's; SLURM's are mapped when torchrun's are absent, so the
// same binary runs under `studio-cli train --nproc N` (launcher.h), torchrun-style launchers,
// srun, or by hand on several nodes.
//
// What the trainer does with a DistContext (trainer.cpp, evaluator.cpp):
//   - before the first step, rank 0's parameters and buffers are broadcast to all ranks;
//   - after backward, gradients are averaged with bucketed all-reduces (GradientAllReduce);
//   - loss normalisers that count things over the batch (SOLOv2's positives) are summed over the
//     ranks, so N processes x batch b follow the same loss as 1 process x batch N*b;
//   - the logged losses are the mean over ranks; rank 0 alone writes events, logs, checkpoints;
//   - evaluation: each rank predicts its shard of the validation set, rank 0 gathers and scores.
// Normalisation layers that use batch statistics (trainable BatchNorm) stay per rank, as in
// PyTorch's DDP without SyncBatchNorm; frozen BN and GroupNorm are batch-independent.
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace studio {

// Where this process sits in the job. world_size 1 = single process (no process group).
struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  // index on this node: picks cuda:<local_rank>
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  [[nodiscard]] bool distributed() const { return world_size > 1; }
};

// torchrun's RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; when RANK
// is unset, SLURM's SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE (or
// SLURM_TASKS_PER_NODE's first number) and the first host of SLURM_STEP_NODELIST/SLURM_NODELIST
// ("node[01-04]" -> node01) unless MASTER_ADDR is set. No variables: a single process.
// Throws studio::Error naming the variable for a value that is not a number or is out of range
// (RANK >= WORLD_SIZE, a port outside 1..65535).
[[nodiscard]] DistEnv dist_env_from_environment();

// The process group of one process. Collectives block; a peer that died or hangs makes them
// throw studio::Error after `timeout` with the rank and what was being done.
//
// Stalled ranks (train.stall_timeout, --stall-timeout): every rank publishes a heartbeat through
// the c10d store from a thread of its own: a counter, its iteration, and whether its training
// thread is computing, waiting in a collective, working alone (SoloScope) or done. A rank that
// has waited in one collective for the stall time looks at the others and names the first that
// either sent no heartbeat for that long (stopped, frozen, its machine lost) or sent heartbeats
// but made no progress while computing (a deadlock, a lost GPU), with its last iteration; the
// collective then throws that as studio::Error. A store that stops answering (rank 0 holds it)
// is named the same way. The check costs nothing outside collectives that wait long.
class DistContext {
 public:
  // Connects to (rank 0: creates) the TCPStore and builds the group. Waits up to `timeout` for
  // all ranks to arrive; the error then says how many arrived. `stall_timeout` 0: no heartbeat.
  static std::shared_ptr<DistContext> create(
      const DistEnv& env, torch::Device device, std::chrono::milliseconds timeout = std::chrono::seconds(60),
      std::chrono::milliseconds stall_timeout = std::chrono::milliseconds(0));
  ~DistContext();

  [[nodiscard]] int rank() const { return env_.rank; }
  [[nodiscard]] int world_size() const { return env_.world_size; }
  [[nodiscard]] const DistEnv& env() const { return env_; }
  [[nodiscard]] torch::Device device() const { return device_; }
  [[nodiscard]] std::string backend() const;  // "gloo" or "nccl"

  // In place, over all ranks. Tensors live on device().
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  [[nodiscard]] double all_reduce_sum(double value);
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  // Every rank's bytes, in rank order (results JSON of an evaluation shard).
  [[nodiscard]] std::vector<std::string> all_gather_bytes(const std::string& mine);
  void barrier();

  // The iteration this rank's heartbeat reports (the trainer's, 1-based, set as each step begins).
  void set_iteration(std::int64_t iteration);
  // While one lives, this rank works alone and the others may wait for it (rank 0 scoring an
  // evaluation, writing a checkpoint): its heartbeat says so and no rank calls it stalled for
  // making no progress (only for sending no heartbeat).
  class SoloScope {
   public:
    explicit SoloScope(DistContext* dist);
    ~SoloScope();
    SoloScope(const SoloScope&) = delete;
    SoloScope& operator=(const SoloScope&) = delete;

   private:
    DistContext* dist_;
  };

  DistContext(const DistContext&) = delete;
  DistContext& operator=(const DistContext&) = delete;

 private:
  struct Impl;
  DistContext(DistEnv env, torch::Device device, std::unique_ptr<Impl> impl);
  DistEnv env_;
  torch::Device device_;
  std::unique_ptr<Impl> impl_;
};

// Averages gradients over the ranks: the parameters with gradients, in reverse registration
// order, packed into flat buckets of about bucket_mb megabytes, one all-reduce per bucket,
// divided by world_size and copied back.
void all_reduce_gradients(DistContext& dist, const std::vector<torch::Tensor>& parameters,
                          double bucket_mb = 25);
// Makes every rank start from rank 0's values (parameters and buffers).
void broadcast_module(DistContext& dist, torch::nn::Module& module);

}  // namespace studio
