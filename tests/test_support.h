#pragma once
// Small helpers shared by the Qt Test executables: temporary folders and file writing.
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

namespace studio::test {

// Writes `content` to dir/name and returns the full path.
inline std::string write_text(const QTemporaryDir& dir, const std::string& name, const std::string& content) {
  const std::string path = dir.filePath(QString::fromStdString(name)).toStdString();
  std::ofstream out(path, std::ios::binary);
  out << content;
  return path;
}

// True when `text` contains `part` (for checking error messages).
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Every file under `folder` (relative path -> bytes), to show that reading or checking a dataset
// changed, added and removed nothing.
inline std::map<std::string, std::string> folder_bytes(const std::string& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    files[std::filesystem::relative(entry.path(), folder).string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return files;
}

}  // namespace studio::test

// Asserts that `stmt` throws studio::Error whose message contains every given fragment.
#define STUDIO_EXPECT_ERROR(stmt, ...)                                                   \
  do {                                                                                    \
    bool thrown_ = false;                                                                 \
    try {                                                                                 \
      stmt;                                                                               \
    } catch (const studio::Error& e_) {                                                   \
      thrown_ = true;                                                                     \
      const std::string msg_ = e_.what();                                                 \
      for (const char* part_ : {__VA_ARGS__})                                             \
        QVERIFY2(studio::test::contains(msg_, part_),                                     \
                 qPrintable(QString("message '%1' lacks '%2'").arg(msg_.c_str(), part_))); \
    }                                                                                     \
    QVERIFY2(thrown_, "expected studio::Error from: " #stmt);                            \
  } while (0)
