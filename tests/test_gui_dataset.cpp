// The Dataset page end to end on the offscreen platform: a generated shapes set is opened in the
// main window, and what the browser, histogram and findings table show is compared with the
// dataset itself, down to the colour of mask pixels on screen.
#include <QComboBox>
#include <QDir>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

#include "background_job.h"
#include "class_colors.h"
#include "class_histogram.h"
#include "common/error.h"
#include "data/coco_io.h"
#include "data/rle.h"
#include "data/shapes_generator.h"
#include "dataset_document.h"
#include "dataset_page.h"
#include "dataset_summary.h"
#include "findings_filter.h"
#include "findings_model.h"
#include "findings_view.h"
#include "image_browser.h"
#include "image_canvas.h"
#include "image_list_model.h"
#include "import_dialog.h"
#include "gui_test_support.h"
#include "main_window.h"
#include "test_support.h"

using studio::ui::ImageCanvas;
using studio::ui::MainWindow;

using studio::test::saveShot;

namespace {

constexpr int kLoadTimeoutMs = 30000;

studio::DatasetSpec cocoSpec(const QString& json, const QString& images) {
  studio::DatasetSpec spec;
  spec.format = studio::DatasetFormat::Coco;
  spec.annotations = json.toStdString();
  spec.images = images.toStdString();
  return spec;
}

// A TXT list (names file optional) read from `images`.
studio::DatasetSpec txtSpec(const std::string& list, const std::string& images, const std::string& names = "") {
  studio::DatasetSpec spec;
  spec.format = studio::DatasetFormat::Txt;
  spec.annotations = list;
  spec.images = images;
  spec.names = names;
  return spec;
}

// How far `on` moved from `off` towards `tint`, as the alpha of a blend (0: untouched, 1: tint).
double blendAlpha(QColor on, QColor off, QColor tint) {
  const double d[3] = {double(tint.red() - off.red()), double(tint.green() - off.green()),
                       double(tint.blue() - off.blue())};
  const double m[3] = {double(on.red() - off.red()), double(on.green() - off.green()),
                       double(on.blue() - off.blue())};
  const double norm = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
  return (m[0] * d[0] + m[1] * d[1] + m[2] * d[2]) / norm;
}

double colourDistance(QColor a, QColor b) {
  return std::hypot(a.red() - b.red(), std::hypot(a.green() - b.green(), a.blue() - b.blue()));
}

struct Probe {
  QPoint widget;  // pixel of the canvas grab
  QColor off;     // without the overlay
  QColor on;      // with it
};

// A pixel well inside `ann`'s mask, away from every box edge and label, where the image colour
// differs enough from the class colour to measure the tint. `off`/`on` are grabs of the canvas
// without and with the overlay.
std::optional<Probe> probeMask(const studio::Dataset& dataset, const studio::Annotation& ann,
                               const ImageCanvas& canvas, const QImage& off, const QImage& on) {
  const studio::ImageInfo* image = dataset.image_by_id(ann.image_id);
  const auto w = static_cast<std::uint32_t>(image->width);
  const auto h = static_cast<std::uint32_t>(image->height);
  const std::vector<std::uint8_t> mask = studio::rle_decode(studio::rle_from_polygons(ann.polygons, h, w));
  auto inMask = [&](int x, int y) {
    return x >= 0 && y >= 0 && x < int(w) && y < int(h) && mask[std::size_t(y) * w + std::size_t(x)] != 0;
  };
  const QColor tint = studio::ui::classColor(dataset.category_index(ann.category_id));
  for (int y = 0; y < int(h); ++y) {
    for (int x = 0; x < int(w); ++x) {
      bool deep = true;
      for (int dy = -3; dy <= 3 && deep; ++dy)
        for (int dx = -3; dx <= 3 && deep; ++dx) deep = inMask(x + dx, y + dy);
      if (!deep) continue;
      bool nearEdge = false;
      for (std::size_t index : dataset.annotations_of(ann.image_id)) {
        const auto& b = dataset.annotations[index].bbox;
        const double px = x + 0.5, py = y + 0.5, margin = 4;
        const bool inY = py > b[1] - margin && py < b[1] + b[3] + margin;
        const bool inX = px > b[0] - margin && px < b[0] + b[2] + margin;
        if (inY && (std::abs(px - b[0]) < margin || std::abs(px - b[0] - b[2]) < margin)) nearEdge = true;
        if (inX && (std::abs(py - b[1]) < margin || std::abs(py - b[1] - b[3]) < margin)) nearEdge = true;
      }
      if (nearEdge) continue;
      const QPoint p = canvas.imageToWidget(QPointF(x + 0.5, y + 0.5)).toPoint();
      const bool underLabel =
          std::any_of(canvas.lastLabelRects().begin(), canvas.lastLabelRects().end(),
                      [&](const QRectF& r) { return r.adjusted(-3, -3, 3, 3).contains(p); });
      if (underLabel || !off.rect().contains(p)) continue;
      Probe probe{p, off.pixelColor(p), on.pixelColor(p)};
      if (colourDistance(probe.off, tint) < 80) continue;
      return probe;
    }
  }
  return std::nullopt;
}

}  // namespace

