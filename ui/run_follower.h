#pragma once
// Follows a run folder while the trainer writes it (core/engine/events.h): reads the new complete
// lines of events.jsonl (and, on request, log.txt) as they are appended and emits them parsed.
// A QFileSystemWatcher reports changes at once; a timer polls as well, because watchers miss
// changes on some file systems and do not see a file that does not exist yet.
//
// Rewrites: on --resume the trainer keeps the lines up to its checkpoint, moves the later ones to
// events.discarded.jsonl and rewrites events.jsonl. When the file got shorter than what was read,
// or the last line read is no longer where it was, everything is read again from the start
// (restarted() first, so listeners drop what they had). When the rewrite only removed lines this
// follower had not read yet, nothing read is wrong and reading simply goes on.
#include <QByteArray>
#include <QHash>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

class QFileSystemWatcher;
class QTimer;

namespace studio::ui {

// One line of events.jsonl. Top-level numbers go to `numbers` (null -> NaN), strings to `texts`,
// nested objects of numbers ("segm": {"AP": ..}) to `groups`.
struct RunEvent {
  QString type;  // start, train, eval, checkpoint, resume, error, end (others are kept as they are)
  double time = 0;
  int epoch = 0;
  qint64 iter = 0;
  QHash<QString, double> numbers;
  QHash<QString, QString> texts;
  QHash<QString, QHash<QString, double>> groups;

  [[nodiscard]] double number(const QString& key, double fallback) const { return numbers.value(key, fallback); }
};

// Parses one line; false when it is not a JSON object with a string "type".
bool parseRunEvent(const QByteArray& line, RunEvent& event);

class RunFollower : public QObject {
  Q_OBJECT

 public:
  explicit RunFollower(QObject* parent = nullptr);
  ~RunFollower() override;

  // Starts following `runDir` (which may not exist yet: the trainer creates it). Reads what is
  // there at once. `withLog` also follows log.txt (logLines).
  void follow(const QString& runDir, bool withLog = false);
  void stop();
  [[nodiscard]] bool isFollowing() const { return following_; }
  [[nodiscard]] QString runDir() const { return runDir_; }

  // Reads whatever is new now (the watcher and the timer call it; tests may call it directly).
  void poll();
  void setPollInterval(int ms);

  // Every event read so far (after a restart, only those read since).
  [[nodiscard]] const QVector<RunEvent>& events() const { return events_; }
  // Lines that were complete but not a valid event (skipped).
  [[nodiscard]] int badLines() const { return badLines_; }
  [[nodiscard]] int restarts() const { return restarts_; }

 signals:
  // events.jsonl was rewritten: forget the events of this run, they are read again.
  void restarted();
  void eventRead(const studio::ui::RunEvent& event);
  // After each poll that read at least one event (for batching redraws).
  void eventsRead();
  void logLines(const QStringList& lines);

 private:
  // Reading position in one growing text file.
  struct Tail {
    QString path;
    qint64 offset = 0;         // bytes consumed (always at a line start)
    QByteArray lastLine;       // the last complete line consumed, with its newline
  };
  // The new complete lines of `tail`; `rewritten` is set when the file no longer continues what
  // was read (the tail is then reset and the lines are from the start).
  static QList<QByteArray> readNew(Tail& tail, bool& rewritten);
  void watchPaths();

  QString runDir_;
  bool following_ = false;
  bool withLog_ = false;
  Tail eventsTail_;
  Tail logTail_;
  QVector<RunEvent> events_;
  int badLines_ = 0;
  int restarts_ = 0;
  QFileSystemWatcher* watcher_;
  QTimer* timer_;
};

}  // namespace studio::ui
