#include "engine/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "common/number_text.h"
#include "common/run_folder.h"
#include "modeling/model_factory.h"

#ifdef STUDIO_HAS_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace studio {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Peak CUDA memory allocated by tensors on `device`, in MB; -1 on the CPU.
double gpu_mem_mb(torch::Device device) {
#ifdef STUDIO_HAS_CUDA
  if (device.is_cuda()) {
    const int index = device.has_index() ? device.index() : static_cast<int>(c10::cuda::current_device());
    // allocated_bytes[0]: the aggregate over pool types (StatType::AGGREGATE).
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);
  }
#endif
  (void)device;
  return -1;
}

}  // namespace

void check_run_folder(const std::string& run_dir, bool resume) {
  const std::string last = RunFolder{run_dir}.last_checkpoint();
  std::error_code ec;
  if (resume && !fs::exists(last, ec)) throw Error(last + ": nothing to resume from (no last.pt in the run folder)");
  if (!resume && fs::exists(last, ec))
    throw Error(run_dir + ": this run folder already has checkpoints; resume it (--resume) or choose another (--out)");
}

TrainerOptions trainer_options_from_config(const ConfigNode& train) {
  train.allow({"batch_size", "reference_batch", "epochs", "optimizer", "schedule", "grad_clip", "eval_interval",
               "checkpoint_interval", "log_interval", "seed", "amp", "eval_metric", "stall_timeout"});
  TrainerOptions o;
  o.batch_size = train.get_int("batch_size", o.batch_size);
  o.reference_batch = train.get_int("reference_batch", o.reference_batch);
  o.epochs = train.get_int("epochs", o.epochs);
  o.optimizer = optimizer_options_from_config(train.child("optimizer"));
  o.schedule = lr_schedule_options_from_config(train.child("schedule"));
  o.grad_clip = train.get_double("grad_clip", o.grad_clip);
  o.eval_interval = train.get_int("eval_interval", o.eval_interval);
  o.checkpoint_interval = train.get_int("checkpoint_interval", o.checkpoint_interval);
  o.log_interval = train.get_int("log_interval", o.log_interval);
  o.seed = static_cast<std::uint64_t>(train.get_int("seed", 0));
  o.stall_timeout = train.get_double("stall_timeout", o.stall_timeout);
  if (!(o.stall_timeout >= 0) || o.stall_timeout > 86400)
    throw Error(train.where("stall_timeout") + ": expected seconds, 0..86400 (0 = no stalled-rank detection)");
  const std::string amp = train.get_choice("amp", {"false", "true", "auto"}, "false");
  o.amp = amp == "true" ? AmpSetting::On : amp == "auto" ? AmpSetting::Auto : AmpSetting::Off;
  const std::string metric = train.get_choice("eval_metric", {"auto", "coco", "voc", "voc07"}, "auto");
  o.eval_metric = metric == "coco"    ? EvalMetricSetting::Coco
                  : metric == "voc"   ? EvalMetricSetting::Voc
                  : metric == "voc07" ? EvalMetricSetting::Voc07
                                      : EvalMetricSetting::Auto;
  auto positive = [&](const char* key, double v) {
    if (!(v > 0)) throw Error(train.where(key) + ": expected a number > 0");
  };
  positive("batch_size", o.batch_size);
  positive("reference_batch", o.reference_batch);
  positive("epochs", o.epochs);
  positive("eval_interval", o.eval_interval);
  positive("checkpoint_interval", o.checkpoint_interval);
  positive("log_interval", o.log_interval);
  if (o.grad_clip < 0) throw Error(train.where("grad_clip") + ": expected a number >= 0 (0 = off)");
  return o;
}

