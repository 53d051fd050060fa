// test-confine: probes its Landlock confinement and reports what happened instead of
// failing, so a test can assert each case. Writes report.json (output "report"):
//   {"read_input", "write_attempt", "write_tmpdir", "read_outside", "write_outside",
//    "read_data"}, each "ok", "skipped" or the errno's name (EACCES, ENOENT, ...).
// read_path and write_path are plain strings on purpose (no "format": "path"), so they
// pass validation and only the worker's confinement can stop them. "data" and
// "files" are declared paths, for the data-root validation tests.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "radflow/plugin.hpp"

namespace {

std::string errno_name(int error) {
  switch (error) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EROFS: return "EROFS";
    default: return "errno " + std::to_string(error);
  }
}

std::string try_open(const std::string& path, int flags) {
  if (path.empty()) return "skipped";
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) return errno_name(errno);
  std::string result = "ok";
  if ((flags & O_ACCMODE) == O_RDONLY) {
    char byte;
    if (::read(fd, &byte, 1) < 0) result = errno_name(errno);
  } else if (::write(fd, "x\n", 2) != 2) {
    result = errno_name(errno);
  }
  ::close(fd);
  return result;
}

int run(radflow::sdk::Context& ctx) {
  nlohmann::json report;
  report["read_input"] = ctx.has_input("in") ? try_open(ctx.input("in"), O_RDONLY) : "skipped";
  report["write_attempt"] = try_open(ctx.output_path("probe.txt"), O_WRONLY | O_CREAT | O_TRUNC);
  const char* tmpdir = std::getenv("TMPDIR");
  report["write_tmpdir"] =
      tmpdir ? try_open(std::string(tmpdir) + "/probe.txt", O_WRONLY | O_CREAT | O_TRUNC)
             : "skipped";
  report["read_outside"] = try_open(ctx.param("read_path", ""), O_RDONLY);
  report["write_outside"] = try_open(ctx.param("write_path", ""), O_WRONLY | O_CREAT | O_TRUNC);
  report["read_data"] = try_open(ctx.param("data", ""), O_RDONLY);
  const std::string out = ctx.output_path("report.json");
  std::ofstream(out) << report.dump(2) << "\n";
  ctx.log_info("test-confine: " + report.dump());
  ctx.register_output("report", out);
  return RF_RUN_OK;
}

}  // namespace

RADFLOW_PLUGIN("test-confine", "1.0.0", "Test plugin that probes its Landlock confinement.",
               R"({"type":"object","properties":{
                   "read_path":{"type":"string","description":"a file to try to read; not a declared path"},
                   "write_path":{"type":"string","description":"a file to try to create; not a declared path"},
                   "data":{"type":"string","format":"path","description":"a declared path param, read if given"},
                   "files":{"type":"array","items":{"type":"string","format":"path"},"description":"declared path params"}},
                 "additionalProperties":false})",
               R"([{"name":"in","description":"a file to read","optional":true}])",
               R"([{"name":"report","description":"report.json"}])", run)
