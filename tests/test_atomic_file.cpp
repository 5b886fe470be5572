// write_file_atomic: what it leaves in the folder when it succeeds and when each step fails, and
// the order of its steps (the temporary file is fsync'ed before the rename, the folder after it),
// observed through the file-system calls it makes (AtomicWriteOps).
#include <QtTest>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "test_support.h"

using namespace studio;
namespace fs = std::filesystem;

namespace {

// The names in `dir`, hidden ones included.
QStringList folder_entries(const QTemporaryDir& dir) {
  return QDir(dir.path()).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name);
}

// What a file descriptor refers to: the file's path, from /proc/self/fd.
std::string fd_path(int fd) {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  return ec ? std::string("?") : p.string();
}

// The real calls, each recorded as a line: "write <path> <bytes>", "fsync <path>",
// "rename <from> <to>". Writes are cut to `chunk` bytes so a short write is exercised.
struct Recorder {
  std::vector<std::string> log;
  std::size_t chunk = 7;
  AtomicWriteOps ops() {
    AtomicWriteOps o = AtomicWriteOps::system();
    o.write = [this](int fd, const char* data, std::size_t n) {
      const ssize_t w = ::write(fd, data, std::min(n, chunk));
      log.push_back("write " + fd_path(fd) + " " + std::to_string(w));
      return w;
    };
    o.fsync = [this](int fd) {
      log.push_back("fsync " + fd_path(fd));
      return ::fsync(fd);
    };
    o.rename = [this](const char* from, const char* to) {
      log.push_back(std::string("rename ") + from + " " + to);
      return ::rename(from, to);
    };
    return o;
  }
};

}  // namespace

class TestAtomicFile : public QObject {
  Q_OBJECT

 private slots:
  void writes_and_leaves_only_the_target() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("a.txt").toStdString();
    write_file_atomic(path, "first");
    write_file_atomic(path, "second, longer");
    QCOMPARE(read_file(path), std::string("second, longer"));
    QCOMPARE(folder_entries(dir), QStringList{"a.txt"});
    write_file_atomic(path, "");
    QCOMPARE(read_file(path), std::string());
  }

  void steps_in_order_fsync_before_rename() {
    QTemporaryDir dir;
    const std::string path = fs::canonical(dir.path().toStdString()).string() + "/c.pt";
    Recorder rec;
    const std::string content = "0123456789abcdefghij";  // 20 bytes: writes of 7, 7 and 6
    write_file_atomic(path, content, rec.ops());
    QCOMPARE(read_file(path), content);
    QCOMPARE(rec.log.size(), std::size_t(6));
    // The three writes go to one temporary file beside the target, not to the target.
    const std::string first = rec.log[0];
    QVERIFY2(first.rfind("write " + fs::path(path).parent_path().string() + "/.c.pt.tmp", 0) == 0, first.c_str());
    const std::string tmp = first.substr(6, first.rfind(' ') - 6);
    QCOMPARE(rec.log[0], "write " + tmp + " 7");
    QCOMPARE(rec.log[1], "write " + tmp + " 7");
    QCOMPARE(rec.log[2], "write " + tmp + " 6");
    QCOMPARE(rec.log[3], "fsync " + tmp);                  // the data is on disk ...
    QCOMPARE(rec.log[4], "rename " + tmp + " " + path);    // ... before it replaces the target
    QCOMPARE(rec.log[5], "fsync " + fs::path(path).parent_path().string());  // then the folder entry
    QCOMPARE(folder_entries(dir), QStringList{"c.pt"});
  }

  // A failure at any step: the error names the target, the step and the reason; the target keeps
  // its bytes and the temporary file is gone.
  void failed_step_keeps_the_target_data() {
    QTest::addColumn<QString>("step");
    QTest::addColumn<QString>("reason");
    QTest::newRow("write, no space") << "write" << "No space left on device";
    QTest::newRow("write returns 0") << "write0" << "Input/output error";
    QTest::newRow("fsync") << "fsync" << "Input/output error";
    QTest::newRow("rename") << "rename" << "Permission denied";
  }
  void failed_step_keeps_the_target() {
    QFETCH(QString, step);
    QFETCH(QString, reason);
    QTemporaryDir dir;
    const std::string path = dir.filePath("last.pt").toStdString();
    write_file_atomic(path, "the previous checkpoint");
    AtomicWriteOps ops = AtomicWriteOps::system();
    std::size_t written = 0;
    if (step == "write")
      ops.write = [&](int fd, const char* data, std::size_t n) -> ssize_t {
        if (written >= 4) {  // some bytes reach the temporary file first
          errno = ENOSPC;
          return -1;
        }
        const ssize_t w = ::write(fd, data, std::min<std::size_t>(n, 4));
        written += std::size_t(w);
        return w;
      };
    if (step == "write0") ops.write = [](int, const char*, std::size_t) -> ssize_t { return 0; };
    if (step == "fsync")
      ops.fsync = [](int) {
        errno = EIO;
        return -1;
      };
    if (step == "rename")
      ops.rename = [](const char*, const char*) {
        errno = EACCES;
        return -1;
      };
    const std::string failed = (step == "write0" ? std::string("write") : step.toStdString()) + " failed";
    const std::string why = reason.toStdString();
    STUDIO_EXPECT_ERROR(write_file_atomic(path, "a new checkpoint that never lands", ops), "last.pt", failed.c_str(),
                        why.c_str(), "keeps its previous content");
    QCOMPARE(read_file(path), std::string("the previous checkpoint"));
    QCOMPARE(folder_entries(dir), QStringList{"last.pt"});
  }

  void missing_folder_is_an_error() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("no/such/x.json").toStdString();
    STUDIO_EXPECT_ERROR(write_file_atomic(path, "x"), "x.json", "does not exist");
    QVERIFY(!fs::exists(dir.filePath("no").toStdString()));
    // A folder name longer than the file system allows: the same (std::filesystem threw before).
    const std::string long_folder = dir.filePath(QString(300, 'f') + "/x.json").toStdString();
    STUDIO_EXPECT_ERROR(write_file_atomic(long_folder, "x"), "x.json", "does not exist");
  }

  void read_file_errors_name_the_path() {
    QTemporaryDir dir;
    STUDIO_EXPECT_ERROR((void)read_file(dir.filePath("missing.txt").toStdString()), "missing.txt", "cannot open");
    STUDIO_EXPECT_ERROR((void)read_file(dir.path().toStdString()), "is a folder");
  }
};

QTEST_GUILESS_MAIN(TestAtomicFile)
#include "test_atomic_file.moc"
