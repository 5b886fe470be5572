// The trainer: lr schedule values by hand, checkpoints that restore parameters, buffers and SGD
// momentum exactly (and name the file and key when they don't fit), resuming a cancelled run to
// the same parameters as an uninterrupted one, events.jsonl fields and the run folder layout, the
// optimiser from the recipe, the hooks' order. The model is the tests' stand-in Detector
// (fake_detector.h) on 64-pixel generated shapes: the engine is tested, not a model.
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include "common/config.h"
#include "common/error.h"
#include "data/shapes_generator.h"
#include "engine/checkpoint.h"
#include "engine/device.h"
#include "engine/events.h"
#include "engine/inference.h"
#include "engine/lr_schedule.h"
#include "engine/trainer.h"
#include "eval/metrics_file.h"
#include "fake_detector.h"
#include "run_checks.h"
#include "test_support.h"

using namespace studio;
namespace fs = std::filesystem;

namespace {

const std::string kConfigs = std::string(STUDIO_TEST_DATA_DIR) + "/../../configs";

// AdamW with a cosine schedule and gradient clipping, as the shapes recipe trains.
Config tiny_recipe(const std::vector<std::string>& overrides = {}) {
  static QTemporaryDir dir;
  const std::string yaml = R"(
model: {type: fake, num_classes: 1, channels: 8}
data:
  input: {short_side: [64], long_side: 64}
  test_input: {short_side: [64], long_side: 64}
  workers: 1
train:
  batch_size: 2
  epochs: 2
  amp: false
  optimizer: {type: adamw, lr: 0.01, weight_decay: 0.0001}
  schedule: {type: cosine, warmup_iters: 2, warmup_ratio: 0.01}
  grad_clip: 35
  eval_interval: 1
  log_interval: 1
)";
  return Config::load(test::write_text(dir, "tiny_test.yaml", yaml), overrides);
}

// A setup that builds the stand-in model.
TrainerSetup fake_setup(const std::string& run_dir, std::shared_ptr<const Dataset> train,
                        std::shared_ptr<const Dataset> val = nullptr) {
  TrainerSetup s;
  s.run_dir = run_dir;
  s.train = std::move(train);
  s.val = std::move(val);
  s.build_model = test::build_fake_detector;
  return s;
}

std::shared_ptr<Dataset> shapes(const std::string& dir, int images, std::uint64_t seed) {
  ShapesOptions o;
  o.out_dir = dir;
  o.images = images;
  o.seed = seed;
  o.size = 64;
  o.max_objects = 3;
  auto ds = std::make_shared<Dataset>(generate_shapes(o));
  // One class: the stand-in model finds shapes by their colour, it does not tell them apart.
  ds->categories = {{1, "shape", ""}};
  for (Annotation& a : ds->annotations) a.category_id = 1;
  ds->index();
  return ds;
}

std::vector<torch::Tensor> state_tensors(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.value().detach().clone());
  for (const auto& b : m.named_buffers()) out.push_back(b.value().detach().clone());
  return out;
}

bool all_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}

struct Small : torch::nn::Module {
  explicit Small(int out = 3) {
    fc = register_module("fc", torch::nn::Linear(4, out));
    bn = register_module("bn", torch::nn::BatchNorm1d(out));
  }
  torch::Tensor forward(const torch::Tensor& x) { return bn(fc(x)); }
  torch::nn::Linear fc{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
};

void sgd_step(Small& m, torch::optim::SGD& opt, const torch::Tensor& x) {
  opt.zero_grad();
  m.forward(x).pow(2).sum().backward();
  opt.step();
}

// Records every step's total loss.
struct LossRecorder : TrainHook {
  void after_step(Trainer&, const StepReport& r) override { losses.push_back(r.loss); }
  std::vector<double> losses;
};

// Sets the cancel flag once `iter` iterations are done.
struct CancelAt : TrainHook {
  CancelAt(std::atomic<bool>* f, std::int64_t i) : flag(f), iter(i) {}
  void after_step(Trainer&, const StepReport& r) override {
    if (r.iter >= iter) flag->store(true);
  }
  std::atomic<bool>* flag;
  std::int64_t iter;
};

}  // namespace

