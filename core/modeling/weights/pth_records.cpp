#include "modeling/weights/pth_records.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "common/error.h"
#include "modeling/weights/torch_pickle.h"

namespace studio {

namespace {

using namespace torch_pickle;  // the pickle objects and the Unpickler

struct DtypeInfo {
  PthDtype dtype;
  const char* storage;
  std::size_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {PthDtype::Float, "FloatStorage", 4}, {PthDtype::Double, "DoubleStorage", 8},
    {PthDtype::Half, "HalfStorage", 2},   {PthDtype::BFloat16, "BFloat16Storage", 2},
    {PthDtype::Long, "LongStorage", 8},   {PthDtype::Int, "IntStorage", 4},
    {PthDtype::Short, "ShortStorage", 2}, {PthDtype::Char, "CharStorage", 1},
    {PthDtype::Byte, "ByteStorage", 1},   {PthDtype::Bool, "BoolStorage", 1}};

const DtypeInfo& info(PthDtype dtype) {
  for (const DtypeInfo& d : kDtypes)
    if (d.dtype == dtype) return d;
  return kDtypes[0];  // unreachable: every enumerator is listed
}

// A view that repeats storage elements (zero or overlapping strides) is copied out whole; a few
// bytes of file must not ask for gigabytes.
constexpr std::int64_t kMaxRepeatedBytes = std::int64_t(64) << 20;
// Element counts beyond this times 8 bytes would overflow a byte count.
constexpr std::int64_t kMaxElements = INT64_MAX / 8;

// Persistent id ('storage', torch.FloatStorage, key, location, numel[, view_metadata]) -> the
// storage object for `key` (one per key: tensors may share a storage).
Obj storage_from_pid(Arena& arena, const std::string& file, const Obj& pid,
                     std::map<std::string, Obj>& storages) {
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
  Obj s = arena.make(Kind::Storage);
  if (type->kind != Kind::Global || !pth_dtype_of_storage(type->s2, s->dtype))
    throw Error(file + ": storage " + key + " has unsupported type " +
                (type->kind == Kind::Global ? type->s + "." + type->s2 : std::string("?")));
  s->s = key;
  if (pid->items[4]->kind != Kind::Int) throw Error(file + ": storage " + key + ": size is not an int");
  s->numel = pid->items[4]->i;
  if (s->numel < 0 || s->numel > kMaxElements)
    throw Error(file + ": storage " + key + ": impossible size " + std::to_string(s->numel));
  storages[key] = s;
  return s;
}

std::size_t storage_nbytes(const PyObj& s) {
  return static_cast<std::size_t>(s.numel) * pth_element_size(s.dtype);
}

// Keeps the storage's bytes, the first of `bytes` (a record may hold more).
void load_storage(const std::string& file, PyObj& s, std::string bytes) {
  const std::size_t need = storage_nbytes(s);
  if (bytes.size() < need)
    throw Error(file + ": storage " + s.s + " holds " + std::to_string(bytes.size()) + " bytes, " +
                std::to_string(need) + " expected (truncated file?)");
  bytes.resize(need);
  s.bytes = std::move(bytes);
  s.loaded = true;
}

// The elements of tensor `t` (a strided view of its storage) in row-major order, every index
// checked to lie inside the storage first.
PthRecord gather(const std::string& file, const std::string& name, const PyObj& t) {
  const PyObj& s = *t.storage;
  if (!s.loaded) throw Error(file + ": " + name + ": its storage " + s.s + " is missing");
  const auto outside = [&] { return Error(file + ": " + name + ": the tensor reaches outside its storage"); };
  PthRecord r;
  r.name = name;
  r.dtype = s.dtype;
  r.sizes = t.sizes;
  const std::size_t dims = t.sizes.size();
  bool empty = false;
  for (std::size_t d = 0; d < dims; ++d) {
    if (t.sizes[d] < 0 || t.strides[d] < 0)
      throw Error(file + ": " + name + ": negative sizes and strides are not supported");
    empty = empty || t.sizes[d] == 0;
  }
  if (empty) return r;

  // The last element's index, and the element count, without overflow.
  std::int64_t last = t.offset;
  std::int64_t count = 1;
  if (last < 0) throw outside();
  for (std::size_t d = 0; d < dims; ++d) {
    std::int64_t step = 0;
    if (__builtin_mul_overflow(t.sizes[d] - 1, t.strides[d], &step) ||
        __builtin_add_overflow(last, step, &last))
      throw outside();
    if (__builtin_mul_overflow(count, t.sizes[d], &count) || count > kMaxElements)
      throw Error(file + ": " + name + ": impossible size (more than 2^60 elements)");
  }
  if (last >= s.numel) throw outside();
  const std::size_t size = pth_element_size(s.dtype);
  const std::int64_t nbytes = count * static_cast<std::int64_t>(size);
  if (count > s.numel && nbytes > kMaxRepeatedBytes)
    throw Error(file + ": " + name + ": repeats the " + std::to_string(s.numel) +
                " elements of its storage as " + std::to_string(count) +
                " (over 64 MB); not a state dict torch.save writes");

  const char* base = s.bytes.data();
  // Contiguous (the usual case): one copy. Dimensions of size 1 may carry any stride.
  bool contiguous = true;
  std::int64_t expected = 1;
  for (std::size_t d = dims; d-- > 0;) {
    if (t.sizes[d] != 1 && t.strides[d] != expected) contiguous = false;
    expected *= t.sizes[d];
  }
  if (contiguous) {
    r.bytes.assign(base + static_cast<std::size_t>(t.offset) * size, static_cast<std::size_t>(nbytes));
    return r;
  }
  r.bytes.resize(static_cast<std::size_t>(nbytes));
  std::vector<std::int64_t> index(dims, 0);
  std::int64_t at = t.offset;  // stays within [offset, last]: strides are not negative
  for (std::int64_t k = 0; k < count; ++k) {
    std::memcpy(&r.bytes[static_cast<std::size_t>(k) * size], base + static_cast<std::size_t>(at) * size,
                size);
    for (std::size_t d = dims; d-- > 0;) {
      if (++index[d] < t.sizes[d]) {
        at += t.strides[d];
        break;
      }
      at -= (t.sizes[d] - 1) * t.strides[d];
      index[d] = 0;
    }
  }
  return r;
}

// The top-level object -> named tensor records.
std::vector<PthRecord> to_records(const std::string& file, const Obj& root) {
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
  std::vector<PthRecord> out;
  for (auto& kv : dict->dict) {
    if (kv.first->kind != Kind::Str || kv.second->kind != Kind::Tensor) continue;  // e.g. _extra_state
    out.push_back(gather(file, kv.first->s, *kv.second));
  }
  if (out.empty()) throw Error(file + ": holds a dict without tensors, not a state dict");
  return out;
}

// The pickled magic number 0x1950a86a20f9469cfc6c that starts a legacy file (protocol 2, LONG1).
constexpr std::string_view kLegacyStart("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 14);

}  // namespace

std::size_t pth_element_size(PthDtype dtype) { return info(dtype).size; }
const char* pth_storage_name(PthDtype dtype) { return info(dtype).storage; }

bool pth_dtype_of_storage(const std::string& name, PthDtype& dtype) {
  for (const DtypeInfo& d : kDtypes)
    if (name == d.storage) {
      dtype = d.dtype;
      return true;
    }
  return false;
}

std::vector<PthRecord> pth_records_from_pickle(const std::string& file, std::string_view pickle,
                                               const PthStorageReader& read_storage) {
  Arena arena;
  std::map<std::string, Obj> storages;
  auto pl = [&](const Obj& pid) {
    Obj s = storage_from_pid(arena, file, pid, storages);
    if (!s->loaded) load_storage(file, *s, read_storage(s->s));
    return s;
  };
  Unpickler up(arena, file, pickle.data(), pickle.size(), 0, pl);
  return to_records(file, up.load());
}

bool is_legacy_pth(std::string_view bytes) { return bytes.substr(0, kLegacyStart.size()) == kLegacyStart; }

std::vector<PthRecord> pth_records_from_legacy(const std::string& file, std::string_view bytes) {
  Arena arena;
  std::map<std::string, Obj> storages;
  auto pl = [&](const Obj& pid) { return storage_from_pid(arena, file, pid, storages); };
  Unpickler up(arena, file, bytes.data(), bytes.size(), 0, pl);
  up.load();  // magic number
  const Obj protocol = up.load();
  if (protocol->kind != Kind::Int || protocol->i != 1001)
    throw Error(file + ": unsupported legacy protocol version (expected 1001)");
  const Obj sys_info = up.load();
  for (auto& kv : sys_info->dict)
    if (kv.first->s == "little_endian" && kv.second->kind == Kind::Bool && kv.second->i == 0)
      throw Error(file + ": written on a big-endian machine, which is not supported");
  const Obj root = up.load();
  const Obj keys = up.load();
  if (keys->kind != Kind::List) throw Error(file + ": malformed legacy file (no list of storage keys)");
  std::size_t pos = up.pos();
  for (auto& k : keys->items) {
    const std::string key = k->kind == Kind::Int ? std::to_string(k->i) : k->s;
    auto it = storages.find(key);
    if (it == storages.end()) throw Error(file + ": malformed legacy file (unknown storage key " + key + ")");
    if (bytes.size() - pos < 8) throw Error(file + ": the file ends before storage " + key + " (truncated?)");
    std::int64_t count = 0;
    std::memcpy(&count, bytes.data() + pos, 8);  // little-endian int64: the element count
    pos += 8;
    if (count != it->second->numel)
      throw Error(file + ": storage " + key + " says " + std::to_string(count) + " elements, its tensor " +
                  std::to_string(it->second->numel));
    const std::size_t n = std::min(storage_nbytes(*it->second), bytes.size() - pos);
    load_storage(file, *it->second, std::string(bytes.substr(pos, n)));
    pos += n;
  }
  return to_records(file, root);
}

}  // namespace studio
