#pragma once
// Recipes: YAML files with `base:` inheritance and `-o key=value` overrides, resolved into one
// tree that remembers where every value came from, so an error names the file, the line and the
// dotted key ("configs/x.yaml:14: model.head.num_grids: expected a list of integers, got 'abc'").
//
// Modules never read a Config: a `from_config` step fills their options struct (STYLE.md, 3).
// Each such step calls ConfigNode::allow() with the keys it knows, so a misspelt key is an error
// that lists the allowed ones instead of being silently ignored.
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace studio {

class Config;

// A view of one mapping inside a Config ("" = the root, "model.head" = a nested mapping).
class ConfigNode {
 public:
  ConfigNode(const Config* config, std::string prefix, YAML::Node node);
  ConfigNode(const ConfigNode&) = default;
  // No assignment: assigning a YAML::Node overwrites the node it refers to inside the tree.
  ConfigNode& operator=(const ConfigNode&) = delete;

  [[nodiscard]] bool has(const std::string& key) const;
  [[nodiscard]] bool is_null() const { return !node_ || node_.IsNull(); }
  // A nested mapping; an absent key gives an empty node (every get then returns its default).
  [[nodiscard]] ConfigNode child(const std::string& key) const;

  // Typed access. The overloads with a default return it when the key is absent; the others
  // throw studio::Error ("<file>:<line>: <key>: required key is missing").
  [[nodiscard]] int get_int(const std::string& key) const;
  [[nodiscard]] int get_int(const std::string& key, int fallback) const;
  [[nodiscard]] double get_double(const std::string& key) const;
  [[nodiscard]] double get_double(const std::string& key, double fallback) const;
  [[nodiscard]] bool get_bool(const std::string& key, bool fallback) const;
  [[nodiscard]] std::string get_string(const std::string& key) const;
  [[nodiscard]] std::string get_string(const std::string& key, const std::string& fallback) const;
  // A file path: relative values resolve against the folder of the recipe that set the key
  // (Config::resolve_path); "" and absolute paths come back unchanged.
  [[nodiscard]] std::string get_path(const std::string& key, const std::string& fallback) const;
  [[nodiscard]] std::vector<int> get_int_list(const std::string& key, const std::vector<int>& fallback) const;
  [[nodiscard]] std::vector<double> get_double_list(const std::string& key,
                                                    const std::vector<double>& fallback) const;
  [[nodiscard]] std::vector<std::string> get_string_list(const std::string& key,
                                                         const std::vector<std::string>& fallback) const;
  // A list of [a, b] pairs, e.g. SOLOv2's scale_ranges.
  [[nodiscard]] std::vector<std::array<double, 2>> get_pair_list(
      const std::vector<std::array<double, 2>>& fallback, const std::string& key) const;
  // One of `allowed` (e.g. type: step|cosine); anything else is an error listing them.
  [[nodiscard]] std::string get_choice(const std::string& key, const std::vector<std::string>& allowed,
                                       const std::string& fallback) const;

  // Throws when this mapping holds a key not in `allowed`, naming it and listing the allowed.
  void allow(const std::vector<std::string>& allowed) const;

  // "<file>:<line>: <prefix.key>" for messages; the file and line where the key was set last.
  [[nodiscard]] std::string where(const std::string& key) const;
  [[nodiscard]] std::string path(const std::string& key) const;  // dotted: "model.head.key"
  [[nodiscard]] const std::string& prefix() const { return prefix_; }
  [[nodiscard]] const YAML::Node& node() const { return node_; }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  [[nodiscard]] YAML::Node required(const std::string& key) const;
  template <typename T>
  [[nodiscard]] std::vector<T> get_list(const std::string& key, const std::vector<T>& fallback, const char* one,
                                        const char* many) const;

  const Config* config_;
  std::string prefix_;
  YAML::Node node_;
};

// Refuses what YAML allows but no recipe or dataset file needs, naming the file and line: an
// alias to a node that contains it (a cycle), a key twice in one mapping, nesting deeper than 64
// levels, aliases expanding to over a million values. Every recipe is checked on reading.
void check_yaml_tree(const YAML::Node& document, const std::string& name);

class Config {
 public:
  Config();
  // Reads `path`; a top-level `base: other.yaml` (relative to the file, or a list of them) is
  // read first and this file's mappings merge over it key by key (lists and scalars replace).
  // Then each override "a.b.c=value" (value parsed as YAML: 0.01, [1,2], true, text) is applied.
  static Config load(const std::string& path, const std::vector<std::string>& overrides = {});
  // From text (`name` is used in messages, and relative bases resolve against its folder).
  static Config parse(const std::string& yaml, const std::string& name,
                      const std::vector<std::string>& overrides = {});

  // Sets one dotted key to a YAML value, creating mappings on the way; `origin` goes to messages.
  void set(const std::string& dotted_key, const std::string& yaml_value,
           const std::string& origin = "override");

  [[nodiscard]] ConfigNode root() const;
  [[nodiscard]] ConfigNode at(const std::string& dotted_prefix) const;  // e.g. "model.backbone"

  // The resolved recipe as YAML (what a run folder's config.yaml holds), without `base:`.
  [[nodiscard]] std::string to_yaml() const;
  // The file the recipe was read from (empty for parse()). Relative paths inside a recipe
  // (datasets, weights) resolve against its folder: resolve_path() does that.
  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] std::string resolve_path(const std::string& dotted_key, const std::string& value) const;

  // Origin of a dotted key: "file:line" (line 1-based), or "override" / "" when unknown.
  [[nodiscard]] std::string origin(const std::string& dotted_key) const;

 private:
  friend class ConfigNode;
  void merge_file(const std::string& path, int depth, std::vector<std::string>& chain);
  void merge_node(const YAML::Node& src, YAML::Node dst, const std::string& prefix, const std::string& file);

  YAML::Node root_;
  std::string file_;
  std::map<std::string, std::string> origins_;  // dotted key -> "file:line"
  std::map<std::string, std::string> folders_;  // dotted key -> folder of the file that set it
};

}  // namespace studio
