// Landlock confinement of a worker (issue #13): what a step attempt may read and
// write, enforced by the kernel on the worker process and everything it starts.
//
// The daemon decides the attempt's own paths (Confinement, written into the rank
// spec by RunningAttempt); the worker adds what any process needs (system_reads())
// and calls confine_self() after it has loaded the plugin, before the plugin runs.
// Landlock ABI 1 to 3 rights on files are handled (ABI 3 adds truncate); ioctl and
// network rights are not, so CUDA's device ioctls and Gloo/NCCL sockets keep working.
// Where the kernel has no Landlock, confine_self() reports kUnsupported and the
// worker runs unconfined (radflowd says so once at start).
//
// Free functions; confine_self() changes the calling process for good and applies to
// every thread it starts afterwards (call it before starting threads).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace radflow {

struct Confinement {
  std::vector<std::string> read;        // files or folders: read (and list)
  std::vector<std::string> read_exec;   // the same, plus execute (programs, libraries)
  std::vector<std::string> read_write;  // read, write, create, remove beneath
};

// The Landlock ABI version the kernel offers (LANDLOCK_CREATE_RULESET_VERSION), 0 when
// it has none (not built in, disabled at boot, or radflow built without the header).
int landlock_abi_version();

// "Landlock ABI N" or why there is none, for the daemon's start-up line.
std::string describe_landlock_support();

// What every worker may use besides the attempt's own paths: system libraries and
// configuration (/usr, /lib*, /bin, /sbin, /etc) read and execute, /proc and /sys
// read (CUDA reads both), /dev/null, /dev/zero, /dev/full, /dev/random,
// /dev/urandom, /dev/nvidia* and /dev/shm read-write, the folders of the shared
// libraries mapped into this process so far and of $LD_LIBRARY_PATH read and execute
// (libraries loaded lazily, e.g. CUDA's, live beside those already loaded).
// The libraries and /dev/nvidia* are looked up once per process, at the first call
// (or at warm_system_confinement()); $LD_LIBRARY_PATH is read at every call.
Confinement system_confinement();
// Looks up what system_confinement() caches now: a fork server calls it after
// loading its plugin, before it forks any worker.
void warm_system_confinement();

enum class ConfineResult { kConfined, kUnsupported };

// Sets PR_SET_NO_NEW_PRIVS and restricts this process to `confinement` for good.
// Paths that do not exist are skipped. Errors (code "confine_failed") when the kernel
// has Landlock but a step of it fails; the caller must not run the plugin then.
Result<ConfineResult> confine_self(const Confinement& confinement);

}  // namespace radflow
