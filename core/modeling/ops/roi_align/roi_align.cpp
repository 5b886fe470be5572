#include "modeling/ops/roi_align/roi_align.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/error.h"

namespace studio {
namespace {

// One bilinear sample: the four neighbours (offsets into an H*W plane) and their weights.
// Offsets are 32-bit (as torchvision's) to keep the sample small; forward_dispatch checks that
// a plane fits.
template <typename T>
struct Sample {
  int32_t p1, p2, p3, p4;
  T w1, w2, w3, w4;
};

// The geometry of one RoI on its feature map.
template <typename T>
struct RoiGeometry {
  int64_t batch;
  T start_h, start_w, bin_h, bin_w;
  int grid_h, grid_w;
};

template <typename T>
RoiGeometry<T> roi_geometry(const T* roi, T spatial_scale, const RoIAlignOptions& o) {
  RoiGeometry<T> g;
  g.batch = static_cast<int64_t>(roi[0]);
  // No rounding of the box: that is the point of RoIAlign over RoIPool.
  const T offset = o.aligned ? static_cast<T>(0.5) : static_cast<T>(0.0);
  g.start_w = roi[1] * spatial_scale - offset;
  g.start_h = roi[2] * spatial_scale - offset;
  const T end_w = roi[3] * spatial_scale - offset;
  const T end_h = roi[4] * spatial_scale - offset;
  T roi_w = end_w - g.start_w;
  T roi_h = end_h - g.start_h;
  if (!o.aligned) {  // the legacy behaviour: a degenerate RoI is widened to 1x1
    roi_w = std::max(roi_w, static_cast<T>(1));
    roi_h = std::max(roi_h, static_cast<T>(1));
  }
  const int64_t pooled_h = o.output_size[0], pooled_w = o.output_size[1];
  g.bin_h = roi_h / static_cast<T>(pooled_h);
  g.bin_w = roi_w / static_cast<T>(pooled_w);
  g.grid_h = o.sampling_ratio > 0 ? static_cast<int>(o.sampling_ratio)
                                  : static_cast<int>(std::ceil(roi_h / static_cast<T>(pooled_h)));
  g.grid_w = o.sampling_ratio > 0 ? static_cast<int>(o.sampling_ratio)
                                  : static_cast<int>(std::ceil(roi_w / static_cast<T>(pooled_w)));
  return g;
}

// The bilinear neighbours of (y, x) on an height x width map; false when the point is outside
// [-1, height] x [-1, width] (or NaN): it contributes nothing.
template <typename T>
bool bilinear_sample(int64_t height, int64_t width, T y, T x, Sample<T>& s) {
  if (!(y >= -1.0 && y <= height && x >= -1.0 && x <= width)) return false;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x);
  int64_t y_high, x_high;
  if (y_low >= height - 1) {  // on or past the last row: both rows are the last, no y weight
    y_high = y_low = height - 1;
    y = static_cast<T>(y_low);
  } else {
    y_high = y_low + 1;
  }
  if (x_low >= width - 1) {
    x_high = x_low = width - 1;
    x = static_cast<T>(x_low);
  } else {
    x_high = x_low + 1;
  }
  const T ly = y - y_low, lx = x - x_low;
  // 1. is a double literal on purpose: torchvision computes 1 - l in double and rounds to T.
  const T hy = 1. - ly, hx = 1. - lx;
  s.w1 = hy * hx;
  s.w2 = hy * lx;
  s.w3 = ly * hx;
  s.w4 = ly * lx;
  s.p1 = static_cast<int32_t>(y_low * width + x_low);
  s.p2 = static_cast<int32_t>(y_low * width + x_high);
  s.p3 = static_cast<int32_t>(y_high * width + x_low);
  s.p4 = static_cast<int32_t>(y_high * width + x_high);
  return true;
}

// The samples of a RoI that fall on the map, in (ph, pw, iy, ix) order; bin b's are
// samples[first[b] .. first[b + 1]). Samples off the map contribute 0 and are left out (torchvision
// adds 0 * plane[0] for them: the same sum for finite features).
template <typename T>
void roi_samples(const RoiGeometry<T>& g, int64_t height, int64_t width, const RoIAlignOptions& o,
                 std::vector<Sample<T>>& samples, std::vector<int64_t>& first) {
  const int64_t pooled_h = o.output_size[0], pooled_w = o.output_size[1];
  const int grid_h = std::max(g.grid_h, 0), grid_w = std::max(g.grid_w, 0);
  samples.clear();
  first.assign(1, 0);
  Sample<T> sample;
  for (int64_t ph = 0; ph < pooled_h; ++ph)
    for (int64_t pw = 0; pw < pooled_w; ++pw) {
      for (int iy = 0; iy < grid_h; ++iy) {
        // The expression order of torchvision's kernel (bit-equal sample positions).
        const T y = g.start_h + ph * g.bin_h + static_cast<T>(iy + .5f) * g.bin_h / static_cast<T>(g.grid_h);
        for (int ix = 0; ix < grid_w; ++ix) {
          const T x = g.start_w + pw * g.bin_w + static_cast<T>(ix + .5f) * g.bin_w / static_cast<T>(g.grid_w);
          if (bilinear_sample(height, width, y, x, sample)) samples.push_back(sample);
        }
      }
      first.push_back(static_cast<int64_t>(samples.size()));
    }
}

template <typename T>
void forward_cpu(const torch::Tensor& input, const torch::Tensor& rois, const RoIAlignOptions& o,
                 torch::Tensor& output) {
  const int64_t channels = input.size(1), height = input.size(2), width = input.size(3);
  const int64_t pooled_h = o.output_size[0], pooled_w = o.output_size[1];
  const int64_t bins = pooled_h * pooled_w;
  const T* in = input.data_ptr<T>();
  const T* r = rois.data_ptr<T>();
  T* out = output.data_ptr<T>();
  const T scale = static_cast<T>(o.spatial_scale);
  // RoIs are independent and write disjoint outputs: parallel over them.
  at::parallel_for(0, rois.size(0), 1, [&](int64_t begin, int64_t end) {
    std::vector<Sample<T>> samples;
    std::vector<int64_t> first;
    for (int64_t n = begin; n < end; ++n) {
      const RoiGeometry<T> g = roi_geometry(r + n * 5, scale, o);
      roi_samples(g, height, width, o, samples, first);
      const T count = static_cast<T>(std::max(g.grid_h * g.grid_w, 1));
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = in + (g.batch * channels + c) * height * width;
        T* dst = out + (n * channels + c) * bins;
        for (int64_t b = 0; b < bins; ++b) {
          T value = 0;
          for (int64_t k = first[b]; k < first[b + 1]; ++k) {
            const Sample<T>& s = samples[k];
            value += s.w1 * plane[s.p1] + s.w2 * plane[s.p2] + s.w3 * plane[s.p3] + s.w4 * plane[s.p4];
          }
          dst[b] = value / count;
        }
      }
    }
  });
}

