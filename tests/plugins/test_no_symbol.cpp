// test-no-symbol: a valid shared library that exports no radflow_plugin.
#include "radflow/plugin.h"

extern "C" RF_PLUGIN_EXPORT int not_a_radflow_plugin(void) { return 7; }
