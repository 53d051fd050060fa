// A parser of the Prometheus text exposition format (0.0.4), strict enough to
// catch what a scraper would refuse: names and label names of the allowed
// alphabet, quoted and escaped label values, numbers (+Inf, -Inf, NaN), a TYPE
// before a family's samples and at most once, histogram series (_bucket with le,
// _sum, _count; cumulative buckets ending in +Inf = _count).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace radflow::test {

struct PromSample {
  std::string name;                           // as written, suffix included
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct PromText {
  std::map<std::string, std::string> types;  // family -> counter|gauge|histogram|...
  std::map<std::string, std::string> help;
  std::vector<PromSample> samples;
  std::vector<std::string> errors;  // empty when the text is valid

  // The value of the sample with exactly these labels, or 0 when absent.
  double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
};

PromText parse_prometheus_text(const std::string& text);

}  // namespace radflow::test
