#include "orchestrator/api/route_template.h"

namespace radflow {

std::string route_template(const std::string& pattern) {
  static const std::string kSegment = "([^/]+)";
  static const std::string kTail = "(/.*)?";
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, kSegment.size(), kSegment) == 0) {
      // out ends with "/<plural>/": the name is that segment without its "s".
      const size_t end = out.size() - 1;
      const size_t start = out.rfind('/', end - 1) + 1;
      std::string name = out.substr(start, end - start);
      if (!name.empty() && name.back() == 's') name.pop_back();
      out += "{" + name + "}";
      i += kSegment.size();
    } else if (pattern.compare(i, kTail.size(), kTail) == 0) {
      i += kTail.size();
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

std::string instantiate_template(const std::string& path_template, const std::string& value) {
  std::string out;
  for (size_t i = 0; i < path_template.size(); ++i) {
    if (path_template[i] != '{') {
      out += path_template[i];
      continue;
    }
    const size_t close = path_template.find('}', i);
    if (close == std::string::npos) return out + path_template.substr(i);
    out += value;
    i = close;
  }
  return out;
}

}  // namespace radflow
