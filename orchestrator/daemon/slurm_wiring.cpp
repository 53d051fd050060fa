#include "orchestrator/daemon/slurm_wiring.h"

#include <unistd.h>

namespace radflow {

std::string slurm_report_url(const DaemonOptions& options, int bound_port) {
  if (!options.slurm_report_url.empty()) {
    std::string url = options.slurm_report_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  }
  std::string host = options.host;
  if (host == "0.0.0.0" || host == "::") {
    char name[256] = {};
    host = gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0' ? name : "127.0.0.1";
  }
  if (host.find(':') != std::string::npos) host = "[" + host + "]";  // IPv6
  return std::string(options.tls_cert.empty() ? "http" : "https") + "://" + host + ":" +
         std::to_string(bound_port);
}

std::string url_host(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "";
  std::string authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find('/'));
  if (!authority.empty() && authority.front() == '[') {
    return authority.substr(1, authority.find(']') - 1);
  }
  return authority.substr(0, authority.find(':'));
}

std::shared_ptr<SlurmExecutor> make_slurm_executor(const DaemonOptions& options,
                                                   const std::string& report_url) {
  SlurmOptions slurm;
  slurm.partition = options.slurm_partition;
  slurm.account = options.slurm_account;
  slurm.sbatch_args = options.slurm_sbatch_args;
  slurm.report_url = report_url;
  slurm.poll_interval_s = options.slurm_poll_s;
  return std::make_shared<SlurmExecutor>(slurm);
}

}  // namespace radflow
