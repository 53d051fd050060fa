// test-throw: throws through the C++ helper, which must turn it into RF_RUN_EXCEPTION.
#include <stdexcept>

#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context&) { throw std::runtime_error("boom from test-throw"); }

RADFLOW_PLUGIN("test-throw", "1.0.0", "Test plugin that throws.", R"({"type":"object"})", "[]",
               "[]", run)
