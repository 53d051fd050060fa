#include "orchestrator/cli/api_client.h"

#include <httplib.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <fstream>

namespace radflow {

std::string describe_api_errors(const nlohmann::json& body) {
  if (!body.is_object() || !body.contains("errors") || !body["errors"].is_array() ||
      body["errors"].empty()) {
    return body.dump();
  }
  const auto& e = body["errors"][0];
  std::string line = e.value("message", "error");
  if (!e.value("path", "").empty()) line += " (at " + e.value("path", "") + ")";
  line += " [" + e.value("code", "error") + "]";
  return line;
}

Result<ClientCredentials> load_credentials() {
  ClientCredentials credentials;
  if (const char* ca = std::getenv("RADFLOW_CACERT"); ca != nullptr) credentials.ca_cert_file = ca;
  if (const char* token = std::getenv("RADFLOW_TOKEN"); token != nullptr && *token) {
    credentials.token = token;
    return credentials;
  }
  std::string path;
  if (const char* config = std::getenv("XDG_CONFIG_HOME"); config != nullptr && *config) {
    path = std::string(config) + "/radflow/token";
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home) {
    path = std::string(home) + "/.config/radflow/token";
  }
  struct stat info {};
  if (path.empty() || stat(path.c_str(), &info) != 0) return credentials;  // no token: fine
  if ((info.st_mode & 077) != 0) {
    return Status::error("bad_token_file", path + " is readable by others; run chmod 600 " + path +
                                               " (it holds your API token)");
  }
  std::ifstream file(path);
  std::getline(file, credentials.token);
  while (!credentials.token.empty() && std::isspace(static_cast<unsigned char>(credentials.token.back()))) {
    credentials.token.pop_back();
  }
  return credentials;
}

ApiClient::ApiClient(std::string server_url)
    : url_(std::move(server_url)), client_(std::make_unique<httplib::Client>(url_)) {
  client_->set_connection_timeout(5);
  client_->set_read_timeout(60);
  auto credentials = load_credentials();
  if (!credentials.ok()) {
    setup_ = credentials.status();
    return;
  }
  credentials_ = *credentials;
  if (!credentials_.ca_cert_file.empty()) client_->set_ca_cert_path(credentials_.ca_cert_file);
  if (!credentials_.token.empty()) client_->set_bearer_token_auth(credentials_.token);
}

ApiClient::~ApiClient() = default;

namespace {

Result<ApiReply> to_reply(const httplib::Result& result, const std::string& url,
                          const std::string& path) {
  if (!result && result.error() == httplib::Error::SSLServerVerification) {
    return Status::error("unreachable",
                         "radflowd at " + url +
                             " presented a certificate this machine does not trust; pass the "
                             "CA that signed it with --cacert FILE (or $RADFLOW_CACERT)");
  }
  if (!result) {
    return Status::error("unreachable", "cannot reach radflowd at " + url + " (" +
                                            httplib::to_string(result.error()) +
                                            "); is it running? start it with `make run` or "
                                            "radflowd, or pass --server URL");
  }
  if (result->status == 401) {
    return Status::error("http_error", describe_api_errors(nlohmann::json::parse(
                                           result->body, nullptr, false)) +
                                           "; set RADFLOW_TOKEN to your token");
  }
  ApiReply reply;
  reply.http_status = result->status;
  reply.body = nlohmann::json::parse(result->body, nullptr, false);
  if (reply.body.is_discarded()) {
    return Status::error("bad_reply", "radflowd answered " + path + " with HTTP " +
                                          std::to_string(result->status) + " and no JSON");
  }
  return reply;
}

Result<nlohmann::json> ok_body(Result<ApiReply> reply) {
  if (!reply.ok()) return reply.status();
  if (reply->http_status >= 300) {
    return Status::error("http_error", describe_api_errors(reply->body));
  }
  return std::move(reply->body);
}

}  // namespace

Result<nlohmann::json> ApiClient::get(const std::string& path) {
  if (!setup_.ok()) return setup_;
  return ok_body(to_reply(client_->Get(path.c_str()), url_, path));
}

Result<nlohmann::json> ApiClient::post(const std::string& path, const std::string& body) {
  return ok_body(post_raw(path, body));
}

Result<ApiReply> ApiClient::post_raw(const std::string& path, const std::string& body) {
  // Who submits, for the runs list; not authentication.
  if (!setup_.ok()) return setup_;
  httplib::Headers headers;
  if (const char* user = std::getenv("USER"); user != nullptr && *user) {
    headers.emplace("X-Radflow-User", user);
  }
  return to_reply(client_->Post(path.c_str(), headers, body, "application/json"), url_, path);
}

Result<nlohmann::json> ApiClient::del(const std::string& path) {
  if (!setup_.ok()) return setup_;
  return ok_body(to_reply(client_->Delete(path.c_str(), "", "application/json"), url_, path));
}

Status ApiClient::stream(const std::string& path,
                         const std::function<bool(const std::string&)>& on_chunk) {
  if (!setup_.ok()) return setup_;
  client_->set_read_timeout(3600);
  std::string error_body;
  int status = 0;
  auto result = client_->Get(
      path.c_str(),
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* data, size_t length) {
        if (status >= 300) {
          error_body.append(data, length);
          return true;
        }
        return on_chunk(std::string(data, length));
      });
  if (status >= 300) {
    return Status::error("http_error",
                         describe_api_errors(nlohmann::json::parse(error_body, nullptr, false)));
  }
  if (!result && result.error() != httplib::Error::Canceled) {
    return Status::error("unreachable", "lost the connection to radflowd at " + url_ + " (" +
                                            httplib::to_string(result.error()) + ")");
  }
  return Status();
}

}  // namespace radflow
