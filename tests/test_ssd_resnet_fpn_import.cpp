// Import of MindSpore's ssd_resnet50_fpn checkpoints into SSDResNetFPN: the fixtures written by
// tests/mindspore/write_ssd_r50fpn_ckpt.py (the reference's parameter names and shapes, formula
// values recomputed here) import whole, the training checkpoint's optimizer state is dropped, the
// shared tower convs and per-level BNs land where they should; a checkpoint of another model, a
// truncated file, a missing tensor and the wrong class count are errors naming what is wrong.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "common/error.h"
#include "modeling/meta_arch/ssd_resnet50_fpn.h"
#include "modeling/weights/mindspore_ckpt.h"
#include "modeling/weights/weight_import.h"
#include "test_support.h"

using namespace studio;

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

bool is_optimizer_state(const std::string& name) {
  static const std::set<std::string> scalars = {"learning_rate", "global_step", "momentum"};
  return starts_with(name, "moments.") || scalars.count(name) > 0;
}

std::string strip_network(const std::string& name) { return starts_with(name, "network.") ? name.substr(8) : name; }

// The script's values: the k-th parameter in sorted name order (without "network.") holds
// (arange(n) % 97) * 1e-3 + k * 1e-2, float32; moving_variance + 0.5.
torch::Tensor formula(const std::vector<int64_t>& shape, int64_t k, const std::string& name) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  torch::Tensor v = (torch::arange(n, torch::kLong) % 97).to(torch::kFloat) * 1e-3f + static_cast<float>(k * 1e-2);
  if (name.size() >= 15 && name.compare(name.size() - 15, 15, "moving_variance") == 0) v = v + 0.5f;
  return v.view(shape);
}

// MindSpore name (without "network.") -> its index in sorted order, over the model's parameters.
std::map<std::string, int64_t> sorted_index(const StateDictEntries& ckpt) {
  std::vector<std::string> names;
  for (const auto& e : ckpt)
    if (!is_optimizer_state(e.name)) names.push_back(strip_network(e.name));
  std::sort(names.begin(), names.end());
  std::map<std::string, int64_t> out;
  for (size_t k = 0; k < names.size(); ++k) out[names[k]] = static_cast<int64_t>(k);
  return out;
}

std::map<std::string, torch::Tensor> by_name(const StateDictEntries& entries) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& e : entries) out[e.name] = e.tensor;
  return out;
}

std::map<std::string, torch::Tensor> tensors_of(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (auto& p : m.named_parameters(true)) out[p.key()] = p.value();
  for (auto& b : m.named_buffers(true)) out[b.key()] = b.value();
  return out;
}

SSDResNetFPNOptions classes(int n) {
  SSDResNetFPNOptions o;
  o.num_classes = n;
  return o;
}

}  // namespace

class TestSsdResnetFpnImport : public QObject {
  Q_OBJECT

  std::string dir_;

  [[nodiscard]] std::string fixture(const char* name) const { return dir_ + "/" + name; }

 private slots:
  void initTestCase() {
    // No skipping: without the fixtures (the setup test did not run or failed) this test fails.
    QVERIFY2(qEnvironmentVariableIsSet("STUDIO_MS_MODEL_FIXTURES"),
             "STUDIO_MS_MODEL_FIXTURES is not set (run through ctest: tests/mindspore/write_ssd_r50fpn_ckpt.py)");
    dir_ = qEnvironmentVariable("STUDIO_MS_MODEL_FIXTURES").toStdString();
  }

