#include "plugins/compare/evaluated_items.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "plugins/ml/metrics/auroc.h"
#include "plugins/ml/metrics/average_precision.h"
#include "plugins/ml/metrics/bleu.h"
#include "plugins/ml/metrics/regression.h"
#include "plugins/ml/metrics/rouge.h"
#include "plugins/ml/metrics/text_tokenizer.h"

namespace radflow::compare {

namespace {

namespace metrics = ml::metrics;
using nlohmann::json;
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr auto kHigher = metrics::Direction::kHigherIsBetter;
constexpr auto kLower = metrics::Direction::kLowerIsBetter;

Status input_error(const std::string& path, size_t line, const std::string& what) {
  return Status::error("compare_input", path + (line ? ":" + std::to_string(line) : "") + ": " + what, path);
}

// Index of `path` in items->paths, appended when new.
size_t item_index(EvaluatedItems* items, std::map<std::string, size_t>* index, const std::string& path) {
  auto [it, added] = index->emplace(path, items->paths.size());
  if (added) items->paths.push_back(path);
  return it->second;
}

double mean_of_finite(const std::vector<double>& values) {
  double sum = 0;
  int count = 0;
  for (double v : values) {
    if (std::isfinite(v)) {
      sum += v;
      ++count;
    }
  }
  return count ? sum / count : kNan;
}

// Per item and column, a label (-1: none) and a score: probe findings, binary fields.
struct ScoredColumns {
  std::vector<std::vector<int>> labels;  // [column][item]
  std::vector<std::vector<double>> scores;
  void ensure(size_t column, size_t item) {
    if (labels.size() <= column) labels.resize(column + 1), scores.resize(column + 1);
    if (labels[column].size() <= item) labels[column].resize(item + 1, -1), scores[column].resize(item + 1, kNan);
  }
  // metric(column c's labelled items among `items`); NaN when there are none.
  template <typename Metric>
  double of_column(size_t c, const std::vector<size_t>& items, Metric metric) const {
    std::vector<double> s;
    std::vector<int> y;
    for (size_t i : items) {
      if (i < labels[c].size() && labels[c][i] >= 0) {
        s.push_back(scores[c][i]);
        y.push_back(labels[c][i]);
      }
    }
    return s.empty() ? kNan : metric(s, y);
  }
  // The mean over columns of of_column, NaN columns left out.
  template <typename Metric>
  double macro(const std::vector<size_t>& items, Metric metric) const {
    std::vector<double> per_column;
    for (size_t c = 0; c < labels.size(); ++c) per_column.push_back(of_column(c, items, metric));
    return mean_of_finite(per_column);
  }
};

double auroc_of(const std::vector<double>& s, const std::vector<int>& y) { return metrics::auroc(s, y); }
double auprc_of(const std::vector<double>& s, const std::vector<int>& y) { return metrics::average_precision(s, y); }

// Calls row(line number, fields) for each data row of a CSV file with a header and
// `columns` columns; the first error (its own or row's) stops the reading.
Status for_each_csv_row(const std::string& path, size_t columns, const std::string& what,
                        const std::function<Status(size_t, const std::vector<std::string>&)>& row) {
  std::ifstream in(path);
  if (!in) return input_error(path, 0, "cannot read " + what);
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    if (++number == 1 || line.empty()) continue;
    const auto fields = split_csv_line(line);
    if (fields.size() != columns) {
      return input_error(path, number, "expected " + std::to_string(columns) + " columns in " + what);
    }
    RF_RETURN_IF_ERROR(row(number, fields));
  }
  return Status();
}

// Calls row(line number, object) for each non-empty line of a JSON-lines file. A line
// that is not a JSON object, or a field of the wrong type (row throws
// json::exception), is an error naming the file and the line.
Status for_each_jsonl_row(const std::string& path, const std::string& what,
                          const std::function<Status(size_t, const json&)>& row) {
  std::ifstream in(path);
  if (!in) return input_error(path, 0, "cannot read " + what);
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const json object = json::parse(line, nullptr, false);
    if (!object.is_object()) return input_error(path, number, "expected a JSON object in " + what);
    try {
      RF_RETURN_IF_ERROR(row(number, object));
    } catch (const json::exception& e) {
      return input_error(path, number, "a field has the wrong type in " + what + ": " + e.what());
    }
  }
  return Status();
}

