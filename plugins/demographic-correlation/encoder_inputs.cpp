#include "plugins/demographic-correlation/encoder_inputs.h"

#include <set>

namespace radflow::ml::demographic {
namespace {

std::string describe(const EncoderInput& e) { return e.input + " (\"" + e.name + "\")"; }

}  // namespace

std::vector<std::string> feature_input_names() {
  std::vector<std::string> out = {"features"};
  for (int k = 2; k <= kMaxEncoders; ++k) out.push_back("features_" + std::to_string(k));
  return out;
}

Result<std::vector<EncoderInput>> load_encoders(
    const std::vector<std::pair<std::string, std::string>>& bound, const std::vector<std::string>& names) {
  if (!names.empty() && names.size() != bound.size()) {
    return Status::error("invalid_param",
                         "param names has " + std::to_string(names.size()) + " entries but " +
                             std::to_string(bound.size()) + " feature set(s) are bound",
                         "names");
  }
  std::vector<EncoderInput> out;
  std::set<std::string> used;
  for (size_t i = 0; i < bound.size(); ++i) {
    const auto& [input, dir] = bound[i];
    auto set = eval::read_feature_set(dir);
    if (!set.ok()) {
      return Status::error(set.status().code(), "input " + input + ": " + set.status().message(),
                           set.status().err().path);
    }
    EncoderInput e{input, "", std::move(set).value()};
    if (!names.empty()) {
      e.name = names[i];
      if (used.count(e.name)) {
        return Status::error("invalid_param", "param names repeats \"" + e.name + "\"", "names");
      }
    } else {
      const auto encoder = e.set.meta.find("encoder");
      e.name = encoder != e.set.meta.end() && encoder->is_string() && !encoder->get<std::string>().empty()
                   ? encoder->get<std::string>()
                   : input;
      // Only a later input can repeat a label, and its name is "features_<k>".
      if (used.count(e.name)) e.name += "_" + input.substr(input.rfind('_') + 1);
    }
    used.insert(e.name);
    out.push_back(std::move(e));
  }
  return out;
}

Status check_rows_agree(const std::vector<EncoderInput>& encoders) {
  if (encoders.empty()) return Status();
  const auto& first = encoders.front();
  for (size_t k = 1; k < encoders.size(); ++k) {
    const auto& other = encoders[k];
    const std::string both = "feature sets " + describe(first) + " and " + describe(other);
    if (first.set.rows.size() != other.set.rows.size()) {
      return Status::error("rows_mismatch", both + " have different rows: " +
                                                std::to_string(first.set.rows.size()) + " vs " +
                                                std::to_string(other.set.rows.size()) + " rows",
                           other.input);
    }
    for (size_t i = 0; i < first.set.rows.size(); ++i) {
      const auto& a = first.set.rows[i];
      const auto& b = other.set.rows[i];
      if (a.path != b.path || a.split != b.split) {
        return Status::error("rows_mismatch",
                             both + " have different rows: row " + std::to_string(i) + " is " +
                                 a.path + " (" + a.split + ") in " + first.input + " but " + b.path +
                                 " (" + b.split + ") in " + other.input,
                             other.input);
      }
    }
  }
  return Status();
}

}  // namespace radflow::ml::demographic
