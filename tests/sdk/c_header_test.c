/* Compiled with -std=c99 -pedantic -Werror: radflow/plugin.h must be plain C, and a
 * plugin written in C must be able to build a descriptor and call the host table. */
#include <stdio.h>
#include <string.h>

#include "radflow/plugin.h"

static int32_t g_logged = 0;

static void fake_log(void* ctx, int32_t level, const char* message) {
  (void)ctx;
  (void)level;
  if (strcmp(message, "hello from C") == 0) g_logged = 1;
}

static int32_t run(const rf_host* host) {
  if (host->struct_size < sizeof(rf_host) || host->log == NULL) return RF_RUN_FAILED;
  host->log(host->ctx, RF_LOG_INFO, "hello from C");
  return RF_RUN_OK;
}

static const rf_plugin kDescriptor = {
    RF_PLUGIN_ABI_VERSION, sizeof(rf_plugin), "c-plugin", "0.1.0", "A plugin in C.",
    "{\"type\":\"object\"}", "[]", "[]", run,
};

RF_PLUGIN_EXPORT const rf_plugin* radflow_plugin(void) { return &kDescriptor; }

int main(void) {
  rf_host host;
  rf_plugin_entry_fn entry = radflow_plugin;
  const rf_plugin* plugin = entry();
  memset(&host, 0, sizeof host);
  host.version = RF_HOST_VERSION;
  host.struct_size = (uint32_t)sizeof host;
  host.log = fake_log;
  if (plugin->abi_version != RF_PLUGIN_ABI_VERSION || plugin->struct_size != sizeof(rf_plugin)) {
    fprintf(stderr, "descriptor header is wrong\n");
    return 1;
  }
  if (plugin->run(&host) != RF_RUN_OK || !g_logged) {
    fprintf(stderr, "run through the host table failed\n");
    return 1;
  }
  return 0;
}
