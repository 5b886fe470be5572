#include "engine/distributed.h"

// c10d's backend headers are guarded by the macros torch was built with; TorchConfig.cmake does
// not export them, so say here what Debian's LibTorch (Gloo) and a CUDA LibTorch (NCCL) have.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef STUDIO_HAS_CUDA
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "engine/heartbeat.h"

namespace studio {

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, int lo, int hi) {
  const char* v = env(name);
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || v[used] != '\0') throw Error(std::string(name) + "='" + v + "': expected an integer");
  if (n < lo || n > hi)
    throw Error(std::string(name) + "=" + v + ": expected a value in " + std::to_string(lo) + ".." +
                std::to_string(hi));
  return static_cast<int>(n);
}

// SLURM_TASKS_PER_NODE is "2(x3),1": the first number is this job's tasks on the first nodes.
int leading_int(const char* name, const char* v) {
  std::size_t i = 0;
  while (v[i] && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
  if (i == 0) throw Error(std::string(name) + "='" + v + "': expected a number of tasks, e.g. 2 or 2(x3)");
  return std::stoi(std::string(v, i));
}

// "node[01-04,07],gpu5" -> "node01"; "a,b" -> "a"; "host" -> "host".
std::string first_host(const char* name, const std::string& list) {
  std::string out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const char c = list[i];
    if (c == ',') break;
    if (c == '[') {
      std::size_t j = i + 1;
      while (j < list.size() && std::isdigit(static_cast<unsigned char>(list[j]))) out += list[j++];
      if (j == i + 1 || list.find(']', i) == std::string::npos)
        throw Error(std::string(name) + "='" + list + "': cannot read the first host of the node list");
      return out;
    }
    out += c;
  }
  if (out.empty()) throw Error(std::string(name) + "='" + list + "': empty node list");
  return out;
}

}  // namespace

DistEnv dist_env_from_environment() {
  DistEnv e;
  constexpr int kMax = std::numeric_limits<int>::max();
  if (env("RANK") || env("WORLD_SIZE")) {
    if (!env("RANK") || !env("WORLD_SIZE"))
      throw Error(std::string(env("RANK") ? "WORLD_SIZE" : "RANK") + " is not set but " +
                  (env("RANK") ? "RANK" : "WORLD_SIZE") + " is: set both (torchrun's variables)");
    e.world_size = env_int("WORLD_SIZE", 1, kMax);
    e.rank = env_int("RANK", 0, e.world_size - 1);
    e.local_rank = env("LOCAL_RANK") ? env_int("LOCAL_RANK", 0, kMax) : e.rank;
    e.local_world_size = env("LOCAL_WORLD_SIZE") ? env_int("LOCAL_WORLD_SIZE", 1, kMax) : e.world_size;
  } else if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    e.world_size = env_int("SLURM_NTASKS", 1, kMax);
    e.rank = env_int("SLURM_PROCID", 0, e.world_size - 1);
    e.local_rank = env("SLURM_LOCALID") ? env_int("SLURM_LOCALID", 0, kMax) : 0;
    if (env("SLURM_NTASKS_PER_NODE"))
      e.local_world_size = env_int("SLURM_NTASKS_PER_NODE", 1, kMax);
    else if (env("SLURM_TASKS_PER_NODE"))
      e.local_world_size = leading_int("SLURM_TASKS_PER_NODE", env("SLURM_TASKS_PER_NODE"));
    else
      e.local_world_size = e.world_size;
    if (!env("MASTER_ADDR")) {
      if (const char* list = env("SLURM_STEP_NODELIST"))
        e.master_addr = first_host("SLURM_STEP_NODELIST", list);
      else if (const char* list2 = env("SLURM_NODELIST"))
        e.master_addr = first_host("SLURM_NODELIST", list2);
    }
  } else {
    return e;  // a single process
  }
  if (e.local_rank >= e.local_world_size)
    throw Error("LOCAL_RANK " + std::to_string(e.local_rank) + " is not below LOCAL_WORLD_SIZE " +
                std::to_string(e.local_world_size));
  if (const char* a = env("MASTER_ADDR")) e.master_addr = a;
  if (env("MASTER_PORT")) e.master_port = env_int("MASTER_PORT", 1, 65535);
  return e;
}

