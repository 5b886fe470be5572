#pragma once
// `studio-cli infer` run as a separate process for the Inspect page: progress parsed from its
// "stage: done/total" lines, the output written to `<target>.part` and renamed onto the target
// only when the process succeeded, so a failed or cancelled run never leaves a partial file
// where the page caches predictions.
#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace studio::ui {

class InferenceProcess : public QObject {
  Q_OBJECT

 public:
  explicit InferenceProcess(QObject* parent = nullptr);
  ~InferenceProcess() override;  // kills a running process

  // Runs `cli args... --out <target>.part`; failed() is emitted when it cannot start.
  void start(const QString& cli, QStringList args, const QString& target);
  // Kills the process: inference has nothing to save. Emits cancelled(), not failed().
  void cancel();
  [[nodiscard]] bool isRunning() const;
  [[nodiscard]] QStringList lastArguments() const { return lastArguments_; }

 signals:
  void progress(qint64 done, qint64 total, const QString& stage);
  void succeeded(const QString& target);
  void failed(const QString& message);  // with the end of what studio-cli printed
  void cancelled();

 private:
  void onOutput();
  void onFinished(int exitCode, QProcess::ExitStatus status);

  QProcess* process_ = nullptr;
  bool cancelRequested_ = false;
  QString output_;  // the last lines studio-cli wrote, for error messages
  QString target_;
  QString temp_;
  QStringList lastArguments_;
};

}  // namespace studio::ui
