#pragma once
// Helpers shared by the GUI tests that start studio-cli (tests/test_gui_train.cpp,
// tests/test_gui_inspect_inference.cpp): the stand-ins for a studio-cli that cannot start.
#include <QByteArray>
#include <QFile>
#include <QString>
#include <QTemporaryDir>
#include <QtTest>

namespace studio::test {

// The rows of a "studio-cli cannot start" test: studio-cli missing, not executable, or executable
// but unable to run (a script whose interpreter is missing). Columns: name, content (empty: no
// file), executable.
inline void addUnstartableStudioCliRows() {
  QTest::addColumn<QString>("name");
  QTest::addColumn<QByteArray>("content");  // empty: no file
  QTest::addColumn<bool>("executable");
  QTest::newRow("missing") << "no-such-studio-cli" << QByteArray() << false;
  QTest::newRow("not executable") << "plain-studio-cli" << QByteArray("#!/bin/sh\nexit 0\n") << false;
  QTest::newRow("bad interpreter") << "broken-studio-cli" << QByteArray("#!/no/such/interpreter\n") << true;
}

// Writes `content` to dir/name, readable and writable by its owner, and executable when
// `executable` (no file when `content` is empty), and returns the path; empty when the file
// could not be written or its permissions set, for the caller to QVERIFY.
inline QString writeUnstartableStudioCli(const QTemporaryDir& dir, const QString& name,
                                         const QByteArray& content, bool executable) {
  const QString path = dir.filePath(name);
  if (content.isEmpty()) return path;
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return {};
  const bool written = file.write(content) == content.size();
  file.close();
  if (!written) return {};
  QFile::Permissions permissions = QFile::ReadOwner | QFile::WriteOwner;
  if (executable) permissions |= QFile::ExeOwner;
  if (!file.setPermissions(permissions)) return {};
  return path;
}

}  // namespace studio::test
