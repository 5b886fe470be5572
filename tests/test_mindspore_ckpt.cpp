// MindSpore checkpoints (.ckpt): the fixture written by tests/mindspore/write_ms_checkpoint.py
// (proto2 wire format by hand, values recomputed here from the same arange formulas) reads with
// the right names, dtypes, shapes and values, a split tensor is concatenated; checkpoints encoded
// here cover packed dims, unknown fields and MapTensors; truncated and corrupt files are reported
// with the byte offset, bad tensors with their name.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>

#include "common/error.h"
#include "modeling/weights/mindspore_ckpt.h"
#include "test_support.h"

using namespace studio;

namespace {

// A minimal protobuf encoder for the checkpoints made here.
std::string varint(uint64_t v) {
  std::string out;
  do {
    const auto b = static_cast<char>(v & 0x7f);
    v >>= 7;
    out += v ? static_cast<char>(b | 0x80) : b;
  } while (v);
  return out;
}
std::string key(int field, int wire) { return varint(uint64_t(field) << 3 | uint64_t(wire)); }
std::string ld(int field, const std::string& payload) { return key(field, 2) + varint(payload.size()) + payload; }

std::string tensor_proto(const std::vector<int64_t>& dims, const std::string& dtype, const std::string& content,
                         bool packed) {
  std::string out;
  if (packed) {
    std::string p;
    for (int64_t d : dims) p += varint(uint64_t(d));
    out += ld(1, p);
  } else {
    for (int64_t d : dims) out += key(1, 0) + varint(uint64_t(d));
  }
  return out + ld(2, dtype) + ld(3, content);
}
std::string value(const std::string& tag, const std::string& tensor) { return ld(1, ld(1, tag) + ld(2, tensor)); }

std::string float_bytes(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * 4);
}

// Offsets where the top-level Values of `bytes` start (and its size): cutting a file there leaves a
// valid, shorter checkpoint.
std::set<size_t> value_boundaries(const std::string& bytes) {
  std::set<size_t> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    out.insert(pos);
    ++pos;  // key 0x0a
    uint64_t n = 0;
    for (int shift = 0;; shift += 7) {
      const auto b = static_cast<uint8_t>(bytes[pos++]);
      n |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    pos += n;
  }
  out.insert(bytes.size());
  return out;
}

// The fixture's tensors, recomputed (tests/mindspore/write_ms_checkpoint.py, small_entries()).
StateDictEntries expected_small() {
  using torch::arange;
  return {
      {"conv.weight", (arange(24, torch::kFloat) * 0.25 - 3.0).view({2, 3, 2, 2})},
      {"conv.bias", (arange(4, torch::kFloat) * 0.5 - 1.0).to(torch::kHalf)},
      {"fc.weight", (arange(6, torch::kDouble) / 8 + 0.125).view({2, 3})},
      {"bn.num_batches_tracked", torch::tensor(int64_t((int64_t(1) << 40) + 7))},
      {"ids", arange(5, torch::kInt) * -3 + 100000},
      {"small", (arange(6, torch::kShort) * -1000).view({3, 2})},
      {"tiny", arange(4, torch::kChar) * -30},
      {"mask", (arange(8) % 3 == 0).view({2, 4})},
      {"pixels", ((arange(12, torch::kLong) * 37) % 256).to(torch::kByte).view({3, 4})},
      {"big", (arange(60, torch::kFloat) * 0.5 - 10.0).view({6, 10})},
  };
}

}  // namespace

class TestMindsporeCkpt : public QObject {
  Q_OBJECT

  std::string path_;   // the fixture small.ckpt
  std::string bytes_;  // its bytes

 private slots:
  void initTestCase() {
    // No skipping: without the fixtures (the setup test did not run or failed) this test fails.
    QVERIFY2(qEnvironmentVariableIsSet("STUDIO_MS_FIXTURES"),
             "STUDIO_MS_FIXTURES is not set (run through ctest: tests/mindspore/write_ms_checkpoint.py)");
    path_ = qEnvironmentVariable("STUDIO_MS_FIXTURES").toStdString() + "/small.ckpt";
    std::ifstream in(path_, std::ios::binary);
    QVERIFY2(in.good(), qPrintable(QString::fromStdString("cannot read " + path_)));
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    QVERIFY(!bytes_.empty());
  }

