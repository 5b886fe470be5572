#include "engine/data_loader.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "common/error.h"
#include "data/image_transforms.h"
#include "data/random_draws.h"
#include "data/ssd_augment.h"

namespace studio {

namespace {

// splitmix64: spreads (seed, epoch, index) over 64 bits so neighbouring samples get unrelated
// streams. The per-sample draws then don't depend on which thread builds the sample.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Fisher-Yates with an explicit draw (std::shuffle's algorithm differs between libraries).
void shuffle(std::vector<std::size_t>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

std::size_t round_up(std::size_t v, int divisor) {
  if (divisor <= 1) return v;
  const auto d = static_cast<std::size_t>(divisor);
  return (v + d - 1) / d * d;
}

// Thrown inside a worker when its epoch was abandoned or the loader is being destroyed.
struct Cancelled {};

}  // namespace

InputOptions input_options_from_config(const ConfigNode& input, const InputOptions& defaults) {
  input.allow({"short_side", "long_side", "size_divisor", "flip", "mean", "std", "resize", "augment",
               "ssd_size", "ssd_fill", "crop_rule", "ssd_style", "color_jitter", "ssd_crop"});
  InputOptions o = defaults;
  const auto bad = [&](const std::string& key, const std::string& message) {
    throw Error(input.where(key) + ": " + message);
  };
  o.short_sides = input.get_int_list("short_side", defaults.short_sides);
  if (o.short_sides.empty()) bad("short_side", "expected at least one size");
  for (int s : o.short_sides)
    if (s <= 0) bad("short_side", "expected sizes > 0, got " + std::to_string(s));
  o.long_side = input.get_int("long_side", defaults.long_side);
  if (o.long_side <= 0) bad("long_side", "expected a size > 0, got " + std::to_string(o.long_side));
  o.size_divisor = input.get_int("size_divisor", defaults.size_divisor);
  if (o.size_divisor < 1)
    bad("size_divisor", "expected an integer >= 1, got " + std::to_string(o.size_divisor));
  o.flip = input.get_double("flip", defaults.flip);
  if (!(o.flip >= 0 && o.flip <= 1)) bad("flip", "expected a probability in [0, 1]");
  const auto triple = [&](const std::string& key, const std::array<float, 3>& fallback, bool positive) {
    const std::vector<double> v = input.get_double_list(key, {fallback[0], fallback[1], fallback[2]});
    if (v.size() != 3) bad(key, "expected 3 numbers (R, G, B), got " + std::to_string(v.size()));
    std::array<float, 3> out{};
    for (int c = 0; c < 3; ++c) {
      if (positive && !(v[c] > 0)) bad(key, "expected numbers > 0");
      out[c] = static_cast<float>(v[c]);
    }
    return out;
  };
  o.mean = triple("mean", defaults.mean, false);
  o.std = triple("std", defaults.std, true);
  o.resize = input.get_bool("resize", defaults.resize);
  if (!o.resize)
    for (const char* key : {"short_side", "long_side", "mean", "std"})
      if (input.has(key))
        bad(key, "not used with resize: false (the model resizes and normalises; set its model.transform)");

  const std::string augment = input.get_string("augment", defaults.augment == InputOptions::Augment::Ssd ? "ssd" : "standard");
  if (augment == "ssd")
    o.augment = InputOptions::Augment::Ssd;
  else if (augment == "standard")
    o.augment = InputOptions::Augment::Standard;
  else
    bad("augment", "expected standard or ssd, got '" + augment + "'");
  const bool ssd = o.augment == InputOptions::Augment::Ssd;
  for (const char* key : {"ssd_size", "ssd_fill", "crop_rule", "ssd_style", "ssd_crop"})
    if (input.has(key) && !ssd) bad(key, "only used with augment: ssd");
  if (ssd && o.resize)
    bad("augment", "ssd needs resize: false (SSD's pipeline resizes to ssd_size squared and the model normalises)");
  o.ssd.size = input.get_int("ssd_size", defaults.ssd.size);
  if (o.ssd.size <= 0) bad("ssd_size", "expected a size > 0, got " + std::to_string(o.ssd.size));
  o.ssd.fill = static_cast<float>(input.get_double("ssd_fill", defaults.ssd.fill));
  const std::string rule =
      input.get_string("crop_rule", defaults.ssd.crop_rule == CropRule::MinIou ? "min_iou" : "reference");
  if (rule == "reference")
    o.ssd.crop_rule = CropRule::Reference;
  else if (rule == "min_iou")
    o.ssd.crop_rule = CropRule::MinIou;
  else
    bad("crop_rule", "expected reference (pytorch-ssd's behaviour: the IoU test never rejects) or min_iou, got '" +
                         rule + "'");
  const std::string style =
      input.get_string("ssd_style", defaults.ssd.style == SsdStyle::MindSpore ? "mindspore" : "pytorch_ssd");
  if (style == "pytorch_ssd")
    o.ssd.style = SsdStyle::PytorchSsd;
  else if (style == "mindspore")
    o.ssd.style = SsdStyle::MindSpore;
  else
    bad("ssd_style", "expected pytorch_ssd or mindspore, got '" + style + "'");
  if (input.has("color_jitter") && !(ssd && o.ssd.style == SsdStyle::MindSpore))
    bad("color_jitter", "only used with augment: ssd and ssd_style: mindspore");
  o.ssd.color_jitter = static_cast<float>(input.get_double("color_jitter", defaults.ssd.color_jitter));
  if (!(o.ssd.color_jitter >= 0 && o.ssd.color_jitter < 1))
    bad("color_jitter", "expected a number in [0, 1), got " + std::to_string(o.ssd.color_jitter));
  o.ssd.crop = input.get_bool("ssd_crop", defaults.ssd.crop);
  o.ssd.flip = o.flip;
  return o;
}

DataOptions data_options_from_config(const ConfigNode& data) {
  data.allow({"train", "val", "input", "test_input", "workers"});
  DataOptions o;
  o.train_input = input_options_from_config(data.child("input"));
  o.test_input = input_options_from_config(data.child("test_input"), o.train_input);
  o.workers = data.get_int("workers", o.workers);
  if (o.workers < 0)
    throw Error(data.where("workers") + ": expected an integer >= 0 (0 = load in the training thread)");
  return o;
}

// ---- the loader ----

struct DataLoader::State {
  std::shared_ptr<const Dataset> dataset;
  InputOptions input;
  LoaderOptions options;
  bool with_masks = false;