Result<EvaluatedItems> read_probe(const std::string& path, MetricSet metric_set) {
  auto out = std::make_shared<ScoredColumns>();
  EvaluatedItems items;
  std::map<std::string, size_t> index, finding_index;
  std::vector<std::string> findings;  // in file order
  RF_RETURN_IF_ERROR(for_each_csv_row(
      path, 4, "the probe's predictions.csv (path,finding,label,score)",
      [&](size_t number, const std::vector<std::string>& fields) {
        const size_t item = item_index(&items, &index, fields[0]);
        const auto [it, added] = finding_index.emplace(fields[1], finding_index.size());
        if (added) findings.push_back(fields[1]);
        const size_t column = it->second;
        out->ensure(column, item);
        try {
          out->labels[column][item] = std::stoi(fields[2]) != 0;
          out->scores[column][item] = std::stod(fields[3]);
        } catch (const std::exception&) {
          return input_error(path, number, "label or score is not a number");
        }
        return Status();
      }));
  items.metrics = {{"macro_auroc", kHigher}, {"macro_auprc", kHigher}};
  // Metrics from index 2 on: per finding f, auprc.<f> (2 + 2f) and auroc.<f> (3 + 2f).
  if (metric_set == MetricSet::kWithItems) {
    for (const auto& f : findings) {
      items.metrics.push_back({"auprc." + f, kHigher});
      items.metrics.push_back({"auroc." + f, kHigher});
    }
  }
  items.evaluate = [out](size_t metric, const std::vector<size_t>& sample) {
    if (metric == 0) return out->macro(sample, auroc_of);
    if (metric == 1) return out->macro(sample, auprc_of);
    const size_t column = (metric - 2) / 2;
    return (metric - 2) % 2 == 0 ? out->of_column(column, sample, auprc_of) : out->of_column(column, sample, auroc_of);
  };
  return items;
}

struct ReportItems {
  std::vector<metrics::BleuCounts> bleu;  // per item: a resample's BLEU-4 sums them
  std::vector<double> rouge;
  std::vector<std::vector<int>> generated_labels, reference_labels;  // [item][finding]
  std::vector<std::string> findings;  // the labels' keys, in the order of the label vectors
};

// F1 of finding f (report-gen's finding_f1.<f>): NaN for a finding positive on
// neither side.
double finding_f1(const ReportItems& r, size_t f, const std::vector<size_t>& sample) {
  long long tp = 0, fp = 0, fn = 0;
  for (size_t i : sample) {
    const bool g = r.generated_labels[i][f] != 0, t = r.reference_labels[i][f] != 0;
    tp += g && t;
    fp += g && !t;
    fn += !g && t;
  }
  const long long denominator = 2 * tp + fp + fn;
  return denominator == 0 ? kNan : 2.0 * tp / denominator;
}

// Macro F1 over findings (report-gen's finding_f1_macro): the mean over the findings
// whose F1 is defined.
double finding_f1_macro(const ReportItems& r, const std::vector<size_t>& sample) {
  std::vector<double> per_finding;
  for (size_t f = 0; f < r.findings.size(); ++f) per_finding.push_back(finding_f1(r, f, sample));
  return mean_of_finite(per_finding);
}

std::vector<int> labels_of(const json& object, std::vector<std::string>* names) {
  std::vector<int> out;
  names->clear();
  for (const auto& [finding, value] : object.items()) {
    out.push_back(value.get<int>());
    names->push_back(finding);
  }
  return out;
}

