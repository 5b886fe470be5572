#pragma once
// How the studio names an open dataset to studio-cli (train's --train-data, infer's dataset): the
// one-token form when it says everything the dataset was read with, else a dataset YAML file
// (dataset_spec.h's keys), which can say all of it. voc:ROOT:SPLIT has no place for a names file
// or standard_classes: false, and no token can hold a path with ':' (its separator).
#include <QString>
#include <QStringList>

#include "data/dataset_spec.h"

namespace studio::ui {

class DatasetDocument;

// The token naming `spec` exactly (coco:ANN:IMAGES, voc:ROOT[+ROOT]:SPLIT, txt:LIST:IMAGES[:NAMES]),
// paths made absolute (studio-cli may run elsewhere); empty when no token can name it.
[[nodiscard]] QString exactDatasetToken(const studio::DatasetSpec& spec);

// `spec` as a dataset YAML: a `# comment` line, then format and the format's keys, paths absolute
// (a dataset YAML's relative paths are relative to the file, wherever it is written).
[[nodiscard]] QString datasetYaml(const studio::DatasetSpec& spec, const QString& comment);

// Writes datasetYaml(spec) atomically to `folder`/<format>-<name>-<hash>.yaml (the same dataset
// gives the same file, so opening it again reuses it) and returns its path. Throws studio::Error
// naming the file when the folder cannot be made or the file written.
QString writeDatasetYaml(const studio::DatasetSpec& spec, const QString& folder);

// The folder writeDatasetYaml() writes to by default: <AppLocalDataLocation>/datasets, or a folder
// under the temp dir when that is not writable.
[[nodiscard]] QString defaultDatasetYamlFolder();

// The open dataset as `studio-cli infer` takes it: its exact token; else a dataset YAML written to
// `folder` (a token would drop a names file the dataset was read with); else, for a dataset read
// elsewhere (imported), the dataset written as COCO JSON to `folder`/<stem>-gt.json and given as
// --coco/--images. Throws (std::exception) when a file cannot be written.
[[nodiscard]] QStringList inferDatasetArguments(const DatasetDocument& document, const QString& folder,
                                                const QString& stem);

// The file name for the predictions of `checkpoint` with `recipe` on the open dataset:
// <checkpoint stem>-<12 hex>.json, the hash over the checkpoint's path, time and size (last.pt
// rewritten is another version), the recipe's path and time, and the dataset (its description,
// counts and names file: another names file gives other class ids).
[[nodiscard]] QString predictionsFileName(const QString& checkpoint, const QString& recipe,
                                          const DatasetDocument& document);

// The run folder of a checkpoint (runs/NAME/checkpoints/x.pt -> runs/NAME) and the recipe it was
// trained with there (its config.yaml; empty when there is none).
[[nodiscard]] QString runFolderOfCheckpoint(const QString& checkpoint);
[[nodiscard]] QString runRecipeOfCheckpoint(const QString& checkpoint);

}  // namespace studio::ui
