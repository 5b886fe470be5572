// studio-cli model --config RECIPE [--depth N] [--anchors FILE [--image-size HxW]]: builds the
// recipe's model and prints its structure with parameter counts per module (as a user checks what
// a recipe builds: torchvision's Mask R-CNN R50-FPN with 91 outputs has 44,401,393 parameters);
// --anchors writes an anchor-based model's anchors for an input of that size, one box a line.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "common/atomic_file.h"
#include "common/config.h"
#include "common/error.h"
#include "modeling/model_factory.h"

namespace studio::cli {

namespace {

struct ModelArgs {
  std::string config;
  std::vector<std::string> overrides;
  int depth = 2;
  std::string anchors;
  std::string image_size = "800x1333";
};

struct Counts {
  int64_t params = 0, trainable = 0, buffers = 0;
};

Counts count(const torch::nn::Module& m) {
  Counts c;
  for (const auto& p : m.parameters(true)) {
    c.params += p.numel();
    if (p.requires_grad()) c.trainable += p.numel();
  }
  for (const auto& b : m.buffers(true)) c.buffers += b.numel();
  return c;
}

std::string grouped(int64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

void print_tree(const torch::nn::Module& m, const std::string& name, int level, int depth) {
  const Counts c = count(m);
  std::ostringstream line;
  line << std::string(static_cast<size_t>(2 * level), ' ') << name;
  std::string label = line.str();
  if (label.size() < 44) label += std::string(44 - label.size(), ' ');
  std::cout << label << std::right << std::setw(14) << grouped(c.params) << std::setw(14) << grouped(c.trainable)
            << std::setw(12) << grouped(c.buffers) << "  " << m.name() << std::left << "\n";
  if (level >= depth) return;
  for (const auto& child : m.named_children())
    print_tree(*child.value(), name.empty() ? child.key() : name + "." + child.key(), level + 1, depth);
}

std::array<int, 2> parse_size(const std::string& text) {
  const auto x = text.find('x');
  try {
    if (x != std::string::npos) {
      size_t used_h = 0, used_w = 0;
      const int h = std::stoi(text.substr(0, x), &used_h), w = std::stoi(text.substr(x + 1), &used_w);
      if (used_h == x && used_w == text.size() - x - 1 && h > 0 && w > 0) return {h, w};
    }
  } catch (const std::exception&) {
  }
  throw Error("--image-size: expected HEIGHTxWIDTH in pixels (e.g. 800x1333), got '" + text + "'");
}

int run_model(const ModelArgs& a) {
  Config recipe = Config::load(a.config, a.overrides);
  const ConfigNode model_node = recipe.at("model");
  // The structure without weights files: pretrained backbones are not read here.
  if (model_node.child("backbone").has("pretrained")) recipe.set("model.backbone.pretrained", "", "studio-cli model");
  if (model_node.has("pretrained_base")) recipe.set("model.pretrained_base", "", "studio-cli model");
  if (model_node.has("pretrained")) recipe.set("model.pretrained", "", "studio-cli model");
  DetectorPtr model = build_model(recipe.at("model"));
  const Counts total = count(*model);
  std::cout << a.config << ": " << recipe.at("model").get_string("type") << ", " << model->num_classes()
            << " classes, " << grouped(total.params) << " parameters (" << grouped(total.trainable)
            << " trainable), " << grouped(total.buffers) << " buffer values\n\n";
  std::cout << std::left << std::setw(44) << "module" << std::right << std::setw(14) << "parameters" << std::setw(14)
            << "trainable" << std::setw(12) << "buffers" << "  type\n";
  std::cout << std::left;
  for (const auto& child : model->named_children()) print_tree(*child.value(), child.key(), 0, a.depth);
  std::cout << std::right;

  if (a.anchors.empty()) return 0;
  const std::array<int, 2> size = parse_size(a.image_size);
  const torch::Tensor anchors = model->anchors_for(size);
  if (!anchors.defined())
    throw Error(a.config + ": model type " + recipe.at("model").get_string("type") +
                " has no anchors (it is anchor-free)");
  const torch::Tensor cpu = anchors.to(torch::kCPU, torch::kDouble).contiguous();
  std::ostringstream text;
  text << std::setprecision(9);
  const double* p = cpu.data_ptr<double>();
  for (int64_t i = 0; i < cpu.size(0); ++i)
    text << p[4 * i] << ' ' << p[4 * i + 1] << ' ' << p[4 * i + 2] << ' ' << p[4 * i + 3] << '\n';
  write_file_atomic(a.anchors, text.str());
  std::cout << "\nwrote " << cpu.size(0) << " anchors (x1 y1 x2 y2, input coordinates) for a " << size[0] << "x"
            << size[1] << " image to " << a.anchors << "\n";
  return 0;
}

}  // namespace

void add_model_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("model", "Build a recipe's model: its structure, parameter counts and anchors");
  auto a = std::make_shared<ModelArgs>();
  sub->add_option("--config", a->config, "Recipe YAML")->required();
  sub->add_option("-o,--override", a->overrides, "Recipe override key=value")->take_all();
  sub->add_option("--depth", a->depth, "Module levels to list")->capture_default_str();
  sub->add_option("--anchors", a->anchors, "Write the anchors for --image-size to this file, one box a line");
  sub->add_option("--image-size", a->image_size, "Input image HEIGHTxWIDTH for --anchors")->capture_default_str();
  out.push_back({sub, [a]() { return run_model(*a); }});
}

}  // namespace studio::cli