class TestGuiDataset : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void opensDatasetInMainWindow();
  void canvasDrawsEveryAnnotationOfTheImage();
  void maskPixelsAreTintedWithTheClassColour();
  void nextAndPreviousChangeTheImage();
  void classFilterRestrictsBrowsing();
  void histogramHasOneBarPerClass();
  void selectingAFindingHighlightsItsAnnotation();
  void txtFindingsShowTheirListLine();
  void badCocoFileShowsTheReadersError();
  void importDialogValidatesItsInputs();
  void demoButtonOpensTheDemo();
  void missingImageIsDrawnAsAStandIn();
  void backgroundJobCancels();
  void everyStageShowsItsWorkingPage();

 private:
  // A main window with the generated set open.
  void openShapes(MainWindow& window, const QString& json = {});

  QTemporaryDir dir_;
  QString json_;
  QString images_;
};

void TestGuiDataset::initTestCase() {
  QVERIFY(dir_.isValid());
  // The offscreen platform warns on every top-level resize that it cannot pass size hints on;
  // that says nothing about this code and buries the test's own output.
  static QtMessageHandler testLibHandler = nullptr;
  testLibHandler =
      qInstallMessageHandler([](QtMsgType type, const QMessageLogContext& context, const QString& text) {
        if (!text.contains(QLatin1String("propagateSizeHints"))) testLibHandler(type, context, text);
      });
  // The demo goes under AppLocalDataLocation: keep it inside the test's folder.
  qputenv("XDG_DATA_HOME", dir_.filePath(QStringLiteral("xdg")).toUtf8());
  studio::ShapesOptions options;
  options.out_dir = dir_.filePath(QStringLiteral("shapes")).toStdString();
  options.images = 12;
  options.seed = 5;
  options.size = 256;
  options.min_objects = 2;
  options.max_objects = 5;
  (void)studio::generate_shapes(options);
  json_ = dir_.filePath(QStringLiteral("shapes/annotations.json"));
  images_ = dir_.filePath(QStringLiteral("shapes/images"));
  QVERIFY(QFileInfo::exists(json_));
}

void TestGuiDataset::openShapes(MainWindow& window, const QString& json) {
  window.resize(1280, 800);
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  auto* document = window.document();
  QSignalSpy opened(document, &studio::ui::DatasetDocument::datasetChanged);
  QVERIFY(document->open(cocoSpec(json.isEmpty() ? json_ : json, images_)));
  QTRY_VERIFY_WITH_TIMEOUT(!document->isBusy(), kLoadTimeoutMs);
  QCOMPARE(opened.count(), 1);
  QVERIFY(document->hasDataset());
}

void TestGuiDataset::opensDatasetInMainWindow() {
  MainWindow window;
  QVERIFY(window.datasetPage()->showsWelcome());
  openShapes(window);
  auto* page = window.datasetPage();
  QVERIFY(!page->showsWelcome());
  const studio::Dataset& dataset = window.document()->dataset();
  QCOMPARE(dataset.images.size(), std::size_t(12));
  QCOMPARE(page->summary()->value("images"), QString::number(dataset.images.size()));
  QCOMPARE(page->summary()->value("annotations"), QString::number(dataset.annotations.size()));
  QCOMPARE(page->summary()->value("classes"), QString::number(dataset.categories.size()));
  QCOMPARE(page->summary()->value("crowd"), QStringLiteral("0"));
  // The first image is on screen.
  QCOMPARE(page->browser()->currentImageId(), std::optional<qint64>(dataset.images.front().id));
}

