#include "engine/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"

extern char** environ;

namespace studio {
namespace {

// The launcher's own SIGINT/SIGTERM: remembered here, forwarded to the workers by the loop (a
// handler may do little; kill() is async-signal-safe but the pid list is not ours to read here).
volatile std::sig_atomic_t g_pending_signal = 0;
volatile std::sig_atomic_t g_signal_count = 0;

extern "C" void on_launcher_signal(int sig) {
  g_pending_signal = sig;
  g_signal_count = g_signal_count + 1;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGPIPE: return "SIGPIPE";
    case SIGTERM: return "SIGTERM";
    default: return "signal";
  }
}

// The names torchrun sets; a worker's environment is the launcher's without them, plus ours.
const char* const kDistVariables[] = {"RANK",        "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                                      "MASTER_ADDR", "MASTER_PORT", "GROUP_RANK", "NODE_RANK"};

bool is_dist_variable(const char* entry) {
  for (const char* name : kDistVariables) {
    const std::size_t n = std::strlen(name);
    if (std::strncmp(entry, name, n) == 0 && entry[n] == '=') return true;
  }
  return false;
}

struct Worker {
  int local_rank = 0;
  int rank = 0;
  pid_t pid = -1;
  bool running = false;
  int exit_code = 0;  // 128 + signal for a killed worker
  bool stopped_by_us = false;  // the launcher sent it SIGTERM/SIGKILL after another worker failed
};

// "exited with code 3" / "was killed by signal 9 (SIGKILL)"; fills `code`.
std::string describe_status(int status, int& code) {
  if (WIFEXITED(status)) {
    code = WEXITSTATUS(status);
    return "exited with code " + std::to_string(code);
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    code = 128 + sig;
    return "was killed by signal " + std::to_string(sig) + " (" + signal_name(sig) + ")";
  }
  code = 1;
  return "ended with status " + std::to_string(status);
}

void check_options(const LaunchOptions& o) {
  if (o.nproc < 1) throw Error("--nproc " + std::to_string(o.nproc) + ": expected at least 1 process");
  if (o.nnodes < 1) throw Error("--nnodes " + std::to_string(o.nnodes) + ": expected at least 1 node");
  if (o.node_rank < 0 || o.node_rank >= o.nnodes)
    throw Error("--node-rank " + std::to_string(o.node_rank) + ": expected 0.." + std::to_string(o.nnodes - 1) +
                " for --nnodes " + std::to_string(o.nnodes));
  if (o.master_port < 0 || o.master_port > 65535)
    throw Error("--master-port " + std::to_string(o.master_port) + ": expected 1..65535 (0: a free port)");
  if (o.nnodes > 1 && o.master_port == 0)
    throw Error("--nnodes " + std::to_string(o.nnodes) +
                ": a job on several nodes needs --master-port (the same on every node) and --master-addr "
                "(node 0's address)");
  if (o.master_addr.empty()) throw Error("--master-addr: expected a host name or address");
  if (o.argv.empty() || o.argv[0].empty()) throw Error("launcher: no worker command line");
}

// Everything a child needs is built before fork(): after fork only async-signal-safe calls are
// made (the launcher may have threads, e.g. torch's).
struct ChildImage {
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  std::vector<char*> argv;
};

ChildImage child_image(const LaunchOptions& o, std::vector<std::string>& argv_storage, int rank, int local_rank,
                       int port) {
  ChildImage c;
  for (char** e = environ; e && *e; ++e)
    if (!is_dist_variable(*e)) c.env_storage.emplace_back(*e);
  c.env_storage.push_back("RANK=" + std::to_string(rank));
  c.env_storage.push_back("WORLD_SIZE=" + std::to_string(o.nnodes * o.nproc));
  c.env_storage.push_back("LOCAL_RANK=" + std::to_string(local_rank));
  c.env_storage.push_back("LOCAL_WORLD_SIZE=" + std::to_string(o.nproc));
  c.env_storage.push_back("GROUP_RANK=" + std::to_string(o.node_rank));
  c.env_storage.push_back("MASTER_ADDR=" + o.master_addr);
  c.env_storage.push_back("MASTER_PORT=" + std::to_string(port));
  for (auto& s : c.env_storage) c.envp.push_back(s.data());
  c.envp.push_back(nullptr);
  for (auto& s : argv_storage) c.argv.push_back(s.data());
  c.argv.push_back(nullptr);
  return c;
}

// argv[0] as a path: as given when it has a '/', else looked up in PATH (like execvp).
std::string resolve_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw Error("launcher: program '" + program + "' not found in PATH");
}

pid_t spawn(const std::string& program, ChildImage& image, pid_t launcher_pid) {
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("launcher: fork failed: ") + std::strerror(errno));
  if (pid > 0) return pid;
  // Child. Own process group: a Ctrl-C on the terminal reaches the launcher only, which passes
  // it on once (two SIGINTs would end a worker at once, see train_command.cpp).
  ::setpgid(0, 0);
#if defined(__linux__)
  // A launcher that is killed outright (SIGKILL) takes its workers with it.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != launcher_pid) ::_exit(127);
#else
  (void)launcher_pid;
#endif
  // The launcher's handlers are reset by exec; the default dispositions the worker expects.
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  ::execve(program.c_str(), image.argv.data(), image.envp.data());
  const char* msg = "launcher: exec of the worker failed: ";
  ssize_t ignored = ::write(STDERR_FILENO, msg, std::strlen(msg));
  const char* why = std::strerror(errno);
  ignored = ::write(STDERR_FILENO, why, std::strlen(why));
  ignored = ::write(STDERR_FILENO, "\n", 1);
  (void)ignored;
  ::_exit(127);
}

