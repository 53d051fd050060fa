// The Slurm executor as radflowd configures it (docs/slurm.md): its options from the
// daemon's settings, and the URL Slurm's nodes reach the daemon at.
#pragma once

#include <memory>
#include <string>

#include "orchestrator/daemon/daemon_options.h"
#include "orchestrator/executor/slurm_executor.h"

namespace radflow {

// --slurm-report-url, else http(s)://HOST:PORT of the address radflowd serves on
// (`bound_port`: the port it got); for 0.0.0.0 and :: the machine's host name.
std::string slurm_report_url(const DaemonOptions& options, int bound_port);

// The host part of a URL ("http://head01:8080/x" -> "head01"); "" without "://".
std::string url_host(const std::string& url);

std::shared_ptr<SlurmExecutor> make_slurm_executor(const DaemonOptions& options,
                                                   const std::string& report_url);

}  // namespace radflow
