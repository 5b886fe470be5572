#pragma once
// The images of the open dataset as a list, optionally only those holding a given class: what
// the image browser steps through and jumps within.
#include <QAbstractListModel>
#include <cstdint>
#include <optional>
#include <vector>

namespace studio::ui {

class DatasetDocument;

class ImageListModel : public QAbstractListModel {
  Q_OBJECT

 public:
  enum Role { ImageIdRole = Qt::UserRole + 1, ImageIndexRole };

  explicit ImageListModel(DatasetDocument* document, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

  // Only images with at least one annotation of this category; nullopt: every image.
  void setCategoryFilter(std::optional<std::int64_t> categoryId);
  [[nodiscard]] std::optional<std::int64_t> categoryFilter() const { return category_; }

  // Row of an image (-1 when it is filtered out or unknown).
  [[nodiscard]] int rowOfImage(std::int64_t imageId) const;
  [[nodiscard]] std::int64_t imageIdAt(int row) const;

 private:
  void rebuild();

  DatasetDocument* document_;
  std::optional<std::int64_t> category_;
  std::vector<std::size_t> rows_;  // positions in Dataset::images
};

}  // namespace studio::ui
