#pragma once
// One entry point from a recipe to a model (STYLE.md, 2): reads the `model:` section, fills the
// options structs of the parts (their from_config steps), and assembles the meta-architecture.
// Builders are registered by an explicit call in model_factory.cpp, not by static initialisers.
#include <string>
#include <vector>

#include "common/config.h"
#include "modeling/detector.h"

namespace studio {

// `model` is the recipe's `model:` mapping; `type` picks the meta-architecture (solov2, ...).
// Unknown types and keys are studio::Error naming the recipe file, line and key.
[[nodiscard]] DetectorPtr build_model(const ConfigNode& model);

// The model types build_model knows.
[[nodiscard]] std::vector<std::string> model_types();

}  // namespace studio