  void reads_names_dtypes_shapes_values() {
    const StateDictEntries got = read_mindspore_checkpoint(path_);
    const StateDictEntries want = expected_small();
    QCOMPARE(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      const std::string& name = want[i].name;
      QCOMPARE(got[i].name, name);
      const torch::Tensor& g = got[i].tensor;
      const torch::Tensor& w = want[i].tensor;
      QVERIFY2(g.dtype() == w.dtype(), qPrintable(QString::fromStdString(name)));
      QVERIFY2(g.sizes() == w.sizes(), qPrintable(QString::fromStdString(name)));
      QVERIFY(g.device().is_cpu() && g.is_contiguous());
      QVERIFY2(torch::equal(g, w), qPrintable(QString::fromStdString(name)));
    }
    QCOMPARE(got[3].tensor.dim(), int64_t(0));  // the scalar is 0-d
    QCOMPARE(got[3].tensor.item<int64_t>(), (int64_t(1) << 40) + 7);
  }

  void split_tensor_is_concatenated() {
    // The fixture's "big" (240 bytes, split at 100) is 3 Values of 2 rows each.
    size_t parts = 0;
    for (size_t at = bytes_.find("\x0a\x03" "big"); at != std::string::npos; at = bytes_.find("\x0a\x03" "big", at + 1))
      ++parts;
    QCOMPARE(parts, size_t(3));
    const StateDictEntries got = parse_mindspore_checkpoint(bytes_, "small.ckpt");
    QCOMPARE(got.back().name, std::string("big"));
    QVERIFY(torch::equal(got.back().tensor, expected_small().back().tensor));

    // Uneven parts, packed dims.
    const torch::Tensor t = torch::arange(35, torch::kFloat).view({5, 7});
    const std::string all = float_bytes(t);
    const std::string ckpt = value("w", tensor_proto({5, 7}, "Float32", all.substr(0, 12), true)) +
                             value("w", tensor_proto({5, 7}, "Float32", all.substr(12, 100), true)) +
                             value("w", tensor_proto({5, 7}, "Float32", all.substr(112), true));
    const StateDictEntries split = parse_mindspore_checkpoint(ckpt, "split.ckpt");
    QCOMPARE(split.size(), size_t(1));
    QVERIFY(torch::equal(split[0].tensor, t));
  }

  void packed_dims_unknown_fields_and_map_tensors() {
    const std::string unknown = key(9, 0) + varint(300) + key(10, 1) + std::string(8, '\x11') + ld(11, "xyz") +
                                key(12, 5) + std::string(4, '\x22');
    const torch::Tensor a = torch::arange(6, torch::kFloat).view({3, 2}) - 2.5;
    const torch::Tensor b = torch::tensor({1.5f, -2.0f});
    // Unknown fields at every level (a file starts with a Value), tensor before tag, packed dims.
    std::string ckpt = ld(1, unknown + ld(2, unknown + tensor_proto({3, 2}, "Float32", float_bytes(a), true) + unknown) +
                                 ld(1, "a") + unknown);
    ckpt += unknown;
    ckpt += ld(1, ld(1, "table") + ld(3, "opaque map tensor"));  // a MapTensor: skipped
    ckpt += value("b", tensor_proto({2}, "Float32", float_bytes(b), false));
    ckpt += value("bf", tensor_proto({2}, "BFloat16", std::string("\x80\x3f\x00\xc0", 4), false));
    ckpt += "crc_num1234567";  // what crc_check=True appends (not verified)
    const StateDictEntries got = parse_mindspore_checkpoint(ckpt, "x.ckpt");
    QCOMPARE(got.size(), size_t(3));
    QCOMPARE(got[0].name, std::string("a"));
    QVERIFY(torch::equal(got[0].tensor, a));
    QCOMPARE(got[1].name, std::string("b"));
    QVERIFY(torch::equal(got[1].tensor, b));
    QVERIFY(got[2].tensor.dtype() == torch::kBFloat16);
    QVERIFY(torch::equal(got[2].tensor.to(torch::kFloat), torch::tensor({1.0f, -2.0f})));
    // A zero-size tensor.
    const StateDictEntries empty = parse_mindspore_checkpoint(value("e", tensor_proto({0, 3}, "Int64", "", true)), "e");
    QCOMPARE(empty[0].tensor.sizes().vec(), (std::vector<int64_t>{0, 3}));
  }

