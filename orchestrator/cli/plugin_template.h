// The project `radflow plugins new` writes: file name -> content, for one plugin
// kind. Every file is text with the plugin's name filled in; the project builds
// against an installed radflow (find_package(radflow)) and its test passes as
// written (tests/sdk/install_tree_test.sh builds and runs one of each kind).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace radflow::cli {

// "evaluation", "data", "trainer".
const std::vector<std::string>& plugin_kinds();

// Relative file path -> content. `kind` must be one of plugin_kinds().
std::map<std::string, std::string> plugin_project_files(const std::string& name,
                                                        const std::string& kind);

}  // namespace radflow::cli