void TestGuiDataset::canvasDrawsEveryAnnotationOfTheImage() {
  MainWindow window;
  openShapes(window);
  auto* browser = window.datasetPage()->browser();
  const studio::Dataset& dataset = window.document()->dataset();
  for (int row = 0; row < 3; ++row) {
    browser->showImage(dataset.images[std::size_t(row)].id);
    (void)browser->canvas()->grab();  // paints
    const auto& anns = dataset.annotations_of(dataset.images[std::size_t(row)].id);
    const int masks = int(std::count_if(anns.begin(), anns.end(),
                                        [&](std::size_t a) { return dataset.annotations[a].has_mask(); }));
    const ImageCanvas::DrawCounts drawn = browser->canvas()->lastDrawCounts();
    QVERIFY(!anns.empty());
    QCOMPARE(drawn.boxes, int(anns.size()));
    QCOMPARE(drawn.labels, int(anns.size()));
    QCOMPARE(drawn.masks, masks);
  }
  // Hiding the annotations draws none.
  browser->canvas()->setOverlayVisible(false);
  (void)browser->canvas()->grab();
  QCOMPARE(browser->canvas()->lastDrawCounts().boxes, 0);
}

void TestGuiDataset::maskPixelsAreTintedWithTheClassColour() {
  MainWindow window;
  openShapes(window);
  auto* canvas = window.datasetPage()->browser()->canvas();
  const studio::Dataset& dataset = window.document()->dataset();
  int probed = 0;
  for (const auto& image : dataset.images) {
    window.datasetPage()->browser()->showImage(image.id);
    canvas->setOverlayVisible(false);
    const QImage off = canvas->grab().toImage();
    canvas->setOverlayVisible(true);
    const QImage on = canvas->grab().toImage();
    for (std::size_t index : dataset.annotations_of(image.id)) {
      const studio::Annotation& ann = dataset.annotations[index];
      const std::optional<Probe> probe = probeMask(dataset, ann, *canvas, off, on);
      if (!probe) continue;  // a small or thin shape: another one will do
      const QColor tint = studio::ui::classColor(dataset.category_index(ann.category_id));
      const double alpha = blendAlpha(probe->on, probe->off, tint);
      QVERIFY2(std::abs(alpha - ImageCanvas::kMaskAlpha) < 0.08,
               qPrintable(QStringLiteral("annotation %1: pixel %2 moved %3 towards %4, expected %5")
                              .arg(ann.id)
                              .arg(probe->on.name(), QString::number(alpha), tint.name())
                              .arg(ImageCanvas::kMaskAlpha)));
      ++probed;
    }
    if (probed >= 5) break;
  }
  QVERIFY2(probed >= 5, "too few annotations with a measurable mask interior");
}

void TestGuiDataset::nextAndPreviousChangeTheImage() {
  MainWindow window;
  openShapes(window);
  auto* browser = window.datasetPage()->browser();
  const auto& images = window.document()->dataset().images;
  QCOMPARE(browser->currentRow(), 0);
  browser->next();
  QCOMPARE(browser->currentImageId(), std::optional<qint64>(images[1].id));
  // Keys over the canvas step too.
  QTest::keyClick(browser->canvas(), Qt::Key_Right);
  QCOMPARE(browser->currentImageId(), std::optional<qint64>(images[2].id));
  QTest::keyClick(browser->canvas(), Qt::Key_Left);
  browser->previous();
  QCOMPARE(browser->currentImageId(), std::optional<qint64>(images[0].id));
  // The ends stop rather than wrap.
  browser->previous();
  QCOMPARE(browser->currentRow(), 0);
  // The canvas follows: it draws the annotations of the image now current.
  browser->next();
  QCOMPARE(int(browser->canvas()->shapes().size()),
           int(window.document()->dataset().annotations_of(images[1].id).size()));
}

