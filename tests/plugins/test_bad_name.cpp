// test-bad-name: a well-formed plugin whose name breaks the [a-z0-9][a-z0-9-]* rule;
// the loader refuses it with invalid_name.
#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context&) { return RF_RUN_OK; }

RADFLOW_PLUGIN("Test_Bad_Name", "1.0.0", "Has an upper-case name with an underscore.",
               R"({"type":"object"})", "[]", "[]", run)
