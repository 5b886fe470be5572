#include "engine/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "engine/inference.h"
#include "eval/coco_eval.h"
#include "eval/coco_results.h"
#include "eval/metrics_file.h"
#include "modeling/model_factory.h"

namespace studio {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string scientific(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}

// Train events every log_interval iterations (and at the end of each epoch), averaged over the
// interval as mmdetection's logger does; start/end events.
class EventsHook : public TrainHook {
 public:
  void before_train(Trainer& t) override {
    Event e;
    e.type = "start";
    e.epoch = t.state().epoch;
    e.iter = t.state().iter;
    e.numbers = {{"epochs", t.options().epochs},
                 {"iters_per_epoch", double(t.batches_per_epoch())},
                 {"total_iters", double(t.schedule().total_iters())},
                 {"batch_size", t.options().batch_size},
                 {"world_size", t.setup().world_size}};
    e.texts = {{"run", t.run_log().dir()}, {"resumed", t.setup().resume ? "true" : "false"}};
    t.run_log().event(e);
    t.run_log().log("start: epoch " + std::to_string(t.state().epoch) + ", iteration " +
                    std::to_string(t.state().iter) + " of " + std::to_string(t.schedule().total_iters()) +
                    (t.setup().resume ? " (resumed)" : ""));
  }

  void after_step(Trainer& t, const StepReport& r) override {
    for (const auto& [name, v] : r.losses) {
      auto it = std::find_if(sums_.begin(), sums_.end(), [&](const auto& p) { return p.first == name; });
      if (it == sums_.end())
        sums_.emplace_back(name, v);
      else
        it->second += v;
    }
    loss_ += r.loss;
    data_ += r.data_time;
    step_ += r.step_time;
    images_ += static_cast<double>(t.options().batch_size * t.setup().world_size);
    ++count_;
    const bool epoch_end = r.batch == r.batches_per_epoch;
    if (r.iter % std::max(1, t.options().log_interval) != 0 && !epoch_end) return;
    const double n = static_cast<double>(count_);
    Event e;
    e.type = "train";
    e.epoch = r.epoch;
    e.iter = r.iter;
    for (const auto& [name, v] : sums_) e.numbers.emplace_back(name, v / n);
    e.numbers.emplace_back("loss", loss_ / n);
    e.numbers.emplace_back("lr", r.lr);
    e.numbers.emplace_back("images_per_s", data_ + step_ > 0 ? images_ / (data_ + step_) : 0.0);
    e.numbers.emplace_back("data_time", data_ / n);
    e.numbers.emplace_back("step_time", step_ / n);
    e.numbers.emplace_back("eta_s", r.eta_s);
    t.run_log().event(e);
    std::string line = "epoch " + std::to_string(r.epoch) + "/" + std::to_string(r.epochs) + " iter " +
                       std::to_string(r.batch) + "/" + std::to_string(r.batches_per_epoch) + " lr " +
                       scientific(r.lr);
    for (const auto& [name, v] : sums_) line += " " + name + " " + fixed(v / n, 4);
    line += " loss " + fixed(loss_ / n, 4) + " images/s " + fixed(images_ / std::max(1e-9, data_ + step_), 1) +
            " data " + fixed(data_ / n, 3) + "s step " + fixed(step_ / n, 3) + "s";
    t.run_log().log(line);
    sums_.clear();
    loss_ = data_ = step_ = images_ = 0;
    count_ = 0;
  }

  void after_train(Trainer& t, bool cancelled) override {
    Event e;
    e.type = "end";
    e.epoch = t.state().epoch;
    e.iter = t.state().iter;
    e.texts = {{"status", cancelled ? "cancelled" : "finished"}};
    if (t.state().best_metric >= 0) e.numbers = {{"best_segm_ap", t.state().best_metric}, {"best_epoch", t.state().best_epoch}};
    t.run_log().event(e);
    t.run_log().log(cancelled ? "cancelled at iteration " + std::to_string(t.state().iter) + " (last.pt written)"
                              : "finished");
  }