void TestGuiDataset::classFilterRestrictsBrowsing() {
  MainWindow window;
  openShapes(window);
  auto* browser = window.datasetPage()->browser();
  const studio::Dataset& dataset = window.document()->dataset();
  auto holds = [&](std::int64_t imageId, std::int64_t categoryId) {
    const auto& anns = dataset.annotations_of(imageId);
    return std::any_of(anns.begin(), anns.end(),
                       [&](std::size_t a) { return dataset.annotations[a].category_id == categoryId; });
  };
  // The rarest class, so the filter visibly removes images.
  std::int64_t category = 0;
  int fewest = int(dataset.images.size()) + 1;
  for (const auto& c : dataset.categories) {
    const int n = int(std::count_if(dataset.images.begin(), dataset.images.end(),
                                    [&](const studio::ImageInfo& i) { return holds(i.id, c.id); }));
    if (n > 0 && n < fewest) fewest = n, category = c.id;
  }
  QVERIFY(fewest < int(dataset.images.size()));

  // Through the combo box, as a user would.
  auto* combo = browser->classFilter();
  const int comboIndex = combo->findData(QVariant::fromValue<qint64>(category));
  QVERIFY(comboIndex > 0);
  combo->setCurrentIndex(comboIndex);
  QCOMPARE(browser->imageModel()->rowCount(), fewest);
  QVERIFY(holds(*browser->currentImageId(), category));
  int visited = 1;
  for (int guard = 0; guard < 100; ++guard) {
    const int before = browser->currentRow();
    browser->next();
    if (browser->currentRow() == before) break;
    QVERIFY(holds(*browser->currentImageId(), category));
    ++visited;
  }
  QCOMPARE(visited, fewest);

  combo->setCurrentIndex(0);
  QCOMPARE(browser->imageModel()->rowCount(), int(dataset.images.size()));
}

void TestGuiDataset::histogramHasOneBarPerClass() {
  MainWindow window;
  openShapes(window);
  const studio::Dataset& dataset = window.document()->dataset();
  auto* histogram = window.datasetPage()->histogram();
  QCOMPARE(histogram->barCount(), int(dataset.categories.size()));
  for (int i = 0; i < histogram->barCount(); ++i) {
    const auto& category = dataset.categories[std::size_t(i)];
    const auto count =
        std::count_if(dataset.annotations.begin(), dataset.annotations.end(),
                      [&](const studio::Annotation& a) { return a.category_id == category.id; });
    QCOMPARE(histogram->barLabel(i), QString::fromStdString(category.name));
    QCOMPARE(histogram->barValue(i), double(count));
  }
}

