#include "common/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <fcntl.h>
#include <unistd.h>

#include "common/error.h"

namespace studio {

namespace fs = std::filesystem;

AtomicWriteOps AtomicWriteOps::system() {
  AtomicWriteOps ops;
  ops.write = [](int fd, const char* data, std::size_t n) { return ::write(fd, data, n); };
  ops.fsync = [](int fd) { return ::fsync(fd); };
  ops.rename = [](const char* from, const char* to) { return ::rename(from, to); };
  return ops;
}

void write_file_atomic(const std::string& path, std::string_view content) {
  static const AtomicWriteOps ops = AtomicWriteOps::system();
  write_file_atomic(path, content, ops);
}

void write_file_atomic(const std::string& path, std::string_view content, const AtomicWriteOps& ops) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code dir_error;  // a name the file system refuses (too long, ...) is no folder either
  if (!fs::is_directory(dir, dir_error)) throw Error(path + ": folder " + dir.string() + " does not exist");
  std::random_device rd;
  const fs::path tmp = dir / ("." + target.filename().string() + ".tmp" + std::to_string(rd()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot write (" + std::strerror(errno) + ")");
  // Removes the temporary file and reports the failed step with the errno it left.
  auto fail = [&](const char* step, int err) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(path + ": " + step + " failed (" + std::strerror(err) + "); the file keeps its previous content");
  };
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ops.write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      fail("write", err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (ops.fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail("fsync", err);
  }
  if (::close(fd) != 0) fail("close", errno);
  if (ops.rename(tmp.c_str(), target.c_str()) != 0) fail("rename", errno);
  // The rename is only durable once the folder's entry is on disk. A folder that can't be opened
  // or synced (some network file systems) leaves the file complete, so this is not an error.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)ops.fsync(dfd);
    ::close(dfd);
  }
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path + ": is a folder, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": read failed");
  return out;
}

}  // namespace studio