Trainer::Trainer(Config recipe, TrainerSetup setup) : config_(std::move(recipe)), setup_(std::move(setup)) {
  if (!setup_.train) throw Error("no training set given");
  if (setup_.run_dir.empty()) throw Error("no run folder given");
  config_.root().allow({"model", "data", "train"});
  options_ = trainer_options_from_config(config_.at("train"));
  data_options_ = data_options_from_config(config_.at("data"));
  if (setup_.model_name.empty()) setup_.model_name = fs::path(config_.file()).stem().string();
  if (setup_.dist) {
    setup_.rank = setup_.dist->rank();
    setup_.world_size = setup_.dist->world_size();
  }
  const AmpSetting amp = setup_.amp ? AmpSetting::On : options_.amp;
  amp_ = resolve_amp(amp, setup_.device, setup_.amp ? "--amp" : config_.at("train").where("amp"));

  check_run_folder(setup_.run_dir, setup_.resume);
  const std::string last = RunFolder{setup_.run_dir}.last_checkpoint();
  // Nothing is written to the run folder until the whole recipe has been checked (model, data
  // loader, schedule): what is to be logged before that waits here.
  std::vector<std::string> early_log;
  if (amp_ == AmpMode::CpuBf16)
    early_log.push_back(std::string("mixed precision: bfloat16 autocast on the CPU") +
                        (cpu_has_native_bf16()
                             ? ""
                             : " (this CPU has neither AVX512-BF16 nor AMX: bf16 is emulated and likely "
                               "slower than float; set train.amp: auto or false)"));
  else if (amp == AmpSetting::Auto && setup_.device.is_cpu())
    early_log.push_back("train.amp auto: float, this CPU has neither AVX512-BF16 nor AMX");
  else if (amp_ == AmpMode::CudaFp16)
    early_log.push_back("mixed precision: float16 autocast with dynamic loss scaling on " +
                        setup_.device.str());
  if (setup_.autoscale_lr) {
    const double factor =
        static_cast<double>(setup_.world_size * options_.batch_size) / options_.reference_batch;
    double& lr = options_.optimizer.lr;
    early_log.push_back("--autoscale-lr: lr " + scientific_number(lr) + " x (" +
                        std::to_string(setup_.world_size) + " processes x batch " +
                        std::to_string(options_.batch_size) + ") / reference batch " +
                        std::to_string(options_.reference_batch) + " = " + scientific_number(lr * factor));
    lr *= factor;
  }

  // The classes come from the training set; the model follows it.
  categories_ = setup_.train->categories;
  if (categories_.empty()) throw Error(setup_.train->source + ": the training set has no categories");
  const int recipe_classes = config_.at("model").get_int("num_classes", 0);
  const int classes = static_cast<int>(categories_.size());
  if (recipe_classes != classes) {
    config_.set("model.num_classes", std::to_string(classes), "training set " + setup_.train->source);
    early_log.push_back("model.num_classes: the recipe says " + std::to_string(recipe_classes) +
                        ", the training set has " + std::to_string(classes) + " categories; using " +
                        std::to_string(classes));
  }
  if (setup_.val) {
    for (const auto& c : categories_)
      if (!setup_.val->category_by_id(c.id))
        throw Error(setup_.val->source + ": category id " + std::to_string(c.id) + " ('" + c.name +
                    "') of the training set is not in the validation set");
  }

  torch::manual_seed(options_.seed);
  model_ = setup_.build_model ? setup_.build_model(config_.at("model")) : build_model(config_.at("model"));
  if (model_->needs_masks() &&
      std::none_of(setup_.train->annotations.begin(), setup_.train->annotations.end(),
                   [](const Annotation& a) { return a.has_mask(); }))
    throw Error(setup_.train->source + ": a box-only dataset (no annotation has a mask), and model '" +
                config_.at("model").get_string("type") +
                "' trains on instance masks; train a box-only model on it (ssd_mobilenetv2_lite) or add masks");
  if (model_->needs_masks() && data_options_.train_input.augment == InputOptions::Augment::Ssd)
    throw Error("data.input.augment: ssd moves boxes only, and model '" + config_.at("model").get_string("type") +
                "' trains on instance masks; use augment: standard");
  model_->to(setup_.device);
  model_->train();
  if (DistContext* d = dist()) {
    // Loss normalisers (SOLOv2's positives) summed over the ranks (structures.h, CountReducer).
    std::shared_ptr<DistContext> keep = setup_.dist;
    model_->set_count_reducer(CountReducer{[keep](double v) { return keep->all_reduce_sum(v); }, d->world_size()});
  }
  optimizer_ = build_optimizer(*model_, options_.optimizer);

  LoaderOptions lo;
  lo.batch_size = options_.batch_size;
  lo.workers = data_options_.workers;
  lo.train = true;
  lo.seed = options_.seed;
  lo.rank = setup_.rank;
  lo.world_size = setup_.world_size;
  lo.masks = model_->uses_masks();
  loader_ = std::make_unique<DataLoader>(setup_.train, data_options_.train_input, lo);
  batches_per_epoch_ = static_cast<std::int64_t>(loader_->batches_per_epoch());
  if (batches_per_epoch_ == 0)
    throw Error(setup_.train->source + ": no image with a usable annotation to train on");
  schedule_ = std::make_unique<LrSchedule>(options_.schedule, options_.optimizer.lr, options_.epochs, batches_per_epoch_);

  state_.seed = options_.seed;
  state_.world_size = setup_.world_size;
  state_.batch_size = options_.batch_size;
  state_.epoch_images = 0;
  // Resume: events.jsonl is cut back to the checkpoint's iteration before it is reopened.
  std::size_t discarded_events = 0;
  if (setup_.resume && is_main())
    discarded_events = truncate_events(setup_.run_dir, read_checkpoint_info(last).state.iter);
  log_ = std::make_unique<RunLog>(setup_.run_dir, is_main());
  for (const std::string& line : early_log) log_->log(line);
  if (setup_.resume) resume_from(last, discarded_events, lo);
  log_->write_config(config_);

  if (setup_.val) {
    EvaluatorOptions eo;
    eo.val = setup_.val;
    eo.categories = categories_;
    eo.metric = options_.eval_metric;
    eo.input = data_options_.test_input;
    eo.inference.batch_size = options_.batch_size;
    eo.inference.workers = data_options_.workers;
    eo.inference.device = setup_.device;
    eo.inference.rank = setup_.rank;
    eo.inference.world_size = setup_.world_size;
    eo.meta.model = setup_.model_name;
    eo.meta.dataset = setup_.val->source;
    eo.meta.devices = setup_.world_size;
    eo.meta.epochs = options_.epochs;
    eo.cancel = setup_.cancel;
    evaluator_ = std::make_unique<Evaluator>(std::move(eo), *log_, dist());
  }

  // The built-in hooks (hooks.h), in this order: the checkpoint hook's after_epoch reads the eval
  // hook's result, and its after_train (last.pt when cancelled) comes before the end event.
  add_hook(std::make_shared<LrScheduleHook>());
  add_hook(std::make_shared<EvalHook>());
  add_hook(std::make_shared<CheckpointHook>());
  add_hook(std::make_shared<EventsHook>());
}

