#pragma once
// A path entry with a "Browse…" button: a file to open or a folder.
#include <QWidget>

class QLineEdit;

namespace studio::ui {

class PathField : public QWidget {
  Q_OBJECT

 public:
  enum class Kind { File, Folder };

  // `filter` is a QFileDialog name filter, used for files ("COCO JSON (*.json)").
  PathField(Kind kind, const QString& caption, const QString& filter = {}, QWidget* parent = nullptr);

  [[nodiscard]] QString path() const;  // trimmed
  void setPath(const QString& path);
  void setPlaceholderText(const QString& text);
  [[nodiscard]] QLineEdit* lineEdit() const { return edit_; }

 signals:
  void pathChanged(const QString& path);

 private:
  void browse();

  Kind kind_;
  QString caption_;
  QString filter_;
  QLineEdit* edit_;
};

}  // namespace studio::ui