 private:
  std::vector<std::pair<std::string, double>> sums_;
  double loss_ = 0, data_ = 0, step_ = 0, images_ = 0;
  int count_ = 0;
};

// Evaluation every eval_interval epochs and after the last one.
class EvalHook : public TrainHook {
 public:
  void after_epoch(Trainer& t) override {
    const int epoch = t.state().epoch;
    const int interval = std::max(1, t.options().eval_interval);
    if (!t.setup().val || (epoch % interval != 0 && epoch != t.options().epochs)) return;
    t.evaluate();
  }
};

// last.pt every epoch, epoch_<k>.pt every checkpoint_interval epochs, best.pt when segm AP improved.
class CheckpointHook : public TrainHook {
 public:
  void after_epoch(Trainer& t) override {
    if (!t.is_main()) return;
    const int epoch = t.state().epoch;
    const std::string dir = t.run_log().checkpoints_dir();
    std::vector<std::string> written;
    t.save(dir + "/last.pt");
    written.push_back(dir + "/last.pt");
    const int interval = std::max(1, t.options().checkpoint_interval);
    if (epoch % interval == 0 || epoch == t.options().epochs) {
      const std::string path = dir + "/epoch_" + std::to_string(epoch) + ".pt";
      // Same bytes as last.pt: copy instead of serialising twice.
      std::error_code ec;
      fs::copy_file(dir + "/last.pt", path + ".tmp", fs::copy_options::overwrite_existing, ec);
      if (!ec) fs::rename(path + ".tmp", path, ec);
      if (ec) throw Error(path + ": cannot write (" + ec.message() + ")");
      written.push_back(path);
    }
    if (t.last_eval() && t.last_eval()->epoch == epoch && t.last_eval_improved()) {
      std::error_code ec;
      const std::string path = dir + "/best.pt";
      fs::copy_file(dir + "/last.pt", path + ".tmp", fs::copy_options::overwrite_existing, ec);
      if (!ec) fs::rename(path + ".tmp", path, ec);
      if (ec) throw Error(path + ": cannot write (" + ec.message() + ")");
      written.push_back(path);
    }
    for (const auto& path : written) {
      Event e;
      e.type = "checkpoint";
      e.epoch = epoch;
      e.iter = t.state().iter;
      e.texts = {{"path", path}};
      t.run_log().event(e);
    }
    t.run_log().log("checkpoint: epoch " + std::to_string(epoch) + " -> " + written.back());
  }
};

}  // namespace

void check_run_folder(const std::string& run_dir, bool resume) {
  const std::string last = run_dir + "/checkpoints/last.pt";
  std::error_code ec;
  if (resume && !fs::exists(last, ec)) throw Error(last + ": nothing to resume from (no last.pt in the run folder)");
  if (!resume && fs::exists(last, ec))
    throw Error(run_dir + ": this run folder already has checkpoints; resume it (--resume) or choose another (--out)");
}

TrainerOptions trainer_options_from_config(const ConfigNode& train) {
  train.allow({"batch_size", "reference_batch", "epochs", "optimizer", "schedule", "grad_clip", "eval_interval",
               "checkpoint_interval", "log_interval", "seed"});
  TrainerOptions o;
  o.batch_size = train.get_int("batch_size", o.batch_size);
  o.reference_batch = train.get_int("reference_batch", o.reference_batch);
  o.epochs = train.get_int("epochs", o.epochs);
  const ConfigNode opt = train.child("optimizer");
  opt.allow({"type", "lr", "momentum", "weight_decay", "betas"});
  o.optimizer = opt.get_choice("type", {"sgd", "adamw"}, "sgd");
  const std::vector<double> betas = opt.get_double_list("betas", {o.betas[0], o.betas[1]});
  if (betas.size() != 2 || !(betas[0] >= 0 && betas[0] < 1) || !(betas[1] >= 0 && betas[1] < 1))
    throw Error(opt.where("betas") + ": expected two numbers in [0, 1), e.g. [0.9, 0.999]");
  o.betas = {betas[0], betas[1]};
  o.lr = opt.get_double("lr", o.lr);
  o.momentum = opt.get_double("momentum", o.momentum);
  o.weight_decay = opt.get_double("weight_decay", o.weight_decay);
  o.schedule = lr_schedule_options_from_config(train.child("schedule"));
  o.grad_clip = train.get_double("grad_clip", o.grad_clip);
  o.eval_interval = train.get_int("eval_interval", o.eval_interval);
  o.checkpoint_interval = train.get_int("checkpoint_interval", o.checkpoint_interval);
  o.log_interval = train.get_int("log_interval", o.log_interval);
  o.seed = static_cast<std::uint64_t>(train.get_int("seed", 0));
  auto positive = [&](const char* key, double v) {
    if (!(v > 0)) throw Error(train.where(key) + ": expected a number > 0");
  };
  positive("batch_size", o.batch_size);
  positive("reference_batch", o.reference_batch);
  positive("epochs", o.epochs);
  positive("eval_interval", o.eval_interval);
  positive("checkpoint_interval", o.checkpoint_interval);
  positive("log_interval", o.log_interval);
  if (!(o.lr > 0)) throw Error(opt.where("lr") + ": expected a number > 0");
  if (o.momentum < 0 || o.momentum >= 1) throw Error(opt.where("momentum") + ": expected a number in [0, 1)");
  if (o.weight_decay < 0) throw Error(opt.where("weight_decay") + ": expected a number >= 0");
  if (o.grad_clip < 0) throw Error(train.where("grad_clip") + ": expected a number >= 0 (0 = off)");
  return o;
}

