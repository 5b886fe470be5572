#include "data/dataset_spec.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include <yaml-cpp/yaml.h>

#include "common/config.h"
#include "common/error.h"
#include "data/coco_io.h"
#include "data/path_rules.h"
#include "data/txt_reader.h"
#include "data/voc_reader.h"

namespace studio {

namespace {

namespace fs = std::filesystem;

const char* const kTokenForms =
    "coco:ANN.json:IMAGES_DIR, voc:ROOT[+ROOT...]:SPLIT, txt:LIST.txt:IMAGES_DIR[:NAMES.txt], "
    "or a dataset .yaml/.yml file";
const char* const kYamlKeys = "format, annotations, images, names, roots, split, standard_classes, outside_paths";

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

// The origin of a dataset YAML file (or any YAML mapping with marks): messages
// "<where>:<line>: <label>: <message>" (yaml-cpp marks are 0-based), relative paths joined to the
// file's folder so the file can be moved together with its data and used from any directory.
DatasetMappingOrigin file_origin(const YAML::Node& mapping, const std::string& where, const std::string& base) {
  // Line of each top-level key (1-based), for values that have no position of their own.
  auto key_lines = std::make_shared<std::map<std::string, long>>();
  if (mapping.IsMap())
    for (auto it = mapping.begin(); it != mapping.end(); ++it)
      if (it->first.IsScalar() && !it->first.Mark().is_null())
        (*key_lines)[it->first.Scalar()] = static_cast<long>(it->first.Mark().line) + 1;
  DatasetMappingOrigin origin;
  origin.fail = [where, key_lines](const YAML::Node& node, const std::string& about, const std::string& label,
                                   const std::string& message) {
    long line = 0;
    // yaml-cpp places an empty (null) value at the next token, often the next line; the key's
    // line is where a person looks.
    if (node.IsDefined() && !node.IsNull() && !node.Mark().is_null()) {
      line = static_cast<long>(node.Mark().line) + 1;
    } else {
      const auto it = key_lines->find(about);
      if (it != key_lines->end()) line = it->second;
    }
    fail_at(where, line, label.empty() ? message : label + ": " + message);
  };
  origin.resolve = [base](const std::string&, const std::string& p) {
    if (base.empty() || fs::path(p).is_absolute()) return p;
    return (fs::path(base) / p).string();
  };
  return origin;
}

// Which keys each format takes, besides `format` itself.
struct FormatKeys {
  std::set<std::string> required;
  std::set<std::string> optional;
};

const FormatKeys& keys_of(DatasetFormat f) {
  static const FormatKeys coco{{"annotations", "images"}, {"outside_paths"}};
  static const FormatKeys voc{{"roots"}, {"split", "standard_classes", "names", "outside_paths"}};
  static const FormatKeys txt{{"annotations", "images"}, {"names", "outside_paths"}};
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
    std::error_code ec;  // a name the file system refuses (too long, ...) is not found either
    if (!fs::is_regular_file(token, ec)) throw Error(token + ": dataset YAML file not found");
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
  check_yaml_tree(loaded, path);
  return dataset_spec_from_yaml(loaded, path, fs::path(path).parent_path().string());
}

DatasetSpec dataset_spec_from_yaml(const YAML::Node& mapping, const std::string& where, const std::string& base_folder) {
  return dataset_spec_from_yaml(mapping, file_origin(mapping, where, base_folder));
}

DatasetSpec dataset_spec_from_yaml(const YAML::Node& mapping, const DatasetMappingOrigin& origin) {
  const YAML::Node& root = mapping;
  // Every failure goes through the origin; the throw after it only guards a callback that returns.
  const auto fail = [&](const YAML::Node& node, const std::string& about, const std::string& label,
                        const std::string& message) {
    origin.fail(node, about, label, message);
    throw Error((label.empty() ? "" : label + ": ") + message);
  };
  const auto text = [&](const YAML::Node& node, const std::string& about, const std::string& label) {
    if (!node.IsScalar() || node.Scalar().empty()) fail(node, about, label, "expected a non-empty path or name");
    return node.Scalar();
  };
  const auto path = [&](const YAML::Node& node, const std::string& about, const std::string& label) {
    return origin.resolve(about, text(node, about, label));
  };
  if (!root.IsMap()) fail(root, "", "", "expected a mapping with the keys " + std::string(kYamlKeys));

  static const std::set<std::string> kKnown = {"format", "annotations",      "images",       "names",
                                               "roots",  "split",            "standard_classes", "outside_paths"};
  for (auto it = root.begin(); it != root.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) fail(key, "", "", "expected a key name (allowed: " + std::string(kYamlKeys) + ")");
    if (!kKnown.count(key.Scalar()))
      fail(key, key.Scalar(), "", "unknown key '" + key.Scalar() + "' (allowed: " + kYamlKeys + ")");
  }