// ---------------------------------------------------------------------------------------------
// The process group behind a small interface: ProcessGroupGloo and ProcessGroupNCCL are
// ProcessGroups in LibTorch 1.13 and Backends in 2.x with the same collective signatures, so a
// template over the concrete class compiles against both.

namespace {

class Group {
 public:
  virtual ~Group() = default;
  virtual c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& t) = 0;
  virtual c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& t, int root) = 0;
  virtual c10::intrusive_ptr<c10d::Work> allgather(std::vector<std::vector<at::Tensor>>& out,
                                                   std::vector<at::Tensor>& in) = 0;
};

template <typename PG>
class GroupOf : public Group {
 public:
  explicit GroupOf(c10::intrusive_ptr<PG> pg) : pg_(std::move(pg)) {}
  c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& t) override { return pg_->allreduce(t); }
  c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& t, int root) override {
    c10d::BroadcastOptions o;
    o.rootRank = root;
    return pg_->broadcast(t, o);
  }
  c10::intrusive_ptr<c10d::Work> allgather(std::vector<std::vector<at::Tensor>>& out,
                                           std::vector<at::Tensor>& in) override {
    return pg_->allgather(out, in);
  }

 private:
  c10::intrusive_ptr<PG> pg_;
};

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

}  // namespace

struct DistContext::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  std::unique_ptr<Group> group;
  std::unique_ptr<Heartbeat> heartbeat;  // null when stall detection is off
  std::chrono::milliseconds timeout{60000};
  std::string backend;
  torch::Device comm_device = torch::kCPU;  // where collective buffers live (CPU for Gloo)
  // A collective failed (timed out, a peer died or stalled): its work may still be in flight on
  // the group's threads, and destroying the group would wait for it (up to the timeout), so the
  // group is left to the process's end.
  bool failed = false;
};

namespace {

std::string where(const DistContext& d, const std::string& op) {
  return "rank " + std::to_string(d.rank()) + " of " + std::to_string(d.world_size()) + ": " + op + " (" +
         d.backend() + ")";
}

}  // namespace

DistContext::DistContext(DistEnv env, torch::Device device, std::unique_ptr<Impl> impl)
    : env_(std::move(env)), device_(device), impl_(std::move(impl)) {}

DistContext::~DistContext() {
  if (!impl_) return;
  if (impl_->heartbeat) impl_->heartbeat->stop();   // says "done" while the store is still there
  if (impl_->failed) (void)impl_->group.release();  // see Impl::failed
}

void DistContext::set_iteration(std::int64_t iteration) {
  if (impl_->heartbeat) impl_->heartbeat->set_iteration(iteration);
}

DistContext::SoloScope::SoloScope(DistContext* dist) : dist_(dist) {
  if (dist_ && dist_->impl_->heartbeat) dist_->impl_->heartbeat->enter_solo();
}

DistContext::SoloScope::~SoloScope() {
  if (dist_ && dist_->impl_->heartbeat) dist_->impl_->heartbeat->leave_solo();
}

std::string DistContext::backend() const { return impl_->backend; }

