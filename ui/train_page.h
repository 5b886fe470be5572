#pragma once
// The Train stage: a recipe (configs/ or the user's own YAML), a dataset (the open one by
// default) and a form of the common settings; the resolved recipe is shown as YAML and can be
// saved. Start runs `studio-cli train` as a separate process (a crash there never takes the studio
// down), Stop ends it cleanly (SIGTERM: the trainer writes last.pt), Resume continues it.
// The run folder is followed (RunFollower) into live charts (TrainingPlot), a progress bar with
// ETA and a log pane. Runs started elsewhere (the command line, an earlier session) can be opened
// and followed the same way, and several runs drawn together for comparison.
#include <QProcess>
#include <QStringList>
#include <QWidget>
#include <memory>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTimer;

namespace studio::ui {

class DatasetDocument;
class PathField;
class RunFollower;
class TrainingPlot;
struct RunEvent;

class TrainPage : public QWidget {
  Q_OBJECT

 public:
  explicit TrainPage(DatasetDocument* document, QWidget* parent = nullptr);
  ~TrainPage() override;

  // Folders searched for recipes: configs/ next to the application and up to three folders up
  // (the source tree for a build folder), then the working directory's.
  static QString recipeFolder();

  // Selects the recipe (adds it to the list when it is not there) and fills the form from it.
  void setRecipe(const QString& path);
  [[nodiscard]] QString recipe() const;
  // The form's values as recipe overrides ("train.epochs=2"), only those that differ from the
  // recipe, then the extra overrides field.
  [[nodiscard]] QStringList overrides() const;
  // The full `studio-cli` argument list Start would use (without the program).
  [[nodiscard]] QStringList trainArguments(bool resume) const;
  // The resolved recipe as shown (or the error reading it).
  [[nodiscard]] QString resolvedYaml() const;
  // Where "Open dataset" writes the dataset YAML of an open dataset no token can name (a VOC
  // names file); defaultDatasetYamlFolder() unless set. Setting it fills the field again.
  void setDatasetYamlFolder(const QString& folder);
  [[nodiscard]] QString datasetYamlFolder() const { return datasetYamlFolder_; }

  // Form fields, for tests and for callers that fill them.
  [[nodiscard]] QComboBox* recipeField() const { return recipe_; }
  [[nodiscard]] QSpinBox* epochsField() const { return epochs_; }
  [[nodiscard]] QSpinBox* batchField() const { return batch_; }
  [[nodiscard]] QDoubleSpinBox* lrField() const { return lr_; }
  [[nodiscard]] QSpinBox* inputSizeField() const { return inputSize_; }
  [[nodiscard]] QComboBox* deviceField() const { return device_; }
  [[nodiscard]] QSpinBox* processesField() const { return processes_; }
  [[nodiscard]] QCheckBox* ampField() const { return amp_; }
  [[nodiscard]] QLineEdit* trainDataField() const { return trainData_; }
  [[nodiscard]] QLineEdit* valDataField() const { return valData_; }
  [[nodiscard]] QLineEdit* extraOverridesField() const { return extra_; }
  [[nodiscard]] PathField* outputField() const { return output_; }
  [[nodiscard]] QPushButton* startButton() const { return startButton_; }
  [[nodiscard]] QPushButton* stopButton() const { return stopButton_; }
  [[nodiscard]] QPushButton* resumeButton() const { return resumeButton_; }
  [[nodiscard]] TrainingPlot* plot() const { return plot_; }
  [[nodiscard]] QPlainTextEdit* logPane() const { return log_; }
  [[nodiscard]] QProgressBar* progressBar() const { return progress_; }
  [[nodiscard]] QString statusText() const;