template <typename T>
void backward_cpu(const torch::Tensor& grad, const torch::Tensor& rois, const RoIAlignOptions& o,
                  torch::Tensor& grad_input) {
  const int64_t channels = grad_input.size(1), height = grad_input.size(2), width = grad_input.size(3);
  const int64_t pooled_h = o.output_size[0], pooled_w = o.output_size[1];
  const int64_t bins = pooled_h * pooled_w;
  const T* g_out = grad.data_ptr<T>();  // contiguous [K, C, PH, PW]
  const T* r = rois.data_ptr<T>();
  T* g_in = grad_input.data_ptr<T>();
  const T scale = static_cast<T>(o.spatial_scale);
  const int64_t num_rois = rois.size(0);
  // Channels write disjoint gradient planes: parallel over them. Within a channel the loop order
  // (RoI, bin, sample) is torchvision's, so every element sums its terms in the same order.
  at::parallel_for(0, channels, 1, [&](int64_t c_begin, int64_t c_end) {
    std::vector<Sample<T>> samples;
    std::vector<int64_t> first;
    for (int64_t n = 0; n < num_rois; ++n) {
      const RoiGeometry<T> g = roi_geometry(r + n * 5, scale, o);
      roi_samples(g, height, width, o, samples, first);
      const T count = static_cast<T>(g.grid_h * g.grid_w);
      for (int64_t c = c_begin; c < c_end; ++c) {
        T* plane = g_in + (g.batch * channels + c) * height * width;
        const T* src = g_out + (n * channels + c) * bins;
        for (int64_t b = 0; b < bins; ++b) {
          const T go = src[b];
          for (int64_t k = first[b]; k < first[b + 1]; ++k) {
            const Sample<T>& s = samples[k];
            plane[s.p1] += go * s.w1 / count;
            plane[s.p2] += go * s.w2 / count;
            plane[s.p3] += go * s.w3 / count;
            plane[s.p4] += go * s.w4 / count;
          }
        }
      }
    }
  });
}