  // Eligible images in dataset order, and (training) the annotations that become targets.
  std::vector<std::size_t> samples;                     // positions in dataset->images
  std::vector<std::vector<const Annotation*>> targets;  // parallel to samples
  std::vector<std::vector<std::int64_t>> labels;        // parallel to targets
  std::array<std::array<float, 256>, 3> lut{};          // (v - mean) / std per channel

  // One epoch's work: the sample indices of this rank in order.
  struct Plan {
    int epoch = 0;
    std::vector<std::size_t> order;  // indices into `samples`
    std::size_t batches = 0;
  };

  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };

  std::mutex mu;
  std::condition_variable work_cv;   // workers wait for a batch to claim
  std::condition_variable ready_cv;  // next() waits for its batch
  std::shared_ptr<const Plan> plan;
  std::size_t next_claim = 0;  // the next batch index a worker takes
  std::size_t next_out = 0;    // the next batch index next() returns
  std::map<std::size_t, Slot> ready;
  bool stop = false;
  std::atomic<const Plan*> current{nullptr};  // read between images to abandon stale work early
  std::atomic<bool> stopping{false};
  std::vector<std::thread> threads;

  bool pinned = false;  // options.pin_memory and CUDA present

  [[nodiscard]] torch::TensorOptions tensor_options(torch::ScalarType type) const {
    return torch::TensorOptions().dtype(type).pinned_memory(pinned);
  }

  [[nodiscard]] std::size_t window() const {
    // Batches claimed but not yet returned. At least one per worker, or a worker would idle.
    return static_cast<std::size_t>(std::max({options.prefetch, options.workers, 1}));
  }

