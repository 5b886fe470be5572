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
  QCoreApplication::setApplicationName(QStringLiteral("studio"));
  QStringList arguments;
  for (int i = 0; i < argc; ++i) arguments << QString::fromLocal8Bit(argv[i]);

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
  // Help and the display check come before the window system is touched: QApplication aborts
  // when it finds no display. Qt's own options (-platform, -style) are left for it to take.
  bool platformOption = false;
  for (const QString& a : arguments) {
    if (a == QLatin1String("--help") || a == QLatin1String("-h") || a == QLatin1String("-?") ||
        a == QLatin1String("--help-all")) {
      // Without a QApplication yet, Qt cannot name the program in the usage line.
      std::fputs(qPrintable(parser.helpText().replace(QStringLiteral("<executable_name>"), QStringLiteral("studio"))),
                 stdout);
      return 0;
    }
    platformOption = platformOption || a == QLatin1String("-platform");
  }
  if (!platformOption && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
      qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
    printError(QStringLiteral(
        "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): start it in a desktop "
        "session, or set QT_QPA_PLATFORM=offscreen for scripted --screenshot runs; studio-cli does the same work "
        "without a window"));
    return 2;
  }

  QApplication app(argc, argv);
  QApplication::setApplicationDisplayName(QStringLiteral("Studio"));
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
