// segment: RAD-DINO's segmentation protocol (raddino-method.md §4.2). On a feature set
// with patch tokens (the encoder stays frozen: only its saved tokens are read), trains
// a decoder (BN + 1x1 "linear" or an FPN-lite) over several blocks' tokens with
// per-structure sigmoid BCE + soft Dice, keeps the epoch with the best val Dice, and
// reports test Dice and IoU per structure and their means over structures with
// bootstrap 95% intervals (as metrics NAME, NAME.low, NAME.high), the per-image
// masks and overlap counts they come from, and a few overlay PNGs.
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "plugins/ml/eval/feature_set.h"
#include "plugins/ml/torch/cpu_runtime.h"
#include "plugins/segment/mask_scores.h"
#include "plugins/segment/segment_outputs.h"
#include "plugins/segment/segmentation_data.h"
#include "plugins/segment/segmentation_head.h"
#include "plugins/segment/segmentation_trainer.h"
#include "radflow/plugin.hpp"

namespace {

using nlohmann::json;
using namespace radflow::segment;

json finite_or_null(double value) { return std::isfinite(value) ? json(value) : json(); }

// report.json's [low, high]; what the report card reads as the step's own interval.
json ci_json(const radflow::ml::metrics::BootstrapInterval& ci) {
  return {finite_or_null(ci.low), finite_or_null(ci.high)};
}

int fail(radflow::sdk::Context& ctx, const std::string& message) {
  ctx.fail(message);
  return RF_RUN_FAILED;
}

int count_split(const radflow::ml::eval::FeatureSet& set, const std::string& split) {
  int n = 0;
  for (const auto& row : set.rows) n += row.split == split;
  return n;
}

std::vector<uint8_t> bytes_of(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return std::vector<uint8_t>(c.data_ptr<uint8_t>(), c.data_ptr<uint8_t>() + c.numel());
}

int run(radflow::sdk::Context& ctx) {
  radflow::ml::configure_cpu_runtime();
  auto set = radflow::ml::eval::read_feature_set(ctx.input("features"), /*with_patch_tokens=*/true);
  if (!set.ok()) return fail(ctx, set.status().to_string());
  if (set->patch_tokens.empty()) {
    return fail(ctx, "the feature set has no patch tokens (no patches.safetensors in " + ctx.input("features") +
                         "); set patch_layers on the features step to save them");
  }
  std::vector<int64_t> available;
  for (const auto& [layer, tokens] : set->patch_tokens) available.push_back(layer);
  std::vector<int64_t> layers = ctx.param<std::vector<int64_t>>("layers", available);
  std::sort(layers.begin(), layers.end());  // shallow to deep, as the FPN expects
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  for (int64_t layer : layers) {
    if (!set->patch_tokens.count(layer)) {
      return fail(ctx, "layer " + std::to_string(layer) + " is not in the feature set (patch layers: " +
                           json(available).dump() + ")");
    }
  }
  if (layers.empty()) return fail(ctx, "param 'layers' is empty");
  const int train_count = count_split(*set, "train");
  const int test_count = count_split(*set, "test");
  if (train_count == 0) return fail(ctx, "the train split is empty: nothing to train the decoder on");
  if (test_count == 0) return fail(ctx, "the test split is empty: nothing to evaluate");

  std::vector<std::string> structures = ctx.has_param("structures")
                                            ? ctx.params()["structures"].get<std::vector<std::string>>()
                                            : default_structures(*set);
  if (structures.empty()) {
    return fail(ctx, "no structure has a mask in every train row; name the structures to segment "
                     "with the 'structures' param");
  }
  if (radflow::Status ok = check_structures(*set, structures); !ok.ok()) return fail(ctx, ok.message());

  const int64_t grid_h = set->grid_h, grid_w = set->grid_w;
  const int64_t mask_h = ctx.param<int64_t>("mask_size", 4 * grid_h);
  const int64_t mask_w = std::max<int64_t>(1, std::llround(static_cast<double>(mask_h) * grid_w / grid_h));
  const std::string head_name = ctx.param("head", "linear");
  if (head_name != "linear" && head_name != "fpn") {
    return fail(ctx, "param 'head' must be \"linear\" or \"fpn\", got \"" + head_name + "\"");
  }

  ctx.log_info("segmenting " + json(structures).dump() + " with a " + head_name + " head on blocks " +
               json(layers).dump() + " (grid " + std::to_string(grid_h) + "x" + std::to_string(grid_w) +
               ", masks " + std::to_string(mask_h) + "x" + std::to_string(mask_w) + ")");
  ctx.progress(0.02, "reading masks");
  auto train = load_split(*set, "train", layers, structures, mask_h, mask_w);
  if (!train.ok()) return fail(ctx, train.status().to_string());
  auto val = load_split(*set, "val", layers, structures, mask_h, mask_w);
  if (!val.ok()) return fail(ctx, val.status().to_string());
  auto test = load_split(*set, "test", layers, structures, mask_h, mask_w);
  if (!test.ok()) return fail(ctx, test.status().to_string());
  set->patch_tokens.clear();  // the splits hold their own copies

  HeadOptions head_options;
  head_options.kind = head_name == "fpn" ? HeadKind::kFpn : HeadKind::kLinear;
  head_options.n_layers = static_cast<int64_t>(layers.size());
  head_options.dim = train->layers[0].size(1);
  head_options.n_classes = static_cast<int64_t>(structures.size());
  head_options.fpn_channels = ctx.param<int64_t>("fpn_channels", 32);
  head_options.grid_h = grid_h;
  head_options.grid_w = grid_w;
  head_options.mask_h = mask_h;
  head_options.mask_w = mask_w;
  TrainOptions train_options;
  train_options.epochs = ctx.param<int64_t>("epochs", train_options.epochs);
  train_options.lr = ctx.param<double>("lr", train_options.lr);
  train_options.weight_decay = ctx.param<double>("weight_decay", train_options.weight_decay);
  train_options.batch_size = ctx.param<int64_t>("batch_size", train_options.batch_size);
  train_options.seed = ctx.param<uint64_t>("seed", 0);
  torch::manual_seed(train_options.seed);
  SegmentationHead head(head_options);

  ctx.progress(0.05, "training the decoder");
  auto trained = train_head(head, *train, *val, train_options, [&](const EpochStats& e) {
    ctx.metric("train_loss", e.epoch, e.train_loss);
    if (std::isfinite(e.val_dice)) ctx.metric("val_dice", e.epoch, e.val_dice);
    ctx.progress(0.05 + 0.85 * e.epoch / train_options.epochs, "epoch " + std::to_string(e.epoch));
    return !ctx.cancelled();
  });
  if (trained.stopped) return RF_RUN_CANCELLED;

  TestMasks masks;
  for (size_t r : test->rows) masks.paths.push_back(set->rows[r].path);
  masks.structures = structures;
  masks.mask_h = mask_h;
  masks.mask_w = mask_w;
  masks.pred = bytes_of(predict_masks(head, *test, train_options.batch_size));
  masks.truth = bytes_of(test->masks);
  const MaskScores scores = score_masks(masks.pred.data(), masks.truth.data(), test->size(), structures,
                                        mask_h * mask_w, ctx.param<int>("bootstrap", 1000),
                                        train_options.seed);

  json report = {{"head", head_name},
                 {"layers", layers},
                 {"grid", {grid_h, grid_w}},
                 {"mask_size", {mask_h, mask_w}},
                 {"epochs", train_options.epochs},
                 {"best_epoch", trained.best_epoch},
                 {"selected_on", val->size() > 0 ? "val mean Dice" : "last epoch (no val split)"},
                 {"threshold", 0.5},
                 {"train_loss", json::array()},
                 {"val_dice", json::array()},
                 {"counts", {{"train", train->size()}, {"val", val->size()}, {"test", test->size()}}},
                 {"mean_dice", finite_or_null(scores.mean_dice)},
                 {"mean_dice_ci", ci_json(scores.mean_dice_ci)},
                 {"mean_iou", finite_or_null(scores.mean_iou)},
                 {"mean_iou_ci", ci_json(scores.mean_iou_ci)},
                 {"mean_structures", scores.mean_count},
                 {"structures", json::array()}};
  for (const auto& e : trained.epochs) {
    report["train_loss"].push_back(e.train_loss);
    report["val_dice"].push_back(finite_or_null(e.val_dice));
  }
  for (const auto& s : scores.structures) {
    report["structures"].push_back({{"structure", s.structure},
                                    {"dice", finite_or_null(s.dice)},
                                    {"dice_ci", ci_json(s.dice_ci)},
                                    {"iou", finite_or_null(s.iou)},
                                    {"iou_ci", ci_json(s.iou_ci)},
                                    {"test_images_with_structure", s.images_with_structure},
                                    {"warning", s.warning}});
    if (!s.warning.empty()) ctx.log_warning(s.warning + ": its Dice and IoU are NaN");
    ctx.final_metric("dice." + s.structure, s.dice, s.dice_ci.low, s.dice_ci.high);
    ctx.final_metric("iou." + s.structure, s.iou, s.iou_ci.low, s.iou_ci.high);
  }
  ctx.final_metric("mean_dice", scores.mean_dice, scores.mean_dice_ci.low, scores.mean_dice_ci.high);
  ctx.final_metric("mean_iou", scores.mean_iou, scores.mean_iou_ci.low, scores.mean_iou_ci.high);

  ctx.progress(0.95, "writing predictions and overlays");
  const std::string report_path = ctx.output_path("report.json");
  std::ofstream(report_path) << report.dump(2) << "\n";
  const std::string predictions_dir = ctx.output_path("predictions");
  if (radflow::Status ok = write_predictions(predictions_dir, masks, scores); !ok.ok()) return fail(ctx, ok.to_string());
  const std::string overlays_dir = ctx.output_path("overlays");
  auto overlays = write_overlays(overlays_dir, masks, ctx.param<int>("overlays", 4),
                                 [&](const std::string& w) { ctx.log_warning(w); });
  if (!overlays.ok()) return fail(ctx, overlays.status().to_string());
  ctx.register_output("report", report_path);
  ctx.register_output("predictions", predictions_dir);
  ctx.register_output("overlays", overlays_dir);
  ctx.progress(1.0, "done");
  ctx.log_info("mean Dice " + std::to_string(scores.mean_dice) + ", mean IoU " +
               std::to_string(scores.mean_iou) + " over " + std::to_string(scores.mean_count) +
               " structure(s); best epoch " + std::to_string(trained.best_epoch));
  return RF_RUN_OK;
}

}  // namespace

