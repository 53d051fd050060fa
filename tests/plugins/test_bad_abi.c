/* test-bad-abi: a hand-written descriptor claiming ABI version 99, as a plugin built
 * for a newer radflow would. Deliberately not RADFLOW_PLUGIN. */
#include "radflow/plugin.h"

static int32_t run(const rf_host* host) {
  (void)host;
  return RF_RUN_OK;
}

static const rf_plugin kDescriptor = {
    99u,                     /* abi_version */
    sizeof(rf_plugin),       /* struct_size */
    "test-bad-abi",          /* name */
    "1.0.0",                 /* version */
    "Test plugin from the future.",
    "{\"type\":\"object\"}", /* params_schema_json */
    "[]",                    /* inputs_json */
    "[]",                    /* outputs_json */
    run,
};

RF_PLUGIN_EXPORT const rf_plugin* radflow_plugin(void) { return &kDescriptor; }
