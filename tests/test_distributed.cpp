// Data-parallel training (engine/distributed.h) on the CPU with Gloo, two ranks as two threads
// of this process meeting through a TCPStore on a free port: the environment variables
// (torchrun, SLURM, bad values), the collectives by hand, gradient averaging, and the
// equivalence the issue asks for: 2 ranks x batch 2 follow 1 process x batch 4 (same losses per
// iteration, same parameters). Also the resume rules: events.jsonl cut back to the checkpoint and
// a resume with another number of processes. The model is the tests' stand-in Detector
// (fake_detector.h), whose loss divides by a count summed over the ranks as SOLOv2's does.
#include <torch/torch.h>

#include <QtTest>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "common/config.h"
#include "common/error.h"
#include "data/shapes_generator.h"
#include "engine/checkpoint.h"
#include "engine/distributed.h"
#include "engine/events.h"
#include "engine/trainer.h"
#include "fake_detector.h"
#include "run_checks.h"
#include "test_support.h"

using namespace studio;
namespace fs = std::filesystem;

namespace {

// Trainers of the two ranks are built one after the other: model initialisation draws from
// torch's one global generator, which two threads would interleave (separate processes don't).
std::mutex construct_mutex;

const std::string kConfigs = std::string(STUDIO_TEST_DATA_DIR) + "/../../configs";

// A port that was free a moment ago (bind to 0, read it back, close).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

DistEnv env_of(int rank, int world, int port) {
  DistEnv e;
  e.rank = rank;
  e.world_size = world;
  e.local_rank = rank;
  e.local_world_size = world;
  e.master_port = port;
  return e;
}

// Runs body(rank, dist) on `world` threads, each with its own DistContext; rethrows the first error.
void run_ranks(int world, const std::function<void(int, DistContext&)>& body,
               std::chrono::milliseconds timeout = std::chrono::seconds(30),
               std::chrono::milliseconds stall = std::chrono::milliseconds(0)) {
  const int port = free_port();
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        at::set_num_threads(1);
        auto d = DistContext::create(env_of(r, world, port), torch::kCPU, timeout, stall);
        body(r, *d);
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

const char* const kVars[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                             "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE",
                             "SLURM_TASKS_PER_NODE", "SLURM_STEP_NODELIST", "SLURM_NODELIST"};

void clear_env() {
  for (const char* v : kVars) ::unsetenv(v);
}

void set_env(std::initializer_list<std::pair<const char*, const char*>> vars) {
  clear_env();
  for (const auto& [k, v] : vars) ::setenv(k, v, 1);
}

Config tiny_recipe(const std::vector<std::string>& overrides) {
  static QTemporaryDir dir;
  const std::string yaml = R"(
model: {type: fake, num_classes: 1, channels: 8}
data:
  input: {short_side: [64], long_side: 64}
  test_input: {short_side: [64], long_side: 64}
  workers: 0
train:
  batch_size: 4
  epochs: 1
  amp: false
  optimizer: {type: adamw, lr: 0.01, weight_decay: 0.0001}
  schedule: {type: cosine, warmup_iters: 2, warmup_ratio: 0.01}
  grad_clip: 35
  eval_interval: 1
  log_interval: 1
)";
  return Config::load(test::write_text(dir, "tiny_dist.yaml", yaml), overrides);
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

// The parameters are compared after SGD steps: AdamW divides each gradient by its own running
// size, so a gradient that is float noise around 0 (sums in another order) moves its weight by a
// full step either way; the losses agree under AdamW too.
const std::vector<std::string> kSgd{"train.optimizer.type=sgd", "train.optimizer.lr=0.02"};

// Records each step's losses (as logged: the mean over ranks).
struct Recorder : TrainHook {
  void after_step(Trainer&, const StepReport& r) override {
    std::vector<double> v;
    for (const auto& [name, x] : r.losses) v.push_back(x);
    v.push_back(r.loss);
    steps.push_back(v);
  }
  std::vector<std::vector<double>> steps;
};

struct CancelAt : TrainHook {
  CancelAt(std::atomic<bool>* f, std::int64_t i) : flag(f), iter(i) {}
  void after_step(Trainer&, const StepReport& r) override {
    if (r.iter >= iter) flag->store(true);
  }
  std::atomic<bool>* flag;
  std::int64_t iter;
};

std::vector<torch::Tensor> params_of(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

std::vector<YAML::Node> read_events(const std::string& path) {
  std::vector<YAML::Node> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(YAML::Load(line));
  return out;
}

}  // namespace

class TestDistributed : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { at::set_num_threads(1); }
  void cleanup() { clear_env(); }

  void env_single_process() {
    clear_env();
    const DistEnv e = dist_env_from_environment();
    QCOMPARE(e.world_size, 1);
    QCOMPARE(e.rank, 0);
    QVERIFY(!e.distributed());
  }

  void env_torchrun() {
    set_env({{"RANK", "5"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "4"},
             {"MASTER_ADDR", "10.0.0.7"}, {"MASTER_PORT", "23456"}});
    const DistEnv e = dist_env_from_environment();
    QCOMPARE(e.rank, 5);
    QCOMPARE(e.world_size, 8);
    QCOMPARE(e.local_rank, 1);
    QCOMPARE(e.local_world_size, 4);
    QCOMPARE(e.master_addr, std::string("10.0.0.7"));
    QCOMPARE(e.master_port, 23456);
    QVERIFY(e.distributed());
  }

  void env_slurm() {
    set_env({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"SLURM_LOCALID", "1"},
             {"SLURM_TASKS_PER_NODE", "2(x2)"}, {"SLURM_STEP_NODELIST", "gpu[07-08,11],cpu3"}});
    DistEnv e = dist_env_from_environment();
    QCOMPARE(e.rank, 3);
    QCOMPARE(e.world_size, 4);
    QCOMPARE(e.local_rank, 1);
    QCOMPARE(e.local_world_size, 2);
    QCOMPARE(e.master_addr, std::string("gpu07"));
    QCOMPARE(e.master_port, 29500);
    // A plain list, SLURM_NODELIST as fallback; MASTER_ADDR wins over the node list.
    set_env({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_NODELIST", "alpha,beta"}});
    QCOMPARE(dist_env_from_environment().master_addr, std::string("alpha"));
    set_env({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_NODELIST", "alpha,beta"},
             {"MASTER_ADDR", "head"}, {"MASTER_PORT", "4000"}});
    e = dist_env_from_environment();
    QCOMPARE(e.master_addr, std::string("head"));
    QCOMPARE(e.master_port, 4000);
  }

  void env_errors_name_the_variable() {
    set_env({{"RANK", "two"}, {"WORLD_SIZE", "4"}});
    STUDIO_EXPECT_ERROR((void)dist_env_from_environment(), "RANK='two'", "integer");
    set_env({{"RANK", "4"}, {"WORLD_SIZE", "4"}});
    STUDIO_EXPECT_ERROR((void)dist_env_from_environment(), "RANK=4", "0..3");
    set_env({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}});
    STUDIO_EXPECT_ERROR((void)dist_env_from_environment(), "MASTER_PORT=70000", "1..65535");
    set_env({{"RANK", "0"}});
    STUDIO_EXPECT_ERROR((void)dist_env_from_environment(), "WORLD_SIZE", "not set");
    set_env({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "x"}});
    STUDIO_EXPECT_ERROR((void)dist_env_from_environment(), "SLURM_NTASKS='x'");
    set_env({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_NODELIST", "node[x]"}});
    STUDIO_EXPECT_ERROR((void)dist_env_from_environment(), "SLURM_NODELIST", "node[x]");
  }

  void collectives_on_two_ranks() {
    std::vector<std::vector<std::string>> gathered(2);
    std::vector<double> sums(2);
    std::vector<torch::Tensor> reduced(2), longs(2), bcast(2);
    run_ranks(2, [&](int r, DistContext& d) {
      QCOMPARE(d.backend(), std::string("gloo"));
      QCOMPARE(d.rank(), r);
      // Two dtypes in one call: each reduced in its own flat buffer.
      std::vector<torch::Tensor> t{torch::tensor({1.0f, 2.0f}) * (r + 1), torch::tensor({10, 20, 30}, torch::kLong) + r,
                                   torch::full({2, 2}, r == 0 ? 0.5f : 0.25f)};
      d.all_reduce_sum(t);
      reduced[static_cast<std::size_t>(r)] = torch::cat({t[0], t[2].reshape({-1})});
      longs[static_cast<std::size_t>(r)] = t[1];
      sums[static_cast<std::size_t>(r)] = d.all_reduce_sum(r == 0 ? 1.5 : 2.25);
      std::vector<torch::Tensor> b{torch::full({3}, float(r + 7))};
      d.broadcast(b, 1);
      bcast[static_cast<std::size_t>(r)] = b[0];
      gathered[static_cast<std::size_t>(r)] = d.all_gather_bytes(r == 0 ? std::string("[1,2]") : std::string());
      d.barrier();
    });
    for (int r = 0; r < 2; ++r) {
      QVERIFY(torch::equal(reduced[r], torch::tensor({3.0f, 6.0f, 0.75f, 0.75f, 0.75f, 0.75f})));
      QVERIFY(torch::equal(longs[r], torch::tensor({21, 41, 61}, torch::kLong)));
      QCOMPARE(sums[r], 3.75);
      QVERIFY(torch::equal(bcast[r], torch::full({3}, 8.0f)));  // rank 1's values
      QCOMPARE(gathered[r].size(), std::size_t(2));
      QCOMPARE(gathered[r][0], std::string("[1,2]"));
      QCOMPARE(gathered[r][1], std::string());
    }
  }

  void gradients_are_averaged_and_modules_broadcast() {
    std::vector<torch::Tensor> g_w(2), g_b(2), g_extra(2), w(2);
    run_ranks(2, [&](int r, DistContext& d) {
      torch::manual_seed(100 + r);  // different initial values on each rank
      torch::nn::Linear lin(3, 2);
      torch::nn::Linear extra(2, 1);  // used by rank 1 only: rank 0 has no gradient for it
      broadcast_module(d, *lin);
      broadcast_module(d, *extra);
      w[static_cast<std::size_t>(r)] = lin->weight.detach().clone();
      torch::Tensor x = torch::full({1, 3}, double(r + 1)).to(torch::kFloat);
      torch::Tensor loss = lin(x).sum();
      if (r == 1) loss = loss + extra(torch::ones({1, 2})).sum() * 4;
      loss.backward();
      std::vector<torch::Tensor> params = lin->parameters();
      for (const auto& p : extra->parameters()) params.push_back(p);
      all_reduce_gradients(d, params, /*bucket_mb=*/1e-6);  // a bucket per tensor
      g_w[static_cast<std::size_t>(r)] = lin->weight.grad().clone();
      g_b[static_cast<std::size_t>(r)] = lin->bias.grad().clone();
      g_extra[static_cast<std::size_t>(r)] = extra->weight.grad().clone();
    });
    QVERIFY(torch::equal(w[0], w[1]));
    for (int r = 0; r < 2; ++r) {
      // d(sum of outputs)/dW = x per row: (1 + 2) / 2 = 1.5; bias: 1; extra: (0 + 4) / 2 = 2.
      QVERIFY(torch::allclose(g_w[r], torch::full({2, 3}, 1.5f)));
      QVERIFY(torch::allclose(g_b[r], torch::ones({2})));
      QVERIFY(torch::allclose(g_extra[r], torch::full({1, 2}, 2.0f)));
    }
  }

  void missing_rank_times_out_naming_the_rank() {
    const int port = free_port();
    const std::string where = "127.0.0.1:" + std::to_string(port);
    STUDIO_EXPECT_ERROR(DistContext::create(env_of(0, 2, port), torch::kCPU, std::chrono::seconds(2)),
                        "rank 0 of 2", "only 1 of 2 processes", where.c_str());
  }

  // Heartbeats (distributed.h): rank 1 stays alive but makes no progress in iteration 7 (a
  // deadlock); rank 0, waiting for it in an all-reduce, names it after the stall time instead of
  // the collective's 30 s timeout.
  void stalled_rank_is_named() {
    const auto start = std::chrono::steady_clock::now();
    std::vector<double> sums(2, 0.0);
    STUDIO_EXPECT_ERROR(run_ranks(
                            2,
                            [&](int r, DistContext& d) {
                              (void)d.all_reduce_sum(1.0);  // both past set-up
                              d.set_iteration(7);
                              if (r == 1) std::this_thread::sleep_for(std::chrono::milliseconds(4000));
                              sums[static_cast<std::size_t>(r)] = d.all_reduce_sum(1.0);
                            },
                            std::chrono::seconds(30), std::chrono::milliseconds(1000)),
                        "rank 0 of 2: all_reduce (gloo) stopped: rank 1 stalled: alive but no progress for 1 s",
                        "in iteration 7", "train.stall_timeout 1 s");
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    QVERIFY2(waited < 20, std::to_string(waited).c_str());
    QCOMPARE(sums[0], 0.0);  // rank 0 gave up
  }

  // A rank that works alone (SoloScope: rank 0 scoring an evaluation) is not stalled for keeping
  // the others waiting, however long.
  void a_solo_rank_is_not_stalled() {
    std::vector<double> sums(2, 0.0);
    run_ranks(
        2,
        [&](int r, DistContext& d) {
          (void)d.all_reduce_sum(1.0);
          if (r == 0) {
            const DistContext::SoloScope alone(&d);
            std::this_thread::sleep_for(std::chrono::milliseconds(2500));
          }
          sums[static_cast<std::size_t>(r)] = d.all_reduce_sum(r + 1.0);
        },
        std::chrono::seconds(30), std::chrono::milliseconds(500));
    QCOMPARE(sums[0], 3.0);
    QCOMPARE(sums[1], 3.0);
  }

  void two_ranks_follow_one_process_with_the_whole_batch() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    auto train = shapes(root + "/train", 16, 3);  // 4 steps of 4 images
    auto val = shapes(root + "/val", 3, 4);

    TrainerSetup one;
    one.run_dir = root + "/one";
    one.train = train;
    one.val = val;
    one.build_model = test::build_fake_detector;
    auto rec1 = std::make_shared<Recorder>();
    std::vector<torch::Tensor> p1;
    EvalSummary e1;
    {
      Trainer t(tiny_recipe(kSgd), one);
      t.add_hook(rec1);
      QVERIFY(t.train());
      p1 = params_of(t.model());
      e1 = *t.last_eval();
    }

    std::vector<std::shared_ptr<Recorder>> recs{std::make_shared<Recorder>(), std::make_shared<Recorder>()};
    std::vector<std::vector<torch::Tensor>> p2(2);
    std::vector<EvalSummary> e2(2);
    run_ranks(2, [&](int r, DistContext& d) {
      TrainerSetup s = one;
      s.run_dir = root + "/two";
      s.dist = std::shared_ptr<DistContext>(&d, [](DistContext*) {});
      std::unique_lock<std::mutex> lock(construct_mutex);  // one global RNG for both threads: init in turn
      std::vector<std::string> o = kSgd;
      o.push_back("train.batch_size=2");
      Trainer t(tiny_recipe(o), s);
      lock.unlock();
      t.add_hook(recs[static_cast<std::size_t>(r)]);
      QVERIFY(t.train());
      p2[static_cast<std::size_t>(r)] = params_of(t.model());
      e2[static_cast<std::size_t>(r)] = *t.last_eval();
    });

    QCOMPARE(rec1->steps.size(), std::size_t(4));
    for (int r = 0; r < 2; ++r) {
      QCOMPARE(recs[r]->steps.size(), std::size_t(4));
      for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t k = 0; k < rec1->steps[i].size(); ++k) {
          const double a = rec1->steps[i][k], b = recs[r]->steps[i][k];
          QVERIFY2(std::abs(a - b) <= 1e-4 * std::abs(a) + 1e-6,
                   qPrintable(QString("step %1 term %2: 1 process %3, rank %4 %5").arg(i).arg(k).arg(a).arg(r).arg(b)));
        }
      QCOMPARE(p2[r].size(), p1.size());
      for (std::size_t i = 0; i < p1.size(); ++i)
        QVERIFY2(torch::allclose(p1[i], p2[r][i], 1e-3, 1e-5),
                 qPrintable(QString("parameter %1: max |difference| %2, max |value| %3")
                                .arg(i)
                                .arg((p1[i] - p2[r][i]).abs().max().item<double>())
                                .arg(p1[i].abs().max().item<double>())));
      // Evaluation split over the ranks and gathered: both ranks have rank 0's scores.
      QCOMPARE(e2[r].has_segm, e1.has_segm);
    }
    QVERIFY(torch::equal(p2[0][0], p2[1][0]));
    QCOMPARE(e2[0].segm, e2[1].segm);
    QVERIFY(e1.segm[0] > 0);  // the stand-in finds shapes: the numbers compared are not all 0
    QVERIFY(std::abs(e2[0].bbox[0] - e1.bbox[0]) < 0.05);

    // Only rank 0 wrote; the start event says 2 processes; the eval results cover all 3 images.
    const auto events = read_events(root + "/two/events.jsonl");
    QVERIFY(!events.empty());
    QCOMPARE(events.front()["type"].as<std::string>(), std::string("start"));
    QCOMPARE(events.front()["world_size"].as<double>(), 2.0);
    int train_events = 0;
    for (const auto& e : events) train_events += e["type"].as<std::string>() == "train";
    QCOMPARE(train_events, 4);
    QVERIFY(fs::exists(root + "/two/checkpoints/last.pt"));
    // The metrics of the split and gathered evaluation are those of the final weights evaluated
    // over all 3 images in this one process.
    std::vector<std::string> two = kSgd;
    two.push_back("train.batch_size=2");
    test::check_run_evaluation(tiny_recipe(two), root + "/two", 1, root + "/two/checkpoints/last.pt", val,
                               test::build_fake_detector);
  }