  void truncated_files_name_the_byte_offset() {
    const std::set<size_t> boundaries = value_boundaries(bytes_);
    const StateDictEntries full = expected_small();
    for (size_t n = 1; n < bytes_.size(); ++n) {
      const std::string cut = bytes_.substr(0, n);
      if (boundaries.count(n) == 0) {
        STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(cut, "small.ckpt"), "small.ckpt: byte ");
        continue;
      }
      // Cut between Values: a valid, shorter checkpoint, unless it cuts "big" between its parts.
      try {
        const StateDictEntries got = parse_mindspore_checkpoint(cut, "small.ckpt");
        for (size_t i = 0; i < got.size(); ++i) QCOMPARE(got[i].name, full[i].name);
      } catch (const Error& e) {
        QVERIFY2(test::contains(e.what(), "small.ckpt: tensor 'big': content holds "), e.what());
      }
    }
    // The exact message: the last Value's payload cut by one byte.
    const size_t last = *std::prev(boundaries.end(), 2);
    size_t payload = last + 1, length = 0;
    for (int shift = 0;; shift += 7) {
      const auto b = static_cast<uint8_t>(bytes_[payload++]);
      length |= size_t(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    const std::string expected = "small.ckpt: byte " + std::to_string(payload) +
                                 ": truncated length-delimited field (needs " + std::to_string(length) + " bytes, " +
                                 std::to_string(length - 1) + " left) in Checkpoint.value";
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(bytes_.substr(0, bytes_.size() - 1), "small.ckpt"),
                        expected.c_str());
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(bytes_.substr(0, 2), "small.ckpt"),
                        "small.ckpt: byte 1: truncated varint (Checkpoint.value)");
    // A corrupt inner length: overruns its Value.
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(ld(1, ld(1, "a") + key(2, 2) + varint(50) + "x") + ld(11, "pad"), "c.ckpt"),
                        "c.ckpt: byte ", "overruns its message (needs 50 bytes, 1 left)");
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(ld(1, key(1, 3)), "g.ckpt"), "g.ckpt: byte 2: unsupported wire type 3");
  }

  void bad_tensors_name_the_tensor() {
    std::string bad_dtype = bytes_;
    const size_t at = bad_dtype.find("Float16");
    QVERIFY(at != std::string::npos);
    bad_dtype.replace(at, 7, "Float99");
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(bad_dtype, "small.ckpt"),
                        "small.ckpt: tensor 'conv.bias': unknown dtype 'Float99' (expected one of Float32, ");

    STUDIO_EXPECT_ERROR(
        (void)parse_mindspore_checkpoint(value("w", tensor_proto({2, 3}, "Float32", std::string(20, '\0'), false)), "m.ckpt"),
        "m.ckpt: tensor 'w': content holds 20 bytes, expected 24 (shape [2, 3] of Float32, 4 bytes each)");
    // A split tensor missing a part.
    std::string cut_part = bytes_;
    const size_t second = cut_part.find("\x0a\x03" "big", cut_part.find("\x0a\x03" "big") + 1) - 2;  // its Value key
    const size_t third = cut_part.find("\x0a\x03" "big", second + 3) - 2;
    QCOMPARE(cut_part[second], '\x0a');
    cut_part.erase(second, third - second);
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(cut_part, "small.ckpt"),
                        "small.ckpt: tensor 'big': content holds 160 bytes, expected 240", "in 2 parts");
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(value("w", tensor_proto({2}, "Float32", std::string(8, '\0'), false)) +
                                                             value("w", tensor_proto({2}, "Int32", "", false)),
                                                         "p.ckpt"),
                        "p.ckpt: tensor 'w': its split parts disagree");
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(value("w", tensor_proto({1}, "Int8", "a", false)) +
                                                             value("v", tensor_proto({1}, "Int8", "b", false)) +
                                                             value("w", tensor_proto({1}, "Int8", "c", false)),
                                                         "d.ckpt"),
                        "d.ckpt: tensor 'w' appears twice");
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(ld(1, ld(1, "lonely")), "n.ckpt"),
                        "n.ckpt: tensor 'lonely': its Value has no tensor field");
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(ld(1, ld(2, tensor_proto({1}, "Int8", "a", false))), "t.ckpt"),
                        "t.ckpt: byte 0: a Value without a tag");
  }

  void not_a_checkpoint() {
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(std::string("PK\x03\x04\x14\x00\x00\x00", 8) + "archive/data.pkl",
                                                         "model.pth"),
                        "model.pth: ", "not a MindSpore checkpoint");
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint("", "e.ckpt"), "e.ckpt: empty file, not a MindSpore checkpoint");
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(std::string("\x80\x02}q\x00", 5), "old.pth"),
                        "old.pth: not a MindSpore checkpoint (first byte 0x80");
    STUDIO_EXPECT_ERROR((void)parse_mindspore_checkpoint(ld(1, ld(1, "t") + ld(3, "m")), "map.ckpt"),
                        "map.ckpt: holds no tensors");
    STUDIO_EXPECT_ERROR((void)read_mindspore_checkpoint("/nonexistent/x.ckpt"), "/nonexistent/x.ckpt: cannot open");
  }
};

QTEST_GUILESS_MAIN(TestMindsporeCkpt)
#include "test_mindspore_ckpt.moc"