Trainer::~Trainer() = default;

void Trainer::resume_from(const std::string& last, std::size_t discarded_events, const LoaderOptions& loader) {
  const CheckpointContents c = load_checkpoint(last, *model_, optimizer_.get());
  state_ = c.state;
  if (is_main())
    for (const std::string& name : remove_interrupted_saves(log_->checkpoints_dir()))
      log_->log("resume: removed " + name + ", left by a save that was interrupted");
  if (state_.seed != options_.seed)
    log_->log("note: the checkpoint was trained with seed " + std::to_string(state_.seed) + ", the recipe says " +
              std::to_string(options_.seed) + "; continuing with the checkpoint's");
  const bool same_layout = state_.epoch_images < 0 || state_.world_size <= 0 ||
                           (state_.world_size == setup_.world_size && state_.batch_size == options_.batch_size);
  const std::int64_t per_step = std::int64_t(options_.batch_size) * setup_.world_size;
  if (!same_layout) {
    // Another number of processes or batch size: continue from the images consumed, rounded down
    // to a whole step of the new layout; the iteration count goes on, the lr follows the schedule
    // of the new layout (iter_offset_).
    const std::int64_t batch = state_.epoch_images / per_step;
    if (state_.epoch_images % per_step != 0)
      log_->log("resume: " + std::to_string(state_.epoch_images % per_step) + " of the " +
                std::to_string(state_.epoch_images) + " images done in epoch " + std::to_string(state_.epoch + 1) +
                " are seen again (steps of " + std::to_string(per_step) + " images now)");
    log_->log("resume: the checkpoint was written by " + std::to_string(state_.world_size) + " process(es) x batch " +
              std::to_string(state_.batch_size) + ", continuing with " + std::to_string(setup_.world_size) + " x " +
              std::to_string(options_.batch_size) + " at batch " + std::to_string(batch) + " of the epoch");
    state_.batch = batch;
    iter_offset_ = state_.iter - (std::int64_t(state_.epoch) * batches_per_epoch_ + batch);
  }
  if (state_.batch >= batches_per_epoch_ ||
      state_.iter - iter_offset_ != std::int64_t(state_.epoch) * batches_per_epoch_ + state_.batch)
    throw Error(last + ": position (epoch " + std::to_string(state_.epoch) + ", batch " + std::to_string(state_.batch) +
                ", iteration " + std::to_string(state_.iter) + ") does not fit " + std::to_string(batches_per_epoch_) +
                " batches an epoch: was the training set or batch size changed?");
  state_.world_size = setup_.world_size;
  state_.batch_size = options_.batch_size;
  state_.epoch_images = state_.batch * per_step;
  Event e;
  e.type = event_type::kResume;
  e.epoch = state_.epoch;
  e.iter = state_.iter;
  e.numbers = {{"world_size", setup_.world_size},
               {"batch", double(state_.batch)},
               {"discarded", double(discarded_events)}};
  e.texts = {{"checkpoint", last}};
  log_->event(e);
  log_->log("resume: from " + last + " at epoch " + std::to_string(state_.epoch) + ", iteration " +
            std::to_string(state_.iter) + "; " + std::to_string(discarded_events) +
            " later events.jsonl lines moved to events.discarded.jsonl");
  loader_ = std::make_unique<DataLoader>(setup_.train, data_options_.train_input, [&] {
    LoaderOptions l = loader;
    l.seed = state_.seed;
    return l;
  }());
}

