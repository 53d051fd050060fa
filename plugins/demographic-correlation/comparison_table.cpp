#include "plugins/demographic-correlation/comparison_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace radflow::ml::demographic {
namespace {

nlohmann::json finite_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

// Average ranks (1 = best) of the finite values; NaN stays unranked (NaN rank).
std::vector<double> ranks_of(const std::vector<double>& values, bool higher_better) {
  std::vector<size_t> order;
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return higher_better ? values[a] > values[b] : values[a] < values[b];
  });
  std::vector<double> ranks(values.size(), std::nan(""));
  for (size_t start = 0; start < order.size();) {
    size_t end = start;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    const double shared = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2.0;
    for (size_t k = start; k < end; ++k) ranks[order[k]] = shared;
    start = end;
  }
  return ranks;
}

std::string format_number(const nlohmann::json& value) {
  if (!value.is_number()) return "n/a";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3f", value.get<double>());
  return buffer;
}

const char* metric_label(const std::string& metric) {
  if (metric == "auroc") return "AUROC";
  if (metric == "accuracy") return "accuracy";
  if (metric == "r2") return "R²";
  if (metric == "mae") return "MAE";
  if (metric == "pearson") return "Pearson r";
  return "?";
}

}  // namespace

nlohmann::json comparison_table(const std::vector<EncoderResults>& encoders) {
  nlohmann::json table = {{"encoders", nlohmann::json::array()}, {"rows", nlohmann::json::array()}};
  for (const auto& e : encoders) table["encoders"].push_back(e.name);
  std::vector<double> rank_sum(encoders.size(), 0.0);
  std::vector<int> rank_count(encoders.size(), 0);
  const size_t num_fields = encoders.empty() ? 0 : encoders.front().fields.size();
  for (size_t f = 0; f < num_fields; ++f) {
    const auto& field = encoders.front().fields[f].field;
    const auto& names = metric_names(field.kind);
    for (size_t m = 0; m < names.size(); ++m) {
      std::vector<double> values;
      nlohmann::json row = {{"field", field.name}, {"metric", names[m]},
                            {"higher_is_better", higher_is_better(names[m])},
                            {"headline", m == 0}, {"values", nlohmann::json::object()},
                            {"ranks", nlohmann::json::object()}, {"best", nullptr}};
      for (const auto& e : encoders) {
        const auto& metric = e.fields[f].metrics[m];
        values.push_back(metric.value);
        row["values"][e.name] =
            std::isfinite(metric.value)
                ? nlohmann::json{{"value", metric.value},
                                 {"ci", {finite_or_null(metric.low), finite_or_null(metric.high)}}}
                : nlohmann::json();
      }
      const auto ranks = ranks_of(values, higher_is_better(names[m]));
      for (size_t e = 0; e < encoders.size(); ++e) {
        row["ranks"][encoders[e].name] = finite_or_null(ranks[e]);
        if (ranks[e] == 1.0 && row["best"].is_null()) row["best"] = encoders[e].name;
        if (m == 0 && std::isfinite(ranks[e])) {
          rank_sum[e] += ranks[e];
          ++rank_count[e];
        }
      }
      table["rows"].push_back(std::move(row));
    }
  }
  std::vector<double> mean_rank(encoders.size());
  table["mean_rank"] = nlohmann::json::object();
  for (size_t e = 0; e < encoders.size(); ++e) {
    mean_rank[e] = rank_count[e] ? rank_sum[e] / rank_count[e] : std::nan("");
    table["mean_rank"][encoders[e].name] = finite_or_null(mean_rank[e]);
  }
  std::vector<size_t> order(encoders.size());
  for (size_t e = 0; e < order.size(); ++e) order[e] = e;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const bool fa = std::isfinite(mean_rank[a]), fb = std::isfinite(mean_rank[b]);
    if (fa != fb) return fa;  // unranked encoders last
    return fa && mean_rank[a] < mean_rank[b];
  });
  table["ranking"] = nlohmann::json::array();
  for (size_t e : order) table["ranking"].push_back(encoders[e].name);
  return table;
}

std::string table_markdown(const nlohmann::json& table) {
  std::string out = "| field | metric |";
  std::string rule = "| --- | --- |";
  for (const auto& name : table["encoders"]) {
    out += " " + name.get<std::string>() + " |";
    rule += " --- |";
  }
  out += " best |\n" + rule + " --- |\n";
  for (const auto& row : table["rows"]) {
    out += "| " + row["field"].get<std::string>() + " | " + metric_label(row["metric"]) +
           (row["higher_is_better"].get<bool>() ? " ↑" : " ↓") + " |";
    for (const auto& name : table["encoders"]) {
      const auto& v = row["values"][name.get<std::string>()];
      out += " " + (v.is_null() ? std::string("n/a")
                                : format_number(v["value"]) + " [" + format_number(v["ci"][0]) +
                                      ", " + format_number(v["ci"][1]) + "]") +
             " |";
    }
    out += " " + (row["best"].is_null() ? std::string("—") : row["best"].get<std::string>()) + " |\n";
  }
  out += "| mean rank | headline metrics |";
  for (const auto& name : table["encoders"]) {
    const auto& r = table["mean_rank"][name.get<std::string>()];
    out += " " + (r.is_null() ? std::string("n/a") : format_number(r)) + " |";
  }
  const auto& ranking = table["ranking"];
  out += " " + (ranking.empty() || table["mean_rank"][ranking[0].get<std::string>()].is_null()
                    ? std::string("—")
                    : ranking[0].get<std::string>()) +
         " |\n";
  return out;
}

}  // namespace radflow::ml::demographic