Result<EvaluatedItems> read_report(const std::string& path, MetricSet metric_set) {
  auto r = std::make_shared<ReportItems>();
  EvaluatedItems items;
  RF_RETURN_IF_ERROR(for_each_jsonl_row(
      path, "report-gen's predictions.jsonl", [&](size_t number, const json& j) -> Status {
        if (!j.contains("path") || !j.contains("generated") || !j.contains("reference")) {
          return input_error(path, number, "expected a JSON object with path, reference, generated");
        }
        items.paths.push_back(j["path"].get<std::string>());
        const std::string generated = j["generated"], reference = j["reference"];
        r->bleu.push_back(metrics::sentence_bleu_counts(metrics::tokenize(generated), metrics::tokenize(reference)));
        r->rouge.push_back(metrics::rouge_l(metrics::tokenize(generated, metrics::PunctuationMode::kDrop),
                                            metrics::tokenize(reference, metrics::PunctuationMode::kDrop))
                               .fmeasure);
        std::vector<std::string> generated_names, reference_names;
        r->generated_labels.push_back(labels_of(j.value("generated_labels", json::object()), &generated_names));
        r->reference_labels.push_back(labels_of(j.value("reference_labels", json::object()), &reference_names));
        if (generated_names != reference_names || (items.paths.size() > 1 && generated_names != r->findings)) {
          return input_error(path, number, "generated_labels and reference_labels name different findings");
        }
        r->findings = generated_names;
        return Status();
      }));
  items.metrics = {{"bleu4", kHigher}, {"rouge_l", kHigher}, {"finding_f1_macro", kHigher}};
  // Metrics from index 3 on: finding_f1.<finding f> (3 + f).
  if (metric_set == MetricSet::kWithItems) {
    for (const auto& f : r->findings) items.metrics.push_back({"finding_f1." + f, kHigher});
  }
  items.evaluate = [r](size_t metric, const std::vector<size_t>& sample) {
    if (metric == 1) {
      std::vector<double> values;
      for (size_t i : sample) values.push_back(r->rouge[i]);
      return values.empty() ? kNan : mean_of_finite(values);
    }
    if (metric == 2) return finding_f1_macro(*r, sample);
    if (metric >= 3) return finding_f1(*r, metric - 3, sample);
    metrics::BleuCounts sum;
    for (size_t i : sample) sum += r->bleu[i];
    return metrics::bleu4_of_counts(sum).bleu;
  };
  return items;
}

// Per structure and item, one overlap score (segment's per-image Dice or IoU).
struct StructureScores {
  std::vector<std::vector<double>> values;  // [structure][item]
  void set(size_t structure, size_t item, const std::string& text) {
    if (values.size() <= structure) values.resize(structure + 1);
    if (values[structure].size() <= item) values[structure].resize(item + 1, kNan);
    try {
      values[structure][item] = std::stod(text);
    } catch (const std::exception&) {
      values[structure][item] = kNan;
    }
  }
  // The mean over the sample of one structure's defined scores (segment's dice.<s>).
  double of_structure(size_t structure, const std::vector<size_t>& sample) const {
    const auto& v = values[structure];
    std::vector<double> picked;
    for (size_t i : sample) picked.push_back(i < v.size() ? v[i] : kNan);
    return mean_of_finite(picked);
  }
  // The mean over structures of of_structure (segment's mean_dice, mean_iou).
  double mean(const std::vector<size_t>& sample) const {
    std::vector<double> per_structure;
    for (size_t s = 0; s < values.size(); ++s) per_structure.push_back(of_structure(s, sample));
    return mean_of_finite(per_structure);
  }
};

Result<EvaluatedItems> read_segment(const std::string& path, MetricSet metric_set) {
  auto dice = std::make_shared<StructureScores>(), iou = std::make_shared<StructureScores>();
  EvaluatedItems items;
  std::map<std::string, size_t> index, structure_index;
  std::vector<std::string> structures;  // in file order
  RF_RETURN_IF_ERROR(for_each_csv_row(
      path, 8, "segment's overlap.csv", [&](size_t, const std::vector<std::string>& fields) {
        const size_t item = item_index(&items, &index, fields[0]);
        const auto [it, added] = structure_index.emplace(fields[1], structure_index.size());
        if (added) structures.push_back(fields[1]);
        dice->set(it->second, item, fields[6]);
        iou->set(it->second, item, fields[7]);
        return Status();
      }));
  items.metrics = {{"mean_dice", kHigher}};
  // Metrics from index 1 on: mean_iou, then per structure s dice.<s> (2 + 2s) and
  // iou.<s> (3 + 2s).
  if (metric_set == MetricSet::kWithItems) {
    items.metrics.push_back({"mean_iou", kHigher});
    for (const auto& s : structures) {
      items.metrics.push_back({"dice." + s, kHigher});
      items.metrics.push_back({"iou." + s, kHigher});
    }
  }
  items.evaluate = [dice, iou](size_t metric, const std::vector<size_t>& sample) {
    if (metric == 0) return dice->mean(sample);
    if (metric == 1) return iou->mean(sample);
    const size_t structure = (metric - 2) / 2;
    return (metric - 2) % 2 == 0 ? dice->of_structure(structure, sample) : iou->of_structure(structure, sample);
  };
  return items;
}