class TestTrainer : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    // glibc accepts both settings (the trainer runs below use them, as studio-cli does).
    QVERIFY(keep_freed_tensor_memory());
    at::set_num_threads(1);
  }

  void step_schedule_with_warmup() {
    LrScheduleOptions o;
    o.policy = LrPolicy::Step;
    o.steps = {8, 11};
    o.gamma = 0.1;
    o.warmup_iters = 5;
    o.warmup_ratio = 0.1;
    const LrSchedule s(o, 0.01, 12, 10);
    QCOMPARE(s.total_iters(), std::int64_t(120));
    QVERIFY(std::abs(s.lr(0) - 0.001) < 1e-12);              // warmup start: base * ratio
    QVERIFY(std::abs(s.lr(2) - 0.01 * (1 - 0.6 * 0.9)) < 1e-12);  // 0.0046
    QVERIFY(std::abs(s.lr(4) - 0.01 * (1 - 0.2 * 0.9)) < 1e-12);  // 0.0082
    QVERIFY(std::abs(s.lr(5) - 0.01) < 1e-12);               // warmup over
    QVERIFY(std::abs(s.lr(79) - 0.01) < 1e-12);              // last iteration of epoch 8 (1-based)
    QVERIFY(std::abs(s.lr(80) - 0.001) < 1e-12);             // after 8 epochs: x0.1
    QVERIFY(std::abs(s.lr(109) - 0.001) < 1e-12);
    QVERIFY(std::abs(s.lr(110) - 0.0001) < 1e-12);           // after 11 epochs: x0.01
  }

  void cosine_schedule() {
    LrScheduleOptions o;
    o.policy = LrPolicy::Cosine;
    o.warmup = false;
    const LrSchedule s(o, 0.02, 4, 25);
    QVERIFY(std::abs(s.lr(0) - 0.02) < 1e-12);
    QVERIFY(std::abs(s.lr(25) - 0.01 * (1 + std::sqrt(0.5))) < 1e-12);
    QVERIFY(std::abs(s.lr(50) - 0.01) < 1e-12);  // midpoint: half
    QVERIFY(std::abs(s.lr(100)) < 1e-12);
    o.warmup = true;
    o.warmup_iters = 10;
    o.warmup_ratio = 0.1;
    const LrSchedule w(o, 0.02, 4, 25);
    QVERIFY(std::abs(w.lr(0) - 0.002) < 1e-12);  // cos(0) = 1, times the ratio
  }

  void warmup_cosine_schedule_as_mindspore() {
    // MindSpore's SSD get_lr with lr_init 0.01333, lr 0.05, 2 warmup epochs of 10 iterations, 6 epochs.
    LrScheduleOptions o;
    o.policy = LrPolicy::WarmupCosine;
    o.warmup_epochs = 2;
    o.warmup_ratio = 0.01333 / 0.05;
    const LrSchedule s(o, 0.05, 6, 10);
    QVERIFY(std::abs(s.lr(0) - 0.01333) < 1e-12);
    QVERIFY(std::abs(s.lr(5) - (0.01333 + (0.05 - 0.01333) * 5 / 20.0)) < 1e-12);
    QVERIFY(std::abs(s.lr(20) - 0.05) < 1e-12);                                  // cosine starts at the top
    QVERIFY(std::abs(s.lr(40) - 0.025) < 1e-12);                                 // half-way through the 40 left
    QVERIFY(std::abs(s.lr(30) - 0.025 * (1 + std::cos(M_PI / 4))) < 1e-12);
    const Config c = Config::parse("train:\n  schedule: {type: warmup_cosine, warmup_epochs: 2, warmup_ratio: 0.2666}\n",
                                   "r.yaml");
    const LrScheduleOptions from = lr_schedule_options_from_config(c.at("train.schedule"));
    QVERIFY(from.policy == LrPolicy::WarmupCosine);
    QCOMPARE(from.warmup_epochs, 2.0);
    const Config bad = Config::parse("train:\n  schedule: {warmup_epochs: -1}\n", "r.yaml");
    STUDIO_EXPECT_ERROR(lr_schedule_options_from_config(bad.at("train.schedule")), "r.yaml", "warmup_epochs");
  }

  void no_weight_decay_on_norms() {
    // MindSpore's default: no decay on BatchNorm's gamma and beta; convolution biases decay.
    torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)), torch::nn::BatchNorm2d(4));
    const Config c = Config::parse("train:\n  optimizer: {lr: 0.1, weight_decay: 0.0004, norm_decay: false}\n", "r.yaml");
    const std::unique_ptr<torch::optim::Optimizer> opt = build_optimizer(*net, optimizer_options_from_config(c.at("train.optimizer")));
    QCOMPARE(opt->param_groups().size(), size_t{2});
    QCOMPARE(opt->param_groups()[0].params().size(), size_t{2});  // conv weight and bias
    QCOMPARE(opt->param_groups()[1].params().size(), size_t{2});  // BN weight and bias
    QCOMPARE(static_cast<const torch::optim::SGDOptions&>(opt->param_groups()[0].options()).weight_decay(), 0.0004);
    QCOMPARE(static_cast<const torch::optim::SGDOptions&>(opt->param_groups()[1].options()).weight_decay(), 0.0);
    set_learning_rate(*opt, 0.5);
    QCOMPARE(static_cast<const torch::optim::SGDOptions&>(opt->param_groups()[1].options()).lr(), 0.5);
    // One step from 1 with zero gradients: only the decayed group moves.
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) {
      p.fill_(1);
      p.mutable_grad() = torch::zeros_like(p);
    }
    opt->step();
    QVERIFY(std::abs(net[0]->as<torch::nn::Conv2dImpl>()->bias[0].item<double>() - (1 - 0.5 * 0.0004)) < 1e-6);
    QCOMPARE(net[1]->as<torch::nn::BatchNorm2dImpl>()->weight[0].item<double>(), 1.0);
  }

  void schedule_from_config() {
    const Config c = Config::parse("train:\n  schedule:\n    type: cosine\n    warmup: none\n", "r.yaml");
    const LrScheduleOptions o = lr_schedule_options_from_config(c.at("train.schedule"));
    QVERIFY(o.policy == LrPolicy::Cosine);
    QVERIFY(!o.warmup);
    const Config bad = Config::parse("train:\n  schedule:\n    type: poly\n", "r.yaml");
    STUDIO_EXPECT_ERROR(lr_schedule_options_from_config(bad.at("train.schedule")), "r.yaml", "type", "cosine");
    const Config typo = Config::parse("train:\n  schedule:\n    warmup_iter: 5\n", "r.yaml");
    STUDIO_EXPECT_ERROR(lr_schedule_options_from_config(typo.at("train.schedule")), "warmup_iter");
    const Config adam = Config::parse("train:\n  optimizer: {type: adamw, lr: 0.001, betas: [0.8, 0.99]}\n", "r.yaml");
    const TrainerOptions to = trainer_options_from_config(adam.at("train"));
    QCOMPARE(to.optimizer.type, std::string("adamw"));
    QCOMPARE(to.optimizer.betas[0], 0.8);
    QCOMPARE(to.optimizer.betas[1], 0.99);
    const Config badopt = Config::parse("train:\n  optimizer: {type: adam}\n", "r.yaml");
    STUDIO_EXPECT_ERROR(trainer_options_from_config(badopt.at("train")), "r.yaml:2", "train.optimizer.type",
                        "'adam' is not one of: sgd, adamw");
    const Config badbetas = Config::parse("train:\n  optimizer: {type: adamw, betas: [0.9]}\n", "r.yaml");
    STUDIO_EXPECT_ERROR(trainer_options_from_config(badbetas.at("train")), "betas", "two numbers");
    const Config opts = Config::parse("train:\n  grad_clip: -1\n", "r.yaml");
    STUDIO_EXPECT_ERROR(trainer_options_from_config(opts.at("train")), "r.yaml", "grad_clip");
  }

  void optimizer_from_recipe() {
    torch::nn::Linear lin(2, 1);
    const Config sgd_recipe =
        Config::parse("train:\n  optimizer: {type: sgd, lr: 0.02, momentum: 0.8, weight_decay: 0.001}\n", "r.yaml");
    const std::unique_ptr<torch::optim::Optimizer> sgd =
        build_optimizer(lin->parameters(), optimizer_options_from_config(sgd_recipe.at("train.optimizer")));
    QVERIFY(dynamic_cast<torch::optim::SGD*>(sgd.get()));
    const auto& so = static_cast<const torch::optim::SGDOptions&>(sgd->param_groups().front().options());
    QCOMPARE(so.lr(), 0.02);
    QCOMPARE(so.momentum(), 0.8);
    QCOMPARE(so.weight_decay(), 0.001);
    const Config adamw_recipe =
        Config::parse("train:\n  optimizer: {type: adamw, lr: 0.001, betas: [0.8, 0.99], weight_decay: 0.05}\n", "r.yaml");
    const std::unique_ptr<torch::optim::Optimizer> adamw =
        build_optimizer(lin->parameters(), optimizer_options_from_config(adamw_recipe.at("train.optimizer")));
    QVERIFY(dynamic_cast<torch::optim::AdamW*>(adamw.get()));
    const auto& ao = static_cast<const torch::optim::AdamWOptions&>(adamw->param_groups().front().options());
    QCOMPARE(ao.lr(), 0.001);
    QCOMPARE(std::get<0>(ao.betas()), 0.8);
    QCOMPARE(std::get<1>(ao.betas()), 0.99);
    QCOMPARE(ao.weight_decay(), 0.05);
    set_learning_rate(*adamw, 0.25);
    QCOMPARE(learning_rate(*adamw), 0.25);
    // The defaults: SGD, lr 0.01, momentum 0.9, weight decay 1e-4 (mmdetection's).
    const Config none = Config::parse("train:\n  epochs: 1\n", "r.yaml");
    const OptimizerOptions d = optimizer_options_from_config(none.at("train.optimizer"));
    QCOMPARE(d.type, std::string("sgd"));
    QCOMPARE(d.lr, 0.01);
    QCOMPARE(d.momentum, 0.9);
    QCOMPARE(d.weight_decay, 1e-4);
    // Errors name the file, the line and the key.
    auto bad = [](const std::string& optimizer) {
      return Config::parse("train:\n  optimizer: " + optimizer + "\n", "r.yaml");
    };
    STUDIO_EXPECT_ERROR((void)optimizer_options_from_config(bad("{lr: 0}").at("train.optimizer")), "r.yaml:2",
                        "train.optimizer.lr", "> 0");
    STUDIO_EXPECT_ERROR((void)optimizer_options_from_config(bad("{momentum: 1}").at("train.optimizer")),
                        "train.optimizer.momentum", "[0, 1)");
    STUDIO_EXPECT_ERROR((void)optimizer_options_from_config(bad("{weight_decay: -1}").at("train.optimizer")),
                        "train.optimizer.weight_decay", ">= 0");
    STUDIO_EXPECT_ERROR((void)optimizer_options_from_config(bad("{type: adamw, betas: [0.9, 1]}").at("train.optimizer")),
                        "train.optimizer.betas", "[0, 1)");
    STUDIO_EXPECT_ERROR((void)optimizer_options_from_config(bad("{nesterov: true}").at("train.optimizer")),
                        "train.optimizer.nesterov", "unknown key");
  }

  // The loop calls the hooks in its order, the built-in ones first: before_step sees the lr the
  // schedule gives the coming iteration already set.
  void hooks_run_in_loop_order() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    Trainer t(tiny_recipe({"train.epochs=1"}), fake_setup(root + "/run", shapes(root + "/train", 4, 5)));
    struct Recorder : TrainHook {
      void before_train(Trainer&) override { calls.push_back("before_train"); }
      void before_epoch(Trainer& tr) override { calls.push_back("before_epoch " + std::to_string(tr.state().epoch)); }
      void before_step(Trainer& tr) override {
        calls.push_back("before_step " + std::to_string(tr.state().iter));
        lrs.push_back(learning_rate(tr.optimizer()));
        expected_lrs.push_back(tr.schedule().lr(tr.schedule_iter()));
      }
      void after_backward(Trainer&) override { calls.push_back("after_backward"); }
      void after_step(Trainer&, const StepReport& r) override { calls.push_back("after_step " + std::to_string(r.iter)); }
      void after_epoch(Trainer& tr) override { calls.push_back("after_epoch " + std::to_string(tr.state().epoch)); }
      void after_train(Trainer&, bool cancelled) override { calls.push_back(cancelled ? "cancelled" : "after_train"); }
      std::vector<std::string> calls;
      std::vector<double> lrs, expected_lrs;
    };
    auto rec = std::make_shared<Recorder>();
    t.add_hook(rec);
    QVERIFY(t.train());
    const std::vector<std::string> expected{"before_train",   "before_epoch 0", "before_step 0", "after_backward",
                                            "after_step 1",   "before_step 1",  "after_backward", "after_step 2",
                                            "after_epoch 1",  "after_train"};
    QCOMPARE(rec->calls, expected);
    QCOMPARE(rec->lrs, rec->expected_lrs);
    QVERIFY(rec->lrs[0] < rec->lrs[1]);  // warmup
  }

  void checkpoint_round_trip() {
    QTemporaryDir dir;
    torch::manual_seed(1);
    Small a;
    torch::optim::SGD opt_a(a.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-4));
    const torch::Tensor x = torch::randn({8, 4});
    sgd_step(a, opt_a, x);
    sgd_step(a, opt_a, x);
    TrainState st;
    st.epoch = 3;
    st.batch = 2;
    st.iter = 17;
    st.best_metric = 0.25;
    st.best_epoch = 2;
    st.seed = 7;
    const std::string path = dir.filePath("c.pt").toStdString();
    save_checkpoint(path, a, &opt_a, st, {{1, "circle", ""}, {4, "star", ""}});
    // The atomic write leaves the checkpoint alone in its folder: no temporary file, whatever its name.
    QStringList left = QDir(dir.path()).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
    QCOMPARE(left, QStringList{"c.pt"});
    const torch::Tensor rng_draw = torch::rand({3});  // what the RNG gives right after saving

    torch::manual_seed(99);
    Small b;
    torch::optim::SGD opt_b(b.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-4));
    QVERIFY(!all_equal(state_tensors(a), state_tensors(b)));
    const CheckpointContents c = load_checkpoint(path, b, &opt_b);
    QVERIFY(all_equal(state_tensors(a), state_tensors(b)));  // parameters and BatchNorm buffers
    QVERIFY(torch::equal(torch::rand({3}), rng_draw));       // RNG state restored
    QCOMPARE(c.state.epoch, 3);
    QCOMPARE(c.state.batch, std::int64_t(2));
    QCOMPARE(c.state.iter, std::int64_t(17));
    QCOMPARE(c.state.best_metric, 0.25);
    QCOMPARE(c.state.best_epoch, 2);
    QCOMPARE(c.state.seed, std::uint64_t(7));
    QCOMPARE(int(c.categories.size()), 2);
    QCOMPARE(c.categories[1].id, std::int64_t(4));
    QCOMPARE(c.categories[1].name, std::string("star"));
    // Momentum restored: one more step from the same point gives the same parameters.
    sgd_step(a, opt_a, x);
    sgd_step(b, opt_b, x);
    QVERIFY(all_equal(state_tensors(a), state_tensors(b)));
    // Without restoring the momentum it would differ.
    Small d;
    load_model_weights(path, d);
    torch::optim::SGD opt_d(d.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-4));
    sgd_step(d, opt_d, x);
    QVERIFY(!all_equal(state_tensors(a), state_tensors(d)));

    Small wider(5);
    STUDIO_EXPECT_ERROR(load_model_weights(path, wider), "c.pt", "fc.weight", "[5, 4]", "[3, 4]");
    struct Extra : Small {
      Extra() { register_parameter("extra", torch::zeros({1})); }
    } extra;
    STUDIO_EXPECT_ERROR(load_model_weights(path, extra), "c.pt", "'extra' is missing");
    STUDIO_EXPECT_ERROR(load_model_weights(dir.filePath("none.pt").toStdString(), b), "none.pt");
    const std::string junk = test::write_text(dir, "junk.pt", "not a checkpoint");
    STUDIO_EXPECT_ERROR(load_model_weights(junk, b), "junk.pt");
  }

  void detections_from_masks() {
    // A 3x4 mask whose foreground is the column x=1, rows 0..1 and the pixel (x=3, y=2).
    Instances in;
    in.scores = torch::tensor({0.9f, 0.5f});
    in.labels = torch::tensor({1, 0}, torch::kLong);
    in.masks = torch::zeros({2, 3, 4}, torch::kBool);
    in.masks[0][0][1] = true;
    in.masks[0][1][1] = true;
    in.masks[0][2][3] = true;
    const auto dets = instances_to_detections(in, 42, {{7, "a", ""}, {9, "b", ""}});
    QCOMPARE(int(dets.size()), 1);  // the empty mask is dropped
    QCOMPARE(dets[0].image_id, std::int64_t(42));
    QCOMPARE(dets[0].category_id, std::int64_t(9));
    QCOMPARE(dets[0].area, 3.0);
    QCOMPARE(dets[0].bbox[0], 1.0);
    QCOMPARE(dets[0].bbox[1], 0.0);
    QCOMPARE(dets[0].bbox[2], 3.0);
    QCOMPARE(dets[0].bbox[3], 3.0);
    const auto decoded = rle_decode(*dets[0].segm);  // row-major again
    QCOMPARE(int(decoded[0 * 4 + 1]), 1);
    QCOMPARE(int(decoded[2 * 4 + 3]), 1);
    QCOMPARE(int(decoded[1 * 4 + 3]), 0);
  }

  void resume_matches_uninterrupted_run_data() {
    QTest::addColumn<QString>("optimizer");
    QTest::newRow("sgd") << "sgd";      // momentum buffers
    QTest::newRow("adamw") << "adamw";  // step counts and both moments
  }

  // The whole recipe is checked before the run folder is touched: an unknown top-level key, or a
  // value only the model (built after the data and train sections) rejects, leaves no folder.
  void bad_recipe_writes_nothing() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    auto train = shapes(root + "/train", 2, 1);
    const TrainerSetup setup = fake_setup(root + "/run", train);
    STUDIO_EXPECT_ERROR(Trainer(tiny_recipe({"foo=bar"}), setup), "foo", "unknown key", "model, data, train");
    QVERIFY(!fs::exists(setup.run_dir));
    TrainerSetup failing = setup;
    failing.build_model = [](const ConfigNode& model) -> DetectorPtr {
      throw Error(model.where("channels") + ": expected a positive number");
    };
    STUDIO_EXPECT_ERROR(Trainer(tiny_recipe(), failing), "model.channels");
    QVERIFY(!fs::exists(setup.run_dir));
  }

  void resume_matches_uninterrupted_run() {
    QFETCH(QString, optimizer);
    const std::vector<std::string> opt{"train.optimizer.type=" + optimizer.toStdString()};
    auto tiny_recipe = [&opt]() { return ::tiny_recipe(opt); };
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    auto train = shapes(root + "/train", 6, 1);  // 3 batches an epoch
    auto val = shapes(root + "/val", 3, 2);

    TrainerSetup full = fake_setup(root + "/full", train, val);
    std::vector<torch::Tensor> expected;
    {
      Trainer t(tiny_recipe(), full);
      QVERIFY(t.train());
      QCOMPARE(t.state().iter, std::int64_t(6));
      QCOMPARE(t.state().epoch, 2);
      expected = state_tensors(t.model());
    }

    std::atomic<bool> cancel{false};
    TrainerSetup part = full;
    part.run_dir = root + "/part";
    part.cancel = &cancel;
    {
      Trainer t(tiny_recipe(), part);
      t.add_hook(std::make_shared<CancelAt>(&cancel, 4));  // mid-epoch 2, after an evaluation
      QVERIFY(!t.train());
      QCOMPARE(t.state().iter, std::int64_t(4));
    }
    const CheckpointContents info = read_checkpoint_info(part.run_dir + "/checkpoints/last.pt");
    QCOMPARE(info.state.epoch, 1);
    QCOMPARE(info.state.batch, std::int64_t(1));
    cancel = false;
    STUDIO_EXPECT_ERROR(Trainer(tiny_recipe(), part), "already has checkpoints", "--resume");
    part.resume = true;
    {
      Trainer t(tiny_recipe(), part);
      QVERIFY(t.train());
      QCOMPARE(t.state().iter, std::int64_t(6));
      QVERIFY(all_equal(expected, state_tensors(t.model())));
    }
    TrainerSetup nothing = full;
    nothing.run_dir = root + "/nothing";
    nothing.resume = true;
    STUDIO_EXPECT_ERROR(Trainer(tiny_recipe(), nothing), "nothing to resume", "last.pt");

    // The run folder of the uninterrupted run.
    for (const char* f : {"config.yaml", "events.jsonl", "log.txt", "checkpoints/last.pt", "checkpoints/epoch_1.pt",
                          "checkpoints/epoch_2.pt", "checkpoints/best.pt", "eval/results_1.json",
                          "eval/metrics_1.json", "eval/results_2.json", "eval/metrics_2.json"})
      QVERIFY2(fs::exists(full.run_dir + "/" + f), f);
    // epoch_<k>.pt is last.pt's file at epoch k (a hard link or a copy) and keeps epoch k's bytes
    // when last.pt is replaced after the next epoch.
    QCOMPARE(read_checkpoint_info(full.run_dir + "/checkpoints/epoch_1.pt").state.epoch, 1);
    QCOMPARE(read_checkpoint_info(full.run_dir + "/checkpoints/epoch_2.pt").state.epoch, 2);
    QCOMPARE(read_checkpoint_info(full.run_dir + "/checkpoints/last.pt").state.epoch, 2);
    const Config saved = Config::load(full.run_dir + "/config.yaml");
    QCOMPARE(saved.at("train").get_int("epochs"), 2);
    const MetricsFile m = read_metrics(full.run_dir);
    QVERIFY(m.segm.has_value());
    QVERIFY(m.bbox.has_value());
    QCOMPARE(m.meta.epochs, 2);
    QVERIFY(m.segm->stats[0] > 0);  // the stand-in finds shapes: the numbers compared below are not all 0
    QVERIFY(m.meta.images_per_s > 0);
    // Each epoch's metrics are what that epoch's checkpoint scores when evaluated from outside.
    test::check_run_evaluation(tiny_recipe(), full.run_dir, 1, full.run_dir + "/checkpoints/epoch_1.pt", val,
                               test::build_fake_detector);
    test::check_run_evaluation(tiny_recipe(), full.run_dir, 2, full.run_dir + "/checkpoints/epoch_2.pt", val,
                               test::build_fake_detector);

    // events.jsonl: every line parses and has the fields the GUI reads.
    std::ifstream in(full.run_dir + "/events.jsonl");
    std::map<std::string, int> counts;
    std::int64_t last_iter = -1;
    for (std::string line; std::getline(in, line);) {
      const YAML::Node e = YAML::Load(line);
      QVERIFY2(e.IsMap(), line.c_str());
      for (const char* key : {"type", "time", "epoch", "iter"}) QVERIFY2(e[key], (line + " lacks " + key).c_str());
      const std::string type = e["type"].as<std::string>();
      ++counts[type];
      if (type == "train") {
        for (const char* key : {"loss", "lr", "images_per_s", "data_time", "step_time"})
          QVERIFY2(e[key], (line + " lacks " + key).c_str());
        int terms = 0;
        for (const auto& kv : e)
          if (kv.first.as<std::string>().rfind("loss_", 0) == 0) ++terms;
        QVERIFY2(terms >= 2, line.c_str());
        QVERIFY(e["iter"].as<std::int64_t>() > last_iter);
        last_iter = e["iter"].as<std::int64_t>();
        QVERIFY(e["images_per_s"].as<double>() > 0);
      }
      if (type == "eval") {
        // The event carries the numbers of that epoch's metrics file.
        const MetricsFile em =
            read_metrics(full.run_dir + "/eval/metrics_" + std::to_string(e["epoch"].as<int>()) + ".json");
        for (const char* group : {"segm", "bbox"}) {
          const std::array<double, 12>& stats = std::string(group) == "segm" ? em.segm->stats : em.bbox->stats;
          for (std::size_t i = 0; i < 12; ++i) {
            const char* key = summary_names()[i];
            QVERIFY2(e[group][key], (line + " lacks " + group + "." + key).c_str());
            QVERIFY2(std::abs(e[group][key].as<double>() - stats[i]) < 1e-12, (line + ": " + group + "." + key).c_str());
          }
        }
      }
    }
    QCOMPARE(counts["start"], 1);
    QCOMPARE(counts["train"], 6);  // log_interval 1
    QCOMPARE(counts["eval"], 2);
    QCOMPARE(counts["end"], 1);
    QVERIFY(counts["checkpoint"] >= 5);  // last + epoch_k each epoch, best at least once
    // The resumed run appended to the same events file: two starts, one cancelled end.
    // Stopping writes last.pt (its checkpoint event) before the end event.
    std::ifstream pin(part.run_dir + "/events.jsonl");
    int starts = 0, cancelled = 0;
    std::string previous;
    for (std::string line; std::getline(pin, line);) {
      const YAML::Node e = YAML::Load(line);
      if (e["type"].as<std::string>() == "start") ++starts;
      if (e["type"].as<std::string>() == "end" && e["status"].as<std::string>() == "cancelled") {
        ++cancelled;
        const YAML::Node p = YAML::Load(previous);
        QCOMPARE(p["type"].as<std::string>(), std::string("checkpoint"));
        QCOMPARE(p["path"].as<std::string>(), part.run_dir + "/checkpoints/last.pt");
        QCOMPARE(p["iter"].as<std::int64_t>(), std::int64_t(4));
      }
      previous = line;
    }
    QCOMPARE(starts, 2);
    QCOMPARE(cancelled, 1);
  }

  // train.amp on the CPU: bfloat16 autocast. The first step's loss (same seed, same weights, same
  // batch) moves by bf16 rounding only, and it moves: the convolution did run in bf16.
  void cpu_amp_is_bfloat16() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    auto train = shapes(root + "/train", 4, 5);
    std::map<std::string, std::vector<double>> losses;
    for (const std::string amp : {"false", "true", "auto"}) {
      Trainer t(tiny_recipe({"train.amp=" + amp, "train.epochs=1"}), fake_setup(root + "/" + amp, train));
      const AmpMode expected = amp == "true" || (amp == "auto" && cpu_has_native_bf16()) ? AmpMode::CpuBf16 : AmpMode::Off;
      QVERIFY2(t.amp() == expected, amp.c_str());
      auto rec = std::make_shared<LossRecorder>();
      t.add_hook(rec);
      QVERIFY(t.train());
      QCOMPARE(rec->losses.size(), std::size_t(2));
      losses[amp] = rec->losses;
    }
    const double f32 = losses["false"][0], bf16 = losses["true"][0];
    QVERIFY2(std::isfinite(bf16) && std::abs(bf16 - f32) < 0.03 * f32,
             (std::to_string(bf16) + " vs " + std::to_string(f32)).c_str());
    QVERIFY(bf16 != f32);
    QCOMPARE(losses["auto"][0], cpu_has_native_bf16() ? bf16 : f32);
    const TrainerSetup bad = fake_setup(root + "/bad", train);
    STUDIO_EXPECT_ERROR(Trainer(tiny_recipe({"train.amp=maybe"}), bad), "train.amp", "false, true, auto");
  }

  void event_json_line() {
    Event e;
    e.type = "train";
    e.epoch = 1;
    e.iter = 5;
    e.numbers = {{"loss", 1.5}, {"bad", std::nan("")}};
    e.groups = {{"segm", {{"AP", 0.5}}}};
    const std::string line = event_to_json(e, 100.25);
    QCOMPARE(line, std::string(R"({"type":"train","time":100.25,"epoch":1,"iter":5,"loss":1.5,"bad":null,"segm":{"AP":0.5}})"));
  }
};

QTEST_APPLESS_MAIN(TestTrainer)
#include "test_trainer.moc"