Trainer::Trainer(Config recipe, TrainerSetup setup) : config_(std::move(recipe)), setup_(std::move(setup)) {
  if (!setup_.train) throw Error("no training set given");
  if (setup_.run_dir.empty()) throw Error("no run folder given");
  options_ = trainer_options_from_config(config_.at("train"));
  data_options_ = data_options_from_config(config_.at("data"));
  if (setup_.model_name.empty()) setup_.model_name = fs::path(config_.file()).stem().string();

  check_run_folder(setup_.run_dir, setup_.resume);
  const std::string last = setup_.run_dir + "/checkpoints/last.pt";
  log_ = std::make_unique<RunLog>(setup_.run_dir, is_main());

  // The classes come from the training set; the model follows it.
  categories_ = setup_.train->categories;
  if (categories_.empty()) throw Error(setup_.train->source + ": the training set has no categories");
  const int recipe_classes = config_.at("model").get_int("num_classes", 0);
  const int classes = static_cast<int>(categories_.size());
  if (recipe_classes != classes) {
    config_.set("model.num_classes", std::to_string(classes), "training set " + setup_.train->source);
    log_->log("model.num_classes: the recipe says " + std::to_string(recipe_classes) + ", the training set has " +
              std::to_string(classes) + " categories; using " + std::to_string(classes));
  }
  if (setup_.val) {
    for (const auto& c : categories_)
      if (!setup_.val->category_by_id(c.id))
        throw Error(setup_.val->source + ": category id " + std::to_string(c.id) + " ('" + c.name +
                    "') of the training set is not in the validation set");
  }

  torch::manual_seed(options_.seed);
  model_ = build_model(config_.at("model"));
  model_->to(setup_.device);
  model_->train();
  if (options_.optimizer == "adamw") {
    optimizer_ = std::make_unique<torch::optim::AdamW>(
        model_->parameters(), torch::optim::AdamWOptions(options_.lr)
                                  .betas(std::make_tuple(options_.betas[0], options_.betas[1]))
                                  .weight_decay(options_.weight_decay));
  } else {
    optimizer_ = std::make_unique<torch::optim::SGD>(
        model_->parameters(),
        torch::optim::SGDOptions(options_.lr).momentum(options_.momentum).weight_decay(options_.weight_decay));
  }

  LoaderOptions lo;
  lo.batch_size = options_.batch_size;
  lo.workers = data_options_.workers;
  lo.train = true;
  lo.seed = options_.seed;
  lo.rank = setup_.rank;
  lo.world_size = setup_.world_size;
  loader_ = std::make_unique<DataLoader>(setup_.train, data_options_.train_input, lo);
  batches_per_epoch_ = static_cast<std::int64_t>(loader_->batches_per_epoch());
  if (batches_per_epoch_ == 0)
    throw Error(setup_.train->source + ": no image with a usable annotation to train on");
  schedule_ = std::make_unique<LrSchedule>(options_.schedule, options_.lr, options_.epochs, batches_per_epoch_);

  state_.seed = options_.seed;
  if (setup_.resume) {
    const CheckpointContents c = load_checkpoint(last, *model_, optimizer_.get());
    state_ = c.state;
    if (state_.seed != options_.seed)
      log_->log("note: the checkpoint was trained with seed " + std::to_string(state_.seed) + ", the recipe says " +
                std::to_string(options_.seed) + "; continuing with the checkpoint's");
    if (state_.batch >= batches_per_epoch_ || state_.iter != std::int64_t(state_.epoch) * batches_per_epoch_ + state_.batch)
      throw Error(last + ": position (epoch " + std::to_string(state_.epoch) + ", batch " + std::to_string(state_.batch) +
                  ", iteration " + std::to_string(state_.iter) + ") does not fit " + std::to_string(batches_per_epoch_) +
                  " batches an epoch: was the training set or batch size changed?");
    loader_ = std::make_unique<DataLoader>(setup_.train, data_options_.train_input, [&] {
      LoaderOptions l = lo;
      l.seed = state_.seed;
      return l;
    }());
  }
  log_->write_config(config_);

  add_hook(std::make_shared<EventsHook>());
  add_hook(std::make_shared<EvalHook>());
  add_hook(std::make_shared<CheckpointHook>());
}