// One record field's truth and prediction per item (NaN / -1 where the item lacks it).
struct FieldColumn {
  std::string name;
  bool numeric = false;
  std::vector<double> truth, prediction;  // numeric
  ScoredColumns scored;                   // binary: column 0
};

Result<EvaluatedItems> read_demographics(const std::string& path, const std::string& encoder) {
  auto fields = std::make_shared<std::vector<FieldColumn>>();
  EvaluatedItems items;
  std::map<std::string, size_t> index, field_index;
  RF_RETURN_IF_ERROR(for_each_jsonl_row(
      path, "demographic-correlation's predictions.jsonl", [&](size_t number, const json& j) -> Status {
        if (!j.contains("field") || !j.contains("path")) {
          return input_error(path, number, "expected a JSON object with encoder, field, path");
        }
        if (j.value("encoder", std::string()) != encoder) return Status();
        const size_t item = item_index(&items, &index, j["path"].get<std::string>());
        const std::string name = j["field"];
        auto [it, added] = field_index.emplace(name, fields->size());
        if (added) fields->push_back(FieldColumn{name, j["truth"].is_number()});
        FieldColumn& field = (*fields)[it->second];
        if (field.numeric) {
          if (field.truth.size() <= item) field.truth.resize(item + 1, kNan), field.prediction.resize(item + 1, kNan);
          field.truth[item] = j["truth"].get<double>();
          field.prediction[item] = j["prediction"].is_number() ? j["prediction"].get<double>() : kNan;
        } else if (j.contains("score") && j.contains("truth_class")) {
          field.scored.ensure(0, item);
          field.scored.labels[0][item] = j["truth_class"].get<int>() == 1;
          field.scored.scores[0][item] = j["score"].is_number() ? j["score"].get<double>() : kNan;
        }
        return Status();
      }));
  if (items.paths.empty()) return input_error(path, 0, "no prediction of encoder \"" + encoder + "\"");
  // metric m -> (field, what): 0 auroc, 1 r2, 2 mae
  auto plan = std::make_shared<std::vector<std::pair<size_t, int>>>();
  for (size_t f = 0; f < fields->size(); ++f) {
    const FieldColumn& field = (*fields)[f];
    if (field.numeric) {
      items.metrics.push_back({field.name + "_r2", kHigher});
      plan->emplace_back(f, 1);
      items.metrics.push_back({field.name + "_mae", kLower});
      plan->emplace_back(f, 2);
    } else if (!field.scored.labels.empty()) {
      items.metrics.push_back({field.name + "_auroc", kHigher});
      plan->emplace_back(f, 0);
    }
  }
  items.evaluate = [fields, plan](size_t metric, const std::vector<size_t>& sample) {
    const auto [f, what] = (*plan)[metric];
    const FieldColumn& field = (*fields)[f];
    if (what == 0) return field.scored.macro(sample, [](auto& s, auto& y) { return metrics::auroc(s, y); });
    std::vector<double> truth, prediction;
    for (size_t i : sample) {
      if (i < field.truth.size() && std::isfinite(field.truth[i]) && std::isfinite(field.prediction[i])) {
        truth.push_back(field.truth[i]);
        prediction.push_back(field.prediction[i]);
      }
    }
    if (truth.empty()) return kNan;
    return what == 1 ? metrics::r2(truth, prediction) : metrics::mae(truth, prediction);
  };
  return items;
}

}  // namespace

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

Result<EvaluatedItems> read_evaluated_items(const std::string& kind, const std::string& given,
                                            const std::string& encoder, MetricSet metric_set) {
  // A folder artifact (segment's predictions) holds the file under its usual name.
  const std::map<std::string, std::string> file_names = {{"probe", "predictions.csv"},
                                                         {"report", "predictions.jsonl"},
                                                         {"segment", "overlap.csv"},
                                                         {"demographics", "predictions.jsonl"}};
  std::string path = given;
  auto name = file_names.find(kind);
  if (name != file_names.end() && std::filesystem::is_directory(given)) {
    path = (std::filesystem::path(given) / name->second).string();
  }
  if (kind == "probe") return read_probe(path, metric_set);
  if (kind == "report") return read_report(path, metric_set);
  if (kind == "segment") return read_segment(path, metric_set);
  if (kind == "demographics") return read_demographics(path, encoder);
  return input_error(path, 0, "unknown kind \"" + kind + "\" (probe, report, segment, demographics)");
}

}  // namespace radflow::compare
