#include "studio_cli.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace studio::ui {

QString findStudioCli() {
  const QString fromEnv = qEnvironmentVariable("STUDIO_CLI");
  if (!fromEnv.isEmpty()) return fromEnv;
  const QDir appDir(QCoreApplication::applicationDirPath());
  for (const QString& candidate : {appDir.filePath(QStringLiteral("studio-cli")),
                                   appDir.filePath(QStringLiteral("../app/studio-cli"))}) {
    const QFileInfo info(candidate);
    if (info.isFile() && info.isExecutable()) return info.canonicalFilePath();
  }
  return QStandardPaths::findExecutable(QStringLiteral("studio-cli"));
}

}  // namespace studio::ui
