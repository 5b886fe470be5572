#include "modeling/weights/mindspore_ckpt.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/error.h"

namespace studio {

namespace {

enum WireType : int { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

struct Key {
  uint64_t field = 0;
  int wire = 0;
  size_t at = 0;  // offset of the key in the file
};

// A window [pos, end) of the file's bytes. Offsets in messages are from the start of the file.
class WireReader {
 public:
  WireReader(const std::string& bytes, size_t pos, size_t end, const std::string& file)
      : bytes_(bytes), pos_(pos), end_(end), file_(file) {}

  [[nodiscard]] bool done() const { return pos_ >= end_; }
  [[nodiscard]] std::string_view rest() const { return {bytes_.data() + pos_, end_ - pos_}; }

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw Error(file_ + ": byte " + std::to_string(at) + ": " + what);
  }

  uint64_t varint(const char* what) {
    const size_t start = pos_;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= end_) fail(start, std::string("truncated varint (") + what + ")");
      const auto b = static_cast<uint8_t>(bytes_[pos_++]);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(start, std::string("varint longer than 10 bytes (") + what + ")");
  }

  Key key() {
    const size_t at = pos_;
    const uint64_t k = varint("field key");
    return {k >> 3, static_cast<int>(k & 7), at};
  }

  // The payload of a length-delimited field, as a reader of its own; this one moves past it.
  WireReader sub(const char* what) {
    const uint64_t n = varint(what);
    const size_t left = end_ - pos_;
    if (n > left)
      fail(pos_, std::string(end_ == bytes_.size() ? "truncated length-delimited field"
                                                   : "length-delimited field overruns its message") +
                     " (needs " + std::to_string(n) + " bytes, " + std::to_string(left) + " left) in " + what);
    WireReader r(bytes_, pos_, pos_ + n, file_);
    pos_ += n;
    return r;
  }

  void skip(const Key& k) {
    switch (k.wire) {
      case kVarint: (void)varint("skipped field"); return;
      case kFixed64: return fixed(8, "64-bit");
      case kLengthDelimited: (void)sub("skipped field"); return;
      case kFixed32: return fixed(4, "32-bit");
      default:
        fail(k.at, "unsupported wire type " + std::to_string(k.wire) + " (field " + std::to_string(k.field) +
                       "; expected 0, 1, 2 or 5)");
    }
  }

 private:
  void fixed(size_t n, const char* kind) {
    const size_t left = end_ - pos_;
    if (left < n)
      fail(pos_, std::string("truncated ") + kind + " field (needs " + std::to_string(n) + " bytes, " +
                     std::to_string(left) + " left)");
    pos_ += n;
  }

