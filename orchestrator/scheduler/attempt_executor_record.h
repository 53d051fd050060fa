// Which executor ran an attempt, kept in the attempt's folder (executor.json,
// {"executor": "slurm"}) so that a restarted daemon asks that executor what became
// of it. A file rather than a database column: the folder is where every executor
// already keeps what recovery reads (workers.json, slurm-job.json), and nothing
// queries it. Internal to scheduler/; plain functions, any thread.
#pragma once

#include <string>

#include "common/status.h"

namespace radflow {

// Creates attempt_dir and writes attempt_dir/executor.json, except for "local",
// which no record already means (one file fewer for every local attempt).
Status record_attempt_executor(const std::string& attempt_dir, const std::string& executor);

// The executor recorded for the attempt; "local" when there is no record (attempts
// started before executors were recorded ran locally), "" when it is unreadable.
std::string recorded_attempt_executor(const std::string& attempt_dir);

}  // namespace radflow
