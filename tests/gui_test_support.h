#pragma once
// Helpers shared by the GUI tests: the stand-ins for a studio-cli that cannot start
// (tests/test_gui_train.cpp, tests/test_gui_inspect_inference.cpp), screenshots on request, and
// events.jsonl lines and files (tests/test_gui_train.cpp, tests/test_gui_run_plot.cpp), box-only
// detections (tests/test_gui_eval.cpp, tests/test_gui_inspect.cpp).
#include <QByteArray>
#include <QFile>
#include <QString>
#include <QTemporaryDir>
#include <QWidget>
#include <QtTest>

#include <array>
#include <cstdint>

#include "eval/coco_results.h"

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

// With STUDIO_GUI_TEST_SHOTS=DIR set, the page is saved at the interesting steps, to look at.
inline void saveShot(QWidget& widget, const char* name) {
  const QByteArray dir = qgetenv("STUDIO_GUI_TEST_SHOTS");
  if (!dir.isEmpty()) widget.grab().save(QString::fromLocal8Bit(dir) + "/" + name + ".png");
}

inline QByteArray trainLine(int iter, double loss) {
  return QStringLiteral(R"({"type":"train","time":1.5,"epoch":1,"iter":%1,"loss_ins":%2,"loss_cate":0.5,)"
                        R"("loss":%3,"lr":0.001,"images_per_s":10.0,"data_time":0.01,"step_time":0.2})")
             .arg(iter)
             .arg(loss - 0.5)
             .arg(loss)
             .toUtf8() +
         "\n";
}

inline void writeFile(const QString& path, const QByteArray& content, bool append = false) {
  QFile f(path);
  QVERIFY(f.open(append ? QIODevice::Append : QIODevice::WriteOnly | QIODevice::Truncate));
  QCOMPARE(f.write(content), qint64(content.size()));
}

// A box detector's result (no segm) on `image`, for results-file and Inspect tests.
inline Detection boxDetection(std::int64_t image, std::int64_t category, std::array<double, 4> box, double score) {
  Detection d;
  d.image_id = image;
  d.category_id = category;
  d.bbox = box;
  d.score = score;
  return d;
}

}  // namespace studio::test
