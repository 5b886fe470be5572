#pragma once
// The pickle subset that torch.save writes for a state dict, read and written without Python:
// the objects it builds (dicts, tuples, globals, storages, tensors), an unpickler for protocol 2
// (what both the zip and the legacy .pth formats hold) and a pickler for what write_pth emits.
// Internal to core/modeling/weights (pth_records.cpp, pth_file.cpp); not a general pickle
// implementation. Torch-free, so the fuzz target fuzz/fuzz_pth.cpp builds it without LibTorch.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error.h"
#include "modeling/weights/pth_records.h"

namespace studio::torch_pickle {

// ---- the Python objects a state dict pickle builds ----

struct PyObj;
using Obj = PyObj*;  // owned by the Arena of the file being read

enum class Kind {
  None,
  Bool,
  Int,
  BigInt,
  Float,
  Str,
  Bytes,
  Tuple,
  List,
  Dict,
  Global,
  Storage,
  Tensor,
  Object
};

struct PyObj {
  Kind kind = Kind::None;
  int64_t i = 0;
  double f = 0;
  std::string s, s2;       // Str/Bytes: s; Global: module s, name s2; Storage: key s; Object: class s
  std::vector<Obj> items;  // Tuple, List; Object: constructor args
  std::vector<std::pair<Obj, Obj>> dict;
  // Storage: element type and count; `bytes` holds them once read (`loaded`).
  PthDtype dtype = PthDtype::Float;
  int64_t numel = 0;
  std::string bytes;
  bool loaded = false;
  // Tensor: a strided view of a storage.
  Obj storage;
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

// Owns every object the pickles of one file build. Objects refer to each other by plain pointers:
// a pickle may make a list that contains itself (memo + APPEND), which reference counting would
// never free.
class Arena {
 public:
  Obj make(Kind k) {
    objects_.push_back(std::make_unique<PyObj>());
    objects_.back()->kind = k;
    return objects_.back().get();
  }

 private:
  std::vector<std::unique_ptr<PyObj>> objects_;
};

inline const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "a bool";
    case Kind::Int:
    case Kind::BigInt:
      return "an int";
    case Kind::Float:
      return "a float";
    case Kind::Str:
      return "a string";
    case Kind::Bytes:
      return "bytes";
    case Kind::Tuple:
      return "a tuple";
    case Kind::List:
      return "a list";
    case Kind::Dict:
      return "a dict";
    case Kind::Global:
      return "a class or function";
    case Kind::Storage:
      return "a storage";
    case Kind::Tensor:
      return "a tensor";
    case Kind::Object:
      return "an object";
  }
  return "?";
}

// ---- unpickler for the subset torch.save writes ----

class Unpickler {
 public:
  using PersistentLoad = std::function<Obj(const Obj& pid)>;
  Unpickler(Arena& arena, std::string file, const char* data, size_t size, size_t pos,
            PersistentLoad persistent_load)
      : arena_(arena),
        file_(std::move(file)),
        data_(data),
        size_(size),
        pos_(pos),
        persistent_load_(std::move(persistent_load)) {}