class SignalGuard {
 public:
  SignalGuard() {
    g_pending_signal = 0;
    g_signal_count = 0;
    struct sigaction sa {};
    sa.sa_handler = on_launcher_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalGuard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

int launch_workers(const LaunchOptions& options) {
  check_options(options);
  const int port = options.master_port > 0 ? options.master_port : find_free_port();
  const std::string program = resolve_program(options.argv[0]);
  std::vector<std::string> argv_storage = options.argv;

  std::vector<Worker> workers(static_cast<std::size_t>(options.nproc));
  std::vector<ChildImage> images;
  for (int local = 0; local < options.nproc; ++local) {
    workers[local].local_rank = local;
    workers[local].rank = options.node_rank * options.nproc + local;
    images.push_back(child_image(options, argv_storage, workers[local].rank, local, port));
  }

  SignalGuard guard;
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t self = ::getpid();
  for (auto& w : workers) {
    try {
      w.pid = spawn(program, images[w.local_rank], self);
    } catch (const Error&) {
      for (auto& other : workers)
        if (other.running) ::kill(other.pid, SIGKILL);
      for (auto& other : workers)
        if (other.running) ::waitpid(other.pid, nullptr, 0);
      throw;
    }
    w.running = true;
  }
  std::fprintf(stderr, "launcher: %d worker%s on node %d of %d (ranks %d..%d of %d), store at %s:%d\n",
               options.nproc, options.nproc == 1 ? "" : "s", options.node_rank, options.nnodes, workers.front().rank,
               workers.back().rank, options.nnodes * options.nproc, options.master_addr.c_str(), port);

  using clock = std::chrono::steady_clock;
  int first_failure = 0;           // exit code of the first worker that failed
  bool stopping = false;           // SIGTERM sent to the others after a failure
  clock::time_point kill_at{};     // then SIGKILL what is left
  int forwarded = 0;               // signals of the launcher passed on so far
  auto running = [&] { return std::any_of(workers.begin(), workers.end(), [](const Worker& w) { return w.running; }); };

  while (running()) {
    // The user's Ctrl-C / the GUI's terminate: every worker gets it, and they stop cleanly.
    const int count = g_signal_count;
    if (count > forwarded) {
      const int sig = g_pending_signal;
      forwarded = count;
      for (auto& w : workers)
        if (w.running) ::kill(w.pid, sig);
    }
    bool reaped = false;
    for (auto& w : workers) {
      if (!w.running) continue;
      int status = 0;
      const pid_t r = ::waitpid(w.pid, &status, WNOHANG);
      if (r == 0) continue;
      if (r < 0 && errno == EINTR) continue;
      reaped = true;
      w.running = false;
      if (r < 0) {  // not our child any more (someone else reaped it): count it as failed
        w.exit_code = 1;
        continue;
      }
      std::string why = describe_status(status, w.exit_code);
      if (w.exit_code == 0) continue;
      // Not a fault of its own: it was ended because another rank failed (or, stalled itself,
      // was named in that rank's message).
      if (w.stopped_by_us)
        why = WIFSIGNALED(status) ? std::string("was ended by the launcher (") + signal_name(WTERMSIG(status)) + ")"
                                  : "ended (exit code " + std::to_string(w.exit_code) + ") after the launcher stopped it";
      if (first_failure == 0 && !stopping) {
        first_failure = w.exit_code;
        const bool others = running();
        std::fprintf(stderr, "launcher: rank %d (pid %d) %s%s\n", w.rank, static_cast<int>(w.pid), why.c_str(),
                     others ? "; stopping the other workers" : "");
        std::fflush(stderr);
        if (others) {
          stopping = true;
          kill_at = clock::now() + options.grace;
          for (auto& o : workers)
            if (o.running) {
              o.stopped_by_us = true;
              ::kill(o.pid, SIGTERM);
              ::kill(o.pid, SIGCONT);  // a stopped worker (SIGSTOP) gets to act on it
            }
        }
      } else {
        if (first_failure == 0) first_failure = w.exit_code;
        std::fprintf(stderr, "launcher: rank %d (pid %d) %s\n", w.rank, static_cast<int>(w.pid), why.c_str());
      }
    }
    if (stopping && clock::now() >= kill_at) {
      for (auto& w : workers) {
        if (!w.running) continue;
        std::fprintf(stderr, "launcher: rank %d (pid %d) still running after %llds; killing it\n", w.rank,
                     static_cast<int>(w.pid), static_cast<long long>(options.grace.count()));
        ::kill(w.pid, SIGKILL);
      }
      kill_at = clock::time_point::max();
    }
    if (!reaped && running()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fflush(stderr);
  return first_failure;
}

int find_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("find_free_port: socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    throw Error(std::string("find_free_port: bind: ") + std::strerror(e));
  }
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int e = errno;
    ::close(fd);
    throw Error(std::string("find_free_port: getsockname: ") + std::strerror(e));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace studio
