#pragma once
// Steps through the dataset's images with their ground truth drawn over them: a list to jump
// to, previous/next, a class filter that limits browsing to images holding that class, and the
// canvas. The findings table uses showImage() to open an image with one annotation highlighted.
#include <QWidget>
#include <optional>

class QCheckBox;
class QComboBox;
class QLabel;
class QListView;
class QToolButton;

namespace studio::ui {

class DatasetDocument;
class ImageCanvas;
class ImageListModel;

class ImageBrowser : public QWidget {
  Q_OBJECT

 public:
  explicit ImageBrowser(DatasetDocument* document, QWidget* parent = nullptr);

  // Opens the image (clearing the class filter when it hides the image) and highlights the
  // annotation, if given. Returns false for an image id the dataset does not have.
  bool showImage(qint64 imageId, std::optional<qint64> highlightAnnotation = {});
  [[nodiscard]] std::optional<qint64> currentImageId() const;
  // Row of the current image among the browsed (filtered) images, -1 when none.
  [[nodiscard]] int currentRow() const;

  // nullopt: all classes. Also selects the matching entry of the class combo box.
  void setCategoryFilter(std::optional<qint64> categoryId);

  [[nodiscard]] ImageCanvas* canvas() const { return canvas_; }
  [[nodiscard]] ImageListModel* imageModel() const { return model_; }
  [[nodiscard]] QComboBox* classFilter() const { return classCombo_; }

 public slots:
  void next();
  void previous();

 signals:
  void currentImageChanged(qint64 imageId);

 private:
  void onDatasetChanged();
  void onClassComboChanged(int comboIndex);
  void setCurrentRow(int row);
  void showCurrent();
  void updateStatus();

  DatasetDocument* document_;
  ImageListModel* model_;
  QComboBox* classCombo_;
  QToolButton* previousButton_;
  QToolButton* nextButton_;
  QLabel* positionLabel_;
  QCheckBox* overlayCheck_;
  QToolButton* fitButton_;
  QListView* list_;
  ImageCanvas* canvas_;
  QLabel* statusLabel_;
  std::optional<qint64> shownImage_;
};

}  // namespace studio::ui
