#include "modeling/weights/pth_file.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <unordered_map>

#include "common/atomic_file.h"
#include "common/error.h"
#include "modeling/weights/torch_pickle.h"

namespace studio {

namespace {

using namespace torch_pickle;  // the pickle objects, Unpickler and Pickler

// Persistent id ('storage', torch.FloatStorage, key, location, numel[, view_metadata]) -> the
// storage object for `key` (one per key: tensors may share a storage).
Obj storage_from_pid(const std::string& file, const Obj& pid, std::map<std::string, Obj>& storages) {
  if (pid->kind != Kind::Tuple || pid->items.size() < 5 || pid->items[0]->s != "storage")
    throw Error(file + ": unsupported persistent id in the pickle (expected a ('storage', ...) tuple)");
  const Obj& type = pid->items[1];
  const std::string key =
      pid->items[2]->kind == Kind::Int ? std::to_string(pid->items[2]->i) : pid->items[2]->s;
  if (pid->items.size() > 5 && pid->items[5]->kind != Kind::None)
    throw Error(file + ": storage " + key +
                " is a view of another storage (a pre-1.0 file feature not supported); "
                "re-save it with a current torch: torch.save(torch.load(f), f2)");
  auto it = storages.find(key);
  if (it != storages.end()) return it->second;
  auto s = make(Kind::Storage);
  if (type->kind != Kind::Global || !storage_dtype(type->s2, s->dtype))
    throw Error(file + ": storage " + key + " has unsupported type " +
                (type->kind == Kind::Global ? type->s + "." + type->s2 : std::string("?")));
  s->s = key;
  if (pid->items[4]->kind != Kind::Int) throw Error(file + ": storage " + key + ": size is not an int");
  s->numel = pid->items[4]->i;
  storages[key] = s;
  return s;
}

torch::Tensor storage_tensor(const std::string& file, const Obj& s, const char* bytes, size_t nbytes) {
  const size_t need = static_cast<size_t>(s->numel) * c10::elementSize(s->dtype);
  if (nbytes < need)
    throw Error(file + ": storage " + s->s + " holds " + std::to_string(nbytes) + " bytes, " +
                std::to_string(need) + " expected (truncated file?)");
  torch::Tensor t = torch::empty({s->numel}, torch::TensorOptions().dtype(s->dtype));
  if (need > 0) std::memcpy(t.data_ptr(), bytes, need);
  return t;
}

// The top-level object -> named tensors.
StateDictEntries to_entries(const std::string& file, const Obj& root) {
  Obj dict = root;
  if (dict->kind != Kind::Dict)
    throw Error(file + ": holds " + std::string(kind_name(dict->kind)) +
                (dict->kind == Kind::Object ? " (" + dict->s + ")" : std::string()) +
                ", not a state dict; save model.state_dict() instead of the model");
  auto has_tensors = [](const Obj& d) {
    for (auto& kv : d->dict)
      if (kv.second->kind == Kind::Tensor) return true;
    return false;
  };
  if (!has_tensors(dict))
    for (auto& kv : dict->dict)
      if (kv.first->kind == Kind::Str && (kv.first->s == "state_dict" || kv.first->s == "model") &&
          kv.second->kind == Kind::Dict && has_tensors(kv.second)) {
        dict = kv.second;
        break;
      }
  StateDictEntries out;
  for (auto& kv : dict->dict) {
    if (kv.first->kind != Kind::Str || kv.second->kind != Kind::Tensor) continue;  // e.g. _extra_state
    const PyObj& t = *kv.second;
    const PyObj& s = *t.storage;
    int64_t last = t.offset;
    bool empty = false;
    for (size_t d = 0; d < t.sizes.size(); ++d) {
      if (t.sizes[d] == 0) empty = true;
      last += (t.sizes[d] - 1) * t.strides[d];
    }
    if (!s.data.defined()) throw Error(file + ": " + kv.first->s + ": its storage " + s.s + " is missing");
    if (!empty && (t.offset < 0 || last >= s.numel))
      throw Error(file + ": " + kv.first->s + ": the tensor reaches outside its storage");
    torch::Tensor v = empty ? torch::empty(t.sizes, s.data.options())
                            : s.data.as_strided(t.sizes, t.strides, t.offset).contiguous();
    out.push_back({kv.first->s, v});
  }
  if (out.empty()) throw Error(file + ": holds a dict without tensors, not a state dict");
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the file");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The pickled magic number 0x1950a86a20f9469cfc6c that starts a legacy file (protocol 2, LONG1).
const char kLegacyStart[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

StateDictEntries read_legacy(const std::string& path, const std::string& bytes) {
  std::map<std::string, Obj> storages;
  auto pl = [&](const Obj& pid) { return storage_from_pid(path, pid, storages); };
  Unpickler up(path, bytes.data(), bytes.size(), 0, pl);
  up.load();  // magic number
  const Obj protocol = up.load();
  if (protocol->kind != Kind::Int || protocol->i != 1001)
    throw Error(path + ": unsupported legacy protocol version (expected 1001)");
  const Obj sys_info = up.load();
  for (auto& kv : sys_info->dict)
    if (kv.first->s == "little_endian" && kv.second->kind == Kind::Bool && kv.second->i == 0)
      throw Error(path + ": written on a big-endian machine, which is not supported");
  const Obj root = up.load();
  const Obj keys = up.load();
  if (keys->kind != Kind::List) throw Error(path + ": malformed legacy file (no list of storage keys)");
  size_t pos = up.pos();
  for (auto& k : keys->items) {
    const std::string key = k->kind == Kind::Int ? std::to_string(k->i) : k->s;
    auto it = storages.find(key);
    if (it == storages.end()) throw Error(path + ": malformed legacy file (unknown storage key " + key + ")");
    if (bytes.size() - pos < 8) throw Error(path + ": the file ends before storage " + key + " (truncated?)");
    int64_t count = 0;
    std::memcpy(&count, bytes.data() + pos, 8);  // little-endian int64: the element count
    pos += 8;
    if (count != it->second->numel)
      throw Error(path + ": storage " + key + " says " + std::to_string(count) + " elements, its tensor " +
                  std::to_string(it->second->numel));
    const size_t n = static_cast<size_t>(count) * c10::elementSize(it->second->dtype);
    it->second->data = storage_tensor(path, it->second, bytes.data() + pos, std::min(n, bytes.size() - pos));
    pos += n;
  }
  return to_entries(path, root);
}

StateDictEntries read_zip(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": not a readable PyTorch zip file (" + std::string(e.what_without_backtrace()) + ")");
  }
  if (!reader->hasRecord("data.pkl"))
    throw Error(path +
                ": a zip file without data.pkl: not written by torch.save (a TorchScript module "
                "or another zip?)");
  at::DataPtr pkl;
  size_t pkl_size = 0;
  std::tie(pkl, pkl_size) = reader->getRecord("data.pkl");
  std::map<std::string, Obj> storages;
  auto pl = [&](const Obj& pid) {
    Obj s = storage_from_pid(path, pid, storages);
    if (!s->data.defined()) {
      const std::string record = "data/" + s->s;
      if (!reader->hasRecord(record)) throw Error(path + ": storage record " + record + " is missing");
      at::DataPtr ptr;
      size_t n = 0;
      std::tie(ptr, n) = reader->getRecord(record);
      s->data = storage_tensor(path, s, static_cast<const char*>(ptr.get()), n);
    }
    return s;
  };
  Unpickler up(path + " (data.pkl)", static_cast<const char*>(pkl.get()), pkl_size, 0, pl);
  return to_entries(path, up.load());
}

}  // namespace

StateDictEntries read_pth(const std::string& path) {
  const std::string bytes = read_all(path);
  if (bytes.size() >= 4 && bytes.compare(0, 4, "PK\x03\x04") == 0) return read_zip(path);
  if (bytes.size() >= sizeof kLegacyStart - 1 && bytes.compare(0, sizeof kLegacyStart - 1, kLegacyStart) == 0)
    return read_legacy(path, bytes);
  if (bytes.size() > 262 && bytes.compare(257, 5, "ustar") == 0)
    throw Error(path +
                ": a tar archive (the format of PyTorch before 0.4), not supported; convert it with "
                "python -c \"import torch; torch.save(torch.load('OLD'), 'NEW.pth')\"");
  throw Error(path +
              ": not a PyTorch state dict file (neither the zip format torch.save writes nor the "
              "legacy pickle format)");
}

std::string pth_bytes(const StateDictEntries& entries) {
  // data.pkl: OrderedDict([(name, _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())), ...])
  Pickler p;
  p.op('\x80');
  p.op('\x02');
  p.global("collections", "OrderedDict");
  p.op(')');
  p.op('R');
  std::vector<torch::Tensor> storages;
  if (!entries.empty()) p.op('(');
  for (const auto& e : entries) {
    torch::Tensor t = e.tensor.detach().to(torch::kCPU).contiguous();
    const std::string key = std::to_string(storages.size());
    storages.push_back(t);
    p.str(e.name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
    p.str("storage");
    p.global("torch", storage_name(t.scalar_type()));
    p.str(key);
    p.str("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);
    p.int_tuple(t.sizes().vec());
    p.int_tuple(t.strides().vec());
    p.op('\x89');  // requires_grad False
    p.global("collections", "OrderedDict");
    p.op(')');
    p.op('R');
    p.op('t');
    p.op('R');
  }
  if (!entries.empty()) p.op('u');
  p.op('.');

  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&out](const void* buf, size_t n) {
    out.append(static_cast<const char*>(buf), n);
    return n;
  });
  writer.writeRecord("data.pkl", p.bytes().data(), p.bytes().size());
  writer.writeRecord("byteorder", "little", 6);
  for (size_t i = 0; i < storages.size(); ++i)
    writer.writeRecord("data/" + std::to_string(i), storages[i].data_ptr(), storages[i].nbytes());
  writer.writeEndOfFile();
  return out;
}

void write_pth(const std::string& path, const StateDictEntries& entries) {
  write_file_atomic(path, pth_bytes(entries));
}

}  // namespace studio
