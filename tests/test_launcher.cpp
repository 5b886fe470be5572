// launch_workers (engine/launcher.h) on tiny /bin/sh workers: the variables each rank sees, exit
// codes, a killed worker ending the job within the grace, SIGTERM passed on, bad options.
#include <QtTest/QtTest>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "common/error.h"
#include "engine/launcher.h"
#include "test_support.h"

using namespace studio;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sends the launcher's stderr (where it reports faults) to a file while alive.
class StderrCapture {
 public:
  explicit StderrCapture(fs::path path) : path_(std::move(path)) {
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
  }
  ~StderrCapture() { restore(); }
  std::string text() {
    restore();
    return read_all(path_);
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
  }
  fs::path path_;
  int saved_ = -1;
};

LaunchOptions sh(int nproc, const std::string& script) {
  LaunchOptions o;
  o.nproc = nproc;
  o.argv = {"/bin/sh", "-c", script};
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

class TestLauncher : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir tmp_;
  fs::path dir() const { return tmp_.path().toStdString(); }

 private slots:
  // Node 1 of 2 with 3 processes each: global ranks 3, 4, 5 of 6; a RANK already in the
  // launcher's environment is replaced, other variables pass through; argv reaches the worker.
  void environment_per_rank() {
    ::setenv("RANK", "99", 1);
    ::setenv("STUDIO_TEST_PASSED_THROUGH", "yes", 1);
    LaunchOptions o = sh(3, "echo \"$RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT "
                            "$STUDIO_TEST_PASSED_THROUGH $0 $1\" > \"" +
                                dir().string() + "/env_$LOCAL_RANK\"");
    o.argv.push_back("zero");
    o.argv.push_back("one");
    o.nnodes = 2;
    o.node_rank = 1;
    o.master_addr = "10.1.2.3";
    o.master_port = 29611;
    QCOMPARE(launch_workers(o), 0);
    ::unsetenv("RANK");
    for (int local = 0; local < 3; ++local) {
      const std::string want = std::to_string(3 + local) + " 6 " + std::to_string(local) + " 3 10.1.2.3 29611 yes zero one\n";
      QCOMPARE(read_all(dir() / ("env_" + std::to_string(local))), want);
    }
  }

  // Port 0: one free port chosen by the launcher, the same for every rank.
  void free_port_shared_by_ranks() {
    LaunchOptions o = sh(2, "echo $MASTER_PORT > \"" + dir().string() + "/port_$RANK\"");
    QCOMPARE(launch_workers(o), 0);
    const std::string p0 = read_all(dir() / "port_0"), p1 = read_all(dir() / "port_1");
    QCOMPARE(p0, p1);
    const int port = std::stoi(p0);
    QVERIFY(port > 0 && port <= 65535);
  }

  void find_free_port_can_be_bound() {
    const int port = find_free_port();
    QVERIFY(port > 0 && port <= 65535);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    QCOMPARE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }

  // The first failure's exit code is the job's; the message names rank and pid.
  void exit_code_of_failed_rank() {
    StderrCapture err(dir() / "exit.txt");
    const auto t0 = std::chrono::steady_clock::now();
    QCOMPARE(launch_workers(sh(3, "if [ $RANK = 2 ]; then exit 3; fi; exit 0")), 3);
    QVERIFY(seconds_since(t0) < 5);
    const std::string text = err.text();
    QVERIFY2(std::regex_search(text, std::regex(R"(launcher: rank 2 \(pid \d+\) exited with code 3)")), text.c_str());
  }

  // Rank 1 is killed by SIGKILL; the others (sleeping 30 s) get SIGTERM at once: the job ends
  // in well under the grace with 128 + 9.
  void killed_worker_stops_the_others() {
    StderrCapture err(dir() / "kill.txt");
    LaunchOptions o = sh(3, "if [ $RANK = 1 ]; then sleep 0.3; kill -9 $$; fi; exec sleep 30");
    o.grace = std::chrono::seconds(10);
    const auto t0 = std::chrono::steady_clock::now();
    QCOMPARE(launch_workers(o), 137);
    QVERIFY2(seconds_since(t0) < 3, std::to_string(seconds_since(t0)).c_str());
    const std::string text = err.text();
    QVERIFY2(std::regex_search(text, std::regex(R"(launcher: rank 1 \(pid \d+\) was killed by signal 9 \(SIGKILL\); stopping the other workers)")),
             text.c_str());
    // The others ended by our SIGTERM: reported as the launcher's doing, not as faults of their own.
    QVERIFY2(std::regex_search(text, std::regex(R"(launcher: rank 0 \(pid \d+\) was ended by the launcher \(SIGTERM\))")),
             text.c_str());
    QVERIFY2(text.find("signal 15") == std::string::npos, text.c_str());
  }

  // A worker that ignores SIGTERM is SIGKILLed after the grace (1 s here).
  void worker_ignoring_sigterm_is_killed_after_grace() {
    StderrCapture err(dir() / "grace.txt");
    LaunchOptions o = sh(2, "if [ $RANK = 1 ]; then sleep 0.2; exit 5; fi; trap '' TERM; exec sleep 30");
    o.grace = std::chrono::seconds(1);
    const auto t0 = std::chrono::steady_clock::now();
    QCOMPARE(launch_workers(o), 5);
    const double s = seconds_since(t0);
    QVERIFY2(s >= 1.1 && s < 4, std::to_string(s).c_str());
    const std::string text = err.text();
    QVERIFY2(text.find("rank 1 (pid") != std::string::npos && text.find("exited with code 5") != std::string::npos,
             text.c_str());
    QVERIFY2(std::regex_search(text, std::regex(R"(rank 0 \(pid \d+\) still running after 1s; killing it)")), text.c_str());
  }

  // SIGTERM to the launcher (the GUI's Stop) reaches every worker once; they exit 0 -> job 0.
  void sigterm_is_forwarded() {
    const std::string d = dir().string();
    LaunchOptions o = sh(2, "trap 'kill $!; echo stopped > \"" + d + "/term_$RANK\"; exit 0' TERM; sleep 30 "
                            ">/dev/null 2>&1 & touch \"" + d + "/ready_$RANK\"; wait");
    std::thread sender([d] {
      for (int i = 0; i < 500; ++i) {
        if (fs::exists(d + "/ready_0") && fs::exists(d + "/ready_1")) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      ::kill(::getpid(), SIGTERM);
    });
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = launch_workers(o);
    sender.join();
    QCOMPARE(rc, 0);
    QVERIFY(seconds_since(t0) < 5);
    QCOMPARE(read_all(dir() / "term_0"), std::string("stopped\n"));
    QCOMPARE(read_all(dir() / "term_1"), std::string("stopped\n"));
  }

  // A program that cannot start: the child exits 127 with the reason.
  void exec_failure_is_reported() {
    StderrCapture err(dir() / "exec.txt");
    LaunchOptions o;
    o.nproc = 1;
    o.argv = {(dir() / "no_such_program").string()};
    QCOMPARE(launch_workers(o), 127);
    const std::string text = err.text();
    QVERIFY2(text.find("exec of the worker failed") != std::string::npos, text.c_str());
    QVERIFY2(text.find("rank 0 (pid") != std::string::npos, text.c_str());
  }

  void bad_options() {
    LaunchOptions o = sh(0, "true");
    STUDIO_EXPECT_ERROR(launch_workers(o), "--nproc 0: expected at least 1");
    o = sh(2, "true");
    o.nnodes = 2;
    o.node_rank = 2;
    o.master_port = 29500;
    STUDIO_EXPECT_ERROR(launch_workers(o), "--node-rank 2: expected 0..1");
    o.node_rank = -1;
    STUDIO_EXPECT_ERROR(launch_workers(o), "--node-rank -1");
    o.node_rank = 0;
    o.master_port = 0;
    STUDIO_EXPECT_ERROR(launch_workers(o), "needs --master-port");
    o = sh(2, "true");
    o.master_port = 70000;
    STUDIO_EXPECT_ERROR(launch_workers(o), "--master-port 70000: expected 1..65535");
    o = sh(2, "true");
    o.nnodes = 0;
    STUDIO_EXPECT_ERROR(launch_workers(o), "--nnodes 0");
    o = sh(1, "true");
    o.argv.clear();
    STUDIO_EXPECT_ERROR(launch_workers(o), "no worker command line");
    o.argv = {"studio-no-such-program-xyz"};
    STUDIO_EXPECT_ERROR(launch_workers(o), "'studio-no-such-program-xyz' not found in PATH");
  }
};

QTEST_APPLESS_MAIN(TestLauncher)
#include "test_launcher.moc"