  [[nodiscard]] std::size_t rank_count() const {
    const std::size_t n = samples.size();
    const auto world = static_cast<std::size_t>(options.world_size);
    const auto rank = static_cast<std::size_t>(options.rank);
    if (options.train) return (n + world - 1) / world;  // padded as DistributedSampler
    return n > rank ? (n - rank + world - 1) / world : 0;
  }

  [[nodiscard]] std::size_t batch_count(std::size_t count) const {
    const auto bs = static_cast<std::size_t>(options.batch_size);
    if (options.train && options.drop_last) return count / bs;
    return (count + bs - 1) / bs;
  }

  std::shared_ptr<const Plan> make_plan(int epoch) const {
    auto p = std::make_shared<Plan>();
    p->epoch = epoch;
    const std::size_t n = samples.size();
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = i;
    const auto world = static_cast<std::size_t>(options.world_size);
    const auto rank = static_cast<std::size_t>(options.rank);
    if (options.train && n > 0) {
      std::mt19937_64 rng(options.seed + static_cast<std::uint64_t>(epoch));
      shuffle(all, rng);
      // torch's DistributedSampler: repeat the start of the order so every rank gets as many.
      const std::size_t total = (n + world - 1) / world * world;
      for (std::size_t i = n; i < total; ++i) all.push_back(all[i - n]);
    }
    for (std::size_t i = rank; i < all.size(); i += world) p->order.push_back(all[i]);
    p->batches = batch_count(p->order.size());
    if (options.train && options.drop_last)
      p->order.resize(p->batches * static_cast<std::size_t>(options.batch_size));
    return p;
  }

  // Each sample's generator, seeded by (seed, epoch, sample): the draws don't depend on which
  // worker builds the sample.
  [[nodiscard]] std::mt19937_64 sample_rng(int epoch, std::size_t sample) const {
    return std::mt19937_64(mix(mix(options.seed) ^ (static_cast<std::uint64_t>(epoch) * 0x100000001B3ull)) ^
                           static_cast<std::uint64_t>(sample));
  }

  [[nodiscard]] bool ssd_train() const { return options.train && input.augment == InputOptions::Augment::Ssd; }

  // augment: ssd: decodes the image and runs SSD's pipeline on it and its target boxes.
  SsdAugmented augment_ssd(const ImageInfo& info, std::size_t sample, int epoch) const {
    const RgbImage image = read_rgb_image(dataset->image_path(info));
    ImageTransform identity;
    identity.original = identity.resized = {image.width, image.height};
    std::vector<std::array<float, 4>> boxes;
    for (const Annotation* a : targets[sample]) boxes.push_back(transform_box(a->bbox, identity));
    std::mt19937_64 rng = sample_rng(epoch, sample);
    return ssd_augment(image, boxes, labels[sample], input.ssd, rng);
  }

  // Float HWC pixels into one image's [3, H, W] plane set, zero padding right and below.
  static void write_float_image(const FloatImage& image, float* out, std::size_t H, std::size_t W) {
    for (std::size_t c = 0; c < 3; ++c) {
      float* plane = out + c * H * W;
      for (int y = 0; y < image.height; ++y) {
        float* row = plane + static_cast<std::size_t>(y) * W;
        const float* src = image.pixels.data() + static_cast<std::size_t>(y) * image.width * 3 + c;
        for (int x = 0; x < image.width; ++x) row[x] = src[3 * x];
        std::fill(row + image.width, row + W, 0.f);
      }
      std::fill(plane + static_cast<std::size_t>(image.height) * W, plane + H * W, 0.f);
    }
  }

  [[nodiscard]] InstanceTargets ssd_targets(const SsdAugmented& a) const {
    const auto N = static_cast<std::int64_t>(a.boxes.size());
    InstanceTargets t;
    t.labels = torch::empty({N}, tensor_options(torch::kInt64));
    std::memcpy(t.labels.data_ptr<std::int64_t>(), a.labels.data(), a.labels.size() * sizeof(std::int64_t));
    t.boxes = torch::empty({N, 4}, tensor_options(torch::kFloat32));
    std::memcpy(t.boxes.data_ptr<float>(), a.boxes.data(), a.boxes.size() * 4 * sizeof(float));
    return t;
  }

