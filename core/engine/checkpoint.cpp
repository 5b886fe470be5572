#include "engine/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include <unistd.h>

#include "common/atomic_file.h"
#include "common/error.h"

namespace studio {

namespace {

constexpr const char* kFormat = "studio-checkpoint-1";

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// All state-dict entries: parameters, then buffers (BatchNorm running statistics).
std::vector<std::pair<std::string, torch::Tensor>> state_entries(const torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers(/*recurse=*/true)) out.emplace_back(b.key(), b.value());
  return out;
}

torch::serialize::InputArchive open_archive(const std::string& path) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot read the checkpoint (missing, or not a torch archive): " + e.what_without_backtrace());
  }
  c10::IValue format;
  if (!archive.try_read("format", format) || !format.isString() || format.toStringRef() != kFormat)
    throw Error(path + ": not a studio checkpoint (no format \"" + kFormat + "\")");
  return archive;
}

c10::IValue read_value(torch::serialize::InputArchive& archive, const std::string& path, const std::string& key) {
  c10::IValue v;
  if (!archive.try_read(key, v)) throw Error(path + ": checkpoint lacks '" + key + "'");
  return v;
}

std::int64_t read_int_or(torch::serialize::InputArchive& archive, const std::string& key, std::int64_t fallback) {
  c10::IValue v;
  return archive.try_read(key, v) && v.isInt() ? v.toInt() : fallback;
}

// The write of save_checkpoint. Under STUDIO_FAULT_KILL_DURING_SAVE=1 (checkpoint.h) the real
// atomic write runs until half of the bytes are in its temporary file, and the process then
// SIGKILLs itself: before the fsync and the rename, as a crash or `kill -9` would hit it.
void write_checkpoint_bytes(const std::string& path, const std::string& bytes) {
  const char* v = std::getenv("STUDIO_FAULT_KILL_DURING_SAVE");
  if (!v || std::string(v) != "1") {
    write_file_atomic(path, bytes);
    return;
  }
  AtomicWriteOps ops = AtomicWriteOps::system();
  const std::size_t half = bytes.size() / 2;
  auto written = std::make_shared<std::size_t>(0);
  ops.write = [half, written](int fd, const char* data, std::size_t n) -> ssize_t {
    if (*written >= half) std::raise(SIGKILL);
    const ssize_t w = ::write(fd, data, std::min(n, half - *written));
    if (w > 0) *written += static_cast<std::size_t>(w);
    return w;
  };
  write_file_atomic(path, bytes, ops);
}

void restore_model(torch::serialize::InputArchive& archive, const std::string& path, torch::nn::Module& model) {
  const auto names = read_value(archive, path, "model_names").toList();
  const auto tensors = read_value(archive, path, "model_tensors").toList();
  if (names.size() != tensors.size()) throw Error(path + ": model_names and model_tensors differ in length");
  std::map<std::string, torch::Tensor> saved;
  for (std::size_t i = 0; i < names.size(); ++i) saved[names.get(i).toStringRef()] = tensors.get(i).toTensor();
  const auto entries = state_entries(model);
  std::set<std::string> known;
  torch::NoGradGuard no_grad;
  for (const auto& [name, target] : entries) {
    known.insert(name);
    auto it = saved.find(name);
    if (it == saved.end())
      throw Error(path + ": '" + name + "' is missing from the checkpoint (does the recipe's model match the one trained?)");
    if (it->second.sizes() != target.sizes())
      throw Error(path + ": '" + name + "' has shape " + shape_text(it->second) + " in the checkpoint but " +
                  shape_text(target) + " in the recipe's model");
    target.copy_(it->second);
  }
  for (const auto& [name, t] : saved)
    if (!known.count(name))
      throw Error(path + ": '" + name + "' in the checkpoint is not part of the recipe's model");
}

