#pragma once
// Small helpers shared by the Qt Test executables: temporary folders and file writing.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
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
