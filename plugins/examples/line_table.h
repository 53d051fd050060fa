// LineTable: the x,y CSV that `numbers` writes and `fit-line` / `evaluate-line`
// read. Header-only so each example stays one .cpp plus this shared format. Plain
// data; read_line_table throws std::runtime_error naming the file and line.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace radflow::examples {

struct LineTable {
  std::vector<double> x;
  std::vector<double> y;
};

inline LineTable read_line_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open table " + path);
  LineTable table;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    if (line_number == 1 && line == "x,y") continue;
    std::istringstream fields(line);
    double x = 0, y = 0;
    char comma = 0;
    if (!(fields >> x >> comma >> y) || comma != ',') {
      throw std::runtime_error(path + ":" + std::to_string(line_number) + ": expected 'x,y', got '" +
                               line + "'");
    }
    table.x.push_back(x);
    table.y.push_back(y);
  }
  if (table.x.empty()) throw std::runtime_error("table " + path + " has no rows");
  return table;
}

}  // namespace radflow::examples
