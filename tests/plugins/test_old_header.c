/* test-old-header: a plugin as built against an older radflow/plugin.h, whose host
 * table ended earlier. Its own copy of that header's structs stops at `log`: it
 * knows nothing of the fields the current host appended after it, reads only its
 * prefix, and must load and run in the current worker (docs/plugins.md, "ABI
 * promise"). Plain C, deliberately not including radflow/plugin.h. */
#include <stddef.h>
#include <stdint.h>

typedef struct old_rf_host {
  uint32_t version;
  uint32_t struct_size;
  void* ctx;
  const char* params_json;
  const char* inputs_json;
  const char* output_dir;
  int32_t rank;
  int32_t world_size;
  int32_t local_rank;
  const char* device;
  void (*log)(void* ctx, int32_t level, const char* message);
} old_rf_host;

typedef struct old_rf_plugin {
  uint32_t abi_version;
  uint32_t struct_size;
  const char* name;
  const char* version;
  const char* description;
  const char* params_schema_json;
  const char* inputs_json;
  const char* outputs_json;
  int32_t (*run)(const old_rf_host* host);
} old_rf_plugin;

static int32_t run(const old_rf_host* host) {
  if (host->struct_size >= offsetof(old_rf_host, log) + sizeof(host->log) && host->log != NULL) {
    host->log(host->ctx, 1, "old header plugin ran");
  }
  return 0;
}

static const old_rf_plugin kDescriptor = {
    1u, sizeof(old_rf_plugin), "test-old-header", "1.0.0", "Built against an older header.",
    "{\"type\":\"object\"}", "[]", "[]", run,
};

__attribute__((visibility("default"))) const old_rf_plugin* radflow_plugin(void) {
  return &kDescriptor;
}