CheckpointContents read_contents(torch::serialize::InputArchive& archive, const std::string& path) {
  CheckpointContents c;
  c.state.epoch = static_cast<int>(read_value(archive, path, "epoch").toInt());
  c.state.batch = read_value(archive, path, "batch").toInt();
  c.state.iter = read_value(archive, path, "iter").toInt();
  c.state.best_metric = read_value(archive, path, "best_metric").toDouble();
  c.state.best_epoch = static_cast<int>(read_value(archive, path, "best_epoch").toInt());
  c.state.seed = static_cast<std::uint64_t>(read_value(archive, path, "seed").toInt());
  c.state.epoch_images = read_int_or(archive, "epoch_images", -1);
  c.state.world_size = static_cast<int>(read_int_or(archive, "world_size", 0));
  c.state.batch_size = static_cast<int>(read_int_or(archive, "batch_size", 0));
  c.state.epoch_end_pending = read_int_or(archive, "epoch_end_pending", 0) != 0;
  const auto ids = read_value(archive, path, "category_ids").toList();
  const auto names = read_value(archive, path, "category_names").toList();
  for (std::size_t i = 0; i < ids.size() && i < names.size(); ++i)
    c.categories.push_back({ids.get(i).toInt(), names.get(i).toStringRef(), ""});
  return c;
}

}  // namespace

void save_checkpoint(const std::string& path, const torch::nn::Module& model, const torch::optim::Optimizer* optimizer,
                     const TrainState& state, const std::vector<Category>& categories) {
  std::string bytes;
  try {
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string(kFormat)));
    c10::List<std::string> names;
    c10::List<at::Tensor> tensors;
    for (const auto& [name, t] : state_entries(model)) {
      names.push_back(name);
      tensors.push_back(t.detach().to(torch::kCPU).clone());
    }
    archive.write("model_names", c10::IValue(names));
    archive.write("model_tensors", c10::IValue(tensors));
    if (optimizer) {
      torch::serialize::OutputArchive opt;
      optimizer->save(opt);
      archive.write("optimizer", opt);
    }
    archive.write("epoch", c10::IValue(static_cast<std::int64_t>(state.epoch)));
    archive.write("batch", c10::IValue(state.batch));
    archive.write("iter", c10::IValue(state.iter));
    archive.write("best_metric", c10::IValue(state.best_metric));
    archive.write("best_epoch", c10::IValue(static_cast<std::int64_t>(state.best_epoch)));
    archive.write("seed", c10::IValue(static_cast<std::int64_t>(state.seed)));
    archive.write("epoch_images", c10::IValue(state.epoch_images));
    archive.write("world_size", c10::IValue(static_cast<std::int64_t>(state.world_size)));
    archive.write("batch_size", c10::IValue(static_cast<std::int64_t>(state.batch_size)));
    archive.write("epoch_end_pending", c10::IValue(static_cast<std::int64_t>(state.epoch_end_pending)));
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      archive.write("rng_cpu", gen.get_state());
    }
    c10::List<std::int64_t> ids;
    c10::List<std::string> cat_names;
    for (const auto& c : categories) {
      ids.push_back(c.id);
      cat_names.push_back(c.name);
    }
    archive.write("category_ids", c10::IValue(ids));
    archive.write("category_names", c10::IValue(cat_names));
    archive.save_to([&bytes](const void* data, std::size_t n) {
      bytes.append(static_cast<const char*>(data), n);
      return n;
    });
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot serialise the checkpoint: " + e.what_without_backtrace());
  }
  write_checkpoint_bytes(path, bytes);
}

CheckpointContents load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer) {
  auto archive = open_archive(path);
  CheckpointContents c = read_contents(archive, path);
  restore_model(archive, path, model);
  torch::serialize::InputArchive opt;
  c.has_optimizer = archive.try_read("optimizer", opt);
  if (optimizer) {
    if (!c.has_optimizer) throw Error(path + ": checkpoint has no optimizer state (a weights-only file?)");
    try {
      optimizer->load(opt);
    } catch (const c10::Error& e) {
      throw Error(path + ": optimizer state does not match the model: " + e.what_without_backtrace());
    }
  }
  torch::Tensor rng;
  if (archive.try_read("rng_cpu", rng)) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng);
  }
  return c;
}

void load_model_weights(const std::string& path, torch::nn::Module& model) {
  auto archive = open_archive(path);
  restore_model(archive, path, model);
}

std::vector<std::string> remove_interrupted_saves(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".pt.tmp") != std::string::npos && entry.is_regular_file(ec)) {
      std::error_code rm;
      if (fs::remove(entry.path(), rm)) removed.push_back(name);
    }
  }
  return removed;
}

CheckpointContents read_checkpoint_info(const std::string& path) {
  auto archive = open_archive(path);
  CheckpointContents c = read_contents(archive, path);
  torch::serialize::InputArchive opt;
  c.has_optimizer = archive.try_read("optimizer", opt);
  return c;
}

}  // namespace studio
