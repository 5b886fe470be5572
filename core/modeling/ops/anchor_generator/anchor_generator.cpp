#include "modeling/ops/anchor_generator/anchor_generator.h"

#include "common/error.h"

namespace studio {

torch::Tensor generate_cell_anchors(const std::vector<double>& sizes,
                                    const std::vector<double>& aspect_ratios) {
  if (sizes.empty() || aspect_ratios.empty())
    throw Error("AnchorGenerator: a level needs sizes and aspect ratios");
  // float32 throughout, as torchvision's default dtype, then rounded: the rounding is what makes
  // the P2 anchors integers ([-23,-11,23,11] rather than [-22.63,-11.31,...]).
  torch::Tensor scales = torch::tensor(sizes, torch::kFloat);          // [S]
  torch::Tensor ratios = torch::tensor(aspect_ratios, torch::kFloat);  // [R]
  torch::Tensor h_ratios = torch::sqrt(ratios);
  torch::Tensor w_ratios = 1 / h_ratios;
  torch::Tensor ws = (w_ratios.unsqueeze(1) * scales.unsqueeze(0)).view(-1);  // [R*S], ratio-major
  torch::Tensor hs = (h_ratios.unsqueeze(1) * scales.unsqueeze(0)).view(-1);
  torch::Tensor base = torch::stack({-ws, -hs, ws, hs}, 1) / 2;  // [R*S, 4]
  return base.round();
}

AnchorGenerator::AnchorGenerator(AnchorGeneratorOptions options) : options_(std::move(options)) {
  if (options_.sizes.size() != options_.aspect_ratios.size())
    throw Error("AnchorGenerator: " + std::to_string(options_.sizes.size()) + " levels of sizes but " +
                std::to_string(options_.aspect_ratios.size()) + " of aspect ratios");
  for (size_t l = 0; l < options_.sizes.size(); ++l)
    cell_anchors_.push_back(generate_cell_anchors(options_.sizes[l], options_.aspect_ratios[l]));
}

std::vector<int64_t> AnchorGenerator::num_anchors_per_location() const {
  std::vector<int64_t> out;
  for (size_t l = 0; l < options_.sizes.size(); ++l)
    out.push_back(static_cast<int64_t>(options_.sizes[l].size() * options_.aspect_ratios[l].size()));
  return out;
}

torch::Tensor AnchorGenerator::anchors(std::array<int64_t, 2> image_size,
                                       const std::vector<std::array<int64_t, 2>>& grid_sizes,
                                       const torch::TensorOptions& options) const {
  if (grid_sizes.size() != cell_anchors_.size())
    throw Error("AnchorGenerator: " + std::to_string(grid_sizes.size()) + " feature maps but anchors for " +
                std::to_string(cell_anchors_.size()) + " levels");
  const auto dtype = options.has_dtype() ? options.dtype() : caffe2::TypeMeta::Make<float>();
  const auto device = options.device();
  std::vector<torch::Tensor> levels;
  for (size_t l = 0; l < grid_sizes.size(); ++l) {
    const int64_t grid_h = grid_sizes[l][0], grid_w = grid_sizes[l][1];
    if (grid_h <= 0 || grid_w <= 0)
      throw Error("AnchorGenerator: empty feature map at level " + std::to_string(l));
    // torchvision: int32 arange times a 0-d int64 stride (the result stays int32, a 0-d tensor
    // does not promote), then added to the float base anchors.
    torch::Tensor stride_h =
        torch::full({}, image_size[0] / grid_h, torch::TensorOptions(torch::kLong).device(device));
    torch::Tensor stride_w =
        torch::full({}, image_size[1] / grid_w, torch::TensorOptions(torch::kLong).device(device));
    torch::Tensor shifts_x =
        torch::arange(0, grid_w, torch::TensorOptions(torch::kInt).device(device)) * stride_w;
    torch::Tensor shifts_y =
        torch::arange(0, grid_h, torch::TensorOptions(torch::kInt).device(device)) * stride_h;
    std::vector<torch::Tensor> mesh = torch::meshgrid({shifts_y, shifts_x}, "ij");  // [H, W] each
    torch::Tensor shift_y = mesh[0].reshape(-1), shift_x = mesh[1].reshape(-1);
    torch::Tensor shifts = torch::stack({shift_x, shift_y, shift_x, shift_y}, 1);                  // [H*W, 4]
    torch::Tensor base = cell_anchors_[l].to(torch::TensorOptions().dtype(dtype).device(device));  // [A, 4]
    levels.push_back((shifts.view({-1, 1, 4}) + base.view({1, -1, 4})).reshape({-1, 4}));  // [H*W*A, 4]
  }
  return torch::cat(levels);
}

std::vector<torch::Tensor> AnchorGenerator::forward(const torch::Tensor& images,
                                                    const std::vector<torch::Tensor>& features) const {
  if (!images.defined() || images.dim() != 4) throw Error("AnchorGenerator: expected images [B, C, H, W]");
  if (features.empty()) throw Error("AnchorGenerator: no feature maps");
  std::vector<std::array<int64_t, 2>> grids;
  for (const auto& f : features) grids.push_back({f.size(-2), f.size(-1)});
  torch::Tensor all = anchors({images.size(-2), images.size(-1)}, grids,
                              torch::TensorOptions().dtype(features[0].dtype()).device(features[0].device()));
  return std::vector<torch::Tensor>(static_cast<size_t>(images.size(0)), all);
}

}  // namespace studio