Trainer::~Trainer() = default;

void Trainer::save(const std::string& path) {
  if (!is_main()) return;
  save_checkpoint(path, *model_, optimizer_.get(), state_, categories_);
}

bool Trainer::train() {
  auto cancelled = [&] { return setup_.cancel && setup_.cancel->load(); };
  auto stop = [&] {
    save(log_->checkpoints_dir() + "/last.pt");
    Event e;
    e.type = "checkpoint";
    e.epoch = state_.epoch;
    e.iter = state_.iter;
    e.texts = {{"path", log_->checkpoints_dir() + "/last.pt"}};
    log_->event(e);
    for (auto& h : hooks_) h->after_train(*this, true);
    return false;
  };
  try {
    for (auto& h : hooks_) h->before_train(*this);
    while (state_.epoch < options_.epochs) {
      model_->train();
      loader_->start_epoch(state_.epoch, static_cast<std::size_t>(state_.batch));
      while (true) {
        if (cancelled()) return stop();
        const auto t0 = std::chrono::steady_clock::now();
        std::optional<Batch> batch = loader_->next();
        if (!batch) break;
        run_step(*batch, seconds_since(t0));
      }
      state_.epoch += 1;
      state_.batch = 0;
      last_eval_.reset();
      last_eval_improved_ = false;
      for (auto& h : hooks_) h->after_epoch(*this);
    }
    for (auto& h : hooks_) h->after_train(*this, false);
    return true;
  } catch (const Cancelled&) {
    return stop();
  } catch (const std::exception& ex) {
    Event e;
    e.type = "error";
    e.epoch = state_.epoch;
    e.iter = state_.iter;
    e.texts = {{"message", ex.what()}};
    log_->event(e);
    log_->log(std::string("error: ") + ex.what());
    throw;
  }
}

void Trainer::run_step(Batch& batch, double data_time) {
  const auto t0 = std::chrono::steady_clock::now();
  const double lr = schedule_->lr(state_.iter);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);

  const ImageBatch images = batch.images.to(setup_.device);
  std::vector<InstanceTargets> targets;
  targets.reserve(batch.targets.size());
  for (const auto& t : batch.targets) targets.push_back(t.to(setup_.device));

  const LossTerms terms = model_->losses(images, targets);
  if (terms.empty()) throw Error("the model returned no loss terms");
  torch::Tensor loss = terms.front().second;
  for (std::size_t i = 1; i < terms.size(); ++i) loss = loss + terms[i].second;
  const double loss_value = loss.item<double>();
  if (!std::isfinite(loss_value)) {
    std::string parts;
    for (const auto& [name, v] : terms) parts += " " + name + "=" + std::to_string(v.item<double>());
    throw Error("loss is not finite at iteration " + std::to_string(state_.iter + 1) + " (lr " + scientific(lr) +
                "," + parts + "): lower train.optimizer.lr, lengthen the warmup or set train.grad_clip");
  }
  optimizer_->zero_grad();
  loss.backward();
  for (auto& h : hooks_) h->after_backward(*this);
  if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.grad_clip);
  optimizer_->step();
  state_.iter += 1;
  state_.batch += 1;

  StepReport r;
  r.epoch = state_.epoch + 1;
  r.epochs = options_.epochs;
  r.batch = state_.batch;
  r.batches_per_epoch = batches_per_epoch_;
  r.iter = state_.iter;
  r.total_iters = schedule_->total_iters();
  for (const auto& [name, v] : terms) r.losses.emplace_back(name, v.item<double>());
  r.loss = loss_value;
  r.lr = lr;
  r.data_time = data_time;
  r.step_time = seconds_since(t0);
  const double iter_s = r.data_time + r.step_time;
  smoothed_iter_s_ = smoothed_iter_s_ > 0 ? 0.9 * smoothed_iter_s_ + 0.1 * iter_s : iter_s;
  const double n_images = static_cast<double>(images.size() * setup_.world_size);
  r.images_per_s = smoothed_iter_s_ > 0 ? n_images / smoothed_iter_s_ : 0;
  r.eta_s = smoothed_iter_s_ * static_cast<double>(r.total_iters - r.iter);
  total_images_ += n_images;
  total_time_ += iter_s;
  for (auto& h : hooks_) h->after_step(*this, r);
}

