// The studio GUI. Everything here is start-up: options, the window, and the scripted
// "open, check, screenshot, quit" sequence the README's demo command uses.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>
#include <cstdio>

#include "common/error.h"
#include "data/dataset_spec.h"
#include "dataset_document.h"
#include "dataset_page.h"
#include "main_window.h"

namespace {

void printError(const QString& message) { std::fprintf(stderr, "studio: %s\n", qPrintable(message)); }

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("studio"));
  QApplication::setApplicationDisplayName(QStringLiteral("Studio"));

  QCommandLineParser parser;
  parser.setApplicationDescription(
      QStringLiteral("Desktop studio for instance segmentation and detection datasets and models."));
  parser.addHelpOption();
  const QCommandLineOption demoOption(QStringLiteral("demo"),
                                      QStringLiteral("Generate the shapes demo dataset and open it."));
  const QCommandLineOption datasetOption(
      QStringLiteral("dataset"),
      QStringLiteral("Open a dataset: coco:ANN.json:IMAGES | voc:ROOT[+ROOT]:SPLIT | "
                     "txt:LIST.txt:IMAGES[:NAMES.txt] | a dataset YAML file."),
      QStringLiteral("SPEC"));
  const QCommandLineOption checkOption(QStringLiteral("check"),
                                       QStringLiteral("Check the annotations once the dataset is open."));
  const QCommandLineOption screenshotOption(
      QStringLiteral("screenshot"),
      QStringLiteral("Save the window as a PNG once opening (and checking) finished, then quit."),
      QStringLiteral("FILE.png"));
  parser.addOptions({demoOption, datasetOption, checkOption, screenshotOption});
  parser.process(app);

  if (parser.isSet(demoOption) && parser.isSet(datasetOption)) {
    printError(QStringLiteral("--demo and --dataset both name a dataset; give one of them"));
    return 2;
  }
  std::optional<studio::DatasetSpec> spec;
  if (parser.isSet(datasetOption)) {
    try {
      spec = studio::parse_dataset_token(parser.value(datasetOption).toStdString());
    } catch (const studio::Error& e) {
      printError(QString::fromStdString(e.what()));
      return 2;
    }
  }
  const bool opening = spec || parser.isSet(demoOption);
  const bool check = parser.isSet(checkOption);
  const QString screenshot = parser.value(screenshotOption);
  if (check && !opening) {
    printError(QStringLiteral("--check needs a dataset: add --demo or --dataset SPEC"));
    return 2;
  }

  studio::ui::MainWindow window;
  window.show();
  studio::ui::DatasetDocument* document = window.document();

  // Scripted runs report failures on stderr and quit, since nobody may be watching the window.
  int exitCode = 0;
  auto finish = [&] {
    if (screenshot.isEmpty()) return;
    // Let the layouts settle and the canvas paint the first image before grabbing.
    QTimer::singleShot(300, &window, [&] {
      if (!window.grab().save(screenshot)) {
        printError(QStringLiteral("cannot write the screenshot %1").arg(screenshot));
        exitCode = 1;
      }
      QApplication::exit(exitCode);
    });
  };
  QObject::connect(document, &studio::ui::DatasetDocument::datasetChanged, &window, [&] {
    if (check)
      QTimer::singleShot(0, document, [document] { document->check(); });
    else
      finish();
  });
  QObject::connect(document, &studio::ui::DatasetDocument::checkReportChanged, &window, [&] {
    if (document->checkReport()) finish();
  });
  QObject::connect(document, &studio::ui::DatasetDocument::failed, &window,
                   [&](studio::ui::DatasetDocument::Operation, const QString& message) {
                     printError(message);
                     if (screenshot.isEmpty()) return;
                     exitCode = 1;
                     finish();
                   });

  if (spec)
    document->open(*spec);
  else if (parser.isSet(demoOption))
    document->openDemo();
  else
    finish();  // the Dataset page with the demo offer
  return app.exec();
}