void TestGuiDataset::selectingAFindingHighlightsItsAnnotation() {
  // A copy of the set with one box pushed past the right border of its image.
  studio::Dataset broken = studio::read_coco(json_.toStdString(), images_.toStdString());
  broken.index();
  const studio::ImageInfo* target = nullptr;
  for (const auto& image : broken.images)
    if (broken.annotations_of(image.id).size() >= 2) {
      target = &image;
      break;
    }
  QVERIFY(target);
  const std::size_t faultyIndex = broken.annotations_of(target->id).front();
  studio::Annotation& faulty = broken.annotations[faultyIndex];
  faulty.bbox[0] = target->width - faulty.bbox[2] / 2;
  const qint64 faultyId = faulty.id;
  const QString brokenJson = dir_.filePath(QStringLiteral("broken.json"));
  studio::write_coco(broken, brokenJson.toStdString());

  MainWindow window;
  openShapes(window, brokenJson);
  auto* page = window.datasetPage();
  auto* document = window.document();
  auto* browser = page->browser();
  QCOMPARE(page->findings()->table()->model()->rowCount(), 0);

  // Measure a neighbour's mask tint before the highlight, to see it dimmed afterwards.
  const studio::Dataset& dataset = document->dataset();
  browser->showImage(target->id);
  auto* canvas = browser->canvas();
  canvas->setOverlayVisible(false);
  const QImage off = canvas->grab().toImage();
  canvas->setOverlayVisible(true);
  const QImage on = canvas->grab().toImage();
  std::optional<Probe> neighbour;
  const studio::Annotation* neighbourAnn = nullptr;
  for (std::size_t index : dataset.annotations_of(target->id)) {
    if (dataset.annotations[index].id == faultyId) continue;
    neighbour = probeMask(dataset, dataset.annotations[index], *canvas, off, on);
    if (neighbour) {
      neighbourAnn = &dataset.annotations[index];
      break;
    }
  }
  browser->showImage(dataset.images.back().id != target->id ? dataset.images.back().id
                                                            : dataset.images.front().id);

  page->checkAnnotations();
  QTRY_VERIFY_WITH_TIMEOUT(document->checkReport() != nullptr && !document->isBusy(), kLoadTimeoutMs);
  auto* table = page->findings()->table();
  QVERIFY(table->model()->rowCount() > 0);
  QCOMPARE(table->model()->rowCount(), int(document->checkReport()->findings.size()));
  // COCO records no file and line for its annotations: no empty "Where" column.
  QVERIFY(table->isColumnHidden(studio::ui::FindingsModel::SourceColumn));

  // Only that code, then click its row.
  auto* codes = page->findings()->codeFilter();
  const int codeIndex = codes->findData(QStringLiteral("bbox_out_of_bounds"));
  QVERIFY(codeIndex > 0);
  codes->setCurrentIndex(codeIndex);
  int row = -1;
  for (int r = 0; r < table->model()->rowCount(); ++r) {
    const QModelIndex index = table->model()->index(r, 0);
    QCOMPARE(index.data(studio::ui::FindingsModel::CodeRole).toString(),
             QStringLiteral("bbox_out_of_bounds"));
    if (index.data(studio::ui::FindingsModel::AnnotationIdRole).value<qint64>() == faultyId) row = r;
  }
  QVERIFY(row >= 0);
  const QModelIndex cell = table->model()->index(row, studio::ui::FindingsModel::MessageColumn);
  table->scrollTo(cell);
  QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, table->visualRect(cell).center());

  QCOMPARE(browser->currentImageId(), std::optional<qint64>(target->id));
  QCOMPARE(canvas->highlightedAnnotation(), std::optional<qint64>(faultyId));
  saveShot(window, "finding_highlighted");
  const QImage highlighted = canvas->grab().toImage();
  QCOMPARE(canvas->lastDrawCounts().boxes, int(dataset.annotations_of(target->id).size()));
  if (neighbour) {
    const QColor tint = studio::ui::classColor(dataset.category_index(neighbourAnn->category_id));
    const double before = blendAlpha(neighbour->on, neighbour->off, tint);
    const double after = blendAlpha(highlighted.pixelColor(neighbour->widget), neighbour->off, tint);
    QVERIFY2(after < before - 0.2,
             qPrintable(QStringLiteral("neighbour tint %1 -> %2").arg(before).arg(after)));
  }

  // Sorting by annotation id keeps every row (the proxy only reorders).
  const int rows = table->model()->rowCount();
  table->sortByColumn(studio::ui::FindingsModel::AnnotationColumn, Qt::DescendingOrder);
  QCOMPARE(table->model()->rowCount(), rows);
  // Warnings only: every row is a warning.
  codes->setCurrentIndex(0);
  page->findings()->severityFilter()->setCurrentIndex(2);
  for (int r = 0; r < table->model()->rowCount(); ++r)
    QCOMPARE(table->model()->index(r, 0).data(studio::ui::FindingsModel::SeverityRole).toInt(),
             int(studio::Severity::Warning));
}