  // Builds batch `b` of `plan`. Runs on a worker (or in next() when workers == 0).
  Batch build(const Plan& plan, std::size_t b) const {
    const auto bs = static_cast<std::size_t>(options.batch_size);
    const std::size_t begin = b * bs, end = std::min(plan.order.size(), begin + bs);
    const Dataset& ds = *dataset;

    struct Loaded {
      std::size_t sample;
      RgbImage image;
      ImageTransform transform;
      std::optional<SsdAugmented> ssd;  // augment: ssd (training): image and targets made there
    };
    std::vector<Loaded> loaded;
    loaded.reserve(end - begin);
    std::size_t max_h = 0, max_w = 0;
    for (std::size_t i = begin; i < end; ++i) {
      if (stopping.load() || current.load() != &plan) throw Cancelled{};
      const std::size_t s = plan.order[i];
      const ImageInfo& info = ds.images[samples[s]];
      int short_side = input.short_sides.front();
      bool flip = false;
      if (options.train) {
        std::mt19937_64 rng = sample_rng(plan.epoch, s);
        short_side = input.short_sides[static_cast<std::size_t>(rng() % input.short_sides.size())];
        flip = input.flip > 0 && uniform01(rng) < input.flip;
      }
      Loaded l;
      l.sample = s;
      if (ssd_train()) {
        l.ssd = augment_ssd(info, s, plan.epoch);
        l.transform.original = l.transform.resized = {l.ssd->image.width, l.ssd->image.height};
        max_h = std::max(max_h, static_cast<std::size_t>(l.ssd->image.height));
        max_w = std::max(max_w, static_cast<std::size_t>(l.ssd->image.width));
        loaded.push_back(std::move(l));
        continue;
      }
      if (input.resize) {
        l.image =
            load_resized_image(ds.image_path(info), short_side, input.long_side, flip, &l.transform.original);
      } else {
        l.image = read_rgb_image(ds.image_path(info));
        if (flip) flip_image(l.image);
        l.transform.original = {l.image.width, l.image.height};
      }
      l.transform.resized = {l.image.width, l.image.height};
      l.transform.flipped = flip;
      max_h = std::max(max_h, static_cast<std::size_t>(l.image.height));
      max_w = std::max(max_w, static_cast<std::size_t>(l.image.width));
      loaded.push_back(std::move(l));
    }
    const std::size_t H = round_up(max_h, input.size_divisor), W = round_up(max_w, input.size_divisor);
    const auto B = static_cast<std::int64_t>(loaded.size());

    Batch batch;
    ImageBatch& ib = batch.images;
    // Written element by element (no torch ops here: they would start intra-op threads on the
    // worker). Padding is 0 after normalisation, as mmdetection's Pad after Normalize.
    ib.images = torch::empty({B, 3, static_cast<std::int64_t>(H), static_cast<std::int64_t>(W)},
                             tensor_options(torch::kFloat32));
    float* out = ib.images.data_ptr<float>();
    for (std::size_t k = 0; k < loaded.size(); ++k) {
      const RgbImage& img = loaded[k].image;
      if (loaded[k].ssd) {
        write_float_image(loaded[k].ssd->image, out + k * 3 * H * W, H, W);
      } else {
        for (int c = 0; c < 3; ++c) {
          float* plane = out + (k * 3 + static_cast<std::size_t>(c)) * H * W;
          const std::array<float, 256>& table = lut[static_cast<std::size_t>(c)];
          for (int y = 0; y < img.height; ++y) {
            float* row = plane + static_cast<std::size_t>(y) * W;
            const std::uint8_t* src = img.pixels.data() + static_cast<std::size_t>(y) * img.width * 3 + c;
            for (int x = 0; x < img.width; ++x) row[x] = table[src[3 * x]];
            std::fill(row + img.width, row + W, 0.f);
          }
          std::fill(plane + static_cast<std::size_t>(img.height) * W, plane + H * W, 0.f);
        }
      }
      const ImageInfo& info = ds.images[samples[loaded[k].sample]];
      ib.image_sizes.push_back({loaded[k].transform.resized.height, loaded[k].transform.resized.width});
      ib.original_sizes.push_back({loaded[k].transform.original.height, loaded[k].transform.original.width});
      ib.image_ids.push_back(info.id);
      ib.flipped.push_back(loaded[k].transform.flipped);
    }
    if (!options.train) return batch;

    for (const Loaded& l : loaded) {
      if (stopping.load() || current.load() != &plan) throw Cancelled{};
      if (l.ssd) {
        batch.targets.push_back(ssd_targets(*l.ssd));
        continue;
      }
      const std::vector<const Annotation*>& anns = targets[l.sample];
      const auto N = static_cast<std::int64_t>(anns.size());
      InstanceTargets t;
      t.labels = torch::empty({N}, tensor_options(torch::kInt64));
      std::memcpy(t.labels.data_ptr<std::int64_t>(), labels[l.sample].data(),
                  anns.size() * sizeof(std::int64_t));
      t.boxes = torch::empty({N, 4}, tensor_options(torch::kFloat32));
      float* box = t.boxes.data_ptr<float>();
      for (std::size_t a = 0; a < anns.size(); ++a) {
        const std::array<float, 4> xyxy = transform_box(anns[a]->bbox, l.transform);
        std::copy(xyxy.begin(), xyxy.end(), box + 4 * a);
      }
      if (with_masks) {
        // Each mask rasterised straight into its plane of the padded [N, H, W] tensor.
        t.masks = torch::empty({N, static_cast<std::int64_t>(H), static_cast<std::int64_t>(W)},
                               tensor_options(torch::kUInt8));
        std::uint8_t* m = t.masks.data_ptr<std::uint8_t>();
        std::memset(m, 0, anns.size() * H * W);
        for (std::size_t a = 0; a < anns.size(); ++a) {
          try {
            rasterise_mask(*anns[a], l.transform, m + a * H * W, W);
          } catch (const Error& e) {
            throw Error(dataset->source + ": annotation " + std::to_string(anns[a]->id) + ": " + e.what());
          }
        }
      }
      batch.targets.push_back(std::move(t));
    }
    return batch;
  }