EvalSummary Trainer::evaluate() {
  if (!setup_.val) throw Error("no validation set to evaluate on (data.val or --val-data)");
  EvalSummary s;
  s.epoch = state_.epoch;
  log_->log("evaluating on " + setup_.val->source + " (" + std::to_string(setup_.val->images.size()) + " images)");
  InferenceOptions io;
  io.batch_size = options_.batch_size;
  io.workers = data_options_.workers;
  io.device = setup_.device;
  io.rank = setup_.rank;
  io.world_size = setup_.world_size;
  Progress progress;
  progress.cancel = setup_.cancel;
  const std::vector<Detection> dets =
      run_inference(*model_, setup_.val, categories_, data_options_.test_input, io, progress);
  const std::string k = std::to_string(s.epoch);
  s.results_path = log_->eval_dir() + "/results_" + k + ".json";
  s.metrics_path = log_->eval_dir() + "/metrics_" + k + ".json";
  const std::string json = to_coco_results_json(dets);
  if (is_main()) write_file_atomic(s.results_path, json);

  MetricsFile metrics;
  metrics.meta.model = setup_.model_name;
  metrics.meta.dataset = setup_.val->source;
  metrics.meta.devices = setup_.world_size;
  metrics.meta.epochs = options_.epochs;
  metrics.meta.images_per_s = total_time_ > 0 ? total_images_ / total_time_ : -1;
  Event e;
  e.type = "eval";
  e.epoch = s.epoch;
  e.iter = state_.iter;
  const bool has_masks = std::any_of(dets.begin(), dets.end(), [](const Detection& d) { return d.segm.has_value(); }) ||
                         dets.empty();
  // The metrics read the written results back with loadRes' rules, so they equal what
  // `studio-cli eval` gives on results_<k>.json.
  for (const IouType type : {IouType::Segm, IouType::Bbox}) {
    if (type == IouType::Segm && !has_masks) continue;
    const std::vector<Detection> parsed = parse_coco_results(json, s.results_path, *setup_.val, type);
    const CocoEvalResult result = evaluate_coco(*setup_.val, parsed, type, {}, progress, 0);
    std::vector<std::pair<std::string, double>> numbers;
    for (std::size_t i = 0; i < 12; ++i) numbers.emplace_back(summary_names()[i], result.stats[i]);
    e.groups.emplace_back(iou_type_name(type), numbers);
    (type == IouType::Segm ? s.segm : s.bbox) = result.stats;
    if (type == IouType::Segm) s.has_segm = true;
    (type == IouType::Segm ? metrics.segm : metrics.bbox) = make_coco_metrics(result, *setup_.val, parsed);
    log_->log(std::string(iou_type_name(type)) + " epoch " + k + ":\n" + format_summary(result));
  }
  if (is_main()) write_file_atomic(s.metrics_path, metrics_to_json(metrics));
  log_->event(e);

  const double ap = s.has_segm ? s.segm[0] : s.bbox[0];
  last_eval_improved_ = ap > state_.best_metric;
  if (last_eval_improved_) {
    state_.best_metric = ap;
    state_.best_epoch = s.epoch;
  }
  last_eval_ = s;
  return s;
}

}  // namespace studio