void Trainer::save(const std::string& path) {
  if (!is_main()) return;
  const DistContext::SoloScope alone(dist());  // the others may wait for it in the next collective
  // The epoch-end hooks save after the evaluation: only a save on a stop can leave it pending.
  TrainState state = state_;
  if (!stopping_) state.epoch_end_pending = false;
  save_checkpoint(path, *model_, optimizer_.get(), state, categories_);
}

bool Trainer::cancel_requested() {
  const bool mine = setup_.cancel && setup_.cancel->load();
  // Data-parallel: all ranks stop at the same iteration when any rank was asked to (a rank that
  // stopped alone would leave the others waiting in the next all-reduce).
  if (DistContext* d = dist()) return d->all_reduce_sum(mine ? 1.0 : 0.0) > 0;
  return mine;
}

bool Trainer::stop() {
  stopping_ = true;
  for (auto& h : hooks_) h->after_train(*this, true);
  return false;
}

bool Trainer::train() {
  try {
    if (DistContext* d = dist()) broadcast_module(*d, *model_);  // every rank starts from rank 0's values
    for (auto& h : hooks_) h->before_train(*this);
    if (state_.epoch_end_pending) {  // stopped during the last epoch's end: finish it first
      log_->log("resume: the end of epoch " + std::to_string(state_.epoch) +
                " (its evaluation and checkpoints) was stopped part-way; doing it now");
      end_epoch();
    }
    while (state_.epoch < options_.epochs) {
      model_->train();
      loader_->start_epoch(state_.epoch, static_cast<std::size_t>(state_.batch));
      for (auto& h : hooks_) h->before_epoch(*this);
      while (true) {
        if (cancel_requested()) return stop();
        const auto t0 = std::chrono::steady_clock::now();
        std::optional<Batch> batch = loader_->next();
        if (!batch) break;
        run_step(*batch, seconds_since(t0));
      }
      state_.epoch += 1;
      state_.batch = 0;
      state_.epoch_images = 0;
      end_epoch();
    }
    for (auto& h : hooks_) h->after_train(*this, false);
    return true;
  } catch (const Cancelled&) {
    return stop();
  } catch (const std::exception& ex) {
    Event e;
    e.type = event_type::kError;
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
  if (DistContext* d = dist()) d->set_iteration(state_.iter + 1);
  for (auto& h : hooks_) h->before_step(*this);
  const double lr = learning_rate(*optimizer_);

  const ImageBatch images = batch.images.to(setup_.device);
  std::vector<InstanceTargets> targets;
  targets.reserve(batch.targets.size());
  for (const auto& t : batch.targets) targets.push_back(t.to(setup_.device));

  LossTerms terms;
  {
    AutocastScope autocast(amp_);
    terms = model_->losses(images, targets);
  }
  if (terms.empty()) throw Error("the model returned no loss terms");
  torch::Tensor loss = terms.front().second.to(torch::kFloat);
  for (std::size_t i = 1; i < terms.size(); ++i) loss = loss + terms[i].second.to(torch::kFloat);
  // The values logged: each term and the total, averaged over the ranks (one small all-reduce;
  // every rank then sees the same values and takes the same decisions below).
  std::vector<torch::Tensor> values{torch::empty({static_cast<std::int64_t>(terms.size()) + 1}, torch::kDouble)};
  {
    auto acc = values[0].accessor<double, 1>();
    for (std::size_t i = 0; i < terms.size(); ++i) acc[static_cast<std::int64_t>(i)] = terms[i].second.item<double>();
    acc[static_cast<std::int64_t>(terms.size())] = loss.item<double>();
  }
  if (DistContext* d = dist()) {
    d->all_reduce_sum(values);
    values[0].div_(d->world_size());
  }
  const auto acc = values[0].accessor<double, 1>();
  const double loss_value = acc[static_cast<std::int64_t>(terms.size())];
  if (!std::isfinite(loss_value) && amp_ != AmpMode::CudaFp16) {
    std::string parts;
    for (std::size_t i = 0; i < terms.size(); ++i)
      parts += " " + terms[i].first + "=" + std::to_string(acc[static_cast<std::int64_t>(i)]);
    throw Error("loss is not finite at iteration " + std::to_string(state_.iter + 1) + " (lr " + scientific_number(lr) +
                "," + parts + "): lower train.optimizer.lr, lengthen the warmup or set train.grad_clip");
  }
  optimizer_->zero_grad();
  (amp_ == AmpMode::CudaFp16 ? loss * loss_scale_ : loss).backward();
  if (DistContext* d = dist()) all_reduce_gradients(*d, model_->parameters());
  for (auto& h : hooks_) h->after_backward(*this);
  const bool skipped = amp_ == AmpMode::CudaFp16 && !unscale_gradients(loss_value);
  if (!skipped) {
    if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.grad_clip);
    optimizer_->step();
  }
  state_.iter += 1;
  state_.batch += 1;
  state_.epoch_images += images.size() * setup_.world_size;

  StepReport r;
  r.epoch = state_.epoch + 1;
  r.epochs = options_.epochs;
  r.batch = state_.batch;
  r.batches_per_epoch = batches_per_epoch_;
  r.iter = state_.iter;
  r.total_iters = total_iters();
  for (std::size_t i = 0; i < terms.size(); ++i) r.losses.emplace_back(terms[i].first, acc[static_cast<std::int64_t>(i)]);
  r.loss = loss_value;
  r.lr = lr;
  r.data_time = data_time;
  r.step_time = seconds_since(t0);
  r.gpu_mem_mb = gpu_mem_mb(setup_.device);
  r.skipped = skipped;
  const double iter_s = r.data_time + r.step_time;
  smoothed_iter_s_ = smoothed_iter_s_ > 0 ? 0.9 * smoothed_iter_s_ + 0.1 * iter_s : iter_s;
  const double n_images = static_cast<double>(images.size() * setup_.world_size);
  r.images_per_s = smoothed_iter_s_ > 0 ? n_images / smoothed_iter_s_ : 0;
  r.eta_s = smoothed_iter_s_ * static_cast<double>(r.total_iters - r.iter);
  total_images_ += n_images;
  total_time_ += iter_s;
  for (auto& h : hooks_) h->after_step(*this, r);
}

