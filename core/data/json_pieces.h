#pragma once
// Internal to the core's JSON readers (simdjson is in no public header): a JSON file mapped for
// simdjson, and parsing the elements of its big arrays in pieces on several threads.
//
// A piece is a run of whole elements of one array (found by json_split.h) copied into a small
// buffer as "[ ... ]" and parsed by its thread's own simdjson parser, each element straight into
// its place in the result: the outcome is the same whatever the number of threads. A piece that
// fails to parse makes the whole run answer false; the reader then walks the file the ordinary
// way, whose messages name the problem and its line.
#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/progress.h"
#include "data/json_split.h"

namespace studio {

// A file mapped read-only and followed by zero pages, so simdjson may read its padding past the
// end. Falls back to reading into a padded string where mapping is impossible (pipes, ...).
class MappedJson {
 public:
#ifdef MADV_POPULATE_READ
  static constexpr int kPopulateRead = MADV_POPULATE_READ;
#else
  static constexpr int kPopulateRead = 22;  // Linux 5.14; older kernels refuse it, harmlessly
#endif

  explicit MappedJson(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot read the file (" + std::strerror(errno) + ")");
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
      const std::size_t size = static_cast<std::size_t>(st.st_size);
      const std::size_t file_span = (size + page - 1) / page * page;
      const std::size_t total = (size + simdjson::SIMDJSON_PADDING + page - 1) / page * page;
      void* base = ::mmap(nullptr, total, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (base != MAP_FAILED && size > 0 &&
          ::mmap(base, file_span, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
        ::munmap(base, total);
        base = MAP_FAILED;
      }
      if (base != MAP_FAILED) {
        base_ = static_cast<char*>(base);
        size_ = size;
        mapped_ = total;
        page_ = page;
      }
    }
    ::close(fd);
    if (base_ == nullptr) {
      if (auto e = simdjson::padded_string::load(path).get(copy_))
        throw Error(path + ": cannot read the file (" + simdjson::error_message(e) + ")");
    }
  }
  ~MappedJson() {
    if (base_) ::munmap(base_, mapped_);
  }
  MappedJson(const MappedJson&) = delete;
  MappedJson& operator=(const MappedJson&) = delete;

  [[nodiscard]] simdjson::padded_string_view view() const {
    if (base_) return simdjson::padded_string_view(base_, size_, mapped_);
    return simdjson::padded_string_view(copy_.data(), copy_.size(),
                                        copy_.size() + simdjson::SIMDJSON_PADDING);
  }

  // Maps the pages of [b, e) in one call instead of a page fault every few pages (a fault is
  // costly, in virtual machines most of all).
  void populate(const char* b, const char* e) const {
    if (!base_) return;
    b = std::max<const char*>(b, base_);
    e = std::min<const char*>(e, base_ + size_);
    const std::size_t first = static_cast<std::size_t>(b - base_) / page_ * page_;
    if (e > base_ + first) ::madvise(base_ + first, static_cast<std::size_t>(e - (base_ + first)), kPopulateRead);
  }

  // Drops the whole pages within [b, e) from this process's memory (see release_before).
  void release_range(const char* b, const char* e) const {
    if (!base_ || b < base_ || e > base_ + size_ || b >= e) return;
    const std::size_t first = (static_cast<std::size_t>(b - base_) + page_ - 1) / page_ * page_;
    const std::size_t last = static_cast<std::size_t>(e - base_) / page_ * page_;
    if (last > first) ::madvise(base_ + first, last - first, MADV_DONTNEED);
  }

  // Drops the pages before `p` from this process's memory. They stay in the page cache and read
  // back transparently if touched again (an error message counting lines does).
  void release_before(const char* p) {
    if (!base_ || p < base_ || p > base_ + size_) return;
    const std::size_t end = static_cast<std::size_t>(p - base_) / page_ * page_;
    if (end > released_) {
      ::madvise(base_ + released_, end - released_, MADV_DONTNEED);
      released_ = end;
    }
  }

 private:
  char* base_ = nullptr;
  std::size_t size_ = 0, mapped_ = 0, page_ = 4096, released_ = 0;
  simdjson::padded_string copy_;
};

// Sizes a vector of n default elements, asking for huge pages for a big one: constructing 800k
// annotations then faults 60 times instead of 30,000.
template <class T>
inline void presize(std::vector<T>& v, std::size_t n) {
  v.reserve(n);
  const std::size_t bytes = n * sizeof(T), huge = 2u << 20;
  auto begin = reinterpret_cast<std::uintptr_t>(v.data());
  const std::uintptr_t first = (begin + huge - 1) / huge * huge, last = (begin + bytes) / huge * huge;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  v.resize(n);
}

// A run of whole elements of one array, parsed as one small array.
struct Piece {
  std::string_view section;
  std::size_t first = 0, count = 0;  // element indices
  std::size_t begin = 0, end = 0;    // bytes of the file
};

// Groups the elements of an array into pieces of about `bytes` each.
inline void add_pieces(std::string_view section, const std::vector<JsonSpan>& elements, std::size_t bytes,
                       std::vector<Piece>& out) {
  const std::vector<JsonSpan>& e = elements;
  for (std::size_t i = 0; i < e.size();) {
    Piece piece{section, i, 0, e[i].begin, e[i].end};
    while (i < e.size() && (piece.count == 0 || e[i].end - piece.begin <= bytes)) {
      piece.end = e[i].end;
      ++piece.count, ++i;
    }
    out.push_back(piece);
  }
}

// Runs a parse function on pieces, on every thread asked for (0: every core).
class PieceRunner {
 public:
  PieceRunner(MappedJson& mapped, int threads, const Progress& progress, std::string stage)
      : mapped_(mapped),
        threads_(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
        progress_(progress),
        stage_(std::move(stage)),
        buffers_(static_cast<std::size_t>(threads_)) {}

  [[nodiscard]] int threads() const { return threads_; }
  // Progress counts the pieces' bytes against the file's size.
  void set_total(std::size_t bytes) { total_ = bytes; }

  // `parse(thread, text, piece)` on every piece. False when one threw studio::Error; throws
  // Cancelled when asked to stop, and rethrows any other exception.
  template <class Parse>
  bool run(const std::vector<Piece>& pieces, Parse&& parse) {
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&](int t) {
      std::string& buffer = buffers_[static_cast<std::size_t>(t)];
      for (;;) {
        if (failed.load(std::memory_order_relaxed) || progress_.cancelled()) return;
        const std::size_t k = next.fetch_add(1);
        if (k >= pieces.size()) return;
        const Piece& p = pieces[k];
        const char* file = mapped_.view().data();
        const std::size_t n = p.end - p.begin;
        mapped_.populate(file + p.begin, file + p.end);
        buffer.resize(n + 2 + simdjson::SIMDJSON_PADDING);
        buffer[0] = '[';
        std::memcpy(buffer.data() + 1, file + p.begin, n);
        buffer[n + 1] = ']';
        mapped_.release_range(file + p.begin, file + p.end);
        try {
          parse(t, simdjson::padded_string_view(buffer.data(), n + 2, buffer.size()), p);
        } catch (const Error&) {
          failed = true;
          return;
        } catch (...) {
          const std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
          failed = true;
          return;
        }
        const std::size_t done = done_ += n;
        if (t == 0) progress_(done, total_, stage_);
      }
    };
    std::vector<std::thread> helpers;
    const int threads = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads_), pieces.size()));
    for (int t = 1; t < threads; ++t) helpers.emplace_back(work, t);
    work(0);
    for (std::thread& h : helpers) h.join();
    if (error) std::rethrow_exception(error);
    progress_.check_cancel();
    return !failed;
  }

 private:
  MappedJson& mapped_;
  const int threads_;
  const Progress& progress_;
  const std::string stage_;
  std::vector<std::string> buffers_;
  std::atomic<std::size_t> done_{0};
  std::size_t total_ = 0;
};

}  // namespace studio
