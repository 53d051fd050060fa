#include "plugins/segment/segment_outputs.h"

#include <filesystem>
#include <fstream>
#include <iomanip>

#include <nlohmann/json.hpp>

#include "plugins/ml/image/display.h"
#include "plugins/ml/image/image_reader.h"
#include "plugins/ml/safetensors/safetensors_writer.h"
#include "plugins/segment/overlay_writer.h"

namespace radflow::segment {

namespace fs = std::filesystem;
namespace st = ml::safetensors;

namespace {

// CSV field: quoted when it holds a comma, quote or newline (RFC 4180).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Status write_predictions(const std::string& dir, const TestMasks& masks, const MaskScores& scores) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::error("segment_io", "cannot create " + dir + ": " + ec.message(), dir);
  const std::vector<int64_t> shape = {static_cast<int64_t>(masks.paths.size()),
                                      static_cast<int64_t>(masks.structures.size()), masks.mask_h,
                                      masks.mask_w};
  RF_RETURN_IF_ERROR(st::write_safetensors(
      (fs::path(dir) / "masks.safetensors").string(),
      {{"pred", st::DType::kU8, shape, masks.pred.data(), masks.pred.size()},
       {"truth", st::DType::kU8, shape, masks.truth.data(), masks.truth.size()}},
      {{"structures", nlohmann::json(masks.structures).dump()},
       {"paths", nlohmann::json(masks.paths).dump()}}));
  const std::string csv_path = (fs::path(dir) / "overlap.csv").string();
  std::ofstream csv(csv_path);
  csv << "path,structure,pred_pixels,true_pixels,intersection,union,dice,iou\n";
  csv << std::setprecision(17);
  for (size_t i = 0; i < masks.paths.size(); ++i) {
    for (const auto& s : scores.structures) {
      const OverlapCounts& c = s.counts[i];
      csv << csv_field(masks.paths[i]) << ',' << csv_field(s.structure) << ',' << c.pred << ','
          << c.truth << ',' << c.intersection << ',' << c.union_pixels << ',' << s.image_dice[i]
          << ',' << s.image_iou[i] << '\n';
    }
  }
  csv.close();
  if (!csv) return Status::error("segment_io", "cannot write " + csv_path, csv_path);
  return Status();
}

Result<int> write_overlays(const std::string& dir, const TestMasks& masks, int count,
                           const std::function<void(const std::string&)>& warn) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::error("segment_io", "cannot create " + dir + ": " + ec.message(), dir);
  const int64_t pixels = masks.mask_h * masks.mask_w;
  const size_t n_structures = masks.structures.size();
  int written = 0;
  for (size_t i = 0; i < masks.paths.size() && written < count; ++i) {
    OverlayInput input;
    auto image = ml::read_image(masks.paths[i]);
    if (image.ok() && image->rows > 0 && image->cols > 0) {
      input.gray = ml::display_frame(*image);
      input.rows = image->rows;
      input.cols = image->cols;
      if (image->samples_per_pixel != 1) {  // keep the first channel of colour images
        std::vector<float> first(static_cast<size_t>(input.rows) * input.cols);
        for (size_t k = 0; k < first.size(); ++k) first[k] = input.gray[k * image->samples_per_pixel];
        input.gray = std::move(first);
      }
    } else {
      warn("overlay " + std::to_string(i) + ": cannot read the image (" +
           (image.ok() ? std::string("empty") : image.status().to_string()) +
           "), drawn on grey");
      input.rows = static_cast<int>(masks.mask_h);
      input.cols = static_cast<int>(masks.mask_w);
      input.gray.assign(static_cast<size_t>(pixels), 0.5f);
    }
    input.mask_h = masks.mask_h;
    input.mask_w = masks.mask_w;
    for (size_t s = 0; s < n_structures; ++s) {
      const size_t offset = (i * n_structures + s) * pixels;
      input.pred.emplace_back(masks.pred.begin() + offset, masks.pred.begin() + offset + pixels);
      input.truth.emplace_back(masks.truth.begin() + offset, masks.truth.begin() + offset + pixels);
    }
    const std::string name = std::to_string(written) + "_" + fs::path(masks.paths[i]).stem().string() + ".png";
    RF_RETURN_IF_ERROR(write_overlay((fs::path(dir) / name).string(), input));
    ++written;
  }
  return written;
}

}  // namespace radflow::segment
