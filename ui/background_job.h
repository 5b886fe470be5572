#pragma once
// Runs one piece of slow core work (reading, generating, checking a dataset) on the thread pool
// and reports back on the GUI thread: throttled progress, then exactly one of succeeded, failed
// or cancelled. The core work takes a studio::Progress whose cancel flag this object owns.
#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <atomic>
#include <functional>
#include <memory>

#include "common/progress.h"

namespace studio::ui {

class BackgroundJob : public QObject {
  Q_OBJECT

 public:
  using Work = std::function<void(const studio::Progress& progress)>;

  explicit BackgroundJob(QObject* parent = nullptr);
  // Asks running work to stop and waits for it: the work may still be reading objects that
  // are destroyed after this one.
  ~BackgroundJob() override;

  [[nodiscard]] bool isRunning() const { return running_; }

  // Starts `work` on the thread pool. `apply` runs on the GUI thread after the work returned
  // normally, before succeeded() is emitted; it is where results are moved into the caller's
  // state. Returns false (and does nothing) while another piece of work runs.
  bool start(Work work, std::function<void()> apply = {});
  // Sets the cancel flag; the work throws studio::Cancelled at its next check.
  void cancel();

 signals:
  void runningChanged(bool running);
  void progress(qint64 done, qint64 total, const QString& stage);
  void succeeded();
  // The text of the studio::Error (or other exception) the work threw.
  void failed(const QString& message);
  void cancelled();

 private:
  enum class Outcome { Success, Failure, Cancelled };
  struct Result {
    Outcome outcome = Outcome::Success;
    QString message;
  };

  void onWorkFinished();

  QFutureWatcher<void> watcher_;
  std::atomic<bool> cancel_{false};
  // Milliseconds (steady clock) of the last progress forwarded: the core may report per item
  // from several threads, and the GUI needs a few updates a second, not thousands.
  std::shared_ptr<std::atomic<long long>> lastReportMs_;
  std::shared_ptr<Result> result_;
  std::function<void()> apply_;
  bool running_ = false;
};

}  // namespace studio::ui
