#include "data/dataset_spec.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "data/coco_io.h"
#include "data/txt_reader.h"
#include "data/voc_reader.h"

namespace studio {

namespace {

namespace fs = std::filesystem;

const char* const kTokenForms =
    "coco:ANN.json:IMAGES_DIR, voc:ROOT[+ROOT...]:SPLIT, txt:LIST.txt:IMAGES_DIR[:NAMES.txt], "
    "or a dataset .yaml/.yml file";
const char* const kYamlKeys = "format, annotations, images, names, roots, split, standard_classes";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool has_yaml_extension(const std::string& token) {
  const std::string ext = lower(fs::path(token).extension().string());
  return ext == ".yaml" || ext == ".yml";
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

const char* format_name(DatasetFormat f) {
  switch (f) {
    case DatasetFormat::Coco: return "coco";
    case DatasetFormat::Voc: return "voc";
    case DatasetFormat::Txt: return "txt";
    case DatasetFormat::Synthetic: return "synthetic";
  }
  return "?";
}

// ---- dataset YAML ----

// Messages for one YAML file: "<file>:<line>: <key>: <message>" (yaml-cpp marks are 0-based).
class YamlFile {
 public:
  explicit YamlFile(std::string path) : path_(std::move(path)) {
    const fs::path folder = fs::path(path_).parent_path();
    base_ = folder.string();
  }

  // Line of each top-level key (1-based), for values that have no position of their own.
  std::map<std::string, long> key_lines;

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& message) const {
    long line = 0;
    // yaml-cpp places an empty (null) value at the next token, often the next line; the key's
    // line is where a person looks.
    if (node.IsDefined() && !node.IsNull() && !node.Mark().is_null()) {
      line = static_cast<long>(node.Mark().line) + 1;
    } else {
      const auto it = key_lines.find(key.substr(0, key.find('[')));
      if (it != key_lines.end()) line = it->second;
    }
    fail_at(path_, line, key.empty() ? message : key + ": " + message);
  }

  // A non-empty string value.
  std::string text(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar() || node.Scalar().empty())
      fail(node, key, "expected a non-empty path or name");
    return node.Scalar();
  }

  // Paths in a dataset YAML are relative to the YAML's folder, so the file can be moved together
  // with its data and used from any working directory.
  std::string path(const YAML::Node& node, const std::string& key) const {
    const std::string p = text(node, key);
    if (base_.empty() || fs::path(p).is_absolute()) return p;
    return (fs::path(base_) / p).string();
  }

 private:
  std::string path_;
  std::string base_;
};

// Which keys each format takes, besides `format` itself.
struct FormatKeys {
  std::set<std::string> required;
  std::set<std::string> optional;
};

const FormatKeys& keys_of(DatasetFormat f) {
  static const FormatKeys coco{{"annotations", "images"}, {}};
  static const FormatKeys voc{{"roots"}, {"split", "standard_classes"}};
  static const FormatKeys txt{{"annotations", "images"}, {"names"}};
  return f == DatasetFormat::Voc ? voc : f == DatasetFormat::Txt ? txt : coco;
}

std::string join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::string DatasetSpec::describe() const {
  switch (format) {
    case DatasetFormat::Coco: return "coco:" + annotations + ":" + images;
    case DatasetFormat::Voc: {
      std::string out = "voc:";
      for (std::size_t i = 0; i < roots.size(); ++i) out += (i ? "+" : "") + roots[i];
      return out + ":" + split;
    }
    case DatasetFormat::Txt: return "txt:" + annotations + ":" + images + (names.empty() ? "" : ":" + names);
    case DatasetFormat::Synthetic: return "synthetic";
  }
  return "?";
}

DatasetSpec parse_dataset_token(const std::string& token) {
  if (token.empty()) throw Error("empty dataset (expected " + std::string(kTokenForms) + ")");
  if (has_yaml_extension(token) && token.find(':') == std::string::npos) {
    if (!fs::is_regular_file(token)) throw Error(token + ": dataset YAML file not found");
    return load_dataset_yaml(token);
  }
  // ':' separates the parts, so paths in a one-token spec cannot contain it; a dataset YAML can.
  const std::vector<std::string> parts = split(token, ':');
  const std::string kind = lower(parts[0]);
  const auto bad = [&](const std::string& why) {
    throw Error("dataset '" + token + "': " + why + " (expected " + kTokenForms + ")");
  };
  for (std::size_t i = 1; i < parts.size(); ++i)
    if (parts[i].empty()) bad("part " + std::to_string(i + 1) + " is empty");

  DatasetSpec spec;
  if (kind == "coco") {
    if (parts.size() != 3) bad("coco takes an annotation file and an image folder");
    spec.format = DatasetFormat::Coco;
    spec.annotations = parts[1];
    spec.images = parts[2];
  } else if (kind == "voc") {
    if (parts.size() != 3) bad("voc takes one or more roots joined by '+' and a split");
    spec.format = DatasetFormat::Voc;
    spec.roots = split(parts[1], '+');
    for (const std::string& r : spec.roots)
      if (r.empty()) bad("empty VOC root in '" + parts[1] + "'");
    spec.split = parts[2];
  } else if (kind == "txt") {
    if (parts.size() != 3 && parts.size() != 4) bad("txt takes a list file, an image folder and optionally a names file");
    spec.format = DatasetFormat::Txt;
    spec.annotations = parts[1];
    spec.images = parts[2];
    if (parts.size() == 4) spec.names = parts[3];
  } else {
    bad("unknown format '" + parts[0] + "'");
  }
  return spec;
}

DatasetSpec load_dataset_yaml(const std::string& path) {
  // Read through a const node: yaml-cpp's non-const operator[] inserts the keys it looks up.
  YAML::Node loaded;
  try {
    loaded = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw Error(path + ": cannot open dataset YAML");
  } catch (const YAML::ParserException& e) {
    fail_at(path, static_cast<long>(e.mark.line) + 1, "malformed YAML: " + e.msg);
  }
  const YAML::Node& root = loaded;
  YamlFile file(path);
  if (!root.IsMap()) file.fail(root, "", "expected a mapping with the keys " + std::string(kYamlKeys));

  static const std::set<std::string> kKnown = {"format", "annotations", "images", "names",
                                               "roots",  "split",       "standard_classes"};
  for (auto it = root.begin(); it != root.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) file.fail(key, "", "expected a key name (allowed: " + std::string(kYamlKeys) + ")");
    if (!kKnown.count(key.Scalar()))
      file.fail(key, "", "unknown key '" + key.Scalar() + "' (allowed: " + kYamlKeys + ")");
    file.key_lines[key.Scalar()] = static_cast<long>(key.Mark().line) + 1;
  }

