#include "inference_process.h"

#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <algorithm>
#include <utility>

namespace studio::ui {

InferenceProcess::InferenceProcess(QObject* parent) : QObject(parent), process_(new QProcess(this)) {
  connect(process_, &QProcess::readyReadStandardError, this, &InferenceProcess::onOutput);
  connect(process_, &QProcess::readyReadStandardOutput, this, &InferenceProcess::onOutput);
  connect(process_, &QProcess::finished, this, &InferenceProcess::onFinished);
  connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error != QProcess::FailedToStart) return;
    emit failed(tr("Could not start %1: %2").arg(process_->program(), process_->errorString()));
  });
}

InferenceProcess::~InferenceProcess() {
  if (!isRunning()) return;
  process_->disconnect(this);
  process_->kill();
  process_->waitForFinished(3000);
  QFile::remove(temp_);
}

bool InferenceProcess::isRunning() const { return process_->state() != QProcess::NotRunning; }

void InferenceProcess::start(const QString& cli, QStringList args, const QString& target) {
  target_ = target;
  temp_ = target + QStringLiteral(".part");
  args << QStringLiteral("--out") << temp_;
  lastArguments_ = args;
  output_.clear();
  cancelRequested_ = false;
  QFile::remove(temp_);
  process_->start(cli, args);
}

void InferenceProcess::cancel() {
  if (!isRunning()) return;
  cancelRequested_ = true;
  process_->kill();
}

void InferenceProcess::onOutput() {
  const QString text =
      QString::fromLocal8Bit(process_->readAllStandardError() + process_->readAllStandardOutput());
  output_ += text;
  if (output_.size() > 8000) output_ = output_.right(8000);
  // terminal_progress() off a terminal: "stage: done/total" lines.
  static const QRegularExpression progressLine(QStringLiteral("^(.+): (\\d+)/(\\d+)\\s*$"));
  const QStringList lines = text.split(QRegularExpression(QStringLiteral("[\r\n]")), Qt::SkipEmptyParts);
  for (const QString& line : lines) {
    const auto m = progressLine.match(line);
    if (m.hasMatch()) emit progress(m.captured(2).toLongLong(), m.captured(3).toLongLong(), m.captured(1));
  }
}

void InferenceProcess::onFinished(int exitCode, QProcess::ExitStatus status) {
  onOutput();
  const bool wasCancelled = std::exchange(cancelRequested_, false);
  if (status != QProcess::NormalExit) {
    QFile::remove(temp_);
    if (wasCancelled)
      emit cancelled();
    else
      emit failed(tr("studio-cli infer stopped before it finished (%1):\n%2")
                      .arg(process_->errorString(), output_.trimmed().right(1500)));
    return;
  }
  if (exitCode != 0 || !QFileInfo(temp_).isFile()) {
    QFile::remove(temp_);
    // The last lines: where studio-cli says what went wrong.
    const QStringList lines = output_.trimmed().split('\n');
    const QString tail = lines.mid(std::max<qsizetype>(0, lines.size() - 12)).join('\n');
    emit failed(tr("studio-cli infer failed (exit code %1):\n%2").arg(exitCode).arg(tail));
    return;
  }
  QFile::remove(target_);
  if (!QFile::rename(temp_, target_)) {
    emit failed(tr("Could not move the predictions to %1.").arg(target_));
    return;
  }
  emit succeeded(target_);
}

}  // namespace studio::ui
