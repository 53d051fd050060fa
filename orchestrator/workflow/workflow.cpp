#include "orchestrator/workflow/workflow.h"

#include <algorithm>

namespace radflow {

std::vector<std::string> StepSpec::upstream() const {
  std::vector<std::string> names;
  names.reserve(inputs.size());
  for (const auto& binding : inputs) names.push_back(binding.step);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

const StepSpec* Workflow::find_step(const std::string& name) const {
  for (const auto& step : steps) {
    if (step.name == name) return &step;
  }
  return nullptr;
}

}  // namespace radflow