// The same as forward_cpu on channels-last memory (input [B, H, W, C] in memory, output [K, PH, PW, C]):
// a sample's four neighbours are runs of C values, so the inner loop runs over channels. Each output
// element sums its samples in forward_cpu's order and expression: bit-equal results.
template <typename T>
void forward_cpu_nhwc(const torch::Tensor& input, const torch::Tensor& rois, const RoIAlignOptions& o,
                      torch::Tensor& output) {
  const int64_t channels = input.size(1), height = input.size(2), width = input.size(3);
  const int64_t bins = o.output_size[0] * o.output_size[1];
  const T* in = input.data_ptr<T>();
  const T* r = rois.data_ptr<T>();
  T* out = output.data_ptr<T>();
  const T scale = static_cast<T>(o.spatial_scale);
  at::parallel_for(0, rois.size(0), 1, [&](int64_t begin, int64_t end) {
    std::vector<Sample<T>> samples;
    std::vector<int64_t> first;
    for (int64_t n = begin; n < end; ++n) {
      const RoiGeometry<T> g = roi_geometry(r + n * 5, scale, o);
      roi_samples(g, height, width, o, samples, first);
      const T count = static_cast<T>(std::max(g.grid_h * g.grid_w, 1));
      const T* image = in + g.batch * height * width * channels;
      for (int64_t b = 0; b < bins; ++b) {
        T* dst = out + (n * bins + b) * channels;
        std::fill(dst, dst + channels, T(0));
        for (int64_t k = first[b]; k < first[b + 1]; ++k) {
          const Sample<T>& s = samples[k];
          const T *a = image + int64_t{s.p1} * channels, *bb = image + int64_t{s.p2} * channels,
                  *cc = image + int64_t{s.p3} * channels, *d = image + int64_t{s.p4} * channels;
          for (int64_t c = 0; c < channels; ++c) dst[c] += s.w1 * a[c] + s.w2 * bb[c] + s.w3 * cc[c] + s.w4 * d[c];
        }
        for (int64_t c = 0; c < channels; ++c) dst[c] /= count;
      }
    }
  });
}

