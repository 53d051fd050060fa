/* test-new-header: a plugin as built against a newer radflow/plugin.h, whose
 * descriptor has a field appended after `run`. The worker cannot honour a field it
 * does not know, so it refuses the plugin (struct_size_mismatch) with a message
 * that says to upgrade radflow or rebuild. Deliberately not RADFLOW_PLUGIN. */
#include "radflow/plugin.h"

typedef struct newer_rf_plugin {
  rf_plugin v1;
  const char* appended_field; /* what a newer header would add */
} newer_rf_plugin;

static int32_t run(const rf_host* host) {
  (void)host;
  return RF_RUN_OK;
}

static const newer_rf_plugin kDescriptor = {
    {RF_PLUGIN_ABI_VERSION, sizeof(newer_rf_plugin), "test-new-header", "1.0.0",
     "Built against a newer header.", "{\"type\":\"object\"}", "[]", "[]", run},
    "from the future",
};

RF_PLUGIN_EXPORT const rf_plugin* radflow_plugin(void) { return &kDescriptor.v1; }