  const std::string& bytes_;
  size_t pos_, end_;
  const std::string& file_;
};

// One Value: a whole tensor or one part of a split one. `content` points into the file's bytes.
struct Part {
  std::string tag;
  std::vector<int64_t> dims;
  std::string dtype;
  std::string_view content;
};

void read_tensor_proto(WireReader r, Part& part) {
  while (!r.done()) {
    const Key k = r.key();
    if (k.field == 1 && k.wire == kVarint) {
      part.dims.push_back(static_cast<int64_t>(r.varint("TensorProto.dims")));
    } else if (k.field == 1 && k.wire == kLengthDelimited) {  // packed
      WireReader packed = r.sub("TensorProto.dims");
      while (!packed.done()) part.dims.push_back(static_cast<int64_t>(packed.varint("TensorProto.dims")));
    } else if (k.field == 2 && k.wire == kLengthDelimited) {
      part.dtype = std::string(r.sub("TensorProto.tensor_type").rest());
    } else if (k.field == 3 && k.wire == kLengthDelimited) {
      part.content = r.sub("TensorProto.tensor_content").rest();
    } else {
      r.skip(k);
    }
  }
}

// False for a Value that holds only a MapTensor (skipped).
bool read_value(WireReader r, size_t at, const std::string& file, Part& part) {
  bool has_tag = false, has_map = false;
  std::optional<WireReader> tensor;
  while (!r.done()) {
    const Key k = r.key();
    if (k.field == 1 && k.wire == kLengthDelimited) {
      part.tag = std::string(r.sub("Value.tag").rest());
      has_tag = true;
    } else if (k.field == 2 && k.wire == kLengthDelimited) {
      tensor.emplace(r.sub("Value.tensor"));
    } else {
      has_map = has_map || (k.field == 3 && k.wire == kLengthDelimited);
      r.skip(k);
    }
  }
  if (!has_tag) r.fail(at, "a Value without a tag (tensor name)");
  if (!tensor) {
    if (has_map) return false;
    throw Error(file + ": tensor '" + part.tag + "': its Value has no tensor field");
  }
  read_tensor_proto(*tensor, part);
  return true;
}

struct DType {
  const char* name;
  torch::Dtype dtype;
};
constexpr DType kDTypes[] = {{"Float32", torch::kFloat32}, {"Float16", torch::kFloat16},
                             {"Float64", torch::kFloat64}, {"BFloat16", torch::kBFloat16},
                             {"Int8", torch::kInt8},       {"Int16", torch::kInt16},
                             {"Int32", torch::kInt32},     {"Int64", torch::kInt64},
                             {"UInt8", torch::kUInt8},     {"Bool", torch::kBool}};

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// The tensor of parts [first, last), which share a tag.
torch::Tensor assemble(const std::vector<Part>& parts, size_t first, size_t last, const std::string& file) {
  const Part& p = parts[first];
  const std::string where = file + ": tensor '" + p.tag + "': ";
  for (size_t i = first + 1; i < last; ++i)
    if (parts[i].dtype != p.dtype || parts[i].dims != p.dims)
      throw Error(where + "its split parts disagree: part 0 is " + p.dtype + " " + shape_text(p.dims) +
                  ", part " + std::to_string(i - first) + " is " + parts[i].dtype + " " + shape_text(parts[i].dims));
  const DType* dt = nullptr;
  std::string known;
  for (const DType& d : kDTypes) {
    if (p.dtype == d.name) dt = &d;
    known += (known.empty() ? "" : ", ") + std::string(d.name);
  }
  if (!dt) throw Error(where + "unknown dtype '" + p.dtype + "' (expected one of " + known + ")");
  const size_t item = c10::elementSize(dt->dtype);
  uint64_t numel = 1;
  for (const int64_t d : p.dims) {
    if (d < 0 || (d > 0 && numel > uint64_t(std::numeric_limits<int64_t>::max()) / item / uint64_t(d)))
      throw Error(where + "invalid shape " + shape_text(p.dims));
    numel *= uint64_t(d);
  }
  size_t have = 0;
  for (size_t i = first; i < last; ++i) have += parts[i].content.size();
  if (have != numel * item)
    throw Error(where + "content holds " + std::to_string(have) + " bytes, expected " + std::to_string(numel * item) +
                " (shape " + shape_text(p.dims) + " of " + p.dtype + ", " + std::to_string(item) +
                " bytes each" + (last - first > 1 ? ", in " + std::to_string(last - first) + " parts)" : ")"));
  torch::Tensor t = torch::empty(p.dims, torch::TensorOptions().dtype(dt->dtype));
  auto* out = static_cast<char*>(t.data_ptr());
  for (size_t i = first; i < last; ++i) {  // little-endian on disk and on every host we build for
    if (!parts[i].content.empty()) std::memcpy(out, parts[i].content.data(), parts[i].content.size());
    out += parts[i].content.size();
  }
  return t;
}

}  // namespace

StateDictEntries parse_mindspore_checkpoint(const std::string& bytes, const std::string& file) {
  if (bytes.empty()) throw Error(file + ": empty file, not a MindSpore checkpoint");
  if (bytes.compare(0, 2, "PK") == 0)
    throw Error(file + ": a zip archive (a PyTorch .pth?), not a MindSpore checkpoint");
  if (bytes[0] != '\x0a') {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(static_cast<uint8_t>(bytes[0])));
    throw Error(file + ": not a MindSpore checkpoint (first byte " + hex +
                ", expected 0x0a; an encrypted checkpoint is not supported)");
  }
  std::vector<Part> parts;
  WireReader r(bytes, 0, bytes.size(), file);
  while (!r.done()) {
    // MindSpore's crc_check=True appends "crc_num<decimal>" after the messages (not verified here).
    if (r.rest().substr(0, 7) == "crc_num") break;
    const Key k = r.key();
    if (k.field != 1 || k.wire != kLengthDelimited) {
      r.skip(k);
      continue;
    }
    WireReader value = r.sub("Checkpoint.value");
    Part part;
    if (read_value(value, k.at, file, part)) parts.push_back(std::move(part));
  }
  if (parts.empty()) throw Error(file + ": holds no tensors (only MapTensors or unknown fields)");

  StateDictEntries out;
  std::unordered_set<std::string> seen;
  for (size_t first = 0; first < parts.size();) {
    size_t last = first + 1;
    while (last < parts.size() && parts[last].tag == parts[first].tag) ++last;
    if (!seen.insert(parts[first].tag).second)
      throw Error(file + ": tensor '" + parts[first].tag + "' appears twice (split parts must be consecutive)");
    out.push_back({parts[first].tag, assemble(parts, first, last, file)});
    first = last;
  }
  return out;
}

StateDictEntries read_mindspore_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(path + ": cannot open the file");
  const std::streamoff size = in.tellg();
  std::string bytes(static_cast<size_t>(std::max<std::streamoff>(size, 0)), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())))
    throw Error(path + ": cannot read the file");
  return parse_mindspore_checkpoint(bytes, path);
}

}  // namespace studio
