#include "dataset_argument.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QStringList>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/run_folder.h"
#include "data/coco_io.h"
#include "dataset_document.h"

namespace studio::ui {

namespace {

QString absolute(const std::string& path) {
  return path.empty() ? QString()
                      : QDir::cleanPath(QFileInfo(QString::fromStdString(path)).absoluteFilePath());
}

// Single-quoted YAML: every character stands for itself but the quote, which is doubled, so any
// path reads back as written (a plain scalar would turn "no", "1e3" or "a: b" into something else).
QString quoted(const QString& text) {
  QString out = text;
  out.replace(QLatin1Char('\''), QStringLiteral("''"));
  return QLatin1Char('\'') + out + QLatin1Char('\'');
}

const char* formatKey(studio::DatasetFormat format) {
  switch (format) {
    case studio::DatasetFormat::Coco:
      return "coco";
    case studio::DatasetFormat::Voc:
      return "voc";
    case studio::DatasetFormat::Txt:
      return "txt";
    case studio::DatasetFormat::Synthetic:
      break;
  }
  return "synthetic";
}

}  // namespace

QString exactDatasetToken(const studio::DatasetSpec& spec) {
  QStringList parts{QLatin1String(formatKey(spec.format))};
  switch (spec.format) {
    case studio::DatasetFormat::Coco:
      parts << absolute(spec.annotations) << absolute(spec.images);
      break;
    case studio::DatasetFormat::Voc: {
      // voc:ROOT:SPLIT reads the standard classes: a names file or found classes need a YAML.
      if (!spec.names.empty() || !spec.voc_standard_classes || spec.roots.empty()) return {};
      QStringList roots;
      for (const std::string& root : spec.roots) {
        roots << absolute(root);
        if (roots.back().contains(QLatin1Char('+'))) return {};  // '+' joins the roots
      }
      parts << roots.join(QLatin1Char('+')) << QString::fromStdString(spec.split);
      break;
    }
    case studio::DatasetFormat::Txt:
      parts << absolute(spec.annotations) << absolute(spec.images);
      if (!spec.names.empty()) parts << absolute(spec.names);
      break;
    case studio::DatasetFormat::Synthetic:
      return {};
  }
  for (int i = 1; i < parts.size(); ++i)
    if (parts[i].isEmpty() || parts[i].contains(QLatin1Char(':'))) return {};
  return parts.join(QLatin1Char(':'));
}

QString datasetYaml(const studio::DatasetSpec& spec, const QString& comment) {
  QStringList lines;
  for (const QString& line : comment.split(QLatin1Char('\n')))
    lines << QStringLiteral("# %1").arg(line).trimmed();
  lines << QStringLiteral("format: %1").arg(QLatin1String(formatKey(spec.format)));
  switch (spec.format) {
    case studio::DatasetFormat::Coco:
      lines << QStringLiteral("annotations: %1").arg(quoted(absolute(spec.annotations)));
      lines << QStringLiteral("images: %1").arg(quoted(absolute(spec.images)));
      break;
    case studio::DatasetFormat::Voc:
      lines << QStringLiteral("roots:");
      for (const std::string& root : spec.roots)
        lines << QStringLiteral("  - %1").arg(quoted(absolute(root)));
      lines << QStringLiteral("split: %1").arg(quoted(QString::fromStdString(spec.split)));
      // A names file fixes the classes itself (the YAML reader refuses both keys together).
      if (!spec.names.empty())
        lines << QStringLiteral("names: %1").arg(quoted(absolute(spec.names)));
      else
        lines << QStringLiteral("standard_classes: %1")
                     .arg(spec.voc_standard_classes ? QLatin1String("true") : QLatin1String("false"));
      break;
    case studio::DatasetFormat::Txt:
      lines << QStringLiteral("annotations: %1").arg(quoted(absolute(spec.annotations)));
      lines << QStringLiteral("images: %1").arg(quoted(absolute(spec.images)));
      if (!spec.names.empty()) lines << QStringLiteral("names: %1").arg(quoted(absolute(spec.names)));
      break;
    case studio::DatasetFormat::Synthetic:
      break;
  }
  return lines.join(QLatin1Char('\n')) + QLatin1Char('\n');
}

QString writeDatasetYaml(const studio::DatasetSpec& spec, const QString& folder) {
  const QString text = datasetYaml(
      spec,
      QStringLiteral("The dataset open in the studio, %1,\nwritten for studio-cli (paths are absolute).")
          .arg(QString::fromStdString(spec.describe())));
  // Named after what it holds and its content, so two datasets never share a file and the same
  // one is written once.
  QString stem;
  switch (spec.format) {
    case studio::DatasetFormat::Voc:
      stem = spec.roots.empty() ? QStringLiteral("voc")
                                : QFileInfo(absolute(spec.roots.front())).fileName() + QLatin1Char('-') +
                                      QString::fromStdString(spec.split);
      break;
    default:
      stem = QFileInfo(QString::fromStdString(spec.annotations)).completeBaseName();
      break;
  }
  stem.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9_.-]")), QStringLiteral("_"));
  const QString hash =
      QString::fromLatin1(QCryptographicHash::hash(text.toUtf8(), QCryptographicHash::Sha1).toHex().left(10));
  const QString path = QDir(folder).filePath(
      QStringLiteral("%1-%2-%3.yaml").arg(QLatin1String(formatKey(spec.format)), stem, hash));
  if (!QDir().mkpath(folder))
    throw studio::Error(folder.toStdString() + ": cannot create the folder for the dataset YAML");
  studio::write_file_atomic(path.toStdString(), text.toStdString());
  return path;
}