  void training_checkpoint_imports_whole() {
    const std::string path = fixture("ssd_r50fpn_train.ckpt");
    const StateDictEntries ckpt = read_mindspore_checkpoint(path);
    std::vector<std::string> dropped;
    const StateDictEntries entries = mindspore_ssd_resnet_fpn_entries(ckpt, path, &dropped);

    // The optimizer state, and only it, is dropped: a moment per trainable parameter + 3 scalars.
    size_t moments = 0, params = 0;
    for (const auto& e : ckpt) {
      moments += starts_with(e.name, "moments.network.") ? 1 : 0;
      params += starts_with(e.name, "network.") ? 1 : 0;
    }
    QVERIFY(moments > 0);
    QCOMPARE(dropped.size(), moments + 3);
    QCOMPARE(entries.size(), params);
    QCOMPARE(ckpt.size(), params + moments + 3);
    const std::set<std::string> dropped_set(dropped.begin(), dropped.end());
    for (const char* k : {"learning_rate", "global_step", "momentum"}) QVERIFY2(dropped_set.count(k), k);
    QVERIFY(dropped_set.count("moments.network.multi_box.addition_layer_loc.0.2.features.0.weight"));
    QVERIFY(dropped_set.count("moments.network.feature_extractor.resnet.bn1.gamma"));
    for (const auto& d : dropped) QVERIFY2(!starts_with(d, "network."), d.c_str());

    SSDResNetFPN model(classes(80));
    const ImportReport report = import_entries(model, entries, "ssd_resnet50_fpn");
    QVERIFY2(report.ok() && report.unexpected.empty(), report.summary().c_str());
    size_t weights = 0;
    for (const auto& [name, t] : tensors_of(model))
      weights += name.find("num_batches_tracked") == std::string::npos ? 1 : 0;
    QCOMPARE(report.matched.size(), weights);
    QCOMPARE(report.matched.size(), entries.size());

    // Every imported tensor holds its file tensor.
    const auto ours = tensors_of(model);
    for (const auto& e : entries) {
      const auto it = ours.find(e.name);
      QVERIFY2(it != ours.end(), e.name.c_str());
      QVERIFY2(torch::equal(it->second, e.tensor), e.name.c_str());
    }
    // ... and where it should: the MindSpore name's tensor, with the script's formula values.
    const auto file = by_name(ckpt);
    const auto index = sorted_index(ckpt);
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"multi_box.loc_convs.2.weight", "multi_box.addition_layer_loc.0.2.features.0.weight"},
        {"multi_box.cls_convs.0.bias", "multi_box.addition_layer_cls.0.0.features.0.bias"},
        {"multi_box.addition_layer_cls.3.1.running_var", "multi_box.addition_layer_cls.3.1.features.1.moving_variance"},
        {"multi_box.addition_layer_loc.4.3.weight", "multi_box.addition_layer_loc.4.3.features.1.gamma"},
        {"multi_box.addition_layer_loc.0.0.bias", "multi_box.addition_layer_loc.0.0.features.1.beta"},
        {"multi_box.addition_layer_cls.2.0.running_mean", "multi_box.addition_layer_cls.2.0.features.1.moving_mean"},
        {"multi_box.cls_layers.0.weight", "multi_box.cls_layers.0.weight"},
        {"multi_box.loc_layers.0.bias", "multi_box.loc_layers.0.bias"},
        {"feature_extractor.resnet.conv1.weight", "feature_extractor.resnet.conv1.weight"},
        {"feature_extractor.resnet.bn1.weight", "feature_extractor.resnet.bn1.gamma"},
        {"feature_extractor.resnet.layer3.5.bn3.bias", "feature_extractor.resnet.layer3.5.bn3.beta"},
        {"feature_extractor.resnet.layer4.1.conv2.weight", "feature_extractor.resnet.layer4.1.conv2.weight"},
        {"feature_extractor.resnet.layer4.0.down_sample_layer.0.weight",
         "feature_extractor.resnet.layer4.0.down_sample_layer.0.weight"},
        {"feature_extractor.resnet.layer2.0.down_sample_layer.1.running_var",
         "feature_extractor.resnet.layer2.0.down_sample_layer.1.moving_variance"},
        {"feature_extractor.fpn.lateral_convs_list.2.bias", "feature_extractor.fpn.lateral_convs_list.2.bias"},
        {"feature_extractor.fpn.fpn_convs_list.1.1.running_mean", "feature_extractor.fpn.fpn_convs_list.1.1.moving_mean"},
        {"feature_extractor.bottom_up.blocks.1.0.weight", "feature_extractor.bottom_up.blocks.1.0.weight"},
    };
    for (const auto& [our, ms] : expected) {
      const auto f = file.find("network." + ms);
      QVERIFY2(f != file.end(), ms.c_str());
      QVERIFY2(ours.count(our), our.c_str());
      const torch::Tensor& t = ours.at(our);
      QVERIFY2(torch::equal(t, f->second), our.c_str());
      QVERIFY2(torch::allclose(t, formula(t.sizes().vec(), index.at(ms), ms), 0, 1e-6), our.c_str());
    }
    QCOMPARE(ours.at("multi_box.cls_layers.0.weight").sizes().vec(), (std::vector<int64_t>{486, 256, 3, 3}));
    QCOMPARE(ours.at("multi_box.loc_layers.0.weight").sizes().vec(), (std::vector<int64_t>{24, 256, 3, 3}));
    QVERIFY(ours.at("multi_box.addition_layer_cls.3.1.running_var").min().item<float>() > 0);
  }

  void inference_checkpoint_imports_into_three_classes() {
    const std::string path = fixture("ssd_r50fpn_infer.ckpt");
    const StateDictEntries ckpt = read_mindspore_checkpoint(path);
    for (const auto& e : ckpt) QVERIFY2(!starts_with(e.name, "network."), e.name.c_str());
    std::vector<std::string> dropped;
    const StateDictEntries entries = mindspore_ssd_resnet_fpn_entries(ckpt, path, &dropped);
    QVERIFY(dropped.empty());
    QCOMPARE(entries.size(), ckpt.size());
    const auto file = by_name(entries);
    QCOMPARE(file.at("multi_box.cls_layers.0.bias").size(0), int64_t{6 * 4});

    SSDResNetFPN model(classes(3));
    const ImportReport report = import_entries(model, entries, "ssd_resnet50_fpn");
    QVERIFY2(report.ok() && report.unexpected.empty(), report.summary().c_str());
    QCOMPARE(report.matched.size(), entries.size());
    const auto ours = tensors_of(model);
    const auto raw = by_name(ckpt);
    QVERIFY(torch::equal(ours.at("multi_box.cls_convs.3.weight"), raw.at("multi_box.addition_layer_cls.0.3.features.0.weight")));
    QVERIFY(torch::equal(ours.at("multi_box.addition_layer_loc.2.2.running_var"),
                         raw.at("multi_box.addition_layer_loc.2.2.features.1.moving_variance")));
    QVERIFY(torch::equal(ours.at("feature_extractor.resnet.layer1.0.bn1.weight"),
                         raw.at("feature_extractor.resnet.layer1.0.bn1.gamma")));

    // The same file into an 80-class model: the class head's shapes are reported by name.
    SSDResNetFPN wrong(classes(80));
    const ImportReport mismatch = import_entries(wrong, entries, "ssd_resnet50_fpn");
    QVERIFY(!mismatch.ok());
    QCOMPARE(mismatch.shape_mismatch.size(), size_t{2});
    QVERIFY2(test::contains(mismatch.summary(), "multi_box.cls_layers.0.weight: file [24, 256, 3, 3], model [486, 256, 3, 3]"),
             mismatch.summary().c_str());
    QVERIFY2(test::contains(mismatch.summary(), "multi_box.cls_layers.0.bias: file [24], model [486]"),
             mismatch.summary().c_str());
  }

  void missing_and_unknown_tensors_are_reported_by_name() {
    const std::string path = fixture("ssd_r50fpn_infer.ckpt");
    StateDictEntries ckpt = read_mindspore_checkpoint(path);
    // Leave out one tensor; give another a tower conv name of level 1 (the shared conv has only
    // level 0's name): our model has no place for it.
    StateDictEntries edited;
    for (auto e : ckpt) {
      if (e.name == "multi_box.addition_layer_loc.0.1.features.0.bias") continue;
      if (e.name == "feature_extractor.resnet.layer1.2.bn2.beta") e.name = "multi_box.addition_layer_loc.1.0.features.0.bias";
      edited.push_back(e);
    }
    const StateDictEntries entries = mindspore_ssd_resnet_fpn_entries(edited, path);
    SSDResNetFPN model(classes(3));
    const ImportReport report = import_entries(model, entries, "ssd_resnet50_fpn");
    QVERIFY(!report.ok());
    QCOMPARE(report.missing,
             (std::vector<std::string>{"feature_extractor.resnet.layer1.2.bn2.bias", "multi_box.loc_convs.1.bias"}));
    QCOMPARE(report.unexpected, (std::vector<std::string>{"multi_box.addition_layer_loc.1.0.features.0.bias"}));
    QVERIFY(report.shape_mismatch.empty());
  }

  void other_model_is_an_error_naming_its_tensor() {
    const std::string path = fixture("other_model.ckpt");
    const StateDictEntries ckpt = read_mindspore_checkpoint(path);
    QVERIFY(!ckpt.empty());
    const std::string expected = path +
                                 ": tensor 'network.backbone.conv1.weight' is not a parameter of MindSpore's "
                                 "ssd_resnet50_fpn (expected feature_extractor.*, multi_box.* or optimizer state)";
    STUDIO_EXPECT_ERROR((void)mindspore_ssd_resnet_fpn_entries(ckpt, path), expected.c_str());
  }

  void truncated_file_names_a_byte_offset() {
    std::ifstream in(fixture("ssd_r50fpn_infer.ckpt"), std::ios::binary);
    std::string head(1000000, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    QCOMPARE(static_cast<size_t>(in.gcount()), head.size());
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // The cut is inside the first tensor's content (bottom_up.blocks.0.0.weight, 2.4 MB).
    const std::string cut = test::write_text(dir, "cut.ckpt", head);
    const std::string where = cut + ": byte 5: truncated";
    STUDIO_EXPECT_ERROR((void)read_mindspore_checkpoint(cut), where.c_str());
  }
};

QTEST_GUILESS_MAIN(TestSsdResnetFpnImport)
#include "test_ssd_resnet_fpn_import.moc"
