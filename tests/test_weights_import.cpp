// .pth files and weight import: our writer and reader round-trip, files laid out byte for byte
// as torch.save writes them (zip and legacy, tests/data/pth/make_fixtures.py) read correctly,
// torchvision-named state dicts land in the right parameters of ResNet-18/50 and MobileNetV2,
// and missing, unexpected and mis-shaped keys are reported.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <QtTest>
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "modeling/backbone/backbone.h"
#include "modeling/meta_arch/ssd_lite.h"
#include "modeling/weights/pth_file.h"
#include "modeling/weights/weight_import.h"
#include "test_support.h"

using namespace studio;

namespace {

// A state dict with torchvision's names and shapes for `arch` (random values; the BN counters
// are int64 scalars as torchvision's).
StateDictEntries torchvision_state(const std::string& arch) {
  std::ifstream in(std::string(STUDIO_TEST_DATA_DIR) + "/torchvision_keys/" + arch + ".txt");
  StateDictEntries out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string name;
    ss >> name;
    std::vector<int64_t> shape;
    int64_t d;
    while (ss >> d) shape.push_back(d);
    if (name.find("num_batches_tracked") != std::string::npos)
      out.push_back({name, torch::tensor(int64_t(1234))});
    else if (name.find("running_var") != std::string::npos)
      out.push_back({name, torch::rand(shape) + 0.5});
    else
      out.push_back({name, torch::randn(shape)});
  }
  return out;
}

std::map<std::string, torch::Tensor> tensors_of(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (auto& p : m.named_parameters(true)) out[p.key()] = p.value();
  for (auto& b : m.named_buffers(true)) out[b.key()] = b.value();
  return out;
}

BackboneOptions opts(const std::string& type) {
  BackboneOptions o;
  o.type = type;
  return o;
}

std::string data(const std::string& name) { return std::string(STUDIO_TEST_DATA_DIR) + "/pth/" + name; }

}  // namespace