constexpr const char* kParamsSchema = R"json({"type":"object","properties":{
    "structures":{"type":"array","items":{"type":"string"},"minItems":1,
                  "description":"structures to segment (default: those with a mask in every train row)"},
    "head":{"type":"string","enum":["linear","fpn"],"default":"linear",
            "description":"linear: BN + 1x1 conv on the concatenated blocks; fpn: FPN-lite top-down decoder"},
    "layers":{"type":"array","items":{"type":"integer","minimum":0},"minItems":1,
              "description":"encoder blocks whose patch tokens feed the decoder (default: all in the feature set)"},
    "epochs":{"type":"integer","minimum":1,"maximum":10000,"default":30},
    "lr":{"type":"number","exclusiveMinimum":0,"default":0.001,"description":"AdamW learning rate"},
    "weight_decay":{"type":"number","minimum":0,"default":0.0001},
    "batch_size":{"type":"integer","minimum":1,"maximum":4096,"default":16},
    "mask_size":{"type":"integer","minimum":1,"maximum":2048,
                 "description":"height of the masks the logits are upsampled to and scored at (default: 4 x grid height; width keeps the grid's aspect)"},
    "fpn_channels":{"type":"integer","minimum":1,"maximum":1024,"default":32},
    "overlays":{"type":"integer","minimum":0,"maximum":1000,"default":4,
                "description":"overlay PNGs of the first test images"},
    "bootstrap":{"type":"integer","minimum":0,"maximum":100000,"default":1000,
                 "description":"bootstrap resamples (over test images) for the 95% intervals"},
    "seed":{"type":"integer","minimum":0,"default":0}},
  "additionalProperties":false})json";

constexpr const char* kInputs =
    R"json([{"name":"features","description":"a feature set folder with patch tokens (patches.safetensors) and mask paths"}])json";

constexpr const char* kOutputs = R"json([
  {"name":"report","description":"report.json: per-structure and mean test Dice/IoU with intervals (dice_ci, iou_ci, mean_dice_ci, mean_iou_ci), loss curve"},
  {"name":"predictions","description":"folder: masks.safetensors (predicted and true test masks) and overlap.csv (per image and structure counts, Dice, IoU)"},
  {"name":"overlays","description":"folder of PNGs: test images with predicted masks tinted and true contours"}])json";

RADFLOW_PLUGIN("segment", "0.1.0",
               "Segmentation decoder on frozen patch tokens (linear or FPN-lite head, BCE + Dice): "
               "per-structure test Dice and IoU with bootstrap 95% intervals (RAD-DINO's protocol).",
               kParamsSchema, kInputs, kOutputs, run)