std::shared_ptr<DistContext> DistContext::create(const DistEnv& env, torch::Device device,
                                                 std::chrono::milliseconds timeout,
                                                 std::chrono::milliseconds stall_timeout) {
  if (env.world_size < 1 || env.rank < 0 || env.rank >= env.world_size)
    throw Error("distributed: rank " + std::to_string(env.rank) + " is not in a world of " +
                std::to_string(env.world_size));
  if (env.master_port < 1 || env.master_port > 65535)
    throw Error("distributed: MASTER_PORT " + std::to_string(env.master_port) + " is not in 1..65535");
  auto impl = std::make_unique<Impl>();
  impl->timeout = timeout;
  const std::string who = "rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size);
  const std::string at = env.master_addr + ":" + std::to_string(env.master_port);

  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(env.master_port);
  so.isServer = env.rank == 0;
  so.numWorkers = static_cast<std::size_t>(env.world_size);
  so.waitWorkers = false;  // the check-in below waits, with a message that counts the arrivals
  so.timeout = timeout;
  try {
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    throw Error(
        who + ": cannot meet the other processes through the TCPStore at " + at + " within " +
        std::to_string(timeout.count() / 1000) + " s (" +
        (env.rank == 0 ? "is the port free? did every rank start?" : "is rank 0 running at that address?") +
        "): " + dist_error_text(e));
  }
  // The heartbeat's own connection (its timeout is the stall time, so that a frozen store is
  // found in that time); its first beat is written before this rank checks in, so every rank's
  // key exists once all have arrived.
  if (stall_timeout.count() > 0) {
    try {
      c10d::TCPStoreOptions ho;
      ho.port = so.port;
      ho.isServer = false;
      ho.waitWorkers = false;
      ho.timeout = std::max(stall_timeout, std::chrono::milliseconds(1000));
      impl->heartbeat = std::make_unique<Heartbeat>(env, stall_timeout,
                                                    c10::make_intrusive<c10d::TCPStore>(env.master_addr, ho));
    } catch (const std::exception& e) {
      throw Error(who + ": cannot open the heartbeat's connection to the TCPStore at " + at + ": " +
                  dist_error_text(e));
    }
  }
  // Every rank checks in and waits for the others, so that a missing process is reported as such
  // (the group's own rendezvous only says "Socket Timeout").
  try {
    const std::string key = "studio/arrived";
    std::int64_t arrived = impl->store->add(key, 1);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (arrived < env.world_size) {
      if (std::chrono::steady_clock::now() >= deadline)
        throw Error(who + ": only " + std::to_string(arrived) + " of " + std::to_string(env.world_size) +
                    " processes arrived at " + at + " within " + std::to_string(timeout.count() / 1000) +
                    " s (did every rank start? same MASTER_ADDR/MASTER_PORT and WORLD_SIZE?)");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      arrived = impl->store->add(key, 0);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(who + ": lost the TCPStore at " + at +
                " while waiting for the other processes: " + dist_error_text(e));
  }

  try {
#ifdef STUDIO_HAS_CUDA
    if (device.is_cuda()) {
      // Without async error handling a NCCL collective waiting for a dead peer never returns.
      setenv("NCCL_ASYNC_ERROR_HANDLING", "1", 0);
      setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1", 0);
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      impl->group = std::make_unique<GroupOf<c10d::ProcessGroupNCCL>>(
          c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, env.rank, env.world_size, opts));
      impl->backend = "nccl";
      impl->comm_device = device;
    }
#endif
    if (!impl->group) {
      if (!device.is_cpu())
        throw Error(who + ": device " + device.str() + " needs NCCL, which this LibTorch build lacks");
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      // The address other ranks reach this one at: loopback for a single-node job, the
      // interface named by GLOO_SOCKET_IFNAME (as PyTorch), else this host's name.
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (is_loopback(env.master_addr))
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      opts->threads = 2;
      impl->group = std::make_unique<GroupOf<c10d::ProcessGroupGloo>>(
          c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, opts));
      impl->backend = "gloo";
      impl->comm_device = torch::kCPU;
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(who + ": cannot build the process group over " + at + ": " + dist_error_text(e));
  }
  if (impl->heartbeat) impl->heartbeat->start();
  return std::shared_ptr<DistContext>(new DistContext(env, device, std::move(impl)));
}

