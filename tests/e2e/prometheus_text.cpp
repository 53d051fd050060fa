#include "tests/e2e/prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

namespace radflow::test {

namespace {

const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");

bool parse_number(const std::string& text, double* out) {
  if (text == "+Inf" || text == "Inf") return *out = INFINITY, true;
  if (text == "-Inf") return *out = -INFINITY, true;
  if (text == "NaN") return *out = NAN, true;
  if (text.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// The family a sample belongs to: histograms name theirs with suffixes.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

// name{a="x",b="y"} value: false with `error` set when malformed.
bool parse_sample(const std::string& line, PromSample* sample, std::string* error) {
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  sample->name = line.substr(0, i);
  if (!std::regex_match(sample->name, kName)) return *error = "bad metric name", false;
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find('=', i);
      if (eq == std::string::npos) return *error = "label without =", false;
      const std::string label = line.substr(i, eq - i);
      if (!std::regex_match(label, kLabelName)) return *error = "bad label name " + label, false;
      if (eq + 1 >= line.size() || line[eq + 1] != '"') return *error = "unquoted label value", false;
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\') {
          if (++j >= line.size()) return *error = "dangling escape", false;
          if (line[j] == 'n') value += '\n';
          else if (line[j] == '\\' || line[j] == '"') value += line[j];
          else return *error = "bad escape", false;
        } else {
          value += line[j];
        }
      }
      if (j >= line.size()) return *error = "unterminated label value", false;
      if (!sample->labels.emplace(label, value).second) return *error = "label twice: " + label, false;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return *error = "unterminated label set", false;
    ++i;
  }
  if (i >= line.size() || line[i] != ' ') return *error = "no value", false;
  std::istringstream rest(line.substr(i + 1));
  std::string value, timestamp, extra;
  rest >> value >> timestamp >> extra;
  if (!extra.empty()) return *error = "text after the timestamp", false;
  if (!parse_number(value, &sample->value)) return *error = "bad value " + value, false;
  return true;
}

}  // namespace

double PromText::value(const std::string& name,
                       const std::map<std::string, std::string>& labels) const {
  for (const auto& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return 0;
}

PromText parse_prometheus_text(const std::string& text) {
  PromText out;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  std::map<std::string, bool> seen_samples;  // family -> a sample came
  while (std::getline(lines, line)) {
    ++number;
    auto fail = [&](const std::string& why) {
      out.errors.push_back("line " + std::to_string(number) + ": " + why + ": " + line);
    };
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, kind, name;
      words >> hash >> kind >> name;
      if (kind != "HELP" && kind != "TYPE") continue;  // a plain comment
      if (!std::regex_match(name, kName)) {
        fail("bad family name");
        continue;
      }
      std::string rest;
      std::getline(words, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      if (kind == "HELP") {
        out.help[name] = rest;
        continue;
      }
      static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                    "untyped"};
      if (kTypes.count(rest) == 0) fail("unknown type " + rest);
      if (out.types.count(name)) fail("TYPE given twice");
      if (seen_samples[name]) fail("TYPE after samples");
      out.types[name] = rest;
      continue;
    }
    PromSample sample;
    std::string error;
    if (!parse_sample(line, &sample, &error)) {
      fail(error);
      continue;
    }
    seen_samples[family_of(sample.name, out.types)] = true;
    out.samples.push_back(sample);
  }
  // Histograms: per label set, cumulative buckets ending with +Inf equal to _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    std::map<std::map<std::string, std::string>, double> counts;
    for (const auto& s : out.samples) {
      if (s.name == family + "_bucket") {
        auto labels = s.labels;
        double le = 0;
        if (!labels.count("le") || !parse_number(labels["le"], &le)) {
          out.errors.push_back(family + ": a bucket without a numeric le");
          continue;
        }
        labels.erase("le");
        buckets[labels].push_back({le, s.value});
      } else if (s.name == family + "_count") {
        counts[s.labels] = s.value;
      }
    }
    for (const auto& [labels, list] : buckets) {
      for (size_t i = 1; i < list.size(); ++i) {
        if (list[i].first <= list[i - 1].first || list[i].second < list[i - 1].second) {
          out.errors.push_back(family + ": buckets not ascending or not cumulative");
        }
      }
      if (list.empty() || !std::isinf(list.back().first) || list.back().second != counts[labels]) {
        out.errors.push_back(family + ": no +Inf bucket equal to _count");
      }
    }
  }
  return out;
}

}  // namespace radflow::test
