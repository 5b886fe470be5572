#include "common/config.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/text_check.h"

namespace fs = std::filesystem;

namespace studio {
namespace {

std::string join_key(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string folder_of(const std::string& file) {
  if (file.empty()) return ".";
  fs::path parent = fs::path(file).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

std::string scalar_text(const YAML::Node& n) {
  if (!n) return "nothing";
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "null";
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

// What YAML allows but a recipe must not hold: an alias that refers to a node containing it (a
// cycle every walk of the tree would follow for ever), a key given twice in one mapping (yaml-cpp
// keeps both and lookups see only one), a list, mapping or null as a key (keys are names: yaml-cpp
// cannot turn a list into text, and a null key merged over a base became a second key "null"),
// nesting deeper than any recipe needs, and aliases that expand to more nodes than a recipe has
// (a "billion laughs" document).
struct TreeCheck {
  const std::string& name;
  std::vector<YAML::Node> ancestors;
  std::size_t visited = 0;

  static constexpr std::size_t kMaxDepth = 64;
  static constexpr std::size_t kMaxNodes = 1000000;

  void walk(const YAML::Node& n, const std::string& keypath) {
    if (++visited > kMaxNodes)
      fail_at(name, n.Mark().line + 1,
              "more than " + std::to_string(kMaxNodes) + " values once aliases are expanded; a recipe has a few hundred");
    if (!n.IsMap() && !n.IsSequence()) return;
    const std::string here = keypath.empty() ? std::string("the top level") : keypath;
    if (ancestors.size() >= kMaxDepth)
      fail_at(name, n.Mark().line + 1, here + ": nested more than " + std::to_string(kMaxDepth) + " levels deep");
    for (const YAML::Node& a : ancestors)
      if (a.is(n))
        fail_at(name, n.Mark().line + 1, here + ": an alias refers to a node that contains it (a cycle); expected a tree");
    ancestors.push_back(n);
    if (n.IsMap()) {
      std::map<std::string, int> lines;
      for (auto it = n.begin(); it != n.end(); ++it) {
        // A copy: the iterator's `->` yields a temporary, so a reference to its `first` dangles.
        const YAML::Node key = it->first;
        const int line = key.Mark().line + 1;
        if (key.IsSequence() || key.IsMap())
          fail_at(name, line, here + ": a list or mapping used as a key; keys are names");
        if (!key.IsScalar()) fail_at(name, line, here + ": an empty key (nothing, ~ or null); keys are names");
        const std::string& text = key.Scalar();
        const auto [seen, fresh] = lines.emplace(text, line);
        if (!fresh)
          fail_at(name, line,
                  join_key(keypath, text) + ": the key appears twice in one mapping (first at line " +
                      std::to_string(seen->second) + ")");
        walk(it->second, join_key(keypath, text));
      }
    } else {
      for (std::size_t i = 0; i < n.size(); ++i) walk(n[i], keypath + "[" + std::to_string(i) + "]");
    }
    ancestors.pop_back();
  }
};

YAML::Node parse_yaml_text(const std::string& text, const std::string& name) {
  // yaml-cpp reads NUL and bytes that are not UTF-8 into keys it then writes back otherwise (two
  // keys could become one in config.yaml): a recipe is text (fuzz/findings/recipe/).
  if (const std::size_t bad = first_non_text_byte(text); bad != std::string::npos)
    fail_at(name, line_of_offset(text, bad),
            "not a text recipe: " + describe_byte_at(text, bad) + " is not UTF-8 text (a recipe is YAML text)");
  // A CR without LF (old Mac line ends): yaml-cpp breaks lines there when reading, but writes a
  // scalar holding one back unquoted, so config.yaml would not read back (fuzz/findings/recipe/).
  for (std::size_t i = text.find('\r'); i != std::string::npos; i = text.find('\r', i + 1))
    if (i + 1 >= text.size() || text[i + 1] != '\n')
      fail_at(name, line_of_offset(text, i),
              "a carriage return without a line feed at offset " + std::to_string(i) +
                  " (old Mac line ends): save the recipe with LF or CRLF line ends");
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception& e) {  // ParserException and the rest
    fail_at(name, e.mark.line + 1, "not valid YAML: " + e.msg);
  }
  check_yaml_tree(doc, name);
  return doc;
}

}  // namespace

void check_yaml_tree(const YAML::Node& document, const std::string& name) {
  TreeCheck check{name, {}};
  check.walk(document, "");
}

// ---- ConfigNode ----

ConfigNode::ConfigNode(const Config* config, std::string prefix, YAML::Node node)
    : config_(config), prefix_(std::move(prefix)), node_(std::move(node)) {}

std::string ConfigNode::path(const std::string& key) const { return join_key(prefix_, key); }

std::string ConfigNode::where(const std::string& key) const {
  std::string origin = config_->origin(path(key));
  if (origin.empty()) origin = config_->origin(prefix_);
  if (origin.empty()) origin = config_->file().empty() ? "config" : config_->file();
  return origin + ": " + path(key);
}

void ConfigNode::fail(const std::string& key, const std::string& message) const {
  throw Error(where(key) + ": " + message);
}

bool ConfigNode::has(const std::string& key) const {
  return node_ && node_.IsMap() && node_[key] && !node_[key].IsNull();
}

YAML::Node ConfigNode::required(const std::string& key) const {
  if (!has(key)) fail(key, "required key is missing");
  return node_[key];
}

ConfigNode ConfigNode::child(const std::string& key) const {
  if (!has(key)) return ConfigNode(config_, path(key), YAML::Node());
  YAML::Node n = node_[key];
  if (!n.IsMap()) fail(key, "expected a mapping of keys, got " + scalar_text(n));
  return ConfigNode(config_, path(key), n);
}

namespace {
template <typename T>
bool convert_scalar(const YAML::Node& n, T* out) {
  if (!n || !n.IsScalar()) return false;
  try {
    *out = n.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}
}  // namespace

int ConfigNode::get_int(const std::string& key) const {
  int v = 0;
  YAML::Node n = required(key);
  if (!convert_scalar(n, &v)) fail(key, "expected an integer, got " + scalar_text(n));
  return v;
}
int ConfigNode::get_int(const std::string& key, int fallback) const { return has(key) ? get_int(key) : fallback; }

double ConfigNode::get_double(const std::string& key) const {
  double v = 0;
  YAML::Node n = required(key);
  if (!convert_scalar(n, &v)) fail(key, "expected a number, got " + scalar_text(n));
  return v;
}
double ConfigNode::get_double(const std::string& key, double fallback) const {
  return has(key) ? get_double(key) : fallback;
}

bool ConfigNode::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  bool v = false;
  YAML::Node n = node_[key];
  if (!convert_scalar(n, &v)) fail(key, "expected true or false, got " + scalar_text(n));
  return v;
}

std::string ConfigNode::get_string(const std::string& key) const {
  YAML::Node n = required(key);
  if (!n.IsScalar()) fail(key, "expected text, got " + scalar_text(n));
  return n.Scalar();
}
std::string ConfigNode::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

std::string ConfigNode::get_path(const std::string& key, const std::string& fallback) const {
  const std::string value = get_string(key, fallback);
  return config_ ? config_->resolve_path(path(key), value) : value;
}

// Lists of integers and of numbers: a single value is a list of one; messages name the item.
template <typename T>
std::vector<T> ConfigNode::get_list(const std::string& key, const std::vector<T>& fallback, const char* one,
                                    const char* many) const {
  if (!has(key)) return fallback;
  YAML::Node n = node_[key];
  T v{};
  if (n.IsScalar()) {
    if (!convert_scalar(n, &v)) fail(key, std::string("expected ") + one + ", got " + scalar_text(n));
    return {v};
  }
  if (!n.IsSequence()) fail(key, std::string("expected a list of ") + many + ", got " + scalar_text(n));
  std::vector<T> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!convert_scalar(n[i], &v))
      fail(key, std::string("expected a list of ") + many + ", item " + std::to_string(i) + " is " +
                    scalar_text(n[i]));
    out.push_back(v);
  }
  return out;
}

std::vector<int> ConfigNode::get_int_list(const std::string& key, const std::vector<int>& fallback) const {
  return get_list(key, fallback, "an integer", "integers");
}

std::vector<double> ConfigNode::get_double_list(const std::string& key, const std::vector<double>& fallback) const {
  return get_list(key, fallback, "a number", "numbers");
}

std::vector<std::string> ConfigNode::get_string_list(const std::string& key,
                                                     const std::vector<std::string>& fallback) const {
  if (!has(key)) return fallback;
  YAML::Node n = node_[key];
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) fail(key, "expected a list of text items, got " + scalar_text(n));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) fail(key, "item " + std::to_string(i) + " is " + scalar_text(n[i]) + ", expected text");
    out.push_back(n[i].Scalar());
  }
  return out;
}

