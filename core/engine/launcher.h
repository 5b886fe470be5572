#pragma once
// `studio-cli train --nproc N` as its own launcher (DESIGN.md, "Process model"): starts N worker
// processes of this same executable with torchrun's variables set, watches them, and ends the
// job as a whole. Torch-free (POSIX fork/exec, waitpid, signals).
//
// Faults: when a worker exits non-zero or is killed by a signal, the launcher prints which rank
// and why ("rank 1 (pid 4242) was killed by signal 9 (SIGKILL)"), sends SIGTERM to the others
// (they write nothing more; last.pt is left as it was or written whole: checkpoints are atomic),
// waits up to `grace` and then SIGKILLs what is left; those are reported as "was ended by the
// launcher (SIGKILL)", not as faults of their own. A rank that stalls (stopped, deadlocked, lost
// its GPU) is named with its last iteration by a rank that waits for it, after the recipe's
// train.stall_timeout (heartbeats, distributed.h), and that rank exits non-zero; a collective
// that waits longer than the process group's timeout (60 s) fails too. SIGINT/SIGTERM to the
// launcher are passed to every worker.
#include <chrono>
#include <string>
#include <vector>

namespace studio {

struct LaunchOptions {
  int nproc = 1;                  // workers on this node (--nproc)
  int nnodes = 1;                 // --nnodes
  int node_rank = 0;              // --node-rank
  std::string master_addr = "127.0.0.1";  // --master-addr
  int master_port = 0;            // --master-port; 0 = a free port (single node only)
  std::vector<std::string> argv;  // the worker command line: this executable and its arguments
  std::chrono::seconds grace{10};
};

// Runs the workers to the end. Returns 0 when all exited 0, else the first failure's exit code
// (128 + signal for a killed worker). Throws studio::Error for bad options (nproc < 1, node_rank
// outside 0..nnodes-1, a multi-node job without --master-port).
int launch_workers(const LaunchOptions& options);

// A TCP port that was free on 127.0.0.1 a moment ago.
[[nodiscard]] int find_free_port();

}  // namespace studio