// backward_cpu on channels-last memory: parallel over runs of channels, each element gets its terms
// in backward_cpu's order (bit-equal results).
template <typename T>
void backward_cpu_nhwc(const torch::Tensor& grad, const torch::Tensor& rois, const RoIAlignOptions& o,
                       torch::Tensor& grad_input) {
  const int64_t channels = grad_input.size(1), height = grad_input.size(2), width = grad_input.size(3);
  const int64_t bins = o.output_size[0] * o.output_size[1];
  const T* g_out = grad.data_ptr<T>();  // channels-last [K, PH, PW, C] in memory
  const T* r = rois.data_ptr<T>();
  T* g_in = grad_input.data_ptr<T>();
  const T scale = static_cast<T>(o.spatial_scale);
  const int64_t num_rois = rois.size(0);
  at::parallel_for(0, channels, 16, [&](int64_t c_begin, int64_t c_end) {
    std::vector<Sample<T>> samples;
    std::vector<int64_t> first;
    for (int64_t n = 0; n < num_rois; ++n) {
      const RoiGeometry<T> g = roi_geometry(r + n * 5, scale, o);
      roi_samples(g, height, width, o, samples, first);
      const T count = static_cast<T>(g.grid_h * g.grid_w);
      T* image = g_in + g.batch * height * width * channels;
      for (int64_t b = 0; b < bins; ++b) {
        const T* go = g_out + (n * bins + b) * channels;
        for (int64_t k = first[b]; k < first[b + 1]; ++k) {
          const Sample<T>& s = samples[k];
          T *a = image + int64_t{s.p1} * channels, *bb = image + int64_t{s.p2} * channels,
            *cc = image + int64_t{s.p3} * channels, *d = image + int64_t{s.p4} * channels;
          for (int64_t c = c_begin; c < c_end; ++c) {
            a[c] += go[c] * s.w1 / count;
            bb[c] += go[c] * s.w2 / count;
            cc[c] += go[c] * s.w3 / count;
            d[c] += go[c] * s.w4 / count;
          }
        }
      }
    }
  });
}

void check(const torch::Tensor& rois, const RoIAlignOptions& o) {
  if (!rois.defined() || rois.dim() != 2 || rois.size(1) != 5)
    throw Error("roi_align: expected rois [K, 5] (batch index, x1, y1, x2, y2)");
  if (o.output_size[0] <= 0 || o.output_size[1] <= 0) throw Error("roi_align: output size must be positive");
}

// Channels-last on the CPU (and not also plain contiguous, as a map with C == 1 or H == W == 1 is).
bool is_channels_last(const torch::Tensor& t) {
  return t.dim() == 4 && t.is_cpu() && !t.is_contiguous() && t.is_contiguous(at::MemoryFormat::ChannelsLast);
}

// The dtype the kernels compute in: float64 stays, everything else is float32.
torch::ScalarType compute_type(torch::ScalarType t) {
  return t == torch::kDouble ? torch::kDouble : torch::kFloat;
}

