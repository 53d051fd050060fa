// `radflow report RUN [RUN ...] [--out FILE] [--json] [--bootstrap N] [--seed S]`: the
// encoder report card of runs (GET /api/v1/report, docs/report-card.md) as one
// self-contained HTML file, or as JSON for tools. The HTML is the dashboard's own report
// renderer (web/src/report_render.js, embedded as radflow::web::kReportCardHtml) with
// the JSON model inline: one source of truth, no network, no external font or script.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "orchestrator/cli/api_client.h"
#include "orchestrator/cli/cli_util.h"
#include "orchestrator/cli/commands.h"
#include "web/dashboard_assets.h"

namespace radflow::cli {
namespace {

using nlohmann::json;

constexpr const char* kReportHelp =
    "usage: radflow report RUN [RUN ...] [--out FILE] [--json] [--bootstrap N] [--seed S]\n\n"
    "The encoder report card of the runs' evaluation steps (probe, segment, report-gen,\n"
    "demographic-correlation): every figure with its 95% interval, forest plots,\n"
    "paired differences between encoders (the same bootstrap resamples for both, computed\n"
    "from the predictions artifacts) marked where significant, ablation curves for runs of\n"
    "workflows/ablation-*.json, and the provenance of every number (docs/report-card.md).\n"
    "  --out FILE     where to write it (default report-RUN[-RUN...].html, or .json)\n"
    "  --json         the report as JSON instead of HTML (--out -: to stdout)\n"
    "  --bootstrap N  bootstrap resamples (default 1000)\n"
    "  --seed S       seed of the resamples (default 0)\n"
    "The HTML file is self-contained: inline CSS, SVG plots and script, overlays as data:\n"
    "URIs; it loads nothing and opens in any browser, offline.";

// The model inside a <script> element: every "/" escaped ("\/" is the same JSON
// string), so neither "</script>" nor an http(s) address can appear in the page.
std::string inline_model(const json& model) {
  std::string text = model.dump();
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (char c : text) {
    if (c == '/') out += '\\';
    out += c;
  }
  return "<script type=\"application/json\" id=\"report-model\">" + out + "</script>";
}

std::string html_of(const json& model) {
  std::string page(web::kReportCardHtml);
  const std::string slot = "<!--MODEL-->";
  const size_t at = page.find(slot);
  if (at != std::string::npos) page.replace(at, slot.size(), inline_model(model));
  return page;
}

}  // namespace

int report(const std::string& server, const Args& args) {
  if (wants_help(args)) {
    std::puts(kReportHelp);
    return kOk;
  }
  std::vector<std::string> runs;
  std::string out, bootstrap, seed;
  bool as_json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--json") {
      as_json = true;
    } else if (a == "--out" || a == "--bootstrap" || a == "--seed") {
      if (!has_value) return usage_error(a + " needs a value", "report");
      (a == "--out" ? out : a == "--bootstrap" ? bootstrap : seed) = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + a, "report");
    } else if (is_run_id(a)) {
      runs.push_back(a);
    } else {
      return usage_error("\"" + a + "\" is not a run id (a positive number; `radflow runs` lists them)", "report");
    }
  }
  if (runs.empty()) return usage_error("report needs at least one RUN id", "report");
  for (const auto* value : {&bootstrap, &seed}) {
    if (!value->empty() && value->find_first_not_of("0123456789") != std::string::npos) {
      return usage_error("--bootstrap and --seed take non-negative integers, got \"" + *value + "\"", "report");
    }
  }
  std::string ids;
  for (const auto& r : runs) ids += (ids.empty() ? "" : ",") + r;
  std::string query = "/api/v1/report?runs=" + ids;
  if (!bootstrap.empty()) query += "&bootstrap=" + bootstrap;
  if (!seed.empty()) query += "&seed=" + seed;
  if (!as_json) query += "&embed_overlays=4";  // the file carries its overlays

  ApiClient client(server);
  auto model = client.get(query);
  if (!model.ok()) return cli::report(model.status());
  const std::string text = as_json ? model->dump(2) + "\n" : html_of(*model);
  if (out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return kOk;
  }
  if (out.empty()) {
    std::string name = "report";
    for (const auto& r : runs) name += "-" + r;
    out = name + (as_json ? ".json" : ".html");
  }
  std::ofstream file(out, std::ios::binary);
  file << text;
  file.close();
  if (!file) {
    std::fprintf(stderr, "radflow: cannot write %s (check the folder exists and is writable, or pass --out FILE)\n",
                 out.c_str());
    return kFailed;
  }
  std::size_t figures = 0, significant = 0;
  for (const auto& section : (*model)["sections"]) {
    for (const auto& row : section["encoders"]) figures += row["figures"].size();
    for (const auto& d : section["differences"]) significant += d.value("significant", false) ? 1 : 0;
  }
  std::printf("report card of run%s %s: %zu figures, %zu significant paired difference%s -> %s\n",
              runs.size() > 1 ? "s" : "", ids.c_str(), figures, significant, significant == 1 ? "" : "s", out.c_str());
  for (const auto& w : (*model)["warnings"]) std::printf("  warning: %s\n", w.get<std::string>().c_str());
  return kOk;
}

}  // namespace radflow::cli
