// Metrics in the Prometheus text exposition format (version 0.0.4): counters,
// gauges and histograms, each a family of series told apart by labels.
//
// One process-wide Registry (Registry::global()) so that the store's writer, the
// scheduler and the HTTP server each count where the event happens, with no
// plumbing; GET /metrics renders it. Families are declared once with their type
// and help; using an undeclared name, or a name with the wrong type, is a
// programmer error (RF_CHECK). Label values must come from bounded sets (statuses,
// reasons, route patterns, plugin names), never from ids: every distinct label set
// is a series kept for the life of the process.
//
// Thread-safe: one mutex; every call is a map lookup and an add.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace radflow::metrics {

// Label names and values, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Type { kCounter, kGauge, kHistogram };

class Registry {
 public:
  static Registry& global();

  // Declares a family; declaring it again with the same type does nothing.
  // `buckets` (histograms only) are upper bounds, ascending; +Inf is implied.
  void declare(const std::string& name, Type type, const std::string& help,
               std::vector<double> buckets = {});
  // Counter (delta >= 0) or gauge: adds to the series.
  void add(const std::string& name, const Labels& labels, double delta = 1);
  // Gauge, or a counter kept elsewhere (mirrored at scrape time): sets the series.
  void set(const std::string& name, const Labels& labels, double value);
  // Gauge: drops every series, before a scrape sets what exists now.
  void clear(const std::string& name);
  // Histogram: counts `value` into its bucket, sum and count.
  void observe(const std::string& name, const Labels& labels, double value);
  // The current value of a counter or gauge series (0 when absent); for tests.
  double value(const std::string& name, const Labels& labels) const;

  // Every family, sorted by name, series sorted by labels. A family without
  // labels and without a value renders as 0, so that it is always present.
  std::string render() const;

 private:
  struct Series {
    double value = 0;                   // counter, gauge
    std::vector<uint64_t> bucket_hits;  // histogram, per bucket (not cumulative)
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> buckets;
    std::map<Labels, Series> series;
  };
  Family& family(const std::string& name, Type expected);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// Upper bounds for durations in seconds: 5 ms to 1 h.
std::vector<double> seconds_buckets();
// "a\"b" -> a\"b: a label value as the text format escapes it (\\, \", \n).
std::string escape_label_value(const std::string& value);

}  // namespace radflow::metrics