bool Trainer::unscale_gradients(double loss_value) {
  // Dynamic loss scaling (PyTorch's GradScaler, which LibTorch 1.13's C++ API lacks): unscale,
  // skip the step and halve the scale on inf/NaN (the same on every rank: the gradients were
  // averaged), double it after 2000 finite steps.
  torch::NoGradGuard no_grad;
  bool finite = std::isfinite(loss_value);
  std::vector<torch::Tensor> checks;
  for (auto& p : model_->parameters()) {
    if (!p.grad().defined()) continue;
    p.mutable_grad().mul_(1.0 / loss_scale_);
    checks.push_back(p.grad().isfinite().all());
  }
  if (finite && !checks.empty()) finite = torch::stack(checks).all().item<bool>();
  if (!finite) {
    loss_scale_ = std::max(1.0, loss_scale_ * 0.5);
    loss_scale_good_steps_ = 0;
    log_->log("amp: inf/NaN gradients at iteration " + std::to_string(state_.iter + 1) +
              ", step skipped, loss scale -> " + fixed_number(loss_scale_, 0));
    return false;
  }
  if (++loss_scale_good_steps_ >= 2000) {
    loss_scale_ *= 2;
    loss_scale_good_steps_ = 0;
  }
  return true;
}

void Trainer::end_epoch() {
  last_eval_.reset();
  last_eval_improved_ = false;
  // A stop in here (the evaluation checks for it) leaves this set in last.pt.
  state_.epoch_end_pending = true;
  for (auto& h : hooks_) h->after_epoch(*this);
  state_.epoch_end_pending = false;
}

EvalSummary Trainer::evaluate() {
  if (!evaluator_) throw Error("no validation set to evaluate on (data.val or --val-data)");
  const double images_per_s = total_time_ > 0 ? total_images_ / total_time_ : -1;
  const EvalSummary s = evaluator_->evaluate(*model_, state_.epoch, state_.iter, images_per_s);
  const double metric = s.key_metric();
  last_eval_improved_ = metric > state_.best_metric;
  if (last_eval_improved_) {
    state_.best_metric = metric;
    state_.best_epoch = s.epoch;
  }
  last_eval_ = s;
  return s;
}

}  // namespace studio
