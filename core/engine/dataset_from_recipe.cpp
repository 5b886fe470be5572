#include "engine/dataset_from_recipe.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/error.h"

namespace studio {

namespace {

namespace fs = std::filesystem;

bool is_yaml_path(const std::string& token) {
  std::string ext = fs::path(token).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return (ext == ".yaml" || ext == ".yml") && token.find(':') == std::string::npos;
}

// "file:line" of a dotted key, falling back to its parents, then the recipe file.
std::string origin_of(const Config& recipe, std::string dotted) {
  for (;;) {
    const std::string o = recipe.origin(dotted);
    if (!o.empty()) return o;
    const std::size_t dot = dotted.rfind('.');
    if (dot == std::string::npos) break;
    dotted.resize(dot);
  }
  return recipe.file().empty() ? std::string("recipe") : recipe.file();
}

// Paths inside a token resolve with `resolve` (the recipe's folder, or as given).
template <typename Resolve>
void resolve_paths(DatasetSpec& spec, const Resolve& resolve) {
  if (!spec.annotations.empty()) spec.annotations = resolve(spec.annotations);
  if (!spec.images.empty()) spec.images = resolve(spec.images);
  if (!spec.names.empty()) spec.names = resolve(spec.names);
  for (std::string& r : spec.roots) r = resolve(r);
}

}  // namespace

DatasetSpec dataset_spec_from_recipe(const Config& recipe, const std::string& key) {
  const std::size_t dot = key.rfind('.');
  const std::string parent = dot == std::string::npos ? std::string() : key.substr(0, dot);
  const std::string last = dot == std::string::npos ? key : key.substr(dot + 1);
  const ConfigNode parent_node = recipe.at(parent);
  const YAML::Node& parent_yaml = parent_node.node();
  // Const access: a non-const operator[] would insert the key.
  const YAML::Node value = parent_yaml && parent_yaml.IsMap() ? parent_yaml[last] : YAML::Node();
  const auto fail = [&](const std::string& sub, const std::string& message) {
    throw Error(origin_of(recipe, sub.empty() ? key : key + "." + sub) + ": " + key + ": " + message);
  };
  if (!value || value.IsNull())
    fail("",
         "no dataset given (expected a dataset token such as coco:ANN.json:IMAGES, the path of a dataset "
         "YAML, or a mapping with the keys format, annotations, images, ...)");

  if (value.IsScalar()) {
    const std::string token = value.Scalar();
    if (token.empty()) fail("", "empty dataset");
    const auto resolve = [&](const std::string& p) { return recipe.resolve_path(key, p); };
    if (is_yaml_path(token)) {
      const std::string path = resolve(token);
      std::error_code ec;  // a name the file system refuses (too long, ...) is not found either
      if (!fs::is_regular_file(path, ec)) fail("", "dataset YAML file not found: " + path);
      return load_dataset_yaml(path);  // its own paths are relative to it
    }
    DatasetSpec spec;
    try {
      spec = parse_dataset_token(token);
    } catch (const Error& e) {
      fail("", e.what());
    }
    resolve_paths(spec, resolve);
    return spec;
  }
  if (!value.IsMap())
    fail("",
         "expected a dataset token, the path of a dataset YAML, or a mapping with the keys format, "
         "annotations, images, names, roots, split, standard_classes");

  DatasetMappingOrigin origin;
  origin.fail = [&](const YAML::Node&, const std::string& about, const std::string& label,
                    const std::string& message) {
    const std::string where = origin_of(recipe, about.empty() ? key : key + "." + about);
    throw Error(where + ": " + (label.empty() ? key : key + "." + label) + ": " + message);
  };
  origin.resolve = [&](const std::string& about, const std::string& p) {
    return recipe.resolve_path(key + "." + about, p);
  };
  return dataset_spec_from_yaml(value, origin);
}

DatasetSpec dataset_spec_from_argument(const std::string& token, const std::string& option) {
  try {
    return parse_dataset_token(token);
  } catch (const Error& e) {
    throw Error(option + ": " + e.what());
  }
}

DatasetSpec resolve_dataset_spec(const Config& recipe, const std::string& key, const std::string& argument,
                                 const std::string& option) {
  if (!argument.empty()) return dataset_spec_from_argument(argument, option);
  try {
    return dataset_spec_from_recipe(recipe, key);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.find("no dataset given") == std::string::npos || option.empty()) throw;
    throw Error(msg + "; or pass " + option);
  }
}

}  // namespace studio