  void truncate_events_moves_later_lines() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    test::write_text(dir, "events.jsonl",
                     "{\"type\":\"start\",\"epoch\":0,\"iter\":0}\n"
                     "{\"type\":\"train\",\"epoch\":1,\"iter\":2}\n"
                     "{\"type\":\"checkpoint\",\"epoch\":1,\"iter\":2}\n"
                     "{\"type\":\"train\",\"epoch\":1,\"iter\":3}\n"
                     "{\"type\":\"train\",\"ep");  // cut short by a kill
    QCOMPARE(truncate_events(root, 2), std::size_t(2));
    const auto kept = read_events(root + "/events.jsonl");
    QCOMPARE(kept.size(), std::size_t(3));
    QCOMPARE(kept.back()["type"].as<std::string>(), std::string("checkpoint"));
    std::ifstream in(root + "/events.discarded.jsonl");
    std::string a, b, c;
    std::getline(in, a);
    std::getline(in, b);
    QVERIFY(!std::getline(in, c));
    QVERIFY(test::contains(a, "\"iter\":3"));
    QCOMPARE(b, std::string("{\"type\":\"train\",\"ep"));
    QCOMPARE(truncate_events(root, 2), std::size_t(0));       // nothing more to move
    QCOMPARE(truncate_events(root + "/none", 2), std::size_t(0));  // no events.jsonl
  }

  void resume_with_another_number_of_processes() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    auto train = shapes(root + "/train", 16, 3);
    TrainerSetup s;
    s.run_dir = root + "/run";
    s.train = train;
    s.build_model = test::build_fake_detector;
    std::atomic<bool> cancel{false};
    s.cancel = &cancel;
    {
      // 1 process x batch 2: 8 steps an epoch; stopped after 3 steps (6 images).
      Trainer t(tiny_recipe({"train.batch_size=2", "train.epochs=2"}), s);
      t.add_hook(std::make_shared<CancelAt>(&cancel, 3));
      QVERIFY(!t.train());
    }
    const CheckpointContents c = read_checkpoint_info(s.run_dir + "/checkpoints/last.pt");
    QCOMPARE(c.state.iter, std::int64_t(3));
    QCOMPARE(c.state.epoch_images, std::int64_t(6));
    QCOMPARE(c.state.world_size, 1);
    QCOMPARE(c.state.batch_size, 2);
    // Lines of iterations after the checkpoint (as a kill would leave them) must go.
    {
      std::ofstream out(s.run_dir + "/events.jsonl", std::ios::app);
      out << "{\"type\":\"train\",\"time\":0,\"epoch\":1,\"iter\":4,\"loss\":1}\n";
    }
    cancel = false;
    s.resume = true;
    std::vector<std::int64_t> iters(2), totals(2);
    run_ranks(2, [&](int r, DistContext& d) {
      TrainerSetup rs = s;
      rs.cancel = nullptr;
      rs.dist = std::shared_ptr<DistContext>(&d, [](DistContext*) {});
      // 2 processes x batch 2: 4 steps an epoch; 6 images done -> step 1 (4 images), 2 seen again.
      std::unique_lock<std::mutex> lock(construct_mutex);
      Trainer t(tiny_recipe({"train.batch_size=2", "train.epochs=2"}), rs);
      lock.unlock();
      QCOMPARE(t.state().batch, std::int64_t(1));
      QCOMPARE(t.state().iter, std::int64_t(3));
      totals[static_cast<std::size_t>(r)] = t.total_iters();
      QVERIFY(t.train());
      iters[static_cast<std::size_t>(r)] = t.state().iter;
    });
    // 3 steps left in epoch 1 and 4 in epoch 2, counted on from 3.
    QCOMPARE(totals[0], std::int64_t(3 + 3 + 4));
    QCOMPARE(iters[0], std::int64_t(10));
    QCOMPARE(iters[1], std::int64_t(10));

    const auto events = read_events(s.run_dir + "/events.jsonl");
    std::int64_t last_train = 0;
    bool resume_seen = false;
    for (const auto& e : events) {
      const std::string type = e["type"].as<std::string>();
      if (type == "resume") {
        resume_seen = true;
        QCOMPARE(e["iter"].as<std::int64_t>(), std::int64_t(3));
        QCOMPARE(e["world_size"].as<double>(), 2.0);
        QCOMPARE(e["discarded"].as<double>(), 1.0);
      }
      if (type != "train") continue;
      const std::int64_t it = e["iter"].as<std::int64_t>();
      QCOMPARE(it, last_train + 1);  // no lost or repeated iteration
      last_train = it;
    }
    QVERIFY(resume_seen);
    QCOMPARE(last_train, std::int64_t(10));
    QVERIFY(fs::exists(s.run_dir + "/events.discarded.jsonl"));
  }

  // --amp on the CPU is bfloat16 autocast, through the stand-in's GroupNorm after its convolution
  // (LibTorch 1.13's GroupNorm cannot take bf16 with float parameters; AutocastGroupNorm, the layer
  // SOLOv2's heads use, normalises in float).
  void amp_on_the_cpu_is_bfloat16() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    TrainerSetup s;
    s.run_dir = root + "/run";
    s.train = shapes(root + "/train", 4, 3);
    s.amp = true;
    s.build_model = test::build_fake_detector;
    Trainer t(tiny_recipe({}), s);
    QVERIFY(t.amp() == AmpMode::CpuBf16);
    QVERIFY(t.train());
    QCOMPARE(t.state().iter, std::int64_t(1));
    const auto events = read_events(s.run_dir + "/events.jsonl");
    bool seen = false;
    for (const auto& e : events)
      if (e["type"].as<std::string>() == "train") {
        QVERIFY(std::isfinite(e["loss"].as<double>()));
        seen = true;
      }
    QVERIFY(seen);
    for (const auto& p : t.model().parameters()) QCOMPARE(p.scalar_type(), torch::kFloat);  // float master weights
  }
};

QTEST_APPLESS_MAIN(TestDistributed)
#include "test_distributed.moc"