std::vector<std::array<double, 2>> ConfigNode::get_pair_list(const std::vector<std::array<double, 2>>& fallback,
                                                             const std::string& key) const {
  if (!has(key)) return fallback;
  YAML::Node n = node_[key];
  const std::string expected = "expected a list of [a, b] pairs";
  if (!n.IsSequence()) fail(key, expected + ", got " + scalar_text(n));
  std::vector<std::array<double, 2>> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    YAML::Node p = n[i];
    std::array<double, 2> v{};
    if (!p.IsSequence() || p.size() != 2 || !convert_scalar(p[0], &v[0]) || !convert_scalar(p[1], &v[1]))
      fail(key, expected + ", item " + std::to_string(i) + " is not a pair of numbers");
    out.push_back(v);
  }
  return out;
}

std::string ConfigNode::get_choice(const std::string& key, const std::vector<std::string>& allowed,
                                   const std::string& fallback) const {
  std::string v = get_string(key, fallback);
  for (const auto& a : allowed)
    if (a == v) return v;
  fail(key, "'" + v + "' is not one of: " + join(allowed, ", "));
}

void ConfigNode::allow(const std::vector<std::string>& allowed) const {
  if (!node_ || !node_.IsMap()) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string key = it->first.as<std::string>();
    bool known = false;
    for (const auto& a : allowed) known = known || a == key;
    if (!known) fail(key, "unknown key; allowed here: " + join(allowed, ", "));
  }
}