  [[nodiscard]] bool isRunning() const;
  // The run folder of the process started last (or the run opened last).
  [[nodiscard]] QString currentRunDir() const { return currentRunDir_; }
  // The run's id in plot() (-1 when none).
  [[nodiscard]] int currentPlotRun() const;
  [[nodiscard]] QString errorText() const;
  // The devices `studio-cli devices --json` reported ("cpu" only when it failed or has not answered).
  [[nodiscard]] QStringList devices() const { return gpuNames_; }

 public slots:
  // Starts a new run into the output folder; problems go to the error bar. Returns false when
  // nothing was started.
  bool start();
  void stop();
  bool resume();
  // Follows an existing run folder (adds it to the charts).
  void openRun(const QString& runDir);
  void saveRecipe(const QString& path);

 signals:
  void runningChanged(bool running);
  // The training process ended: exit code, and whether it was a normal stop/finish.
  void processFinished(int exitCode, bool clean);

 private:
  // One run folder drawn in the charts.
  struct Followed {
    QString dir;
    RunFollower* follower = nullptr;
    int plotRun = -1;
    qint64 totalIters = 0;
  };
  QWidget* buildForm();
  QWidget* buildRunArea();
  void findRecipes();
  void queryDevices();
  void onDevicesAnswered();
  void fillFormFromRecipe();
  void scheduleResolve();
  void resolve();
  void onDeviceChanged();
  void useOpenDataset();
  bool launch(bool resume);
  void onProcessOutput(QProcess::ProcessChannel channel);
  void onProcessFinished(int exitCode, QProcess::ExitStatus status);
  void onProcessError(QProcess::ProcessError error);
  Followed* follow(const QString& runDir, bool withLog, bool replaceCurrent);
  void onEvent(Followed* run, const RunEvent& event);
  void appendLog(const QString& text);
  void showBanner(const QString& message);
  void suggestOutput();
  void updateButtons();
  void openRecipeWithDialog();
  void openRunWithDialog();
  void saveRecipeWithDialog();

  DatasetDocument* document_;
  QComboBox* recipe_;
  QLineEdit* trainData_;
  QLineEdit* valData_;
  QPushButton* useOpenButton_;
  QSpinBox* epochs_;
  QSpinBox* batch_;
  QDoubleSpinBox* lr_;
  QSpinBox* inputSize_;
  QComboBox* device_;
  QSpinBox* processes_;
  QLabel* processesLabel_;
  QCheckBox* amp_;
  QLineEdit* extra_;
  PathField* output_;
  QPlainTextEdit* yaml_;
  QLabel* yamlError_;
  QPushButton* startButton_;
  QPushButton* stopButton_;
  QPushButton* resumeButton_;
  QLabel* status_;
  QProgressBar* progress_;
  QLabel* eta_;
  QLabel* banner_;
  TrainingPlot* plot_;
  QPlainTextEdit* log_;
  QTimer* resolveTimer_;
  QString datasetYamlFolder_;

  // Recipe values the form started from, to send only what the user changed.
  struct RecipeValues {
    int epochs = 12, batch = 2, inputSize = 800, longSide = 1333;
    double lr = 0.01;
    bool modelResizes = false;  // the input size is model.transform's min_size / max_size
    bool fixedSize = false;     // model.image_size: shown, not overridden
    Qt::CheckState amp = Qt::Unchecked;  // train.amp: false, auto (partially checked), true
    bool ok = false;
  } recipeValues_;
  QString resolved_;
  bool resolveFailed_ = false;
  bool outputEdited_ = false;
  bool trainDataEdited_ = false;
  bool valDataEdited_ = false;

  QProcess* process_ = nullptr;
  QProcess* devicesProcess_ = nullptr;
  QStringList gpuNames_;
  QString stderrTail_;  // the last lines the process wrote to stderr, for a crash message
  QString partialLine_[2];
  bool stopRequested_ = false;
  QString currentRunDir_;
  QStringList lastArguments_;
  std::vector<std::unique_ptr<Followed>> followed_;
  Followed* current_ = nullptr;
};

}  // namespace studio::ui
