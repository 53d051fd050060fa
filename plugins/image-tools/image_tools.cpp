// image-tools: reads one image file (DICOM, PNG, JPEG) and either describes it
// ("info": info.json) or converts it ("convert": a windowed 16-bit PNG, or a float32
// .npy of the modality values of frame 0) into the output folder. This is what
// `radflow image` runs locally through radflow-worker.
#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>

#include "plugins/ml/image/display.h"
#include "plugins/ml/image/image_reader.h"
#include "plugins/ml/image/image_writer.h"
#include "radflow/plugin.hpp"

namespace {

using radflow::ml::Image;

nlohmann::json info_json(const std::string& path, const Image& im) {
  nlohmann::json j = {
      {"path", path},
      {"modality", im.modality},
      {"rows", im.rows},
      {"columns", im.cols},
      {"frames", im.frames_in_file},
      {"samples_per_pixel", im.samples_per_pixel},
      {"bits_allocated", im.bits_allocated},
      {"bits_stored", im.bits_stored},
      {"signed", im.pixel_signed},
      {"photometric_interpretation", im.photometric},
      {"transfer_syntax_uid", im.transfer_syntax_uid},
      {"transfer_syntax", im.transfer_syntax_name},
      {"rescale_slope", im.rescale_slope},
      {"rescale_intercept", im.rescale_intercept},
      {"window_center", nullptr},
      {"window_width", nullptr},
  };
  if (im.window_center && im.window_width) {
    j["window_center"] = *im.window_center;
    j["window_width"] = *im.window_width;
  }
  return j;
}

std::string extension_of(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(dot);
}

void check(const radflow::Status& status) {
  if (!status.ok()) throw std::runtime_error(status.message());
}

int run(radflow::sdk::Context& ctx) {
  const std::string command = ctx.param<std::string>("command");
  const std::string path = ctx.param<std::string>("path");
  if (command != "info" && command != "convert") {
    throw radflow::sdk::ParamError("param 'command' must be \"info\" or \"convert\"");
  }
  radflow::Result<Image> image = radflow::ml::read_image(path);
  if (!image.ok()) throw std::runtime_error(image.status().message());

  if (command == "info") {
    const std::string out = ctx.output_path("info.json");
    std::ofstream file(out);
    file << info_json(path, *image).dump(2) << "\n";
    file.close();
    if (!file) throw std::runtime_error("could not write " + out);
    ctx.register_output("result", out);
    return RF_RUN_OK;
  }

  const std::string name = ctx.param("out", "image.png");
  if (name.find('/') != std::string::npos) throw radflow::sdk::ParamError("param 'out' must be a file name");
  const std::string extension = extension_of(name);
  const std::string out = ctx.output_path(name);
  if (extension == ".npy") {
    std::vector<size_t> shape = {static_cast<size_t>(image->rows), static_cast<size_t>(image->cols)};
    if (image->samples_per_pixel > 1) shape.push_back(static_cast<size_t>(image->samples_per_pixel));
    check(radflow::ml::write_npy(out, image->frame_pixels(0), shape));
  } else if (extension == ".png") {
    // Colour has no VOI window: show its full bit depth.
    radflow::ml::DisplayOptions options;
    if (image->samples_per_pixel > 1) options.range = radflow::ml::DisplayRange::kBitDepth;
    check(radflow::ml::write_png16(out, radflow::ml::display_frame(*image, 0, options), image->rows,
                                   image->cols, image->samples_per_pixel));
  } else {
    throw radflow::sdk::ParamError("param 'out' must end in .png or .npy");
  }
  ctx.log_info("wrote " + out);
  ctx.register_output("result", out);
  return RF_RUN_OK;
}

}  // namespace

RADFLOW_PLUGIN(
    "image-tools", "1.0.0",
    "Describes or converts one medical image file (DICOM, PNG, JPEG): info.json, or a "
    "windowed 16-bit PNG / a float32 .npy of the modality values.",
    R"({
      "type": "object",
      "properties": {
        "command": {"type": "string", "enum": ["info", "convert"],
                    "description": "info: write info.json; convert: write the image as 'out'."},
        "path": {"type": "string", "format": "path",
                 "description": "The image file (DICOM, PNG or JPEG)."},
        "out": {"type": "string", "default": "image.png",
                "description": "convert: output file name, ending in .png or .npy."}
      },
      "required": ["command", "path"],
      "additionalProperties": false
    })",
    "[]",
    R"([{"name": "result",
         "description": "info.json (command info), or the converted PNG/NPY (command convert)."}])",
    run)
