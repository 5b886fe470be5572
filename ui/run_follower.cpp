#include "run_follower.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>
#include <limits>

#include "common/run_folder.h"

namespace studio::ui {

namespace {

constexpr int kDefaultPollMs = 1000;

double jsonNumber(const QJsonValue& v) {
  return v.isDouble() ? v.toDouble() : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

bool parseRunEvent(const QByteArray& line, RunEvent& event) {
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
  if (error.error != QJsonParseError::NoError || !doc.isObject()) return false;
  const QJsonObject o = doc.object();
  if (!o.value(QLatin1String(event_field::kType)).isString()) return false;
  event = RunEvent{};
  for (auto it = o.begin(); it != o.end(); ++it) {
    const QString key = it.key();
    const QJsonValue v = it.value();
    if (key == QLatin1String(event_field::kType))
      event.type = v.toString();
    else if (key == QLatin1String(event_field::kTime))
      event.time = v.toDouble();
    else if (key == QLatin1String(event_field::kEpoch))
      event.epoch = v.toInt();
    else if (key == QLatin1String(event_field::kIter))
      event.iter = static_cast<qint64>(v.toDouble());
    else if (v.isDouble() || v.isNull())
      event.numbers.insert(key, jsonNumber(v));
    else if (v.isString())
      event.texts.insert(key, v.toString());
    else if (v.isBool())
      event.texts.insert(key, v.toBool() ? QStringLiteral("true") : QStringLiteral("false"));
    else if (v.isObject()) {
      QHash<QString, double> group;
      const QJsonObject g = v.toObject();
      for (auto git = g.begin(); git != g.end(); ++git)
        if (git.value().isDouble() || git.value().isNull()) group.insert(git.key(), jsonNumber(git.value()));
      event.groups.insert(key, group);
    }
  }
  return true;
}

RunFollower::RunFollower(QObject* parent)
    : QObject(parent), watcher_(new QFileSystemWatcher(this)), timer_(new QTimer(this)) {
  timer_->setInterval(kDefaultPollMs);
  connect(timer_, &QTimer::timeout, this, &RunFollower::poll);
  connect(watcher_, &QFileSystemWatcher::fileChanged, this, &RunFollower::poll);
  connect(watcher_, &QFileSystemWatcher::directoryChanged, this, &RunFollower::poll);
}

RunFollower::~RunFollower() = default;

void RunFollower::follow(const QString& runDir, bool withLog) {
  stop();
  runDir_ = runDir;
  withLog_ = withLog;
  const RunFolder run{runDir.toStdString()};
  eventsTail_ = Tail{QString::fromStdString(run.events())};
  logTail_ = Tail{QString::fromStdString(run.log())};
  events_.clear();
  badLines_ = 0;
  restarts_ = 0;
  following_ = true;
  timer_->start();
  poll();
}

void RunFollower::stop() {
  following_ = false;
  timer_->stop();
  const QStringList watched = watcher_->files() + watcher_->directories();
  if (!watched.isEmpty()) watcher_->removePaths(watched);
}

void RunFollower::setPollInterval(int ms) { timer_->setInterval(ms); }

void RunFollower::watchPaths() {
  // A file replaced by a rename drops out of the watcher; the folder and the file are added
  // again whenever they exist and are not watched.
  QStringList wanted;
  if (QFileInfo::exists(runDir_)) wanted << runDir_;
  if (QFileInfo::exists(eventsTail_.path)) wanted << eventsTail_.path;
  if (withLog_ && QFileInfo::exists(logTail_.path)) wanted << logTail_.path;
  const QStringList watched = watcher_->files() + watcher_->directories();
  for (const QString& path : wanted)
    if (!watched.contains(path)) watcher_->addPath(path);
}

QList<QByteArray> RunFollower::readNew(Tail& tail, bool& rewritten) {
  rewritten = false;
  QList<QByteArray> lines;
  QFile file(tail.path);
  if (!file.open(QIODevice::ReadOnly)) {
    // Gone (being replaced, or the run folder was deleted): read it from the start when it is back.
    if (tail.offset > 0 && !QFileInfo::exists(tail.path)) {
      tail.offset = 0;
      tail.lastLine.clear();
      rewritten = true;
    }
    return lines;
  }
  const qint64 size = file.size();
  bool restart = size < tail.offset;
  if (!restart && !tail.lastLine.isEmpty()) {
    // Still the same file up to where it was read? Compare the last line read with what is there.
    const qint64 start = tail.offset - tail.lastLine.size();
    file.seek(start);
    restart = file.read(tail.lastLine.size()) != tail.lastLine;
  }
  if (restart) {
    tail.offset = 0;
    tail.lastLine.clear();
    rewritten = true;
  }
  if (size == tail.offset) return lines;
  file.seek(tail.offset);
  const QByteArray chunk = file.read(size - tail.offset);
  // Only complete lines: the writer may be half-way through the last one.
  const int end = chunk.lastIndexOf('\n');
  if (end < 0) return lines;
  int pos = 0;
  while (pos <= end) {
    const int nl = chunk.indexOf('\n', pos);
    const QByteArray line = chunk.mid(pos, nl - pos + 1);
    tail.lastLine = line;
    pos = nl + 1;
    const QByteArray text = line.trimmed();
    if (!text.isEmpty()) lines << text;
  }
  tail.offset += end + 1;
  return lines;
}

void RunFollower::poll() {
  if (!following_) return;
  watchPaths();
  bool rewritten = false;
  const QList<QByteArray> lines = readNew(eventsTail_, rewritten);
  if (rewritten) {
    events_.clear();
    ++restarts_;
    emit restarted();
  }
  int read = 0;
  for (const QByteArray& line : lines) {
    RunEvent event;
    if (!parseRunEvent(line, event)) {
      ++badLines_;
      continue;
    }
    events_.push_back(event);
    ++read;
    emit eventRead(events_.back());
  }
  if (read > 0) emit eventsRead();
  if (withLog_) {
    bool logRewritten = false;
    const QList<QByteArray> logRaw = readNew(logTail_, logRewritten);
    QStringList text;
    for (const QByteArray& line : logRaw) text << QString::fromUtf8(line);
    if (!text.isEmpty()) emit logLines(text);
  }
}

}  // namespace studio::ui
