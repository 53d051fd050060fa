/* radflow plugin ABI, version 1.
 *
 * The whole contract between radflow and a step plugin. Plain C99 so that a plugin
 * built with another compiler or another LibTorch keeps loading.
 *
 * A plugin is a shared library that exports exactly one symbol, `radflow_plugin`,
 * returning a pointer to a static rf_plugin descriptor. radflow-worker (one process
 * per step attempt and rank) dlopens it, checks abi_version, struct_size and name,
 * and calls run() once with a host function table. The daemon never dlopens a
 * plugin: it learns descriptors by running `radflow-worker --describe`.
 *
 * Rules:
 *  - Both structs start with their version and their own size; fields are only ever
 *    appended. The host reads descriptor fields past struct_size as absent, and the
 *    plugin must check host->struct_size before using a host function it did not
 *    ship with.
 *  - Strings are NUL-terminated UTF-8. Every pointer is borrowed unless its comment
 *    says otherwise; neither side frees what the other allocated.
 *  - Nothing may unwind across this boundary: no C++ exception, no longjmp.
 *  - All host functions may be called from any thread of the plugin, concurrently.
 */
#ifndef RADFLOW_PLUGIN_H_
#define RADFLOW_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RF_PLUGIN_ABI_VERSION 1u
#define RF_HOST_VERSION 1u
#define RF_PLUGIN_ENTRY_SYMBOL "radflow_plugin"

/* Return codes of rf_plugin.run. */
#define RF_RUN_OK 0
#define RF_RUN_FAILED 1    /* the plugin failed; it said why through host->fail */
#define RF_RUN_EXCEPTION 2 /* the C++ helper caught an exception; its what() was passed to fail */
#define RF_RUN_CANCELLED 3 /* the plugin stopped because host->is_cancelled said so */

/* Log levels of rf_host.log. */
#define RF_LOG_DEBUG 0
#define RF_LOG_INFO 1
#define RF_LOG_WARNING 2
#define RF_LOG_ERROR 3

typedef struct rf_host rf_host;

/* The host's function table, borrowed by the plugin for the duration of run().
 * `ctx` is the host's opaque state: pass it back as the first argument. */
struct rf_host {
  uint32_t version;     /* RF_HOST_VERSION of the host that built this table */
  uint32_t struct_size; /* sizeof(rf_host) of that host */
  void* ctx;

  /* The step's params as a JSON object, validated against params_schema_json. */
  const char* params_json;
  /* Inputs: name -> absolute path of a file or folder, as a JSON object. */
  const char* inputs_json;
  /* An empty folder the plugin may write outputs and scratch files into. */
  const char* output_dir;

  /* Distributed placement: rank in [0, world_size); local_rank on this machine;
   * device is "cpu" or "cuda:N" (N indexes CUDA_VISIBLE_DEVICES). */
  int32_t rank;
  int32_t world_size;
  int32_t local_rank;
  const char* device;

  /* A log line at one of RF_LOG_*. */
  void (*log)(void* ctx, int32_t level, const char* message);
  /* One point of a metric series: (iteration, value). Names are dotted, e.g.
   * "loss.dino". Non-finite values are recorded as such. */
  void (*metric)(void* ctx, const char* name, int64_t iteration, double value);
  /* Progress of the whole step in [0, 1], with a short message (may be NULL). */
  void (*progress)(void* ctx, double fraction, const char* message);
  /* Declares an output: `path` (a file or folder, usually under output_dir) becomes
   * the step's output `name`, one of outputs_json. Returns 0, or -1 when the name is
   * not a declared output or the path does not exist (the reason is logged). */
  int32_t (*register_output)(void* ctx, const char* name, const char* path);
  /* Non-zero once the attempt is being cancelled or timed out: return
   * RF_RUN_CANCELLED soon (the host kills the process after a grace period). */
  int32_t (*is_cancelled)(void* ctx);
  /* Records why run() is about to return RF_RUN_FAILED or RF_RUN_EXCEPTION. The last
   * call wins. */
  void (*fail)(void* ctx, const char* message);
};

/* The plugin's descriptor: static data plus its entry point. */
typedef struct rf_plugin {
  uint32_t abi_version; /* RF_PLUGIN_ABI_VERSION the plugin was built against */
  uint32_t struct_size; /* sizeof(rf_plugin) the plugin was built with */
  const char* name;     /* unique, lower-case, [a-z0-9-]; also the library's file stem */
  const char* version;  /* the plugin's own version, part of step cache keys */
  const char* description;
  /* JSON Schema (object) of params: type, properties, required, enum, minimum,
   * maximum, default, description, additionalProperties. */
  const char* params_schema_json;
  /* JSON arrays of {"name", "description"[, "optional": true]} objects. */
  const char* inputs_json;
  const char* outputs_json;
  /* Runs one attempt. Returns one of RF_RUN_*. */
  int32_t (*run)(const rf_host* host);
} rf_plugin;

typedef const rf_plugin* (*rf_plugin_entry_fn)(void);

#if defined(_WIN32)
#define RF_PLUGIN_EXPORT __declspec(dllexport)
#else
#define RF_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
}
#endif

#endif /* RADFLOW_PLUGIN_H_ */
