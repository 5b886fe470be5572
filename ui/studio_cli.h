#pragma once

#include <QString>

namespace studio::ui {

// The studio-cli executable the GUI runs for training, inference and device queries:
// $STUDIO_CLI when set, else next to this program (or ../app/ when run from a build folder),
// else the first one on PATH. Empty when none is found.
QString findStudioCli();

}  // namespace studio::ui
