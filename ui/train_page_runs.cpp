// TrainPage, second half: the training process (start, stop, resume, its output) and the run
// folders followed into the charts, progress bar and log. The form and the recipe are in
// train_page.cpp.
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QTimer>
#include <cmath>

#include "common/run_folder.h"
#include "path_field.h"
#include "run_follower.h"
#include "studio_cli.h"
#include "train_page.h"
#include "training_plot.h"

namespace studio::ui {

namespace {

constexpr int kStderrTailLines = 15;
// How long a stopping run may take to finish its iteration and write last.pt before it is killed.
constexpr int kStopGraceMs = 120000;
constexpr int kLivePollMs = 500;

QString durationText(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return QStringLiteral("–");
  const qint64 t = qint64(std::llround(seconds));
  if (t >= 3600)
    return QStringLiteral("%1:%2:%3")
        .arg(t / 3600)
        .arg((t / 60) % 60, 2, 10, QLatin1Char('0'))
        .arg(t % 60, 2, 10, QLatin1Char('0'));
  return QStringLiteral("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QLatin1Char('0'));
}

}  // namespace

bool TrainPage::launch(bool resume) {
  banner_->setVisible(false);
  if (isRunning()) return false;
  resolve();
  if (resolveFailed_) {
    showBanner(tr("The recipe does not resolve: %1").arg(yamlError_->text()));
    return false;
  }
  if (resume && !currentRunDir_.isEmpty()) {
    const QSignalBlocker block(output_);
    output_->setPath(currentRunDir_);
    outputEdited_ = true;
  }
  if (output_->path().isEmpty()) {
    showBanner(tr("Choose an output folder for the run."));
    return false;
  }
  const QString cli = findStudioCli();
  if (cli.isEmpty() || !QFileInfo(cli).isExecutable()) {
    showBanner(cli.isEmpty() ? tr("studio-cli was not found next to this program or on PATH (set STUDIO_CLI to its path).")
                             : tr("studio-cli at %1 is not an executable file (STUDIO_CLI).").arg(cli));
    return false;
  }
  const QStringList args = trainArguments(resume);
  const QString runDir = args.at(4);
  lastArguments_ = args;
  stderrTail_.clear();
  partialLine_[0].clear();
  partialLine_[1].clear();
  stopRequested_ = false;

  process_ = new QProcess(this);
  process_->setProcessChannelMode(QProcess::SeparateChannels);
  connect(process_, &QProcess::readyReadStandardOutput, this,
          [this] { onProcessOutput(QProcess::StandardOutput); });
  connect(process_, &QProcess::readyReadStandardError, this, [this] { onProcessOutput(QProcess::StandardError); });
  connect(process_, &QProcess::finished, this, &TrainPage::onProcessFinished);
  connect(process_, &QProcess::errorOccurred, this, &TrainPage::onProcessError);
  appendLog(QStringLiteral("$ %1 %2").arg(QFileInfo(cli).fileName(), args.join(QLatin1Char(' '))));
  process_->start(cli, args);

  currentRunDir_ = runDir;
  follow(runDir, false, true);
  progress_->setRange(0, 1);
  progress_->setValue(0);
  eta_->clear();
  status_->setText(resume ? tr("Resuming %1…").arg(runDir) : tr("Starting %1…").arg(runDir));
  {
    const QSignalBlocker block(output_);
    output_->setPath(runDir);  // the folder being written, until the run ends
  }
  updateButtons();
  emit runningChanged(true);
  return true;
}

void TrainPage::stop() {
  if (!isRunning()) return;
  stopRequested_ = true;
  status_->setText(tr("Stopping after the current iteration (writing last.pt)…"));
  process_->terminate();
  QPointer<QProcess> p = process_;
  QTimer::singleShot(kStopGraceMs, this, [p] {
    if (p && p->state() != QProcess::NotRunning) p->kill();
  });
  updateButtons();
}

void TrainPage::onProcessOutput(QProcess::ProcessChannel channel) {
  if (!process_) return;
  const int c = channel == QProcess::StandardError ? 1 : 0;
  process_->setReadChannel(channel);
  QString text = partialLine_[c] + QString::fromLocal8Bit(process_->readAll());
  text.replace(QLatin1Char('\r'), QLatin1Char('\n'));
  const int end = text.lastIndexOf(QLatin1Char('\n'));
  partialLine_[c] = text.mid(end + 1);
  if (end < 0) return;
  QStringList lines = text.left(end).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
  for (const QString& line : lines) appendLog(line);
  if (c == 1) {
    QStringList tail = stderrTail_.split(QLatin1Char('\n'), Qt::SkipEmptyParts) + lines;
    while (tail.size() > kStderrTailLines) tail.removeFirst();
    stderrTail_ = tail.join(QLatin1Char('\n'));
  }
}

void TrainPage::onProcessFinished(int exitCode, QProcess::ExitStatus status) {
  QProcess* p = process_;
  if (!p) return;
  for (auto channel : {QProcess::StandardOutput, QProcess::StandardError}) onProcessOutput(channel);
  for (int c = 0; c < 2; ++c)
    if (!partialLine_[c].isEmpty()) appendLog(partialLine_[c]);
  // The trainer says it stopped with exit 0 (SIGTERM) or 130 (Ctrl-C); both are clean when asked for.
  const bool normal = status == QProcess::NormalExit;
  const bool clean = normal && (exitCode == 0 || (stopRequested_ && exitCode == 130));
  if (current_) current_->follower->poll();
  eta_->clear();
  if (clean) {
    status_->setText(stopRequested_ ? tr("Stopped; Resume continues from last.pt") : tr("Finished"));
  } else {
    const QString why = normal ? tr("exit code %1").arg(exitCode) : tr("the process crashed (%1)").arg(p->errorString());
    showBanner(tr("Training ended with an error (%1):\n%2").arg(why, stderrTail_.isEmpty() ? tr("(no output)") : stderrTail_));
    status_->setText(tr("Failed"));
  }
  appendLog(QStringLiteral("[%1]").arg(clean ? tr("process ended") : tr("process failed, %1").arg(exitCode)));
  process_ = nullptr;
  p->deleteLater();
  suggestOutput();  // the run's folder has checkpoints now: the next Start gets a fresh one (Resume keeps it)
  updateButtons();
  emit runningChanged(false);
  emit processFinished(exitCode, clean);
}

void TrainPage::onProcessError(QProcess::ProcessError error) {
  if (error != QProcess::FailedToStart || !process_) return;
  QProcess* p = process_;
  showBanner(tr("Could not start %1: %2").arg(p->program(), p->errorString()));
  // launch() said "Starting…"; nothing started.
  status_->setText(tr("Not started"));
  process_ = nullptr;
  p->deleteLater();
  suggestOutput();
  updateButtons();
  emit runningChanged(false);
  emit processFinished(-1, false);
}

TrainPage::Followed* TrainPage::follow(const QString& runDir, bool withLog, bool replaceCurrent) {
  const QString dir = QDir::cleanPath(QDir::current().absoluteFilePath(runDir));
  Followed* run = nullptr;
  for (const auto& f : followed_)
    if (f->dir == dir) run = f.get();
  if (!run) {
    auto created = std::make_unique<Followed>();
    created->dir = dir;
    created->follower = new RunFollower(this);
    created->plotRun = plot_->addRun(QFileInfo(dir).fileName());
    run = created.get();
    followed_.push_back(std::move(created));
    connect(run->follower, &RunFollower::eventRead, this, [this, run](const RunEvent& e) { onEvent(run, e); });
    connect(run->follower, &RunFollower::restarted, this, [this, run] { plot_->clearRun(run->plotRun); });
    connect(run->follower, &RunFollower::logLines, this, [this, run](const QStringList& lines) {
      const QString prefix = QStringLiteral("[%1] ").arg(QFileInfo(run->dir).fileName());
      for (const QString& line : lines) appendLog(prefix + line);
    });
    run->follower->setPollInterval(kLivePollMs);
    if (replaceCurrent) current_ = run;
    run->follower->follow(dir, withLog);
  } else if (replaceCurrent) {
    current_ = run;
    run->follower->poll();
  }
  return run;
}

QString TrainPage::statusText() const { return status_->text(); }

void TrainPage::openRun(const QString& runDir) {
  if (!QFileInfo::exists(QString::fromStdString(RunFolder{runDir.toStdString()}.events()))) {
    showBanner(tr("%1 is not a run folder (no events.jsonl).").arg(runDir));
    return;
  }
  banner_->setVisible(false);
  // The opened run becomes the current one (Resume continues it) unless a run is going.
  Followed* run = follow(runDir, true, !isRunning());
  if (run == current_) currentRunDir_ = run->dir;
  updateButtons();
}

void TrainPage::onEvent(Followed* run, const RunEvent& e) {
  plot_->addEvent(run->plotRun, e);
  if (e.type == QLatin1String(event_type::kStart))
    run->totalIters = qint64(e.number(QStringLiteral("total_iters"), 0));
  if (run != current_) return;
  if (e.type == QLatin1String(event_type::kStart)) {
    progress_->setRange(0, int(std::max<qint64>(1, run->totalIters)));
    progress_->setValue(int(std::min(e.iter, run->totalIters)));
  } else if (e.type == QLatin1String(event_type::kTrain)) {
    if (run->totalIters > 0) {
      progress_->setRange(0, int(run->totalIters));
      progress_->setValue(int(std::min(e.iter, run->totalIters)));
    }
    double eta = e.number(QStringLiteral("eta_s"), -1);
    // Without the trainer's estimate: the remaining images at the measured rate.
    const double rate = e.number(QStringLiteral("images_per_s"), 0);
    const double batch = e.number(QStringLiteral("batch_size"), 0);
    if (eta < 0 && rate > 0 && batch > 0) eta = double(run->totalIters - e.iter) * batch / rate;
    eta_->setText(tr("ETA %1").arg(durationText(eta)));
    status_->setText(tr("Epoch %1, iteration %2 of %3, loss %4")
                         .arg(e.epoch)
                         .arg(e.iter)
                         .arg(run->totalIters)
                         .arg(e.number(QStringLiteral("loss"), NAN), 0, 'f', 4));
  } else if (e.type == QLatin1String(event_type::kEvalStart)) {
    // No train events come while it runs: say so, and a busy bar instead of a stale ETA.
    const int images = int(e.number(QStringLiteral("images"), 0));
    status_->setText(tr("Epoch %1: evaluating on %2 validation images…").arg(e.epoch).arg(images));
    eta_->setText(tr("evaluating"));
    progress_->setRange(0, 0);
  } else if (e.type == QLatin1String(event_type::kEval)) {
    if (progress_->maximum() == 0) {
      progress_->setRange(0, int(std::max<qint64>(1, run->totalIters)));
      progress_->setValue(int(std::min(e.iter, run->totalIters)));
      eta_->clear();
    }
    const auto voc = e.groups.value(QStringLiteral("voc"));
    if (!voc.isEmpty()) {
      status_->setText(tr("Epoch %1 evaluated: mAP %2").arg(e.epoch).arg(voc.value(QStringLiteral("mAP"), NAN), 0, 'f', 4));
      appendLog(tr("evaluation after epoch %1: mAP %2").arg(e.epoch).arg(voc.value(QStringLiteral("mAP"), NAN), 0, 'f', 4));
      return;
    }
    const auto segm = e.groups.value(QStringLiteral("segm"));
    const auto bbox = e.groups.value(QStringLiteral("bbox"));
    QStringList parts;
    if (!segm.isEmpty()) parts << tr("mask AP %1").arg(segm.value(QStringLiteral("AP"), NAN), 0, 'f', 4);
    if (!bbox.isEmpty()) parts << tr("box AP %1").arg(bbox.value(QStringLiteral("AP"), NAN), 0, 'f', 4);
    status_->setText(tr("Epoch %1 evaluated: %2").arg(e.epoch).arg(parts.join(QStringLiteral(", "))));
    appendLog(tr("evaluation after epoch %1: %2").arg(e.epoch).arg(parts.join(QStringLiteral(", "))));
  } else if (e.type == QLatin1String(event_type::kEnd)) {
    if (progress_->maximum() == 0) progress_->setRange(0, int(std::max<qint64>(1, run->totalIters)));  // stopped while evaluating
    const QString how = e.texts.value(QStringLiteral("status"));
    if (how == QLatin1String("finished")) {
      progress_->setValue(progress_->maximum());
      eta_->clear();
    }
    if (!isRunning()) status_->setText(how == QLatin1String("finished") ? tr("Finished") : tr("Stopped"));
    updateButtons();
  } else if (e.type == QLatin1String(event_type::kError)) {
    showBanner(tr("The run reported an error: %1").arg(e.texts.value(QStringLiteral("message"))));
  } else if (e.type == QLatin1String(event_type::kResume)) {
    appendLog(tr("resumed at iteration %1").arg(e.iter));
  }
}

}  // namespace studio::ui
