#include "image_list_model.h"

#include <QFileInfo>
#include <algorithm>

#include "dataset_document.h"

namespace studio::ui {

ImageListModel::ImageListModel(DatasetDocument* document, QObject* parent)
    : QAbstractListModel(parent), document_(document) {
  connect(document_, &DatasetDocument::datasetChanged, this, [this] {
    // A category id of the old dataset means nothing in the new one.
    category_.reset();
    rebuild();
  });
  rebuild();
}

int ImageListModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

QVariant ImageListModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const studio::Dataset& dataset = document_->dataset();
  const studio::ImageInfo& image = dataset.images[rows_[static_cast<std::size_t>(index.row())]];
  switch (role) {
    case Qt::DisplayRole: {
      const auto count = dataset.annotations_of(image.id).size();
      // VOC file names are whole paths; the list only has room for the last part.
      return tr("%1  (%2)").arg(QFileInfo(QString::fromStdString(image.file_name)).fileName()).arg(count);
    }
    case Qt::ToolTipRole:
      return tr("%1\nid %2, %3 x %4 pixels, %5 annotations")
          .arg(QString::fromStdString(dataset.image_path(image)))
          .arg(image.id)
          .arg(image.width)
          .arg(image.height)
          .arg(dataset.annotations_of(image.id).size());
    case ImageIdRole:
      return QVariant::fromValue<qint64>(image.id);
    case ImageIndexRole:
      return QVariant::fromValue<qint64>(static_cast<qint64>(rows_[static_cast<std::size_t>(index.row())]));
    default:
      return {};
  }
}

void ImageListModel::setCategoryFilter(std::optional<std::int64_t> categoryId) {
  if (categoryId == category_) return;
  category_ = categoryId;
  rebuild();
}

int ImageListModel::rowOfImage(std::int64_t imageId) const {
  if (!document_->hasDataset()) return -1;
  const auto& images = document_->dataset().images;
  for (std::size_t row = 0; row < rows_.size(); ++row)
    if (images[rows_[row]].id == imageId) return static_cast<int>(row);
  return -1;
}

std::int64_t ImageListModel::imageIdAt(int row) const {
  return document_->dataset().images[rows_.at(static_cast<std::size_t>(row))].id;
}

void ImageListModel::rebuild() {
  beginResetModel();
  rows_.clear();
  if (document_->hasDataset()) {
    const studio::Dataset& dataset = document_->dataset();
    rows_.reserve(dataset.images.size());
    for (std::size_t i = 0; i < dataset.images.size(); ++i) {
      if (category_) {
        const auto& anns = dataset.annotations_of(dataset.images[i].id);
        const bool holds = std::any_of(anns.begin(), anns.end(), [&](std::size_t a) {
          return dataset.annotations[a].category_id == *category_;
        });
        if (!holds) continue;
      }
      rows_.push_back(i);
    }
  }
  endResetModel();
}

}  // namespace studio::ui
