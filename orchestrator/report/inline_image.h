// A PNG file as a data: URI, so that a report card written to one HTML file carries
// its segmentation overlays without any link. Pure function of the file; thread-safe.
#pragma once

#include <string>

#include "common/status.h"

namespace radflow::report {

// "data:image/png;base64,..." of the file at `path`. Errors: io_error naming the file;
// "bad_image" when it is not a PNG (checked by its signature) or over 4 MiB.
Result<std::string> png_data_uri(const std::string& path);

// RFC 4648 base64 with padding.
std::string base64(const std::string& bytes);

}  // namespace radflow::report