namespace {

// Waits for a collective; a timeout, a peer's failure or a stalled peer (the heartbeat's
// finding) becomes a studio::Error.
void wait(const DistContext& d, Heartbeat* heartbeat, bool host_work, bool& failed,
          const c10::intrusive_ptr<c10d::Work>& work, std::chrono::milliseconds timeout,
          const std::string& op) {
  failed = true;  // until it completes
  struct InWait {
    Heartbeat* h;
    explicit InWait(Heartbeat* hb) : h(hb) {
      if (h) h->enter_wait();
    }
    ~InWait() {
      if (h) h->leave_wait();
    }
  } in_wait(heartbeat);
  bool done = false;
  try {
    if (heartbeat && host_work) {
      // Gloo's work completes on the host: poll it, so the heartbeat's finding can end the wait.
      // (A NCCL work's wait only orders streams and returns at once; its heartbeat exits the
      // process instead when the training thread stays blocked.)
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      std::chrono::microseconds nap(20);
      while (!work->isCompleted()) {
        if (const std::string why = heartbeat->stalled(); !why.empty())
          throw Error(where(d, op) + " stopped: " + why);
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(nap);
        nap = std::min(nap * 2, std::chrono::microseconds(500));
      }
      done = work->isCompleted() && work->wait();
    } else {
      done = work->wait(timeout);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(where(d, op) + " failed: " + dist_error_text(e) +
                " (another process died, hangs or was stopped)");
  }
  failed = !done;
  if (!done)
    throw Error(where(d, op) + " timed out after " + std::to_string(timeout.count() / 1000) +
                " s (another process died, hangs or was stopped)");
}

// Groups tensors by dtype into one flat contiguous buffer each (on `device`), in order.
struct Flat {
  torch::Tensor buffer;
  std::vector<std::size_t> members;  // indices into the caller's tensors
};

std::vector<Flat> flatten_by_dtype(const std::vector<torch::Tensor>& tensors, torch::Device device) {
  std::map<int, Flat> by_type;
  std::vector<int> order;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const int key = static_cast<int>(tensors[i].scalar_type());
    if (!by_type.count(key)) order.push_back(key);
    by_type[key].members.push_back(i);
  }
  std::vector<Flat> out;
  for (int key : order) {
    Flat f = std::move(by_type[key]);
    std::vector<torch::Tensor> parts;
    for (std::size_t i : f.members) parts.push_back(tensors[i].detach().reshape({-1}).to(device));
    f.buffer = torch::cat(parts).contiguous();
    out.push_back(std::move(f));
  }
  return out;
}

void unflatten(const Flat& f, std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (std::size_t i : f.members) {
    torch::Tensor& t = tensors[i];
    const std::int64_t n = t.numel();
    t.copy_(f.buffer.slice(0, offset, offset + n).view(t.sizes()));
    offset += n;
  }
}

}  // namespace

void DistContext::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return;
  for (Flat& f : flatten_by_dtype(tensors, impl_->comm_device)) {
    std::vector<at::Tensor> one{f.buffer};
    wait(*this, impl_->heartbeat.get(), impl_->comm_device.is_cpu(), impl_->failed,
         impl_->group->allreduce(one), impl_->timeout, "all_reduce");
    unflatten(f, tensors);
  }
}

double DistContext::all_reduce_sum(double value) {
  std::vector<torch::Tensor> t{torch::full({1}, value, torch::TensorOptions().dtype(torch::kDouble))};
  all_reduce_sum(t);
  return t[0].item<double>();
}

void DistContext::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  if (tensors.empty()) return;
  for (Flat& f : flatten_by_dtype(tensors, impl_->comm_device)) {
    std::vector<at::Tensor> one{f.buffer};
    wait(*this, impl_->heartbeat.get(), impl_->comm_device.is_cpu(), impl_->failed,
         impl_->group->broadcast(one, root), impl_->timeout, "broadcast from rank " + std::to_string(root));
    unflatten(f, tensors);
  }
}