QString defaultDatasetYamlFolder() {
  QString base = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation);
  if (base.isEmpty() || !QDir().mkpath(base) || !QFileInfo(base).isWritable())
    base = QDir(QDir::tempPath()).filePath(QStringLiteral("studio"));
  return QDir(base).filePath(QStringLiteral("datasets"));
}

QStringList inferDatasetArguments(const DatasetDocument& document, const QString& folder, const QString& stem) {
  const studio::Dataset& ds = document.dataset();
  if (const std::optional<studio::DatasetSpec>& spec = document.spec()) {
    const QString token = exactDatasetToken(*spec);
    return {token.isEmpty() ? writeDatasetYaml(*spec, folder) : token};
  }
  bool token = false;
  try {
    (void)studio::parse_dataset_token(document.description().toStdString());
    token = true;
  } catch (const std::exception&) {
  }
  if (token) return {document.description()};
  const QString gtPath = QDir(folder).filePath(stem + QStringLiteral("-gt.json"));
  studio::write_coco(ds, gtPath.toStdString());
  return {QStringLiteral("--coco"), gtPath, QStringLiteral("--images"), QString::fromStdString(ds.image_root)};
}

QString predictionsFileName(const QString& checkpointPath, const QString& recipePath, const DatasetDocument& document) {
  const QFileInfo checkpoint(checkpointPath), recipe(recipePath);
  const studio::Dataset& ds = document.dataset();
  QCryptographicHash hash(QCryptographicHash::Sha1);
  for (const QString& part :
       {checkpoint.absoluteFilePath(), QString::number(checkpoint.lastModified().toMSecsSinceEpoch()),
        QString::number(checkpoint.size()), recipe.absoluteFilePath(),
        QString::number(recipe.lastModified().toMSecsSinceEpoch()), document.description(),
        QString::number(ds.images.size()), QString::number(ds.annotations.size())})
    hash.addData(part.toUtf8() + '\n');
  // The description leaves a VOC names file out.
  if (document.spec() && !document.spec()->names.empty())
    hash.addData(QByteArray::fromStdString(document.spec()->names) + '\n');
  return QStringLiteral("%1-%2.json")
      .arg(checkpoint.completeBaseName(), QString::fromLatin1(hash.result().toHex().left(12)));
}

QString runFolderOfCheckpoint(const QString& checkpoint) {
  QDir dir = QFileInfo(checkpoint).absoluteDir();
  if (dir.dirName() == QLatin1String(studio::kCheckpointsDirName)) dir.cdUp();
  return dir.path();
}

QString runRecipeOfCheckpoint(const QString& checkpoint) {
  const QString config =
      QString::fromStdString(studio::RunFolder{runFolderOfCheckpoint(checkpoint).toStdString()}.config());
  return QFileInfo(config).isFile() ? config : QString();
}

}  // namespace studio::ui