  const YAML::Node fmt = root["format"];
  if (!fmt) fail(root, "format", "format", "missing (allowed: coco, voc, txt)");
  const std::string fmt_name = fmt.IsScalar() ? lower(fmt.Scalar()) : "";
  DatasetSpec spec;
  if (fmt_name == "coco") spec.format = DatasetFormat::Coco;
  else if (fmt_name == "voc") spec.format = DatasetFormat::Voc;
  else if (fmt_name == "txt") spec.format = DatasetFormat::Txt;
  else
    fail(fmt, "format", "format",
         "'" + (fmt.IsScalar() ? fmt.Scalar() : std::string("?")) + "' is not allowed (allowed: coco, voc, txt)");

  // Keys of another format are errors rather than silently ignored: `roots` in a coco file
  // usually means the format line is wrong.
  const FormatKeys& keys = keys_of(spec.format);
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string& k = it->first.Scalar();
    if (k != "format" && !keys.required.count(k) && !keys.optional.count(k)) {
      std::set<std::string> used = keys.required;
      used.insert(keys.optional.begin(), keys.optional.end());
      fail(it->first, k, "",
           "key '" + k + "' is not used by format " + fmt_name + " (" + fmt_name + " takes: " + join(used) + ")");
    }
  }
  for (const std::string& k : keys.required)
    if (!root[k]) fail(root, k, k, "missing (format " + fmt_name + " needs: " + join(keys.required) + ")");

  if (const YAML::Node n = root["annotations"]) spec.annotations = path(n, "annotations", "annotations");
  if (const YAML::Node n = root["images"]) spec.images = path(n, "images", "images");
  if (const YAML::Node n = root["names"]) spec.names = path(n, "names", "names");
  if (const YAML::Node n = root["roots"]) {
    if (n.IsSequence()) {
      if (n.size() == 0) fail(n, "roots", "roots", "expected at least one VOC root folder");
      for (std::size_t i = 0; i < n.size(); ++i)
        spec.roots.push_back(path(n[i], "roots", "roots[" + std::to_string(i) + "]"));
    } else if (n.IsScalar()) {
      spec.roots.push_back(path(n, "roots", "roots"));
    } else {
      fail(n, "roots", "roots", "expected a folder or a list of folders");
    }
  }
  if (const YAML::Node n = root["split"]) spec.split = text(n, "split", "split");
  if (const YAML::Node n = root["outside_paths"]) {
    const std::string v = n.IsScalar() ? n.Scalar() : std::string("?");
    if (v != "allow" && v != "refuse")
      fail(n, "outside_paths", "outside_paths",
           "expected allow or refuse (image file names that are absolute or climb out with ..), got '" + v + "'");
    spec.refuse_outside_paths = v == "refuse";
  }
  if (const YAML::Node n = root["standard_classes"]) {
    bool value = true;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value))
      fail(n, "standard_classes", "standard_classes",
           "expected true or false, got '" + (n.IsScalar() ? n.Scalar() : std::string("?")) + "'");
    spec.voc_standard_classes = value;
    // A names file fixes the classes itself; both would leave a reader guessing which one wins.
    if (root["names"])
      fail(n, "standard_classes", "standard_classes",
           "not used with names (the names file lists the classes)");
  }
  return spec;
}

namespace {

Dataset read_dataset(const DatasetSpec& spec, const Progress& progress) {
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
      options.names_file = spec.names;
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

}  // namespace

Dataset load_dataset(const DatasetSpec& spec, const Progress& progress) {
  Dataset ds = read_dataset(spec, progress);
  if (spec.refuse_outside_paths)
    for (const ImageInfo& img : ds.images) {
      const OutsidePath where = outside_path(img.file_name);
      if (where == OutsidePath::Inside) continue;
      const std::string at = img.source_file.empty() ? ds.source
                                                     : img.source_file + ":" + std::to_string(img.source_line);
      throw Error(at + ": image " + std::to_string(img.id) + ": file_name '" + img.file_name + "' " +
                  outside_path_text(where) + ", out of the image folder " + ds.image_root +
                  " (the dataset says outside_paths: refuse)");
    }
  return ds;
}

}  // namespace studio
