#include "tests/report/paired_recomputation.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

#include "plugins/ml/metrics/bleu.h"
#include "plugins/ml/metrics/rouge.h"
#include "plugins/ml/metrics/text_tokenizer.h"
#include "plugins/ml/metrics/xoshiro256.h"

namespace radflow::report::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One test item of one encoder: per finding / structure / field a pair of numbers
// (probe: label, score; segment: dice, iou; demographics: truth, score or prediction;
// report: reference label, generated label), and report-gen's texts.
struct Item {
  std::map<std::string, std::pair<double, double>> values;
  std::vector<std::string> hypothesis, reference;  // BLEU tokens
  double rouge = kNaN;
};

struct Encoder {
  std::vector<std::string> paths;  // file order
  std::map<std::string, Item> items;
  std::set<std::string> numeric_fields;  // demographics
  Item& item(const std::string& path) {
    if (!items.count(path)) paths.push_back(path);
    return items[path];
  }
};

using Sample = std::vector<const Item*>;
using MetricFn = std::function<double(const Sample&)>;
struct Metric {
  std::string name;
  bool lower_is_better = false;
  MetricFn fn;
};

// "a","b,c",d -> {a, "b,c", d} (the probe quotes its paths).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

Result<std::vector<std::string>> lines_of(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::error("test", "cannot read " + path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

Result<Encoder> read(const std::string& kind, std::string path, const std::string& encoder) {
  if (kind == "segment" && fs::is_directory(path)) path += "/overlap.csv";
  RF_ASSIGN_OR_RETURN(auto lines, lines_of(path));
  Encoder out;
  for (size_t n = 0; n < lines.size(); ++n) {
    if (kind == "probe" || kind == "segment") {
      if (n == 0) continue;  // header
      const auto f = csv_fields(lines[n]);
      if (kind == "probe") out.item(f[0]).values[f[1]] = {std::stod(f[2]), std::stod(f[3])};
      else out.item(f[0]).values[f[1]] = {std::stod(f[6]), std::stod(f[7])};
      continue;
    }
    const json j = json::parse(lines[n]);
    if (kind == "report") {
      Item& item = out.item(j["path"]);
      for (const auto& [finding, label] : j["reference_labels"].items()) {
        item.values[finding] = {label.get<double>(), j["generated_labels"][finding].get<double>()};
      }
      item.hypothesis = ml::metrics::tokenize(j["generated"].get<std::string>());
      item.reference = ml::metrics::tokenize(j["reference"].get<std::string>());
      item.rouge = ml::metrics::rouge_l(
                       ml::metrics::tokenize(j["generated"].get<std::string>(), ml::metrics::PunctuationMode::kDrop),
                       ml::metrics::tokenize(j["reference"].get<std::string>(), ml::metrics::PunctuationMode::kDrop))
                       .fmeasure;
    } else if (kind == "demographics") {
      if (j.value("encoder", "") != encoder) continue;
      const std::string field = j["field"];
      Item& item = out.item(j["path"]);  // an item of the encoder, whatever its fields
      auto number = [&](const char* key) { return j.contains(key) && j[key].is_number() ? j[key].get<double>() : kNaN; };
      if (j["truth"].is_number()) {
        out.numeric_fields.insert(field);
        item.values[field] = {j["truth"].get<double>(), number("prediction")};
      } else if (j.contains("truth_class") && j.contains("score")) {  // binary fields; others have no metric
        item.values[field] = {j["truth_class"].get<double>() == 1, number("score")};
      }
    } else {
      return Status::error("test", "unknown kind " + kind);
    }
  }
  return out;
}

// The (first, second) pairs of `key` in the sample.
std::vector<std::pair<double, double>> pairs(const Sample& sample, const std::string& key) {
  std::vector<std::pair<double, double>> out;
  for (const Item* item : sample) {
    auto it = item->values.find(key);
    if (it != item->values.end()) out.push_back(it->second);
  }
  return out;
}

// Demographics' numeric fields: the pairs where truth and prediction are both numbers.
std::vector<std::pair<double, double>> finite(const std::vector<std::pair<double, double>>& v) {
  std::vector<std::pair<double, double>> out;
  for (const auto& p : v) {
    if (std::isfinite(p.first) && std::isfinite(p.second)) out.push_back(p);
  }
  return out;
}

bool any_nan_score(const std::vector<std::pair<double, double>>& labelled) {
  for (const auto& p : labelled) {
    if (std::isnan(p.second)) return true;
  }
  return false;
}

double mean_finite(const std::vector<double>& v) {
  double sum = 0;
  int n = 0;
  for (double x : v) {
    if (std::isfinite(x)) sum += x, ++n;
  }
  return n ? sum / n : kNaN;
}

// (label, score) pairs: the probability that a positive outscores a negative, ties half.
double auroc(const std::vector<std::pair<double, double>>& labelled) {
  double wins = 0, positives = 0, negatives = 0;
  for (const auto& [label, score] : labelled) (label != 0 ? positives : negatives) += 1;
  if (positives == 0 || negatives == 0 || any_nan_score(labelled)) return kNaN;
  for (const auto& p : labelled) {
    if (p.first == 0) continue;
    for (const auto& q : labelled) {
      if (q.first == 0) wins += p.second > q.second ? 1.0 : p.second == q.second ? 0.5 : 0.0;
    }
  }
  return wins / (positives * negatives);
}

// Sum over thresholds (distinct scores, descending) of recall gained x precision.
double average_precision(std::vector<std::pair<double, double>> labelled) {
  double positives = 0;
  for (const auto& p : labelled) positives += p.first != 0;
  if (positives == 0 || any_nan_score(labelled)) return kNaN;
  std::sort(labelled.begin(), labelled.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  double tp = 0, fp = 0, recall = 0, ap = 0;
  for (size_t i = 0; i < labelled.size(); ++i) {
    (labelled[i].first != 0 ? tp : fp) += 1;
    if (i + 1 < labelled.size() && labelled[i + 1].second == labelled[i].second) continue;
    ap += (tp / positives - recall) * (tp / (tp + fp));
    recall = tp / positives;
  }
  return ap;
}

double mean_of(const std::vector<std::pair<double, double>>& v, bool second) {
  std::vector<double> x;
  for (const auto& p : v) x.push_back(second ? p.second : p.first);
  return mean_finite(x);
}

double f1(const std::vector<std::pair<double, double>>& reference_generated) {
  double tp = 0, fp = 0, fn = 0;
  for (const auto& [t, g] : reference_generated) tp += t && g, fp += !t && g, fn += t && !g;
  return 2 * tp + fp + fn == 0 ? kNaN : 2 * tp / (2 * tp + fp + fn);
}

double r2(const std::vector<std::pair<double, double>>& v) {
  if (v.size() < 2) return kNaN;
  const double mean = mean_of(v, false);
  double total = 0, residual = 0;
  for (const auto& [t, p] : v) total += (t - mean) * (t - mean), residual += (t - p) * (t - p);
  return total == 0 ? kNaN : 1 - residual / total;
}

double mae(const std::vector<std::pair<double, double>>& v) {
  std::vector<double> errors;
  for (const auto& [t, p] : v) errors.push_back(std::abs(t - p));
  return mean_finite(errors);
}

std::vector<std::string> keys_of(const Encoder& e) {
  std::vector<std::string> keys;  // first appearance order
  for (const auto& path : e.paths) {
    for (const auto& [key, value] : e.items.at(path).values) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  }
  return keys;
}

std::vector<Metric> metrics_of(const std::string& kind, const Encoder& e) {
  const auto keys = keys_of(e);
  std::vector<Metric> out;
  auto per_key = [&](const std::string& name, std::function<double(const std::vector<std::pair<double, double>>&)> fn) {
    for (const auto& key : keys) out.push_back({name + "." + key, false, [key, fn](const Sample& s) { return fn(pairs(s, key)); }});
  };
  auto macro = [&](const std::string& name, std::function<double(const std::vector<std::pair<double, double>>&)> fn) {
    out.push_back({name, false, [keys, fn](const Sample& s) {
                     std::vector<double> v;
                     for (const auto& key : keys) v.push_back(fn(pairs(s, key)));
                     return mean_finite(v);
                   }});
  };
  auto mean_dice = [](const auto& v) { return mean_of(v, false); };
  auto mean_iou = [](const auto& v) { return mean_of(v, true); };
  if (kind == "probe") {
    macro("macro_auroc", auroc);
    macro("macro_auprc", average_precision);
    per_key("auprc", average_precision);
    per_key("auroc", auroc);
  } else if (kind == "segment") {
    macro("mean_dice", mean_dice);
    macro("mean_iou", mean_iou);
    per_key("dice", mean_dice);
    per_key("iou", mean_iou);
  } else if (kind == "report") {
    out.push_back({"bleu4", false, [](const Sample& s) {
                     std::vector<ml::metrics::TokenList> hypotheses, references;
                     for (const Item* i : s) hypotheses.push_back(i->hypothesis), references.push_back(i->reference);
                     return ml::metrics::corpus_bleu4(hypotheses, references);
                   }});
    out.push_back({"rouge_l", false, [](const Sample& s) {
                     std::vector<double> v;
                     for (const Item* i : s) v.push_back(i->rouge);
                     return mean_finite(v);
                   }});
    macro("finding_f1_macro", f1);
    per_key("finding_f1", f1);
  } else {
    for (const auto& key : keys) {
      if (e.numeric_fields.count(key)) {
        out.push_back({key + "_r2", false, [key](const Sample& s) { return r2(finite(pairs(s, key))); }});
        out.push_back({key + "_mae", true, [key](const Sample& s) { return mae(finite(pairs(s, key))); }});
      } else {
        out.push_back({key + "_auroc", false, [key](const Sample& s) { return auroc(pairs(s, key)); }});
      }
    }
  }
  return out;
}

double percentile(std::vector<double> sorted, double q) {
  if (sorted.empty()) return kNaN;
  std::sort(sorted.begin(), sorted.end());
  const double at = q * (sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(at)), above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (at - below) * (sorted[above] - sorted[below]);
}

}  // namespace

Result<std::map<std::string, RecomputedDifference>> recompute_paired_differences(
    const std::string& kind, const std::string& reference_predictions, const std::string& other_predictions,
    const std::string& reference_encoder, const std::string& other_encoder, int resamples, uint64_t seed,
    double alpha) {
  RF_ASSIGN_OR_RETURN(const Encoder a, read(kind, reference_predictions, reference_encoder));
  RF_ASSIGN_OR_RETURN(const Encoder b, read(kind, other_predictions, other_encoder));
  const size_t n = a.paths.size();
  std::vector<const Item*> a_items, b_items;  // index i: the same path in both
  for (const auto& path : a.paths) {
    if (!b.items.count(path)) return Status::error("test", path + " is missing from " + other_predictions);
    a_items.push_back(&a.items.at(path));
    b_items.push_back(&b.items.at(path));
  }
  const auto metrics = metrics_of(kind, a);
  std::map<std::string, std::vector<double>> differences;
  ml::metrics::Xoshiro256 rng(seed);
  Sample sa(n), sb(n);
  for (int r = 0; r < resamples; ++r) {
    for (size_t i = 0; i < n; ++i) {
      const size_t pick = rng.uniform_below(n);
      sa[i] = a_items[pick], sb[i] = b_items[pick];
    }
    for (const auto& m : metrics) {
      const double x = m.fn(sa), y = m.fn(sb);
      if (!std::isnan(x) && !std::isnan(y)) differences[m.name].push_back(x - y);
    }
  }
  std::map<std::string, RecomputedDifference> out;
  for (const auto& m : metrics) {
    RecomputedDifference d;
    d.point = m.fn(a_items) - m.fn(b_items);
    d.low = percentile(differences[m.name], alpha / 2);
    d.high = percentile(differences[m.name], 1 - alpha / 2);
    const bool above = d.low > 0, below = d.high < 0;  // NaN bounds: neither
    d.verdict = above ? (m.lower_is_better ? "worse" : "better")
                      : below ? (m.lower_is_better ? "better" : "worse") : "no clear difference";
    out[m.name] = d;
  }
  return out;
}

}  // namespace radflow::report::testing