  const YAML::Node fmt = root["format"];
  if (!fmt) file.fail(root, "format", "missing (allowed: coco, voc, txt)");
  const std::string fmt_name = fmt.IsScalar() ? lower(fmt.Scalar()) : "";
  DatasetSpec spec;
  if (fmt_name == "coco") spec.format = DatasetFormat::Coco;
  else if (fmt_name == "voc") spec.format = DatasetFormat::Voc;
  else if (fmt_name == "txt") spec.format = DatasetFormat::Txt;
  else file.fail(fmt, "format", "'" + (fmt.IsScalar() ? fmt.Scalar() : std::string("?")) + "' is not allowed (allowed: coco, voc, txt)");

  // Keys of another format are errors rather than silently ignored: `roots` in a coco file
  // usually means the format line is wrong.
  const FormatKeys& keys = keys_of(spec.format);
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string& k = it->first.Scalar();
    if (k != "format" && !keys.required.count(k) && !keys.optional.count(k)) {
      std::set<std::string> used = keys.required;
      used.insert(keys.optional.begin(), keys.optional.end());
      file.fail(it->first, "", "key '" + k + "' is not used by format " + fmt_name + " (" + fmt_name +
                                   " takes: " + join(used) + ")");
    }
  }
  for (const std::string& k : keys.required)
    if (!root[k]) file.fail(root, k, "missing (format " + fmt_name + " needs: " + join(keys.required) + ")");

  if (const YAML::Node n = root["annotations"]) spec.annotations = file.path(n, "annotations");
  if (const YAML::Node n = root["images"]) spec.images = file.path(n, "images");
  if (const YAML::Node n = root["names"]) spec.names = file.path(n, "names");
  if (const YAML::Node n = root["roots"]) {
    if (n.IsSequence()) {
      if (n.size() == 0) file.fail(n, "roots", "expected at least one VOC root folder");
      for (std::size_t i = 0; i < n.size(); ++i) spec.roots.push_back(file.path(n[i], "roots[" + std::to_string(i) + "]"));
    } else if (n.IsScalar()) {
      spec.roots.push_back(file.path(n, "roots"));
    } else {
      file.fail(n, "roots", "expected a folder or a list of folders");
    }
  }
  if (const YAML::Node n = root["split"]) spec.split = file.text(n, "split");
  if (const YAML::Node n = root["standard_classes"]) {
    bool value = true;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value))
      file.fail(n, "standard_classes", "expected true or false, got '" + (n.IsScalar() ? n.Scalar() : std::string("?")) + "'");
    spec.voc_standard_classes = value;
  }
  return spec;
}

Dataset load_dataset(const DatasetSpec& spec, const Progress& progress) {
  const auto need = [&](const std::string& value, const char* what) {
    if (value.empty()) throw Error(std::string("dataset ") + format_name(spec.format) + ": no " + what + " given");
  };
  switch (spec.format) {
    case DatasetFormat::Coco:
      need(spec.annotations, "annotation file");
      need(spec.images, "image folder");
      return read_coco(spec.annotations, spec.images, progress);
    case DatasetFormat::Voc: {
      if (spec.roots.empty()) need("", "VOC root");
      VocOptions options;
      options.roots = spec.roots;
      options.split = spec.split;
      options.standard_classes = spec.voc_standard_classes;
      return read_voc(options, progress);
    }
    case DatasetFormat::Txt:
      need(spec.annotations, "list file");
      need(spec.images, "image folder");
      return read_txt(spec.annotations, spec.images, spec.names, progress);
    case DatasetFormat::Synthetic:
      break;
  }
  throw Error("a synthetic dataset is generated (studio-cli synth), not loaded from a dataset spec");
}

}  // namespace studio
