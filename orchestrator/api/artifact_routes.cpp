// /api/v1/artifacts/{id}: metadata with lineage, and downloads of a file artifact
// or of one file inside a folder artifact.
#include <httplib.h>

#include <filesystem>
#include <fstream>

#include "orchestrator/api/api_server.h"
#include "orchestrator/api/http_util.h"
#include "orchestrator/api/json_views.h"

namespace radflow {

using http::path_id;
using http::reply_errors;
using http::reply_json;
using http::reply_status;
namespace fs = std::filesystem;

namespace {

std::string content_type_of(const fs::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".json") return "application/json";
  if (ext == ".csv") return "text/csv";
  if (ext == ".txt" || ext == ".log" || ext == ".md") return "text/plain; charset=utf-8";
  if (ext == ".png") return "image/png";
  if (ext == ".html") return "text/html; charset=utf-8";
  return "application/octet-stream";
}

// Streams a file in chunks so large checkpoints never sit in memory.
void reply_file(httplib::Response& res, const std::string& path, const std::string& download_name) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    return reply_errors(res, 500, {{"io_error", "cannot read " + path + ": " + ec.message(), ""}});
  }
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  res.set_content_provider(
      size, content_type_of(path),
      [file](size_t offset, size_t length, httplib::DataSink& sink) {
        std::vector<char> buffer(std::min<size_t>(length, 1 << 20));
        file->seekg(static_cast<std::streamoff>(offset));
        file->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto got = file->gcount();
        return got > 0 && sink.write(buffer.data(), static_cast<size_t>(got));
      });
  res.set_header("Content-Disposition", "attachment; filename=\"" + download_name + "\"");
}

}  // namespace

void ApiServer::add_artifact_routes() {
  server_->Get(R"(/api/v1/artifacts/([^/]+))", [this](const httplib::Request& req,
                                                       httplib::Response& res) {
    auto artifact_id = path_id(req, res, 1, "artifact id");
    if (!artifact_id) return;
    auto artifact = ctx_.store->get_artifact(*artifact_id);
    if (!artifact.ok()) return reply_status(res, artifact.status());
    nlohmann::json body = artifact_json(*artifact);
    if (artifact->step_id != 0) {
      auto step = ctx_.store->get_step(artifact->step_id);
      if (step.ok()) body["producer"] = {{"run_id", step->run_id}, {"step", step->name}};
    }
    if (artifact->producer_attempt_id != 0) {
      auto inputs = ctx_.store->inputs_of_attempt(artifact->producer_attempt_id);
      if (!inputs.ok()) return reply_status(res, inputs.status());
      nlohmann::json read = nlohmann::json::array();
      for (const auto& input : *inputs) {
        read.push_back({{"input", input.input_name},
                        {"artifact", input.artifact.id},
                        {"digest", input.artifact.digest}});
      }
      body["inputs"] = read;  // lineage: what the producing attempt read
    }
    reply_json(res, 200, body);
  });

  server_->Get(R"(/api/v1/artifacts/([^/]+)/content(/.*)?)", [this](const httplib::Request& req,
                                                                     httplib::Response& res) {
    auto artifact_id = path_id(req, res, 1, "artifact id");
    if (!artifact_id) return;
    auto artifact = ctx_.store->get_artifact(*artifact_id);
    if (!artifact.ok()) return reply_status(res, artifact.status());
    std::string relative = req.matches[2];
    if (!relative.empty()) relative = relative.substr(1);
    Result<std::string> path = relative.empty() && artifact->kind == "dir"
                                   ? Result<std::string>(ctx_.artifacts->path_of(artifact->digest))
                                   : ctx_.artifacts->resolve(artifact->digest, relative);
    if (!path.ok()) return reply_status(res, path.status());
    if (fs::is_directory(*path)) {
      // A folder: list its files so clients can pick one.
      nlohmann::json files = nlohmann::json::array();
      for (const auto& entry : fs::recursive_directory_iterator(*path)) {
        if (!entry.is_regular_file()) continue;
        files.push_back({{"path", fs::relative(entry.path(), *path).string()},
                         {"size_bytes", entry.file_size()}});
      }
      std::sort(files.begin(), files.end(),
                [](const auto& a, const auto& b) { return a["path"] < b["path"]; });
      return reply_json(res, 200, {{"artifact", *artifact_id}, {"files", files}});
    }
    // Stored files are named by digest; a download is named after what it is.
    const std::string name = relative.empty()
                                 ? (artifact->output_name.empty() ? "artifact" : artifact->output_name) +
                                       "-" + artifact->digest.substr(0, 12)
                                 : fs::path(relative).filename().string();
    reply_file(res, *path, name);
  });
}

}  // namespace radflow
