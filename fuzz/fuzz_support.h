#pragma once
// Shared by the fuzz targets (fuzz_<reader>.cpp). The rule every target checks: a reader reports
// bad input by throwing studio::Error (studio::Cancelled when asked to stop), so those two are
// caught and everything else, another exception, a crash, a leak, undefined behaviour or a hang,
// is a finding. Readers that take paths read the input from a scratch folder of this process.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/error.h"
#include "common/progress.h"

namespace studio::fuzz {

// Reports what a check found and stops, as a crash would (libFuzzer keeps the input).
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "FINDING: %s\n", what.c_str());
  std::abort();
}

// <tmp>/studio-fuzz-<target>-<pid>: made on first use, removed when the process exits normally.
// <tmp> is /dev/shm where there is one: rewriting a file on every execution on a disk (ext4 flushes
// a truncated file on close) made the file-reading targets wait on the disk most of the time.
class Scratch {
 public:
  explicit Scratch(const std::string& target)
      : folder_(temp_root() / ("studio-fuzz-" + target + "-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(folder_);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(folder_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  [[nodiscard]] std::string path(const std::string& relative) const { return (folder_ / relative).string(); }

  // Writes `bytes` to the relative path (folders made as needed) and returns the full path.
  std::string write(const std::string& relative, std::string_view bytes) const {
    const std::filesystem::path p = folder_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) finding("cannot write the scratch file " + p.string());
    return p.string();
  }
  void remove(const std::string& relative) const {
    std::error_code ec;
    std::filesystem::remove(folder_ / relative, ec);
  }

 private:
  static std::filesystem::path temp_root() {
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec)) return "/dev/shm";
    return std::filesystem::temp_directory_path();
  }

  std::filesystem::path folder_;
};

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// An input that stands for several files: the parts between NUL bytes, at most `max_parts` (the
// last keeps any further NULs). Missing parts are absent, not empty.
inline std::vector<std::string_view> split_parts(std::string_view input, std::size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const std::size_t nul = input.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(input.substr(0, nul));
    input.remove_prefix(nul + 1);
  }
  parts.push_back(input);
  return parts;
}

// STUDIO_FUZZ_VERBOSE=1 prints each refusal, to see what a corpus file exercises.
inline bool verbose() {
  static const bool on = std::getenv("STUDIO_FUZZ_VERBOSE") != nullptr;
  return on;
}

// Runs `read`; true when it returned, false when it refused the input as it should
// (studio::Error or studio::Cancelled). Any other exception propagates: a finding.
template <typename Read>
bool reads(Read&& read) {
  try {
    read();
    if (verbose()) std::fprintf(stderr, "read\n");
    return true;
  } catch (const studio::Error& e) {
    if (verbose()) std::fprintf(stderr, "refused: %s\n", e.what());
    return false;
  } catch (const studio::Cancelled&) {
    return false;
  }
}

}  // namespace studio::fuzz
