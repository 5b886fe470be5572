#pragma once
// What the parity tests against qfgaohao's pytorch-ssd share (test_ssd_box_utils, test_ssd_lite):
// the fixture files of tests/data/qfgaohao (written by tests/qfgaohao/make_*_fixtures.py), the
// wave() inputs both sides compute, and comparisons that print the largest difference.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

#include "modeling/weights/pth_file.h"

namespace studio::test {

// float32 [n]: offset + amplitude * sin(freq * arange(n)), as the fixture scripts' wave().
inline torch::Tensor wave(int64_t n, double freq, double amplitude = 1.0, double offset = 0.0) {
  return offset + amplitude * torch::sin(torch::arange(n, torch::kFloat) * freq);
}

// The tensors of tests/data/qfgaohao/<file> by name; a missing name throws, naming it.
class QfFixture {
 public:
  // `folder` under tests/data: qfgaohao, or mindspore (tests/mindspore/make_*_fixtures.py).
  void load(const std::string& file, const std::string& folder = "qfgaohao") {
    for (auto& e : read_pth(std::string(STUDIO_TEST_DATA_DIR) + "/" + folder + "/" + file)) tensors_[e.name] = e.tensor;
  }
  [[nodiscard]] torch::Tensor operator()(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::runtime_error("fixture tensor '" + name + "' missing: regenerate the fixture");
    return it->second;
  }
  [[nodiscard]] size_t size() const { return tensors_.size(); }

 private:
  std::map<std::string, torch::Tensor> tensors_;
};

// |got - want| <= atol + rtol * (largest |want|) everywhere, same shapes; prints the largest difference.
inline bool close_to_reference(const std::string& what, const torch::Tensor& got, const torch::Tensor& want,
                               double atol, double rtol = 0) {
  if (got.sizes() != want.sizes()) {
    qWarning("%s: shape %s vs the reference's %s", what.c_str(), c10::str(got.sizes()).c_str(),
             c10::str(want.sizes()).c_str());
    return false;
  }
  const torch::Tensor g = got.to(torch::kDouble), w = want.to(torch::kDouble);
  const double scale = g.numel() ? w.abs().max().item<double>() : 0.0;
  const double diff = g.numel() ? (g - w).abs().max().item<double>() : 0.0;
  qInfo("%s: max |diff| %.3g (scale %.3g) over %lld values%s", what.c_str(), diff, scale,
        static_cast<long long>(g.numel()), torch::equal(g, w) ? " (bit-equal)" : "");
  return diff <= atol + rtol * scale;
}

// Equal values (as int64) and shapes.
inline bool same_as_reference(const std::string& what, const torch::Tensor& got, const torch::Tensor& want) {
  const bool ok = got.sizes() == want.sizes() && torch::equal(got.to(torch::kLong), want.to(torch::kLong));
  if (!ok)
    qWarning("%s: differs (shape %s vs %s)", what.c_str(), c10::str(got.sizes()).c_str(),
             c10::str(want.sizes()).c_str());
  return ok;
}

}  // namespace studio::test