// A TXT list's findings say where the record is written: the "Where" column shows the list's
// name and line (the full path in its tooltip), sorts by line as a number, and selecting the
// finding still shows its box on its image.
void TestGuiDataset::txtFindingsShowTheirListLine() {
  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  // Images 0..9 on list lines 2..11 (line 1 is a comment); 64x48 each. Image 2's second box ends
  // at x 90 (26 px past the right edge), image 9's box at y 60 (12 px past the bottom), and line
  // 12 names an image that is not there.
  std::string list = "# file x1,y1,x2,y2,cls\n";
  for (int k = 0; k < 10; ++k) {
    const QString name = QStringLiteral("img%1.png").arg(k);
    QImage image(64, 48, QImage::Format_RGB32);
    image.fill(QColor(30 + 20 * k, 90, 140));
    QVERIFY(image.save(dir.filePath(name)));
    list += name.toStdString() + " 4,4,20,20,0";
    if (k == 2) list += " 40,10,90,40,1";
    if (k == 9) list += " 30,20,50,60,1";
    list += "\n";
  }
  list += "gone.png 1,1,5,5,0\n";
  const std::string listPath = studio::test::write_text(dir, "list.txt", list);
  const std::string names = studio::test::write_text(dir, "names.txt", "circle\nsquare\n");

  MainWindow window;
  window.resize(1280, 800);
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  auto* document = window.document();
  QVERIFY(document->open(txtSpec(listPath, dir.path().toStdString(), names)));
  QTRY_VERIFY_WITH_TIMEOUT(document->hasDataset() && !document->isBusy(), kLoadTimeoutMs);
  auto* page = window.datasetPage();
  page->checkAnnotations();
  QTRY_VERIFY_WITH_TIMEOUT(document->checkReport() != nullptr && !document->isBusy(), kLoadTimeoutMs);

  auto* table = page->findings()->table();
  QVERIFY(!table->isColumnHidden(studio::ui::FindingsModel::SourceColumn));
  QCOMPARE(table->model()->headerData(studio::ui::FindingsModel::SourceColumn, Qt::Horizontal).toString(),
           QStringLiteral("Where"));
  // Each finding's row, by code and list line, as the checker reported it.
  struct Expected {
    const char* code;
    int line;
  };
  const Expected expected[] = {{"bbox_out_of_bounds", 4}, {"bbox_out_of_bounds", 11}, {"missing_file", 12}};
  const QString listFile = QString::fromStdString(listPath);
  for (const Expected& e : expected) {
    const QString source = QStringLiteral("%1:%2").arg(listFile).arg(e.line);
    int row = -1;
    for (int r = 0; r < table->model()->rowCount(); ++r)
      if (table->model()->index(r, 0).data(studio::ui::FindingsModel::CodeRole).toString() ==
              QLatin1String(e.code) &&
          table->model()->index(r, 0).data(studio::ui::FindingsModel::SourceRole).toString() == source)
        row = r;
    QVERIFY2(row >= 0, qPrintable(QStringLiteral("no %1 finding at %2").arg(e.code, source)));
    const QModelIndex where = table->model()->index(row, studio::ui::FindingsModel::SourceColumn);
    QCOMPARE(where.data().toString(), QStringLiteral("list.txt:%1").arg(e.line));
    QCOMPARE(where.data(Qt::ToolTipRole).toString(), source);
    const QModelIndex message = table->model()->index(row, studio::ui::FindingsModel::MessageColumn);
    QVERIFY2(message.data(Qt::ToolTipRole).toString().endsWith(QStringLiteral("at ") + source),
             qPrintable(message.data(Qt::ToolTipRole).toString()));
  }

  // By place: line 4 before line 11 before line 12 (as numbers, not as text).
  table->sortByColumn(studio::ui::FindingsModel::SourceColumn, Qt::AscendingOrder);
  QStringList places;
  for (int r = 0; r < table->model()->rowCount(); ++r) {
    const QString text = table->model()->index(r, studio::ui::FindingsModel::SourceColumn).data().toString();
    if (!text.isEmpty()) places << text;
  }
  const int at4 = places.indexOf(QStringLiteral("list.txt:4"));
  const int at11 = places.indexOf(QStringLiteral("list.txt:11"));
  const int at12 = places.indexOf(QStringLiteral("list.txt:12"));
  QVERIFY2(at4 >= 0 && at4 < at11 && at11 < at12, qPrintable(places.join(QLatin1String(", "))));

  // Selecting the box past the right edge shows it on its image.
  const QModelIndex cell = table->model()->index(at4, studio::ui::FindingsModel::SourceColumn);
  table->scrollTo(cell);
  QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, table->visualRect(cell).center());
  const studio::Dataset& dataset = document->dataset();
  QCOMPARE(page->browser()->currentImageId(), std::optional<qint64>(dataset.images[2].id));
  QVERIFY(page->browser()->canvas()->highlightedAnnotation().has_value());
  saveShot(window, "findings_txt_where");
}