std::vector<std::string> DistContext::all_gather_bytes(const std::string& mine) {
  const int world = world_size();
  const auto bytes = torch::TensorOptions().dtype(torch::kUInt8).device(impl_->comm_device);
  const auto longs = torch::TensorOptions().dtype(torch::kLong).device(impl_->comm_device);
  // Lengths first, then every rank's bytes padded to the longest.
  std::vector<at::Tensor> len_in{torch::full({1}, static_cast<std::int64_t>(mine.size()), longs)};
  std::vector<std::vector<at::Tensor>> len_out(1);
  for (int r = 0; r < world; ++r) len_out[0].push_back(torch::zeros({1}, longs));
  wait(*this, impl_->heartbeat.get(), impl_->comm_device.is_cpu(), impl_->failed,
       impl_->group->allgather(len_out, len_in), impl_->timeout, "all_gather (sizes)");
  std::vector<std::int64_t> lengths;
  std::int64_t longest = 1;
  for (const auto& t : len_out[0]) {
    lengths.push_back(t.to(torch::kCPU).item<std::int64_t>());
    longest = std::max(longest, lengths.back());
  }
  torch::Tensor local = torch::zeros({longest}, torch::TensorOptions().dtype(torch::kUInt8));
  if (!mine.empty()) std::memcpy(local.data_ptr<std::uint8_t>(), mine.data(), mine.size());
  std::vector<at::Tensor> in{local.to(impl_->comm_device)};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < world; ++r) out[0].push_back(torch::zeros({longest}, bytes));
  wait(*this, impl_->heartbeat.get(), impl_->comm_device.is_cpu(), impl_->failed,
       impl_->group->allgather(out, in), impl_->timeout, "all_gather");
  std::vector<std::string> result;
  for (int r = 0; r < world; ++r) {
    const torch::Tensor t = out[0][static_cast<std::size_t>(r)].to(torch::kCPU).contiguous();
    result.emplace_back(reinterpret_cast<const char*>(t.data_ptr<std::uint8_t>()),
                        static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)]));
  }
  return result;
}

void DistContext::barrier() {
  // An all-reduce of one number: the same on every backend (NCCL's barrier guesses a device).
  std::vector<torch::Tensor> t{torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat))};
  all_reduce_sum(t);
}

void all_reduce_gradients(DistContext& dist, const std::vector<torch::Tensor>& parameters, double bucket_mb) {
  if (dist.world_size() == 1) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params;
  for (const auto& p : parameters)
    if (p.requires_grad()) params.push_back(p);
  // A parameter may have a gradient on one rank and none on another (a branch unused by that
  // rank's images): agree on the set first, zeros standing in where a rank has none, so that
  // every rank reduces the same buckets in the same order.
  std::vector<torch::Tensor> has{torch::zeros({static_cast<std::int64_t>(params.size())}, torch::kFloat)};
  {
    auto acc = has[0].accessor<float, 1>();
    for (std::size_t i = 0; i < params.size(); ++i)
      acc[static_cast<std::int64_t>(i)] = params[i].grad().defined();
  }
  dist.all_reduce_sum(has);
  std::vector<torch::Tensor> grads;
  {
    auto acc = has[0].accessor<float, 1>();
    for (std::size_t i = params.size(); i-- > 0;) {  // reverse order: the order backward finishes them
      if (acc[static_cast<std::int64_t>(i)] == 0) continue;
      torch::Tensor& p = params[i];
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
  }
  const double limit = std::max(1.0, bucket_mb * 1024 * 1024);
  const double scale = 1.0 / dist.world_size();
  std::size_t begin = 0;
  while (begin < grads.size()) {
    std::size_t end = begin;
    double size = 0;
    const auto type = grads[begin].scalar_type();
    while (end < grads.size() && grads[end].scalar_type() == type &&
           (end == begin || size + grads[end].numel() * grads[end].element_size() <= limit)) {
      size += static_cast<double>(grads[end].numel() * grads[end].element_size());
      ++end;
    }
    std::vector<torch::Tensor> bucket(grads.begin() + static_cast<std::ptrdiff_t>(begin),
                                      grads.begin() + static_cast<std::ptrdiff_t>(end));
    dist.all_reduce_sum(bucket);  // one flat buffer per bucket (one dtype)
    for (auto& g : bucket) g.mul_(scale);
    begin = end;
  }
}

void broadcast_module(DistContext& dist, torch::nn::Module& module) {
  if (dist.world_size() == 1) return;
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.parameters(/*recurse=*/true)) tensors.push_back(p);
  for (const auto& b : module.buffers(/*recurse=*/true)) tensors.push_back(b);
  dist.broadcast(tensors, 0);
}

}  // namespace studio
