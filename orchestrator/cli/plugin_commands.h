// `radflow plugins check|new|reload`: the plugin author's commands.
//
//   check FILE.so   loads FILE through radflow-worker --describe (the worker's loader,
//                   in its own process) and reports what the daemon would see;
//                   exit 0 usable, 1 broken (the loader's code is printed), 2 usage
//   new NAME        writes a ready-to-build out-of-tree plugin project
//                   (plugin_template.h); exit 0, 1 when the folder exists, 2 usage
//   reload          asks the server to rescan its plugin folder (admin)
// Each takes --help. Single-threaded; check forks one child.
#pragma once

#include <string>

#include "orchestrator/cli/commands.h"

namespace radflow::cli {

int plugins_check(const Args& args);
int plugins_new(const Args& args);
int plugins_reload(const std::string& server, const Args& args);

}  // namespace radflow::cli