void TestGuiDataset::badCocoFileShowsTheReadersError() {
  MainWindow window;
  openShapes(window);
  auto* document = window.document();
  const std::size_t imagesBefore = document->dataset().images.size();

  const std::string bad = studio::test::write_text(
      dir_, "bad.json",
      "{\"images\": [{\"id\": 1, \"file_name\": 7, \"width\": 4, \"height\": 4}], \"annotations\": [], "
      "\"categories\": []}");
  std::string expected;
  try {
    (void)studio::read_coco(bad, images_.toStdString());
  } catch (const studio::Error& e) {
    expected = e.what();
  }
  QVERIFY2(!expected.empty(), "the reader accepted a file_name that is a number");

  studio::ui::ImportDialog dialog(document);
  dialog.setCoco(QString::fromStdString(bad), images_);
  QVERIFY(dialog.openDataset());
  QVERIFY(dialog.isLoading());
  QTRY_VERIFY_WITH_TIMEOUT(!dialog.isLoading(), kLoadTimeoutMs);
  QCOMPARE(dialog.errorText(), QString::fromStdString(expected));
  QVERIFY(dialog.errorText().contains(QStringLiteral("bad.json")));
  saveShot(dialog, "import_dialog_error");
  // The open dataset stays.
  QVERIFY(document->hasDataset());
  QCOMPARE(document->dataset().images.size(), imagesBefore);
  QCOMPARE(dialog.result(), int(QDialog::Rejected));
}

void TestGuiDataset::importDialogValidatesItsInputs() {
  studio::ui::DatasetDocument document;
  studio::ui::ImportDialog dialog(&document);
  QString problem;

  dialog.setCoco(dir_.filePath(QStringLiteral("missing.json")), images_);
  QVERIFY(!dialog.openDataset());
  QVERIFY(dialog.errorText().contains(QStringLiteral("does not exist")));
  QVERIFY(!document.isBusy());

  dialog.setCoco(json_, dir_.filePath(QStringLiteral("no-such-folder")));
  QVERIFY(!dialog.spec(&problem));
  QVERIFY(problem.contains(QStringLiteral("image folder")));

  dialog.setVoc({dir_.path()}, QStringLiteral("trainval"));
  QVERIFY(!dialog.spec(&problem));
  QVERIFY(problem.contains(QStringLiteral("Annotations")));

  dialog.setTxt(json_, images_, dir_.filePath(QStringLiteral("names.txt")));
  QVERIFY(!dialog.spec(&problem));
  QVERIFY(problem.contains(QStringLiteral("names file")));

  // A VOC folder with a names file of its own classes (what the SSD recipes read): a missing
  // names file is named; an existing one goes into the spec.
  QTemporaryDir voc;
  QVERIFY(QDir(voc.path()).mkpath(QStringLiteral("Annotations")));
  QVERIFY(QDir(voc.path()).mkpath(QStringLiteral("ImageSets/Main")));
  studio::test::write_text(voc, "ImageSets/Main/trainval.txt", "a\n");
  dialog.setVoc({voc.path()}, QStringLiteral("trainval"), voc.filePath(QStringLiteral("names.txt")));
  QVERIFY(!dialog.spec(&problem));
  QVERIFY2(problem.contains(QStringLiteral("names file")), qPrintable(problem));
  const std::string vocNames = studio::test::write_text(voc, "names.txt", "circle\nsquare\n");
  const std::optional<studio::DatasetSpec> vocSpec = dialog.spec(&problem);
  QVERIFY2(vocSpec, qPrintable(problem));
  QCOMPARE(QString::fromStdString(vocSpec->names), QString::fromStdString(vocNames));
  saveShot(dialog, "import_dialog_voc_names");
  dialog.setVoc({voc.path()}, QStringLiteral("trainval"));
  QVERIFY(dialog.spec(&problem)->names.empty());

  // A good COCO pair opens and closes the dialog.
  dialog.setCoco(json_, images_);
  QVERIFY(dialog.spec(&problem));
  QVERIFY(dialog.openDataset());
  QTRY_VERIFY_WITH_TIMEOUT(!dialog.isLoading(), kLoadTimeoutMs);
  QCOMPARE(dialog.result(), int(QDialog::Accepted));
  QVERIFY(document.hasDataset());
}

