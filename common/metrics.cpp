#include "common/metrics.h"

#include <cmath>
#include <cstdio>

#include "common/check.h"

namespace radflow::metrics {

namespace {

const char* type_name(Type type) {
  switch (type) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

// Integers as integers (byte counts stay exact up to 2^53); others with 12
// significant digits; +Inf and NaN as the format spells them.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char text[64];
  if (v == std::floor(v) && std::fabs(v) < 9e15) {
    std::snprintf(text, sizeof(text), "%.0f", v);
  } else {
    std::snprintf(text, sizeof(text), "%.12g", v);
  }
  return text;
}

std::string label_text(const Labels& labels, const std::string& extra_name = "",
                       const std::string& extra_value = "") {
  std::string out;
  for (const auto& [name, value] : labels) {
    out += (out.empty() ? "" : ",") + name + "=\"" + escape_label_value(value) + "\"";
  }
  if (!extra_name.empty()) out += (out.empty() ? "" : ",") + extra_name + "=\"" + extra_value + "\"";
  return out.empty() ? "" : "{" + out + "}";
}

std::string escape_help(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

Registry& Registry::global() {
  static Registry* registry = new Registry();  // never destroyed: threads may count at exit
  return *registry;
}

void Registry::declare(const std::string& name, Type type, const std::string& help,
                       std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    RF_CHECK(it->second.type == type, "metric " + name + " declared twice with different types");
    return;
  }
  families_[name] = Family{type, help, std::move(buckets), {}};
}

Registry::Family& Registry::family(const std::string& name, Type expected) {
  auto it = families_.find(name);
  RF_CHECK(it != families_.end(), "metric " + name + " used before it was declared");
  const bool fits = it->second.type == expected ||
                    (expected == Type::kCounter && it->second.type == Type::kGauge);
  RF_CHECK(fits, "metric " + name + " used as a " + type_name(expected));
  return it->second;
}

void Registry::add(const std::string& name, const Labels& labels, double delta) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = family(name, Type::kCounter);
  f.series[labels].value += delta;
}

void Registry::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name, Type::kCounter).series[labels].value = value;  // a gauge or a counter
}

void Registry::clear(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name, Type::kGauge).series.clear();
}

void Registry::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = family(name, Type::kHistogram);
  Series& s = f.series[labels];
  if (s.bucket_hits.empty()) s.bucket_hits.assign(f.buckets.size(), 0);
  for (size_t i = 0; i < f.buckets.size(); ++i) {
    if (value <= f.buckets[i]) {
      ++s.bucket_hits[i];
      break;
    }
  }
  s.sum += value;
  ++s.count;
}

double Registry::value(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto s = f->second.series.find(labels);
  return s == f->second.series.end() ? 0 : s->second.value;
}

std::string Registry::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + type_name(f.type) + "\n";
    if (f.series.empty() && f.type != Type::kHistogram) out += name + " 0\n";
    for (const auto& [labels, s] : f.series) {
      if (f.type != Type::kHistogram) {
        out += name + label_text(labels) + " " + number(s.value) + "\n";
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += s.bucket_hits[i];
        out += name + "_bucket" + label_text(labels, "le", number(f.buckets[i])) + " " +
               number(static_cast<double>(cumulative)) + "\n";
      }
      out += name + "_bucket" + label_text(labels, "le", "+Inf") + " " +
             number(static_cast<double>(s.count)) + "\n";
      out += name + "_sum" + label_text(labels) + " " + number(s.sum) + "\n";
      out += name + "_count" + label_text(labels) + " " + number(static_cast<double>(s.count)) + "\n";
    }
  }
  return out;
}

std::vector<double> seconds_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
}

std::string escape_label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace radflow::metrics
