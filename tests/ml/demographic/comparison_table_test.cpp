#include "plugins/demographic-correlation/comparison_table.h"

#include <gtest/gtest.h>

#include <cmath>

namespace radflow::ml::demographic {
namespace {

FieldResult result(const std::string& name, FieldKind kind, std::vector<double> values) {
  FieldResult r;
  r.field.name = name;
  r.field.kind = kind;
  const auto& names = metric_names(kind);
  for (size_t m = 0; m < names.size(); ++m) r.metrics.push_back({names[m], values[m], values[m] - 0.1, values[m] + 0.1, 10});
  return r;
}

EncoderResults encoder(const std::string& name, double sex_auroc, double age_r2, double age_mae) {
  return {name,
          {result("sex", FieldKind::kCategorical, {sex_auroc, 0.5}),
           result("age", FieldKind::kNumeric, {age_r2, age_mae, 0.3})}};
}

TEST(ComparisonTable, RanksEncodersPerMetricAndOverall) {
  const double nan = std::nan("");
  auto table = comparison_table({encoder("random", 0.5, 0.01, 12.0), encoder("rad-dino", 0.95, 0.8, 4.0),
                                 encoder("broken", nan, 0.4, 8.0)});
  EXPECT_EQ(table["encoders"], nlohmann::json({"random", "rad-dino", "broken"}));
  ASSERT_EQ(table["rows"].size(), 5u);  // sex: auroc, accuracy; age: r2, mae, pearson
  const auto& sex = table["rows"][0];
  EXPECT_EQ(sex["field"], "sex");
  EXPECT_EQ(sex["metric"], "auroc");
  EXPECT_EQ(sex["best"], "rad-dino");
  EXPECT_EQ(sex["ranks"]["random"], 2.0);
  EXPECT_TRUE(sex["ranks"]["broken"].is_null());
  EXPECT_TRUE(sex["values"]["broken"].is_null());
  const auto& accuracy = table["rows"][1];
  EXPECT_EQ(accuracy["ranks"]["random"], 2.0);  // three-way tie shares rank 2
  const auto& mae = table["rows"][3];
  EXPECT_EQ(mae["metric"], "mae");
  EXPECT_FALSE(mae["higher_is_better"].get<bool>());
  EXPECT_EQ(mae["best"], "rad-dino");  // the lowest error
  EXPECT_EQ(table["mean_rank"]["rad-dino"], 1.0);
  EXPECT_EQ(table["mean_rank"]["broken"], 2.0);   // ranked on age only
  EXPECT_EQ(table["mean_rank"]["random"], 2.5);
  EXPECT_EQ(table["ranking"], nlohmann::json({"rad-dino", "broken", "random"}));

  const std::string md = table_markdown(table);
  EXPECT_NE(md.find("| field | metric | random | rad-dino | broken | best |"), std::string::npos) << md;
  EXPECT_NE(md.find("| sex | AUROC ↑ | 0.500 [0.400, 0.600] | 0.950 [0.850, 1.050] | n/a | rad-dino |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| age | MAE ↓ |"), std::string::npos) << md;
  EXPECT_NE(md.find("| mean rank | headline metrics | 2.500 | 1.000 | 2.000 | rad-dino |"), std::string::npos)
      << md;
}

}  // namespace
}  // namespace radflow::ml::demographic