void TestGuiDataset::demoButtonOpensTheDemo() {
  MainWindow window;
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  auto* page = window.datasetPage();
  QVERIFY(page->showsWelcome());
  QVERIFY(page->demoButton()->isVisible());
  saveShot(window, "welcome");
  QTest::mouseClick(page->demoButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(window.document()->hasDataset() && !window.document()->isBusy(), kLoadTimeoutMs);
  QVERIFY(!page->showsWelcome());
  QCOMPARE(int(window.document()->dataset().images.size()), studio::ui::DatasetDocument::kDemoImages);
  QVERIFY(QFileInfo::exists(studio::ui::DatasetDocument::defaultDemoFolder() + "/annotations.json"));
  QVERIFY(studio::ui::DatasetDocument::defaultDemoFolder().startsWith(dir_.path()));
  (void)page->browser()->canvas()->grab();
  QVERIFY(page->browser()->canvas()->lastDrawCounts().masks > 0);
  QVERIFY(page->errorText().isEmpty());
}

void TestGuiDataset::missingImageIsDrawnAsAStandIn() {
  // A TXT list naming an image that is not there: the boxes are still worth looking at.
  QTemporaryDir dir;
  const std::string list =
      studio::test::write_text(dir, "list.txt", "gone.jpg 20,30,200,180,1 40,40,90,90,0\n");
  MainWindow window;
  window.resize(1280, 800);
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  QVERIFY(window.document()->open(txtSpec(list, dir.path().toStdString())));
  QTRY_VERIFY_WITH_TIMEOUT(window.document()->hasDataset() && !window.document()->isBusy(), kLoadTimeoutMs);
  auto* canvas = window.datasetPage()->browser()->canvas();
  const QImage shot = canvas->grab().toImage();
  QCOMPARE(canvas->lastDrawCounts().boxes, 2);
  QCOMPARE(canvas->lastDrawCounts().labels, 2);
  // The stand-in is grey where no box is drawn.
  const QColor standIn = shot.pixelColor(canvas->imageToWidget(QPointF(195, 20)).toPoint());
  QCOMPARE(standIn.red(), standIn.green());
  QCOMPARE(standIn.green(), standIn.blue());
  saveShot(window, "missing_image");
}

void TestGuiDataset::backgroundJobCancels() {
  studio::ui::BackgroundJob job;
  QSignalSpy cancelled(&job, &studio::ui::BackgroundJob::cancelled);
  QSignalSpy succeeded(&job, &studio::ui::BackgroundJob::succeeded);
  QSignalSpy progress(&job, &studio::ui::BackgroundJob::progress);
  std::atomic<bool> started{false};
  bool applied = false;
  QVERIFY(job.start(
      [&](const studio::Progress& p) {
        p(0, 10, "waiting");
        started = true;
        for (;;) {
          p.check_cancel();
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      },
      [&] { applied = true; }));
  QVERIFY(job.isRunning());
  QVERIFY(!job.start([](const studio::Progress&) {}));  // one at a time
  QTRY_VERIFY(started.load());
  job.cancel();
  QTRY_COMPARE(cancelled.count(), 1);
  QCOMPARE(succeeded.count(), 0);
  QVERIFY(!applied);
  QVERIFY(!job.isRunning());
  QTRY_VERIFY(progress.count() >= 1);
  QCOMPARE(progress.first().at(2).toString(), QStringLiteral("waiting"));
}

void TestGuiDataset::everyStageShowsItsWorkingPage() {
  MainWindow window;
  QStackedWidget* pages = window.findChild<QStackedWidget*>(QStringLiteral("stagePages"));
  QVERIFY(pages != nullptr);
  QCOMPARE(pages->count(), 5);
  const char* expected[] = {"studio::ui::DatasetPage", "studio::ui::TrainPage", "studio::ui::EvaluatePage",
                            "studio::ui::InspectPage", "studio::ui::ResultsPage"};
  int stageIndex = 0;
  for (auto stage : {MainWindow::DatasetStage, MainWindow::TrainStage, MainWindow::EvaluateStage,
                     MainWindow::InspectStage, MainWindow::ResultsStage}) {
    window.showStage(stage);
    QCOMPARE(window.currentStage(), stage);
    QCOMPARE(QString::fromLatin1(pages->currentWidget()->metaObject()->className()),
             QString::fromLatin1(expected[stageIndex++]));
  }
  // No stage is a placeholder any more: the Train and Inspect pages replaced theirs.
  for (const QLabel* label : window.findChildren<QLabel*>())
    QVERIFY2(!label->text().contains(QStringLiteral("comes in a later release")),
             qPrintable(label->text()));
  window.showStage(MainWindow::DatasetStage);
  QCOMPARE(window.currentStage(), MainWindow::DatasetStage);
}

QTEST_MAIN(TestGuiDataset)
#include "test_gui_dataset.moc"
