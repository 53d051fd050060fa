// The recipe table of plugins/pretrain/README.md is the contract for the defaults: for
// every row, pretrain_config() with arch small and base gives the "radflow small/base
// default" column and with arch tiny the "tiny default" column; a small/base default
// that differs from the DINOv2/RAD-DINO column must say why.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "plugins/pretrain/pretrain_config.h"

namespace radflow::plugins::pretrain {
namespace {

using nlohmann::json;

struct RecipeRow {
  std::string param;
  std::vector<std::string> cells;  // DINOv2, small/base, tiny, why
};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The first `...` of a cell as JSON; null for "—" or a cell without one.
json cell_value(const std::string& cell) {
  const size_t open = cell.find('`');
  if (open == std::string::npos) return nullptr;
  const size_t close = cell.find('`', open + 1);
  return json::parse(cell.substr(open + 1, close - open - 1));
}

std::vector<RecipeRow> read_recipe_table() {
  std::ifstream in(std::string(RADFLOW_SOURCE_DIR) + "/plugins/pretrain/README.md");
  EXPECT_TRUE(in.good()) << "cannot read plugins/pretrain/README.md";
  std::vector<RecipeRow> rows;
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("| param | DINOv2/RAD-DINO value | radflow small/base default | tiny default |", 0) == 0) {
      in_table = true;
      std::getline(in, line);  // | --- | ...
      continue;
    }
    if (!in_table) continue;
    if (line.empty() || line[0] != '|') break;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(trim(cell));
    RecipeRow row;
    row.param = cells.at(0);
    row.param.erase(std::remove(row.param.begin(), row.param.end(), '`'), row.param.end());
    row.cells.assign(cells.begin() + 1, cells.end());
    rows.push_back(row);
  }
  return rows;
}

using Getter = std::function<json(const PretrainConfig&)>;

const std::map<std::string, Getter>& getters() {
  static const std::map<std::string, Getter> g = {
      {"image_size", [](const PretrainConfig& c) { return json(c.image_size); }},
      {"local_crop_size", [](const PretrainConfig& c) { return json(c.options.crops.local_crop_size); }},
      {"local_crops", [](const PretrainConfig& c) { return json(c.options.crops.n_local_crops); }},
      {"max_image_side", [](const PretrainConfig& c) { return json(c.max_image_side); }},
      {"global_crop_scale",
       [](const PretrainConfig& c) { return json({c.options.crops.global_scale_min, c.options.crops.global_scale_max}); }},
      {"local_crop_scale",
       [](const PretrainConfig& c) { return json({c.options.crops.local_scale_min, c.options.crops.local_scale_max}); }},
      {"blur_probabilities",
       [](const PretrainConfig& c) {
         const auto& o = c.options.crops;
         return json({o.blur_probability_global1, o.blur_probability_global2, o.blur_probability_local});
       }},
      {"blur_sigma_max", [](const PretrainConfig& c) { return json(c.options.crops.blur_sigma_max); }},
      {"solarize_probability", [](const PretrainConfig& c) { return json(c.options.crops.solarize_probability_global2); }},
      {"flip_probability", [](const PretrainConfig& c) { return json(c.options.crops.flip_probability); }},
      {"prototypes", [](const PretrainConfig& c) { return json(c.head.out_dim); }},
      {"teacher_targets",
       [](const PretrainConfig& c) {
         return json(c.options.teacher_targets == ml::ssl::TeacherTargets::kSinkhorn ? "sinkhorn" : "centering");
       }},
      {"teacher_temp", [](const PretrainConfig& c) { return json(c.schedule.teacher_temp); }},
      {"warmup_teacher_temp", [](const PretrainConfig& c) { return json(c.schedule.warmup_teacher_temp); }},
      {"teacher_momentum", [](const PretrainConfig& c) { return json(c.schedule.momentum_teacher); }},
      {"weight_decay", [](const PretrainConfig& c) { return json(c.schedule.weight_decay); }},
      {"weight_decay_end", [](const PretrainConfig& c) { return json(c.schedule.weight_decay_end); }},
      {"base_lr", [](const PretrainConfig& c) { return json(c.schedule.base_lr); }},
      {"layerscale_init", [](const PretrainConfig& c) { return json(c.vit.layerscale_init); }},
      {"drop_path", [](const PretrainConfig& c) { return json(c.options.student_drop_path_rate); }},
      {"koleo_weight", [](const PretrainConfig& c) { return json(c.options.loss_weights.koleo); }},
      {"ibot_weight", [](const PretrainConfig& c) { return json(c.options.loss_weights.ibot); }},
      {"patch_size", [](const PretrainConfig& c) { return json(c.vit.patch_size); }},
  };
  return g;
}

// Equal as JSON, numbers to a relative 1e-12 (the table writes 0.004, the config may
// hold 0.004 * sqrt(...) / sqrt(...)).
bool same(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return std::abs(x - y) <= 1e-12 * std::max(1.0, std::abs(y));
  }
  if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!same(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

TEST(PretrainRecipe, DefaultsEqualTheReadmeRecipeTable) {
  const std::vector<RecipeRow> rows = read_recipe_table();
  ASSERT_GE(rows.size(), getters().size()) << "recipe table missing or short";
  std::map<std::string, PretrainConfig> by_arch;
  for (const char* arch : {"tiny", "small", "base"}) {
    auto c = pretrain_config(json{{"arch", arch}}, 1);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    by_arch[arch] = *c;
  }
  std::map<std::string, int> covered;
  for (const auto& row : rows) {
    SCOPED_TRACE(row.param);
    ASSERT_EQ(row.cells.size(), 4u);
    auto getter = getters().find(row.param);
    ASSERT_NE(getter, getters().end()) << "a recipe row the test cannot check";
    ++covered[row.param];
    const json dinov2 = cell_value(row.cells[0]), small_base = cell_value(row.cells[1]), tiny = cell_value(row.cells[2]);
    ASSERT_FALSE(small_base.is_null());
    for (const char* arch : {"small", "base"}) {
      EXPECT_TRUE(same(getter->second(by_arch[arch]), small_base))
          << arch << ": config " << getter->second(by_arch[arch]) << ", README " << small_base;
    }
    if (!tiny.is_null()) {
      EXPECT_TRUE(same(getter->second(by_arch["tiny"]), tiny))
          << "tiny: config " << getter->second(by_arch["tiny"]) << ", README " << tiny;
    }
    if (!same(small_base, dinov2) || (!tiny.is_null() && !same(tiny, dinov2))) {
      EXPECT_FALSE(row.cells[3].empty()) << "a deviation from DINOv2 without a reason";
    }
  }
  for (const auto& [param, getter] : getters()) EXPECT_EQ(covered[param], 1) << param << " rows in the table";
}

}  // namespace
}  // namespace radflow::plugins::pretrain