// ---- Config ----

Config::Config() : root_(YAML::NodeType::Map) {}

ConfigNode Config::root() const { return ConfigNode(this, "", root_); }

namespace {
// Recursive on purpose: assigning a YAML::Node (and so a ConfigNode) writes through to the tree
// it refers to, so walking down must construct fresh views, never reassign one.
ConfigNode descend(const ConfigNode& node, const std::vector<std::string>& parts, std::size_t i) {
  if (i == parts.size()) return node;
  return descend(node.child(parts[i]), parts, i + 1);
}
}  // namespace

ConfigNode Config::at(const std::string& dotted_prefix) const {
  std::vector<std::string> parts;
  std::stringstream ss(dotted_prefix);
  std::string part;
  while (std::getline(ss, part, '.'))
    if (!part.empty()) parts.push_back(part);
  return descend(root(), parts, 0);
}

std::string Config::origin(const std::string& dotted_key) const {
  auto it = origins_.find(dotted_key);
  return it == origins_.end() ? std::string() : it->second;
}

std::string Config::resolve_path(const std::string& dotted_key, const std::string& value) const {
  if (value.empty() || fs::path(value).is_absolute()) return value;
  // Relative to the file that set the key; keys set on the command line resolve against the
  // working directory, as a user typing them expects.
  auto it = folders_.find(dotted_key);
  if (it == folders_.end()) return value;
  return (fs::path(it->second) / value).lexically_normal().string();
}

void Config::merge_node(const YAML::Node& src, YAML::Node dst, const std::string& prefix, const std::string& file) {
  const std::string folder = file == "override" ? std::string() : folder_of(file);
  for (auto it = src.begin(); it != src.end(); ++it) {
    const std::string key = it->first.as<std::string>();
    const std::string dotted = join_key(prefix, key);
    const YAML::Node value = it->second;
    // The key's line: for a block mapping the value starts on the next line, but the key is what
    // an error names.
    const YAML::Mark mark = it->first.Mark().line >= 0 ? it->first.Mark() : value.Mark();
    origins_[dotted] = file + (mark.line >= 0 ? ":" + std::to_string(mark.line + 1) : "");
    if (folder.empty()) folders_.erase(dotted);
    else folders_[dotted] = folder;
    if (value.IsMap() && dst[key] && dst[key].IsMap()) {
      merge_node(value, dst[key], dotted, file);
    } else {
      dst[key] = YAML::Clone(value);
      if (value.IsMap()) {  // record origins of the nested keys too
        YAML::Node fresh = dst[key];
        merge_node(value, fresh, dotted, file);
      }
    }
  }
}

namespace {
// The same file as far as the file system can tell; the paths as written where it cannot (a
// name too long for it, say), so a path in a recipe never makes the check itself throw.
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ea, eb;
  const fs::path ca = fs::weakly_canonical(a, ea), cb = fs::weakly_canonical(b, eb);
  if (ea || eb) return fs::path(a).lexically_normal() == fs::path(b).lexically_normal();
  return ca == cb;
}
}  // namespace

void Config::merge_file(const std::string& path, int depth, std::vector<std::string>& chain) {
  if (depth > 16) throw Error(path + ": base: more than 16 levels of base recipes (a cycle?)");
  for (const auto& seen : chain)
    if (same_file(seen, path))
      throw Error(path + ": base: the recipe includes itself (" + join(chain, " -> ") + " -> " + path + ")");
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (chain.empty()) throw Error(path + ": recipe file not found");
    throw Error(chain.back() + ": base: '" + path + "' not found");
  }
  chain.push_back(path);
  YAML::Node doc = parse_yaml_text(read_file(path), path);
  if (doc.IsNull()) doc = YAML::Node(YAML::NodeType::Map);
  if (!doc.IsMap()) fail_at(path, doc.Mark().line + 1, "a recipe must be a mapping of keys");
  if (doc["base"]) {
    YAML::Node base = doc["base"];
    std::vector<std::string> bases;
    if (base.IsScalar()) bases.push_back(base.Scalar());
    else if (base.IsSequence())
      for (const auto& b : base) {
        if (!b.IsScalar()) fail_at(path, b.Mark().line + 1, "base: expected a file name or a list of them");
        bases.push_back(b.Scalar());
      }
    else fail_at(path, base.Mark().line + 1, "base: expected a file name or a list of them");
    for (const auto& b : bases) {
      fs::path p = fs::path(b).is_absolute() ? fs::path(b) : fs::path(folder_of(path)) / b;
      merge_file(p.lexically_normal().string(), depth + 1, chain);
    }
    doc.remove("base");
  }
  merge_node(doc, root_, "", path);
  chain.pop_back();
}

