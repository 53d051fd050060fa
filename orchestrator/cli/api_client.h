// ApiClient: the CLI's view of radflowd's HTTP API. Every call returns the parsed
// JSON body or a Status whose message is one line a user can act on: the server's
// own error (code, message, JSON path) or why the server could not be reached.
//
// Not thread-safe; one per command.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace httplib {
class Client;
}

namespace radflow {

struct ApiReply {
  int http_status = 0;
  nlohmann::json body;
};

// The credentials the CLI sends. The token is $RADFLOW_TOKEN, else the first line
// of $XDG_CONFIG_HOME/radflow/token (default ~/.config/radflow/token), which must not
// be readable by others (chmod 600); the CA bundle for https:// servers is
// $RADFLOW_CACERT (radflow --cacert sets it), else the system's.
struct ClientCredentials {
  std::string token;
  std::string ca_cert_file;
};
// Fails with "bad_token_file" when the token file is readable by group or others.
Result<ClientCredentials> load_credentials();

class ApiClient {
 public:
  // Reads the credentials (load_credentials); a failure is returned by every call.
  explicit ApiClient(std::string server_url);
  ~ApiClient();

  const std::string& server_url() const { return url_; }
  // Fails with "unreachable" when no server answers, "http_error" on a non-2xx reply
  // (message: the server's first error).
  Result<nlohmann::json> get(const std::string& path);
  Result<nlohmann::json> post(const std::string& path, const std::string& body);
  // Like post, but returns 4xx replies (validation errors) as values.
  Result<ApiReply> post_raw(const std::string& path, const std::string& body);
  Result<nlohmann::json> del(const std::string& path);
  // Streams a response body to `on_chunk` until the server ends it or on_chunk
  // returns false.
  Status stream(const std::string& path, const std::function<bool(const std::string&)>& on_chunk);

 private:
  std::string url_;
  Status setup_;  // why no request can be sent, if so
  ClientCredentials credentials_;
  std::unique_ptr<httplib::Client> client_;
};

// The first error of an API error body as one line: "message (at path) [code]".
std::string describe_api_errors(const nlohmann::json& body);

}  // namespace radflow