torch::Tensor forward_dispatch(const torch::Tensor& input, const torch::Tensor& rois,
                               const RoIAlignOptions& o) {
  check(rois, o);
  if (!input.defined() || input.dim() != 4) throw Error("roi_align: expected input [B, C, H, W]");
  if (input.size(2) * input.size(3) > std::numeric_limits<int32_t>::max())
    throw Error("roi_align: a feature plane of more than 2^31 values");
  if (!input.device().is_cpu())  // the dispatch point: no CUDA kernel yet
    return forward_dispatch(input.cpu(), rois.cpu(), o).to(input.device());
  const auto ct = compute_type(input.scalar_type());
  // A channels-last input (as the ResNet backbone hands its maps on the CPU) is read as it lies, and
  // the output is channels-last too; anything else is made contiguous NCHW.
  const bool nhwc = is_channels_last(input);
  torch::Tensor in = input.to(ct).contiguous(nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
  torch::Tensor r = rois.to(ct).contiguous();
  // (at::zeros ignores a memory format in its options: empty takes it as an argument.)
  torch::Tensor out = at::empty({r.size(0), in.size(1), o.output_size[0], o.output_size[1]}, in.options(),
                                nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous)
                          .zero_();
  if (out.numel() == 0) return out.to(input.scalar_type());
  if (in.size(0) > 0) {
    const double max_batch = r.select(1, 0).max().item<double>(),
                 min_batch = r.select(1, 0).min().item<double>();
    if (min_batch < 0 || max_batch >= static_cast<double>(in.size(0)))
      throw Error("roi_align: a RoI's batch index is outside [0, " + std::to_string(in.size(0)) + ")");
  }
  if (ct == torch::kDouble)
    nhwc ? forward_cpu_nhwc<double>(in, r, o, out) : forward_cpu<double>(in, r, o, out);
  else
    nhwc ? forward_cpu_nhwc<float>(in, r, o, out) : forward_cpu<float>(in, r, o, out);
  return out.to(input.scalar_type());
}

torch::Tensor backward_dispatch(const torch::Tensor& grad, const torch::Tensor& rois,
                                const RoIAlignOptions& o, std::array<int64_t, 4> size, bool channels_last) {
  check(rois, o);
  if (!grad.device().is_cpu())
    return backward_dispatch(grad.cpu(), rois.cpu(), o, size, channels_last).to(grad.device());
  const auto ct = compute_type(grad.scalar_type());
  const auto format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  torch::Tensor g = grad.to(ct).contiguous(format);
  torch::Tensor r = rois.to(ct).contiguous();
  torch::Tensor grad_input = at::empty({size[0], size[1], size[2], size[3]}, g.options(), format).zero_();
  if (g.numel() == 0) return grad_input.to(grad.scalar_type());
  if (ct == torch::kDouble)
    channels_last ? backward_cpu_nhwc<double>(g, r, o, grad_input) : backward_cpu<double>(g, r, o, grad_input);
  else
    channels_last ? backward_cpu_nhwc<float>(g, r, o, grad_input) : backward_cpu<float>(g, r, o, grad_input);
  return grad_input.to(grad.scalar_type());
}

class RoIAlignFunction : public torch::autograd::Function<RoIAlignFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& rois, const RoIAlignOptions& o) {
    ctx->saved_data["output_size"] = std::vector<int64_t>{o.output_size[0], o.output_size[1]};
    ctx->saved_data["spatial_scale"] = o.spatial_scale;
    ctx->saved_data["sampling_ratio"] = o.sampling_ratio;
    ctx->saved_data["aligned"] = o.aligned;
    ctx->saved_data["input_size"] = input.sizes().vec();
    ctx->saved_data["channels_last"] = is_channels_last(input);
    ctx->save_for_backward({rois});
    return forward_dispatch(input, rois, o);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    RoIAlignOptions o;
    const auto out_size = ctx->saved_data["output_size"].toIntVector();
    o.output_size = {out_size[0], out_size[1]};
    o.spatial_scale = ctx->saved_data["spatial_scale"].toDouble();
    o.sampling_ratio = ctx->saved_data["sampling_ratio"].toInt();
    o.aligned = ctx->saved_data["aligned"].toBool();
    const auto in_size = ctx->saved_data["input_size"].toIntVector();
    const torch::Tensor rois = ctx->get_saved_variables()[0];
    torch::Tensor grad_input =
        backward_dispatch(grad_outputs[0], rois, o, {in_size[0], in_size[1], in_size[2], in_size[3]},
                          ctx->saved_data["channels_last"].toBool());
    return {grad_input, torch::Tensor(), torch::Tensor()};  // no gradient for the boxes, as torchvision
  }
};

}  // namespace

torch::Tensor roi_align(const torch::Tensor& input, const torch::Tensor& rois,
                        const RoIAlignOptions& options) {
  return RoIAlignFunction::apply(input, rois, options);
}

torch::Tensor roi_align_forward(const torch::Tensor& input, const torch::Tensor& rois,
                                const RoIAlignOptions& options) {
  return forward_dispatch(input, rois, options);
}

torch::Tensor roi_align_backward(const torch::Tensor& grad_output, const torch::Tensor& rois,
                                 const RoIAlignOptions& options, std::array<int64_t, 4> input_size,
                                 bool channels_last) {
  return backward_dispatch(grad_output, rois, options, input_size, channels_last);
}

}  // namespace studio
