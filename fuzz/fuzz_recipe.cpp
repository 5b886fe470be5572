// Fuzz target: recipes (common/config.h) and the datasets they name (engine/dataset_from_recipe.h,
// torch-free, compiled in). An input is up to four parts separated by NUL bytes: the recipe, a
// base recipe it may name (`base: base.yaml`), a dataset YAML it may name (`data.train: data.yaml`)
// and `-o` overrides, one key=value a line. The recipe is loaded as the trainer loads it, every
// key is read with every typed getter, data.train and data.val are resolved, and the resolved
// recipe (what a run folder's config.yaml holds) must read back.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "engine/dataset_from_recipe.h"
#include "fuzz_support.h"

namespace {

namespace fuzz = studio::fuzz;
using studio::ConfigNode;

// Every getter on every key of a mapping, then its nested mappings, as modules' from_config
// steps would read them; a getter may refuse a value (studio::Error), nothing else.
void read_every_key(const ConfigNode& node) {
  if (!node.node().IsMap()) return;
  std::vector<std::string> keys;
  for (auto it = node.node().begin(); it != node.node().end(); ++it)
    if (it->first.IsScalar()) keys.push_back(it->first.Scalar());
  fuzz::reads([&] { node.allow(keys); });
  fuzz::reads([&] { node.allow({"model", "train"}); });
  for (const std::string& key : keys) {
    fuzz::reads([&] { (void)node.get_int(key); });
    fuzz::reads([&] { (void)node.get_double(key, 0.5); });
    fuzz::reads([&] { (void)node.get_bool(key, false); });
    fuzz::reads([&] { (void)node.get_string(key); });
    fuzz::reads([&] { (void)node.get_path(key, ""); });
    fuzz::reads([&] { (void)node.get_int_list(key, {}); });
    fuzz::reads([&] { (void)node.get_double_list(key, {}); });
    fuzz::reads([&] { (void)node.get_string_list(key, {}); });
    fuzz::reads([&] { (void)node.get_pair_list({}, key); });
    fuzz::reads([&] { (void)node.get_choice(key, {"step", "cosine"}, "step"); });
    (void)node.where(key);
    fuzz::reads([&] { read_every_key(node.child(key)); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::Scratch scratch("recipe");
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 4);
  const std::string recipe = scratch.write("recipe.yaml", parts[0]);
  const char* const others[] = {"base.yaml", "data.yaml"};
  for (std::size_t k = 0; k < 2; ++k) {
    if (parts.size() > k + 1)
      (void)scratch.write(others[k], parts[k + 1]);
    else
      scratch.remove(others[k]);
  }
  std::vector<std::string> overrides;
  if (parts.size() > 3) {
    std::string_view rest = parts[3];
    while (!rest.empty()) {
      const std::size_t eol = rest.find('\n');
      overrides.emplace_back(rest.substr(0, eol));
      rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    }
  }

  std::optional<studio::Config> config;
  if (!fuzz::reads([&] { config.emplace(studio::Config::load(recipe, overrides)); })) return 0;
  read_every_key(config->root());
  for (const char* key : {"data.train", "data.val"})
    fuzz::reads([&] { (void)studio::dataset_spec_from_recipe(*config, key); });

  // A run folder keeps the resolved recipe (to_yaml) and reads it again to resume.
  const std::string resolved = config->to_yaml();
  try {
    (void)studio::Config::parse(resolved, "config.yaml");
  } catch (const studio::Error& e) {
    fuzz::finding(std::string("the resolved recipe does not read back: ") + e.what() + "\n" + resolved);
  }
  return 0;
}
