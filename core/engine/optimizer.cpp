#include "engine/optimizer.h"

#include <set>
#include <tuple>
#include <utility>

#include "common/error.h"

namespace studio {

OptimizerOptions optimizer_options_from_config(const ConfigNode& opt) {
  opt.allow({"type", "lr", "momentum", "weight_decay", "betas", "norm_decay"});
  OptimizerOptions o;
  o.type = opt.get_choice("type", {"sgd", "adamw"}, "sgd");
  const std::vector<double> betas = opt.get_double_list("betas", {o.betas[0], o.betas[1]});
  if (betas.size() != 2 || !(betas[0] >= 0 && betas[0] < 1) || !(betas[1] >= 0 && betas[1] < 1))
    throw Error(opt.where("betas") + ": expected two numbers in [0, 1), e.g. [0.9, 0.999]");
  o.betas = {betas[0], betas[1]};
  o.lr = opt.get_double("lr", o.lr);
  o.momentum = opt.get_double("momentum", o.momentum);
  o.weight_decay = opt.get_double("weight_decay", o.weight_decay);
  if (!(o.lr > 0)) throw Error(opt.where("lr") + ": expected a number > 0");
  if (o.momentum < 0 || o.momentum >= 1) throw Error(opt.where("momentum") + ": expected a number in [0, 1)");
  if (o.weight_decay < 0) throw Error(opt.where("weight_decay") + ": expected a number >= 0");
  o.norm_decay = opt.get_bool("norm_decay", o.norm_decay);
  return o;
}

namespace {

// The optimiser over parameter groups, each with its weight decay; the other options are the recipe's.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::vector<std::pair<std::vector<torch::Tensor>, double>>& groups, const OptimizerOptions& o) {
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  if (o.type == "adamw") {
    const auto options = [&](double wd) {
      return std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(o.lr).betas(std::make_tuple(o.betas[0], o.betas[1])).weight_decay(wd));
    };
    for (const auto& [params, wd] : groups) param_groups.emplace_back(params, options(wd));
    return std::make_unique<torch::optim::AdamW>(std::move(param_groups), *options(o.weight_decay));
  }
  if (o.type == "sgd") {
    const auto options = [&](double wd) {
      return std::make_unique<torch::optim::SGDOptions>(
          torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(wd));
    };
    for (const auto& [params, wd] : groups) param_groups.emplace_back(params, options(wd));
    return std::make_unique<torch::optim::SGD>(std::move(param_groups), *options(o.weight_decay));
  }
  throw Error("train.optimizer.type: '" + o.type + "' is not one of: sgd, adamw");
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> build_optimizer(std::vector<torch::Tensor> parameters,
                                                         const OptimizerOptions& o) {
  return make_optimizer({{std::move(parameters), o.weight_decay}}, o);
}

std::unique_ptr<torch::optim::Optimizer> build_optimizer(const torch::nn::Module& model, const OptimizerOptions& o) {
  if (o.norm_decay || o.weight_decay == 0) return build_optimizer(model.parameters(), o);
  std::vector<torch::Tensor> decayed, norms;
  std::set<const void*> in_norm;
  for (const auto& m : model.modules(/*include_self=*/true))
    if (m->as<torch::nn::BatchNorm1dImpl>() || m->as<torch::nn::BatchNorm2dImpl>() ||
        m->as<torch::nn::BatchNorm3dImpl>() || m->as<torch::nn::GroupNormImpl>())
      for (const auto& p : m->parameters(/*recurse=*/false)) in_norm.insert(p.unsafeGetTensorImpl());
  for (const auto& p : model.parameters()) (in_norm.count(p.unsafeGetTensorImpl()) ? norms : decayed).push_back(p);
  return make_optimizer({{decayed, o.weight_decay}, {norms, 0.0}}, o);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double learning_rate(torch::optim::Optimizer& optimizer) {
  return optimizer.param_groups().empty() ? 0.0 : optimizer.param_groups().front().options().get_lr();
}

}  // namespace studio