  void worker_loop() {
    for (;;) {
      std::unique_lock<std::mutex> lock(mu);
      work_cv.wait(lock, [&] {
        return stop || (plan && next_claim < plan->batches && next_claim < next_out + window());
      });
      if (stop) return;
      const std::shared_ptr<const Plan> p = plan;
      const std::size_t b = next_claim++;
      lock.unlock();

      Slot slot;
      try {
        slot.batch = build(*p, b);
      } catch (const Cancelled&) {
        continue;
      } catch (...) {
        slot.error = std::current_exception();
      }
      lock.lock();
      if (plan == p) {  // a newer start_epoch() discards what was built for the old one
        ready.emplace(b, std::move(slot));
        ready_cv.notify_all();
      }
    }
  }
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, InputOptions input, LoaderOptions options)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  if (!dataset) throw std::invalid_argument("DataLoader: no dataset");
  if (options.batch_size < 1)
    throw Error("data loader: batch size must be >= 1, got " + std::to_string(options.batch_size));
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size)
    throw Error("data loader: rank " + std::to_string(options.rank) + " is not in a world of " +
                std::to_string(options.world_size));
  if (input.short_sides.empty()) throw Error("data loader: no input short side given");
  options.workers = std::max(0, options.workers);
  options.prefetch = std::max(1, options.prefetch);
  s.dataset = std::move(dataset);
  s.pinned = options.pin_memory && torch::cuda::is_available();
  s.input = input;
  s.options = options;
  const Dataset& ds = *s.dataset;

  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v)
      s.lut[static_cast<std::size_t>(c)][static_cast<std::size_t>(v)] =
          !input.resize ? static_cast<float>(v)  // the model normalises
                        : static_cast<float>((v - static_cast<double>(input.mean[static_cast<std::size_t>(c)])) /
                                             static_cast<double>(input.std[static_cast<std::size_t>(c)]));

  // Own lookups: the dataset is const here and may not have been index()ed.
  std::unordered_map<std::int64_t, std::int64_t> category_pos;
  for (std::size_t c = 0; c < ds.categories.size(); ++c)
    category_pos.emplace(ds.categories[c].id, static_cast<std::int64_t>(c));
  std::unordered_map<std::int64_t, std::vector<const Annotation*>> by_image;
  for (const Annotation& a : ds.annotations) {
    if (a.has_mask() && s.options.masks && !s.ssd_train()) s.with_masks = true;
    by_image[a.image_id].push_back(&a);
  }

  for (std::size_t i = 0; i < ds.images.size(); ++i) {
    if (!s.options.train) {
      s.samples.push_back(i);
      continue;
    }
    const ImageInfo& info = ds.images[i];
    std::vector<const Annotation*> usable;
    std::vector<std::int64_t> labels;
    const auto it = by_image.find(info.id);
    if (it != by_image.end())
      for (const Annotation* a : it->second) {
        // mmdetection's CocoDataset._parse_ann_info: crowd (and VOC difficult) regions are ignored,
        // as are boxes under a pixel wide or high, empty areas and boxes outside the image.
        if (a->iscrowd || a->difficult) continue;
        const auto cat = category_pos.find(a->category_id);
        if (cat == category_pos.end()) continue;
        const auto& bb = a->bbox;
        if (bb[2] < 1 || bb[3] < 1 || a->area <= 0) continue;
        if (info.width > 0 && info.height > 0) {
          const double iw = std::min(bb[0] + bb[2], double(info.width)) - std::max(bb[0], 0.0);
          const double ih = std::min(bb[1] + bb[3], double(info.height)) - std::max(bb[1], 0.0);
          if (iw <= 0 || ih <= 0) continue;
        }
        usable.push_back(a);
        labels.push_back(cat->second);
      }
    if (usable.empty()) continue;  // mmdetection's filter_empty_gt
    s.samples.push_back(i);
    s.targets.push_back(std::move(usable));
    s.labels.push_back(std::move(labels));
  }
  if (s.options.train && s.samples.empty())
    throw Error(ds.source + ": no image has a usable (non-crowd) annotation to train on");

  for (int w = 0; w < s.options.workers; ++w) s.threads.emplace_back([&s] { s.worker_loop(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
    state_->stopping = true;
  }
  state_->work_cv.notify_all();
  for (std::thread& t : state_->threads) t.join();
}

std::size_t DataLoader::samples_per_epoch() const {
  const std::size_t count = state_->rank_count();
  const State& s = *state_;
  if (s.options.train && s.options.drop_last)
    return count / static_cast<std::size_t>(s.options.batch_size) *
           static_cast<std::size_t>(s.options.batch_size);
  return count;
}

std::size_t DataLoader::batches_per_epoch() const { return state_->batch_count(state_->rank_count()); }

void DataLoader::start_epoch(int epoch, std::size_t first_batch) {
  State& s = *state_;
  std::shared_ptr<const State::Plan> p = s.make_plan(epoch);
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.plan = p;
    s.current = p.get();
    s.ready.clear();
    s.next_claim = s.next_out = std::min(first_batch, p->batches);
  }
  s.work_cv.notify_all();
}

std::optional<Batch> DataLoader::next() {
  State& s = *state_;
  bool started = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    started = s.plan != nullptr;
  }
  if (!started) start_epoch(0);
  std::unique_lock<std::mutex> lock(s.mu);
  if (s.next_out >= s.plan->batches) return std::nullopt;
  State::Slot slot;
  if (s.threads.empty()) {
    const std::shared_ptr<const State::Plan> p = s.plan;
    const std::size_t b = s.next_out++;
    s.next_claim = s.next_out;
    lock.unlock();
    return s.build(*p, b);
  }
  s.ready_cv.wait(lock, [&] { return s.ready.count(s.next_out) > 0; });
  auto it = s.ready.find(s.next_out);
  slot = std::move(it->second);
  s.ready.erase(it);
  ++s.next_out;
  lock.unlock();
  s.work_cv.notify_all();
  if (slot.error) std::rethrow_exception(slot.error);
  return std::move(slot.batch);
}

}  // namespace studio