class TestWeightsImport : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { torch::manual_seed(1); }

  void write_read_round_trip() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("sd.pth").toStdString();
    const torch::Tensor base = torch::arange(12, torch::kFloat).view({3, 4});
    StateDictEntries in = {
        {"a.weight", torch::randn({4, 3, 2, 2})},
        {"a.num_batches_tracked", torch::tensor(int64_t(1) << 40)},  // 0-dim, LONG1-sized
        {"transposed", base.t()},                                    // not contiguous
        {"d", torch::tensor({1.5, -2.25, 1e300}, torch::kDouble)},
        {"i", torch::tensor({-70000, 3, 65535}, torch::kInt)},
        {"h", torch::tensor({0.5f, -1.0f}).to(torch::kHalf)},
        {"b", torch::tensor({true, false, true})},
        {"empty", torch::zeros({0, 3})},
        {"big", torch::randn({70000})},
    };
    write_pth(path, in);
    const StateDictEntries out = read_pth(path);
    QCOMPARE(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      QCOMPARE(out[i].name, in[i].name);
      QCOMPARE(out[i].tensor.scalar_type(), in[i].tensor.scalar_type());
      QCOMPARE(out[i].tensor.sizes().vec(), in[i].tensor.sizes().vec());
      QVERIFY2(torch::equal(out[i].tensor, in[i].tensor), in[i].name.c_str());
    }
    // The layout torch.load expects: archive/data.pkl, data/<key>, version.
    caffe2::serialize::PyTorchStreamReader reader(path);
    QVERIFY(reader.hasRecord("data.pkl"));
    QVERIFY(reader.hasRecord("data/0"));
    QVERIFY(reader.hasRecord("data/8"));
    QVERIFY(reader.hasRecord("version"));
  }

  void reads_torch_save_zip_fixture() {
    const StateDictEntries sd = read_pth(data("state_zip.pth"));
    check_fixture(sd);
  }

  void reads_legacy_fixture() {
    const StateDictEntries sd = read_pth(data("state_legacy.pth"));
    check_fixture(sd);
  }

  void import_torchvision_names_data() {
    QTest::addColumn<QString>("arch");
    QTest::addColumn<int>("dropped");  // fc/classifier weight + bias and the BN counters
    QTest::newRow("resnet18") << "resnet18" << 2 + 20;
    QTest::newRow("resnet50") << "resnet50" << 2 + 53;
    QTest::newRow("mobilenet_v2") << "mobilenet_v2" << 2 + 52;
  }
  void import_torchvision_names() {
    QFETCH(QString, arch);
    QFETCH(int, dropped);
    const std::string a = arch.toStdString();
    QTemporaryDir dir;
    const std::string path = dir.filePath("tv.pth").toStdString();
    const StateDictEntries sd = torchvision_state(a);
    write_pth(path, sd);

    auto backbone = build_backbone(opts(a));
    const ImportReport r = import_backbone_weights(*backbone, path, a);
    QVERIFY2(r.ok(), r.summary().c_str());
    QVERIFY(r.unexpected.empty());
    QCOMPARE(int(r.dropped.size()), dropped);
    QCOMPARE(r.matched.size(), sd.size() - size_t(dropped));
    const auto ours = tensors_of(*backbone);
    QCOMPARE(ours.size(), r.matched.size());
    for (const auto& e : sd) {
      auto it = ours.find(e.name);
      if (it == ours.end()) continue;
      QVERIFY2(torch::equal(it->second, e.tensor), e.name.c_str());
    }
    // Frozen parts stay frozen after the copy.
    for (auto& p : backbone->named_parameters(true))
      if (p.key().rfind(a == "mobilenet_v2" ? "features.0." : "conv1.", 0) == 0)
        QVERIFY(!p.value().requires_grad());

    // build_backbone loads `pretrained` itself: same values.
    BackboneOptions o = opts(a);
    o.pretrained = path;
    auto loaded = build_backbone(o);
    const auto again = tensors_of(*loaded);
    for (const auto& kv : ours) QVERIFY2(torch::equal(kv.second, again.at(kv.first)), kv.first.c_str());
  }

  // model.pretrained_base: torchvision's ImageNet MobileNetV2 fills SSDLite's base_net (the
  // reference's --base_net), every tensor to its place in pytorch-ssd's flat blocks.
  void ssd_base_net_from_torchvision_mobilenet_v2() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("mobilenet_v2.pth").toStdString();
    const StateDictEntries sd = torchvision_state("mobilenet_v2");
    write_pth(path, sd);
    std::map<std::string, torch::Tensor> tv;
    for (const auto& e : sd) tv[e.name] = e.tensor;

    SSDLiteOptions o;
    o.pretrained_base = path;
    SSDLite model(o);
    const auto ours = tensors_of(model);
    // Hand-mapped samples: block 1 has no expansion (dw conv.0.x, linear conv.1, its BN conv.2),
    // the others pw conv.0.x, dw conv.1.x, linear conv.2, BN conv.3; ReLU6 takes places 2 and 5.
    const std::vector<std::pair<std::string, std::string>> samples = {
        {"base_net.0.0.weight", "features.0.0.weight"},          {"base_net.0.1.running_mean", "features.0.1.running_mean"},
        {"base_net.1.conv.0.weight", "features.1.conv.0.0.weight"}, {"base_net.1.conv.1.bias", "features.1.conv.0.1.bias"},
        {"base_net.1.conv.3.weight", "features.1.conv.1.weight"},   {"base_net.1.conv.4.running_var", "features.1.conv.2.running_var"},
        {"base_net.14.conv.0.weight", "features.14.conv.0.0.weight"}, {"base_net.14.conv.4.weight", "features.14.conv.1.1.weight"},
        {"base_net.14.conv.6.weight", "features.14.conv.2.weight"}, {"base_net.17.conv.7.bias", "features.17.conv.3.bias"},
        {"base_net.18.0.weight", "features.18.0.weight"},          {"base_net.18.1.running_var", "features.18.1.running_var"}};
    for (const auto& [mine, theirs] : samples) QVERIFY2(torch::equal(ours.at(mine), tv.at(theirs)), mine.c_str());
    // Every base_net tensor came from the file (the counters aside), and nothing else changed name.
    const StateDictEntries mapped = mobilenet_v2_as_ssd_base(sd, path);
    int base_tensors = 0;
    for (const auto& kv : ours)
      if (kv.first.rfind("base_net.", 0) == 0 && kv.first.find("num_batches_tracked") == std::string::npos) ++base_tensors;
    int compared = 0;
    for (const auto& e : mapped) {
      if (e.name.find("num_batches_tracked") != std::string::npos) continue;
      QVERIFY2(torch::equal(ours.at("base_net." + e.name), e.tensor), e.name.c_str());
      ++compared;
    }
    QCOMPARE(compared, base_tensors);
    QCOMPARE(int(sd.size() - mapped.size()), 2);  // the classifier's weight and bias

    // pytorch-ssd's own MobileNetV2 (flat blocks under features.N) keeps its names.
    StateDictEntries flat;
    for (const auto& e : module_entries(*model.base_net)) flat.push_back({"features." + e.name, e.tensor});
    const StateDictEntries same = mobilenet_v2_as_ssd_base(flat, "flat.pth");
    for (std::size_t i = 0; i < flat.size(); ++i) QCOMPARE(same[i].name, flat[i].name.substr(9));

    // A ResNet file is not a MobileNetV2: the error names the file and the key.
    const std::string resnet = dir.filePath("resnet18.pth").toStdString();
    write_pth(resnet, torchvision_state("resnet18"));
    o.pretrained_base = resnet;
    STUDIO_EXPECT_ERROR(SSDLite{o}, "resnet18.pth", "conv1.weight", "MobileNetV2");
  }

  void report_lists_missing_unexpected_and_mismatched() {
    StateDictEntries sd = torchvision_state("resnet18");
    sd.erase(std::remove_if(sd.begin(), sd.end(),
                            [](const PthEntry& e) { return e.name == "layer1.0.conv1.weight"; }),
             sd.end());
    sd.push_back({"layer9.0.conv1.weight", torch::zeros({1})});
    sd.push_back({"module.bn1.extra", torch::zeros({1})});
    for (auto& e : sd)
      if (e.name == "conv1.weight") e.tensor = torch::zeros({64, 3, 3, 3});
    QTemporaryDir dir;
    const std::string path = dir.filePath("bad.pth").toStdString();
    write_pth(path, sd);
    auto backbone = build_backbone(opts("resnet18"));
    const ImportReport r = import_backbone_weights(*backbone, path, "resnet18");
    QVERIFY(!r.ok());
    QCOMPARE(r.missing, std::vector<std::string>{"layer1.0.conv1.weight"});
    QCOMPARE(r.unexpected, (std::vector<std::string>{"layer9.0.conv1.weight", "module.bn1.extra"}));
    QCOMPARE(r.shape_mismatch,
             std::vector<std::string>{"conv1.weight: file [64, 3, 3, 3], model [64, 3, 7, 7]"});
    QVERIFY(test::contains(r.summary(), "missing 1 (layer1.0.conv1.weight)"));

    BackboneOptions o = opts("resnet18");
    o.pretrained = path;
    STUDIO_EXPECT_ERROR((void)build_backbone(o), path.c_str(), "layer1.0.conv1.weight", "conv1.weight: file");
    STUDIO_EXPECT_ERROR((void)map_torchvision_key("vgg16", "x"), "unknown architecture 'vgg16'");
  }

  void module_weights_round_trip() {
    // What `weights import --out` writes: the backbone's own state, which loads back with no
    // missing or unexpected key (also into a trainable-BN backbone, whose counters are not weights).
    auto a = build_backbone(opts("resnet18"));
    QTemporaryDir dir;
    const std::string path = dir.filePath("r18.pt").toStdString();
    write_pth(path, module_entries(*a));
    BackboneOptions o = opts("resnet18");
    o.norm = "bn";
    auto b = build_backbone(o);
    const ImportReport r = import_backbone_weights(*b, path, "resnet18");
    QVERIFY2(r.ok() && r.unexpected.empty(), r.summary().c_str());
    const auto ta = tensors_of(*a);
    for (const auto& kv : tensors_of(*b))
      if (kv.first.find("num_batches_tracked") == std::string::npos)
        QVERIFY2(torch::equal(kv.second, ta.at(kv.first)), kv.first.c_str());
  }

  void import_with_prefix() {
    // Importing into a whole model: keys land under "backbone.".
    torch::nn::Module model;
    model.register_module("backbone", build_backbone(opts("resnet18")));
    const ImportReport r = import_entries(model, torchvision_state("resnet18"), "resnet18", "backbone.");
    QVERIFY2(r.ok() && r.unexpected.empty(), r.summary().c_str());
    QVERIFY(r.matched.front().rfind("backbone.", 0) == 0);
  }

  void clear_errors() {
    QTemporaryDir dir;
    const std::string text = test::write_text(dir, "notes.pth", "these are not weights\n");
    STUDIO_EXPECT_ERROR((void)read_pth(text), "notes.pth", "not a PyTorch state dict file");
    STUDIO_EXPECT_ERROR((void)read_pth(dir.filePath("absent.pth").toStdString()), "absent.pth",
                        "cannot open");

    // A zip cut short.
    const std::string good = dir.filePath("good.pth").toStdString();
    write_pth(good, {{"w", torch::ones({100})}});
    std::string bytes = read_file(good);
    const std::string cut = test::write_text(dir, "cut.pth", bytes.substr(0, bytes.size() / 2));
    STUDIO_EXPECT_ERROR((void)read_pth(cut), "cut.pth", "not a readable PyTorch zip file");

    // A torch.save'd object that is not a dict (here the int 5), and a zip without data.pkl.
    auto write_zip = [&](const std::string& name, const std::string& record, const std::string& content) {
      std::string out;
      caffe2::serialize::PyTorchStreamWriter w([&out](const void* b, size_t n) {
        out.append(static_cast<const char*>(b), n);
        return n;
      });
      w.writeRecord(record, content.data(), content.size());
      w.writeEndOfFile();
      return test::write_text(dir, name, out);
    };
    STUDIO_EXPECT_ERROR((void)read_pth(write_zip("int.pth", "data.pkl", std::string("\x80\x02K\x05.", 5))),
                        "int.pth", "holds an int, not a state dict");
    STUDIO_EXPECT_ERROR((void)read_pth(write_zip("other.pth", "constants.pkl", "x")), "other.pth",
                        "without data.pkl");
    // A pickle that stops in the middle.
    STUDIO_EXPECT_ERROR(
        (void)read_pth(write_zip("short.pth", "data.pkl", std::string("\x80\x02}q\x00(X\x05", 7))),
        "short.pth", "truncated");
  }

  // Pickles no torch.save writes (fuzz/findings/pth), each of which escaped read_pth as something
  // other than studio::Error: std::invalid_argument or std::out_of_range from a text opcode's
  // number, c10::Error from as_strided (a negative stride) or from a size whose byte count
  // overflows. The checks now live in the torch-free pth_records.cpp, which fuzz/fuzz_pth.cpp runs.
  void malformed_pickles() {
    using namespace std::string_literals;
    QTemporaryDir dir;
    const auto write_zip = [&](const std::string& name, const std::string& pickle) {
      std::string out;
      caffe2::serialize::PyTorchStreamWriter w([&out](const void* b, size_t n) {
        out.append(static_cast<const char*>(b), n);
        return n;
      });
      w.writeRecord("data.pkl", pickle.data(), pickle.size());
      const std::vector<float> storage = {0, 1, 2, 3};
      w.writeRecord("data/0", storage.data(), 16);
      w.writeEndOfFile();
      return test::write_text(dir, name, out);
    };
    // {"w": _rebuild_tensor_v2(storage of `numel` floats, offset, sizes, strides)}: the arguments
    // as pickle bytes (K: one-byte int, J: four-byte int, 0x8a: LONG1, "(...t": a tuple).
    const auto tensor = [](const std::string& numel, const std::string& view) {
      return "\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n("
             "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"
             "0X\x03\x00\x00\x00"
             "cpu"s +
             numel + "tQ" + view + "tRs.";
    };
    const std::string ok = tensor("K\x04"s, "K\x00(K\x02K\x02t(K\x01K\x02t"s);  // a transposed 2x2 view
    const StateDictEntries read = read_pth(write_zip("ok.pth", ok));
    QCOMPARE(read.size(), size_t(1));
    QVERIFY(torch::equal(read[0].tensor, torch::tensor({{0.0f, 2.0f}, {1.0f, 3.0f}})));
    QVERIFY(read[0].tensor.is_contiguous());

    STUDIO_EXPECT_ERROR((void)read_pth(write_zip("int.pth", "\x80\x02Iabc\n."s)), "int.pth", "byte 2",
                        "malformed pickle (INT argument 'abc')");
    STUDIO_EXPECT_ERROR((void)read_pth(write_zip("big.pth", "\x80\x02I99999999999999999999\n."s)), "big.pth",
                        "malformed pickle (INT argument");
    STUDIO_EXPECT_ERROR((void)read_pth(write_zip("put.pth", "\x80\x02]p\n."s)), "put.pth",
                        "malformed pickle (PUT argument '')");
    STUDIO_EXPECT_ERROR((void)read_pth(write_zip("get.pth", "\x80\x02]g-1\n."s)), "get.pth",
                        "malformed pickle (GET argument '-1')");
    STUDIO_EXPECT_ERROR(
        (void)read_pth(write_zip("stride.pth", tensor("K\x04"s, "K\x00(K\x02t(J\xff\xff\xff\xfft"s))),
        "stride.pth", "w: negative sizes and strides are not supported");
    STUDIO_EXPECT_ERROR((void)read_pth(write_zip("outside.pth", tensor("K\x04"s, "K\x03(K\x02t(K\x01t"s))),
                        "outside.pth", "w: the tensor reaches outside its storage");
    // 2^62 floats: more bytes than an int64 counts.
    const std::string huge = "\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40"s;
    STUDIO_EXPECT_ERROR((void)read_pth(write_zip("huge.pth", tensor(huge, "K\x00(K\x01t(K\x01t"s))),
                        "huge.pth", "storage 0: impossible size 4611686018427387904");
    // Strides that overflow int64 when the last element's index is computed.
    STUDIO_EXPECT_ERROR(
        (void)read_pth(write_zip("wrap.pth", tensor("K\x04"s, "K\x00(K\x02K\x02t("s + huge + huge + "t"))),
        "wrap.pth", "w: the tensor reaches outside its storage");
  }

 private:
  static void check_fixture(const StateDictEntries& sd) {
    QCOMPARE(sd.size(), size_t(4));
    QCOMPARE(sd[0].name, std::string("conv.weight"));
    QVERIFY(torch::equal(sd[0].tensor, (0.5 * torch::arange(6, torch::kFloat)).view({2, 3})));
    QCOMPARE(sd[1].name, std::string("bn.num_batches_tracked"));
    QCOMPARE(sd[1].tensor.dim(), int64_t(0));
    QCOMPARE(sd[1].tensor.scalar_type(), torch::kLong);
    QCOMPARE(sd[1].tensor.item<int64_t>(), int64_t(7));
    QCOMPARE(sd[2].name, std::string("view"));
    QVERIFY(torch::equal(sd[2].tensor, torch::tensor({0.5f, 1.5f})));
    QCOMPARE(sd[3].name, std::string("double"));
    QVERIFY(torch::equal(sd[3].tensor, torch::tensor({1.5, -2.25, 1e10}, torch::kDouble)));
  }
};

QTEST_APPLESS_MAIN(TestWeightsImport)
#include "test_weights_import.moc"