  // Reads one pickle (up to its STOP) from the current position.
  Obj load() {
    stack_.clear();
    marks_.clear();
    memo_.clear();
    while (true) {
      const size_t at = pos_;
      const uint8_t op = u8();
      switch (op) {
        case 0x80:
          u8();
          break;  // PROTO
        case 0x95:
          take(8);
          break;  // FRAME
        case '.':
          return pop();  // STOP
        case '(':
          marks_.push_back(stack_.size());
          break;  // MARK
        case '0':
          pop();
          break;  // POP
        case '1':
          pop_mark();
          break;  // POP_MARK
        case '2':
          push(top());
          break;  // DUP
        case 'N':
          push(make(Kind::None));
          break;
        case 0x88:
          push(boolean(true));
          break;  // NEWTRUE
        case 0x89:
          push(boolean(false));
          break;  // NEWFALSE
        case 'J':
          push(integer(static_cast<int32_t>(le(4))));
          break;  // BININT
        case 'K':
          push(integer(u8()));
          break;  // BININT1
        case 'M':
          push(integer(static_cast<int64_t>(le(2))));
          break;  // BININT2
        case 0x8a:
          push(long_int(u8()));
          break;  // LONG1
        case 0x8b:
          push(long_int(static_cast<size_t>(le(4))));
          break;     // LONG4
        case 'I': {  // INT (text; "00"/"01" are False/True)
          const std::string line = read_line();
          if (line == "00" || line == "01")
            push(boolean(line == "01"));
          else
            push(integer(number<int64_t>(line, at, "INT")));
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          const char* p = take(8);
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<uint8_t>(p[k]);
          auto o = make(Kind::Float);
          std::memcpy(&o->f, &bits, 8);
          push(o);
          break;
        }
        case 'X':
          push(text(Kind::Str, le(4)));
          break;  // BINUNICODE
        case 0x8c:
          push(text(Kind::Str, u8()));
          break;  // SHORT_BINUNICODE
        case 0x8d:
          push(text(Kind::Str, le(8)));
          break;  // BINUNICODE8
        case 'T':
          push(text(Kind::Str, le(4)));
          break;  // BINSTRING (Python 2 str)
        case 'U':
          push(text(Kind::Str, u8()));
          break;  // SHORT_BINSTRING
        case 'B':
          push(text(Kind::Bytes, le(4)));
          break;  // BINBYTES
        case 'C':
          push(text(Kind::Bytes, u8()));
          break;  // SHORT_BINBYTES
        case 0x8e:
          push(text(Kind::Bytes, le(8)));
          break;  // BINBYTES8
        case ')':
          push(make(Kind::Tuple));
          break;  // EMPTY_TUPLE
        case ']':
          push(make(Kind::List));
          break;  // EMPTY_LIST
        case '}':
          push(make(Kind::Dict));
          break;  // EMPTY_DICT
        case 0x8f:
          push(make(Kind::List));
          break;  // EMPTY_SET (as a list)
        case 't':
          push(sequence(Kind::Tuple, pop_mark()));
          break;  // TUPLE
        case 'l':
          push(sequence(Kind::List, pop_mark()));
          break;  // LIST
        case 0x91:
          push(sequence(Kind::List, pop_mark()));
          break;  // FROZENSET
        case 0x85: {
          auto a = pop();
          push(sequence(Kind::Tuple, {a}));
          break;
        }  // TUPLE1
        case 0x86: {
          auto b = pop();
          auto a = pop();
          push(sequence(Kind::Tuple, {a, b}));
          break;
        }
        case 0x87: {
          auto c = pop();
          auto b = pop();
          auto a = pop();
          push(sequence(Kind::Tuple, {a, b, c}));
          break;
        }
        case 'd': {
          auto d = make(Kind::Dict);
          add_items(d, pop_mark());
          push(d);
          break;
        }  // DICT
        case 's': {
          auto v = pop();
          auto k = pop();
          add_items(top(), {k, v});
          break;
        }  // SETITEM
        case 'u': {
          auto items = pop_mark();
          add_items(top(), items);
          break;
        }  // SETITEMS
        case 'a': {
          auto v = pop();
          append(top(), {v});
          break;
        }  // APPEND
        case 'e':
        case 0x90: {
          auto items = pop_mark();
          append(top(), items);
          break;
        }  // APPENDS, ADDITEMS
        case 'q':
          memo_[u8()] = top();
          break;  // BINPUT
        case 'r':
          memo_[static_cast<uint32_t>(le(4))] = top();
          break;  // LONG_BINPUT
        case 'p':
          memo_[number<uint32_t>(read_line(), at, "PUT")] = top();
          break;  // PUT
        case 0x94:
          memo_[static_cast<uint32_t>(memo_.size())] = top();
          break;  // MEMOIZE
        case 'h':
          push(memo(u8()));
          break;  // BINGET
        case 'j':
          push(memo(static_cast<uint32_t>(le(4))));
          break;  // LONG_BINGET
        case 'g':
          push(memo(number<uint32_t>(read_line(), at, "GET")));
          break;     // GET
        case 'c': {  // GLOBAL module\nname\n
          auto g = make(Kind::Global);
          g->s = read_line();
          g->s2 = read_line();
          push(g);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop();
          auto module = pop();
          auto g = make(Kind::Global);
          g->s = module->s;
          g->s2 = name->s;
          push(g);
          break;
        }
        case 'R': {
          auto args = pop();
          auto fn = pop();
          push(call(fn, args));
          break;
        }  // REDUCE
        case 0x81: {
          auto args = pop();
          auto cls = pop();
          push(call(cls, args));
          break;
        }  // NEWOBJ
        case 0x92: {
          pop();
          auto args = pop();
          auto cls = pop();
          push(call(cls, args));
          break;
        }  // NEWOBJ_EX
        case 'b':
          pop();
          break;  // BUILD: object state (an OrderedDict's _metadata); not needed
        case 'Q': {
          auto pid = pop();
          push(persistent_load_(pid));
          break;
        }  // BINPERSID
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(at, std::string("unsupported pickle opcode ") + hex +
                       " (not something torch.save writes for a state dict)");
        }
      }
    }
  }

  [[nodiscard]] size_t pos() const { return pos_; }
  [[noreturn]] void fail(size_t at, const std::string& message) const {
    throw Error(file_ + ": byte " + std::to_string(at) + ": " + message);
  }

 private:
  const char* take(size_t n) {
    if (n > size_ - pos_) fail(pos_, "the file ends in the middle of a pickle (truncated?)");
    const char* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint8_t u8() { return static_cast<uint8_t>(*take(1)); }
  Obj make(Kind k) { return arena_.make(k); }
  // The decimal argument of a text opcode (INT, PUT, GET), e.g. "I12\n".
  template <typename T>
  T number(const std::string& text, size_t at, const char* opcode) const {
    T v = 0;
    const char* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc() || p != end)
      fail(at, std::string("malformed pickle (") + opcode + " argument '" + text + "')");
    return v;
  }
  uint64_t le(int n) {
    const char* p = take(static_cast<size_t>(n));
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(p[k]);
    return v;
  }
  std::string read_line() {
    const size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ >= size_) fail(start, "the file ends in the middle of a pickle (truncated?)");
    std::string line(data_ + start, pos_ - start);
    ++pos_;
    return line;
  }
  Obj text(Kind k, uint64_t n) {
    auto o = make(k);
    const char* p = take(static_cast<size_t>(n));
    o->s.assign(p, static_cast<size_t>(n));
    return o;
  }
  Obj boolean(bool v) {
    auto o = make(Kind::Bool);
    o->i = v ? 1 : 0;
    return o;
  }
  Obj integer(int64_t v) {
    auto o = make(Kind::Int);
    o->i = v;
    return o;
  }
  Obj long_int(size_t n) {  // little-endian two's complement; more than 8 bytes stay raw
    const char* p = take(n);
    if (n > 8) {
      auto o = make(Kind::BigInt);
      o->s.assign(p, n);
      return o;
    }
    uint64_t v = 0;
    for (size_t k = n; k-- > 0;) v = (v << 8) | static_cast<uint8_t>(p[k]);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(p[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);
    return integer(static_cast<int64_t>(v));
  }
  Obj sequence(Kind k, std::vector<Obj> items) {
    auto o = make(k);
    o->items = std::move(items);
    return o;
  }
  void add_items(const Obj& d, const std::vector<Obj>& kv) {
    if (d->kind != Kind::Dict) return;  // items of an object we don't model: not needed
    for (size_t k = 0; k + 1 < kv.size(); k += 2) d->dict.emplace_back(kv[k], kv[k + 1]);
  }
  static void append(const Obj& l, const std::vector<Obj>& items) {
    if (l->kind == Kind::List) l->items.insert(l->items.end(), items.begin(), items.end());
  }
  void push(Obj o) { stack_.push_back(std::move(o)); }
  Obj pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      fail(pos_, "malformed pickle (stack underflow)");
    Obj o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Obj& top() {
    if (stack_.empty()) fail(pos_, "malformed pickle (stack underflow)");
    return stack_.back();
  }
  std::vector<Obj> pop_mark() {
    if (marks_.empty()) fail(pos_, "malformed pickle (no MARK)");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Obj> items(stack_.begin() + static_cast<long>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Obj memo(uint32_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) fail(pos_, "malformed pickle (memo " + std::to_string(k) + " unset)");
    return it->second;
  }
  int64_t as_int(const Obj& o, const char* what) {
    if (o->kind != Kind::Int) fail(pos_, std::string(what) + ": expected an int, got " + kind_name(o->kind));
    return o->i;
  }
  std::vector<int64_t> as_ints(const Obj& o, const char* what) {
    if (o->kind != Kind::Tuple && o->kind != Kind::List)
      fail(pos_, std::string(what) + ": expected a tuple of ints, got " + kind_name(o->kind));
    std::vector<int64_t> v;
    for (auto& x : o->items) v.push_back(as_int(x, what));
    return v;
  }

  // REDUCE / NEWOBJ: the few callables of a state dict; anything else becomes an opaque object
  // (harmless unless it sits where a tensor should be).
  Obj call(const Obj& fn, const Obj& args) {
    const std::string name = fn->kind == Kind::Global ? fn->s + "." + fn->s2 : "";
    if (name == "collections.OrderedDict") {
      auto d = make(Kind::Dict);
      if (!args->items.empty() && args->items[0]->kind == Kind::List)
        for (auto& pair : args->items[0]->items)
          if (pair->items.size() == 2) d->dict.emplace_back(pair->items[0], pair->items[1]);
      return d;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
      if (args->items.size() < 4 || args->items[0]->kind != Kind::Storage)
        fail(pos_, name + ": unexpected arguments");
      auto t = make(Kind::Tensor);
      t->storage = args->items[0];
      t->offset = as_int(args->items[1], "tensor offset");
      t->sizes = as_ints(args->items[2], "tensor size");
      t->strides = as_ints(args->items[3], "tensor stride");
      if (t->sizes.size() != t->strides.size()) fail(pos_, "tensor size and stride differ in length");
      return t;
    }
    if ((name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") &&
        !args->items.empty())
      return args->items[0];  // a Parameter is its data here
    auto o = make(Kind::Object);
    o->s = name.empty() ? std::string("object") : name;
    o->items = args->items;
    return o;
  }

  Arena& arena_;
  std::string file_;
  const char* data_;
  size_t size_;
  size_t pos_;
  PersistentLoad persistent_load_;
  std::vector<Obj> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, Obj> memo_;
};

// ---- writer ----

class Pickler {
 public:
  void op(char c) { out_.push_back(c); }
  void u32(uint32_t v) {
    for (int k = 0; k < 4; ++k) out_.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
  }
  void str(const std::string& s) {  // BINUNICODE, as Python's protocol-2 pickler writes str
    op('X');
    u32(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  void integer(int64_t v) {  // the smallest encoding, as Python's pickler chooses
    if (v >= 0 && v < 256) {
      op('K');
      out_.push_back(static_cast<char>(v));
    } else if (v >= 0 && v < 65536) {
      op('M');
      out_.push_back(static_cast<char>(v & 0xff));
      out_.push_back(static_cast<char>(v >> 8));
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      u32(static_cast<uint32_t>(static_cast<int32_t>(v)));
    } else {
      std::string b;
      for (int k = 0; k < 8; ++k)
        b.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * k)) & 0xff));
      op('\x8a');
      out_.push_back(8);
      out_ += b;
    }
  }
  void global(const std::string& module, const std::string& name) {
    op('c');
    out_ += module + "\n" + name + "\n";
  }
  void int_tuple(const std::vector<int64_t>& v) {
    if (v.empty()) return op(')');
    if (v.size() > 3) op('(');
    for (int64_t x : v) integer(x);
    if (v.size() == 1)
      op('\x85');
    else if (v.size() == 2)
      op('\x86');
    else if (v.size() == 3)
      op('\x87');
    else
      op('t');
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

}  // namespace studio::torch_pickle
