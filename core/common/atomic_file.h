#pragma once
// Writes that never leave a half-written file behind: content goes to a temporary file in the
// same folder (".<name>.tmp<random>"), is fsync'ed, and is renamed over the target in one step;
// the folder is then fsync'ed so the rename itself survives a power cut. On any failure the
// temporary file is removed and the target keeps its previous bytes.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace studio {

// The file-system calls write_file_atomic makes, with POSIX semantics (-1 and errno on failure).
// The defaults are the real calls; tests and fault hooks wrap them to record the order of the
// steps, fail one of them, or stop the process half-way through the write.
struct AtomicWriteOps {
  std::function<ssize_t(int fd, const char* data, std::size_t n)> write;  // may write fewer than n bytes
  std::function<int(int fd)> fsync;                                       // the temporary file, then the folder
  std::function<int(const char* from, const char* to)> rename;
  // The real calls.
  [[nodiscard]] static AtomicWriteOps system();
};

// Throws studio::Error naming the path when the folder is missing or not writable, or a step
// fails (the error says which step and the system's reason).
void write_file_atomic(const std::string& path, std::string_view content);
void write_file_atomic(const std::string& path, std::string_view content, const AtomicWriteOps& ops);

// Reads a whole file; throws studio::Error naming the path when it can't be read.
[[nodiscard]] std::string read_file(const std::string& path);

}  // namespace studio