Config Config::load(const std::string& path, const std::vector<std::string>& overrides) {
  Config config;
  config.file_ = path;
  std::vector<std::string> chain;
  config.merge_file(path, 0, chain);
  for (const auto& o : overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("-o " + o + ": expected key=value, e.g. -o train.lr=0.005");
    config.set(o.substr(0, eq), o.substr(eq + 1));
  }
  return config;
}

Config Config::parse(const std::string& yaml, const std::string& name, const std::vector<std::string>& overrides) {
  Config config;
  YAML::Node doc = parse_yaml_text(yaml, name);
  if (doc.IsNull()) doc = YAML::Node(YAML::NodeType::Map);
  if (!doc.IsMap()) fail_at(name, doc.Mark().line + 1, "a recipe must be a mapping of keys");
  if (doc["base"]) throw Error(name + ": base: only recipes read from files can name a base");
  config.merge_node(doc, config.root_, "", name);
  for (const auto& o : overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("-o " + o + ": expected key=value");
    config.set(o.substr(0, eq), o.substr(eq + 1));
  }
  return config;
}

void Config::set(const std::string& dotted_key, const std::string& yaml_value, const std::string& origin) {
  for (const std::string* text : {&dotted_key, &yaml_value})
    if (const std::size_t bad = std::min(first_non_text_byte(*text), text->find_first_of("\r\n"));
        bad != std::string::npos)
      throw Error(origin + ": " + describe_byte_at(*text, bad) + " of the " + (text == &dotted_key ? "key" : "value") +
                  " is not allowed (an override is one line of UTF-8 text)");
  std::vector<std::string> parts;
  std::stringstream ss(dotted_key);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (part.empty()) throw Error(origin + ": '" + dotted_key + "': empty part in the dotted key");
    parts.push_back(part);
  }
  if (parts.empty()) throw Error(origin + ": empty key");
  YAML::Node value;
  try {
    value = YAML::Load(yaml_value);
  } catch (const YAML::ParserException& e) {
    throw Error(origin + ": " + dotted_key + ": value '" + yaml_value + "' is not valid YAML: " + e.msg);
  }
  check_yaml_tree(value, origin + ": " + dotted_key);  // the same rules as a recipe file's values
  // The dotted key nests the value that many levels down: together they must stay within the
  // depth a recipe file may have, or config.yaml would not read back (fuzz/findings/recipe/).
  const std::function<std::size_t(const YAML::Node&)> depth = [&](const YAML::Node& n) -> std::size_t {
    std::size_t d = 0;
    if (n.IsMap())
      for (auto it = n.begin(); it != n.end(); ++it) d = std::max(d, depth(it->second));
    else if (n.IsSequence())
      for (const YAML::Node& c : n) d = std::max(d, depth(c));
    else
      return 0;
    return d + 1;
  };
  if (parts.size() + depth(value) > TreeCheck::kMaxDepth)
    throw Error(origin + ": " + dotted_key.substr(0, 80) + (dotted_key.size() > 80 ? "...": "") +
                ": nested more than " + std::to_string(TreeCheck::kMaxDepth) + " levels deep");
  // Walk with fresh handles; yaml-cpp nodes alias, so assign through the parent each step.
  std::vector<YAML::Node> chain{root_};
  std::string dotted;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    dotted = join_key(dotted, parts[i]);
    YAML::Node parent = chain.back();
    if (!parent[parts[i]] || !parent[parts[i]].IsMap()) {
      if (parent[parts[i]] && !parent[parts[i]].IsNull())
        throw Error(origin + ": " + dotted_key + ": '" + dotted + "' is a value, not a mapping");
      parent[parts[i]] = YAML::Node(YAML::NodeType::Map);
    }
    chain.push_back(parent[parts[i]]);
  }
  chain.back()[parts.back()] = value;
  origins_[dotted_key] = origin;
  folders_.erase(dotted_key);
}

std::string Config::to_yaml() const {
  YAML::Emitter out;
  out << root_;
  return std::string(out.c_str()) + "\n";
}

}  // namespace studio
