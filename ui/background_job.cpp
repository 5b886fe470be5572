#include "background_job.h"

#include <QtConcurrent/QtConcurrentRun>
#include <chrono>
#include <exception>

#include "common/error.h"

namespace studio::ui {

namespace {

long long nowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

constexpr long long kReportIntervalMs = 50;

}  // namespace

BackgroundJob::BackgroundJob(QObject* parent) : QObject(parent) {
  connect(&watcher_, &QFutureWatcher<void>::finished, this, &BackgroundJob::onWorkFinished);
}

BackgroundJob::~BackgroundJob() {
  if (running_) {
    cancel_.store(true);
    watcher_.waitForFinished();
  }
}

bool BackgroundJob::start(Work work, std::function<void()> apply) {
  if (running_) return false;
  cancel_.store(false);
  apply_ = std::move(apply);
  result_ = std::make_shared<Result>();
  lastReportMs_ = std::make_shared<std::atomic<long long>>(0);

  studio::Progress progressSink;
  progressSink.cancel = &cancel_;
  // The callback runs on worker threads. It posts to this object, so a report still queued
  // when the object is gone is dropped by Qt rather than delivered to freed memory.
  progressSink.report = [this, last = lastReportMs_](std::size_t done, std::size_t total,
                                                     const std::string& stage) {
    const long long now = nowMs();
    long long previous = last->load(std::memory_order_relaxed);
    const bool final = total > 0 && done >= total;
    if (!final && now - previous < kReportIntervalMs) return;
    if (!final && !last->compare_exchange_strong(previous, now)) return;
    const QString stageText = QString::fromStdString(stage);
    QMetaObject::invokeMethod(
        this, [this, done, total, stageText] { emit progress(qint64(done), qint64(total), stageText); },
        Qt::QueuedConnection);
  };

  running_ = true;
  emit runningChanged(true);
  watcher_.setFuture(QtConcurrent::run([work = std::move(work), progressSink, result = result_] {
    try {
      work(progressSink);
    } catch (const studio::Cancelled&) {
      result->outcome = Outcome::Cancelled;
    } catch (const studio::Error& e) {
      result->outcome = Outcome::Failure;
      result->message = QString::fromStdString(e.what());
    } catch (const std::exception& e) {
      // Not a user-facing error by design (out of memory, a bug): still say what happened.
      result->outcome = Outcome::Failure;
      result->message = QStringLiteral("unexpected error: %1").arg(QString::fromLocal8Bit(e.what()));
    }
  }));
  return true;
}

void BackgroundJob::cancel() {
  if (running_) cancel_.store(true);
}

void BackgroundJob::onWorkFinished() {
  const std::shared_ptr<Result> result = std::move(result_);
  std::function<void()> apply = std::move(apply_);
  // Not running any more before anyone hears about the outcome, so a handler may start the
  // next piece of work (load, then check) straight away.
  running_ = false;
  switch (result->outcome) {
    case Outcome::Success:
      if (apply) apply();
      emit succeeded();
      break;
    case Outcome::Failure:
      emit failed(result->message);
      break;
    case Outcome::Cancelled:
      emit cancelled();
      break;
  }
  // Stop only if the handlers above did not start something new.
  if (!running_) emit runningChanged(false);
}

}  // namespace studio::ui
