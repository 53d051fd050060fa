#include "plugins/ml/data/split_assignment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <vector>

namespace radflow::ml::data {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

constexpr std::array<Split, 3> kSplits = {Split::kTrain, Split::kVal, Split::kTest};

struct Group {
  std::vector<size_t> records;  // unassigned records of one patient
  std::map<std::string, int> positives;
};

}  // namespace

std::string patient_key(const Record& record) {
  for (const char* column : {"patient_id", "subject_id"}) {
    const auto it = record.extra.find(column);
    if (it != record.extra.end() && !it->second.empty()) return it->second;
  }
  return "";
}

Status assign_missing_splits(Manifest& manifest, const SplitRatios& ratios, uint64_t seed) {
  const double total = ratios.train + ratios.val + ratios.test;
  if (ratios.train < 0 || ratios.val < 0 || ratios.test < 0 || !(total > 0)) {
    return Status::error("invalid_split_ratios", "split ratios must be >= 0 and not all zero");
  }
  // A patient's given split wins for the rest of its images.
  std::map<std::string, Split> given;
  for (const Record& r : manifest.records) {
    const std::string key = patient_key(r);
    if (r.split != Split::kUnassigned && !key.empty()) given.emplace(key, r.split);
  }
  std::vector<Group> groups;
  std::map<std::string, size_t> group_of;
  int64_t count = 0;
  for (size_t i = 0; i < manifest.records.size(); ++i) {
    Record& r = manifest.records[i];
    if (r.split != Split::kUnassigned) continue;
    const std::string key = patient_key(r);
    if (const auto it = given.find(key); !key.empty() && it != given.end()) {
      r.split = it->second;
      continue;
    }
    size_t g = groups.size();
    if (!key.empty()) g = group_of.emplace(key, groups.size()).first->second;
    if (g == groups.size()) groups.emplace_back();
    groups[g].records.push_back(i);
    for (const auto& [finding, label] : r.labels) groups[g].positives[finding] += label == 1;
    ++count;
  }

  const int64_t n_train = std::llround(count * ratios.train / total);
  const int64_t n_val = std::min(count - n_train, static_cast<int64_t>(std::llround(count * ratios.val / total)));
  std::array<int64_t, 3> target = {n_train, n_val, count - n_train - n_val};
  if (ratios.test == 0 && target[2] > 0) {  // rounding leftovers: last split with a non-zero ratio
    target[ratios.val > 0 ? 1 : 0] += target[2];
    target[2] = 0;
  }
  const std::array<double, 3> share = {ratios.train / total, ratios.val / total, ratios.test / total};

  // Seeded order, then largest patients first (stable) so the singles fill the gaps.
  std::vector<size_t> order(groups.size());
  for (size_t g = 0; g < order.size(); ++g) order[g] = g;
  uint64_t state = seed;
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[splitmix64(state) % i]);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return groups[a].records.size() > groups[b].records.size(); });

  std::map<std::string, int64_t> all_positives;
  for (const Group& g : groups) {
    for (const auto& [finding, n] : g.positives) all_positives[finding] += n;
  }
  std::array<int64_t, 3> used = {0, 0, 0};
  std::array<std::map<std::string, int64_t>, 3> positives;
  for (size_t g : order) {
    const Group& group = groups[g];
    const auto size = static_cast<int64_t>(group.records.size());
    int best = -1;
    double best_score = 0;
    for (int s = 0; s < 3; ++s) {
      if (target[s] == 0) continue;
      const int64_t room = target[s] - used[s];
      // Splits with room for the whole patient come first; among them, the one whose
      // positives lag their share most; without room anywhere, the emptiest split.
      double score = room >= size ? 1e9 : static_cast<double>(room) / target[s] - 1e3;
      if (room >= size) {
        for (const auto& [finding, n] : group.positives) {
          if (n > 0) score += (share[s] * all_positives[finding] - positives[s][finding]) / all_positives[finding];
        }
        score += static_cast<double>(room) / target[s];
      }
      if (best < 0 || score > best_score) best = s, best_score = score;
    }
    used[best] += size;
    for (const auto& [finding, n] : group.positives) positives[best][finding] += n;
    for (size_t i : group.records) manifest.records[i].split = kSplits[best];
  }
  return Status::ok_status();
}

}  // namespace radflow::ml::data
