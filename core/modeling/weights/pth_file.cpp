#include "modeling/weights/pth_file.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <string_view>

#include "common/atomic_file.h"
#include "common/error.h"
#include "modeling/weights/pth_records.h"
#include "modeling/weights/torch_pickle.h"

namespace studio {

namespace {

using torch_pickle::Pickler;

c10::ScalarType scalar_type(PthDtype dtype) {
  switch (dtype) {
    case PthDtype::Float:
      return c10::kFloat;
    case PthDtype::Double:
      return c10::kDouble;
    case PthDtype::Half:
      return c10::kHalf;
    case PthDtype::BFloat16:
      return c10::kBFloat16;
    case PthDtype::Long:
      return c10::kLong;
    case PthDtype::Int:
      return c10::kInt;
    case PthDtype::Short:
      return c10::kShort;
    case PthDtype::Char:
      return c10::kChar;
    case PthDtype::Byte:
      return c10::kByte;
    case PthDtype::Bool:
      return c10::kBool;
  }
  return c10::kFloat;
}

// The storage class write_pth names for a tensor's element type.
const char* storage_name(c10::ScalarType t) {
  for (PthDtype d : {PthDtype::Float, PthDtype::Double, PthDtype::Half, PthDtype::BFloat16, PthDtype::Long,
                     PthDtype::Int, PthDtype::Short, PthDtype::Char, PthDtype::Byte, PthDtype::Bool})
    if (scalar_type(d) == t) return pth_storage_name(d);
  throw Error(std::string("write_pth: unsupported tensor type ") + c10::toString(t));
}

// Records (checked and gathered by pth_records.cpp) -> tensors, each record's bytes freed as it
// is copied.
StateDictEntries to_entries(std::vector<PthRecord> records) {
  StateDictEntries out;
  out.reserve(records.size());
  for (PthRecord& r : records) {
    torch::Tensor t = torch::empty(r.sizes, torch::TensorOptions().dtype(scalar_type(r.dtype)));
    if (!r.bytes.empty()) std::memcpy(t.data_ptr(), r.bytes.data(), r.bytes.size());
    std::string().swap(r.bytes);
    out.push_back({std::move(r.name), t});
  }
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the file");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
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
  const auto read_storage = [&](const std::string& key) {
    const std::string record = "data/" + key;
    if (!reader->hasRecord(record)) throw Error(path + ": storage record " + record + " is missing");
    at::DataPtr ptr;
    size_t n = 0;
    std::tie(ptr, n) = reader->getRecord(record);
    return std::string(static_cast<const char*>(ptr.get()), n);
  };
  return to_entries(pth_records_from_pickle(
      path + " (data.pkl)", std::string_view(static_cast<const char*>(pkl.get()), pkl_size), read_storage));
}

}  // namespace

StateDictEntries read_pth(const std::string& path) {
  const std::string bytes = read_all(path);
  if (bytes.size() >= 4 && bytes.compare(0, 4, "PK\x03\x04") == 0) return read_zip(path);
  if (is_legacy_pth(bytes)) return to_entries(pth_records_from_legacy(path, bytes));
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
