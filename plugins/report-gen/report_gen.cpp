// report-gen: report generation from frozen patch tokens, RAD-DINO's vision-language
// protocol (raddino-method.md §4.3) at CPU scale. Trains a projector + small
// transformer decoder on the train split's reports (word vocabulary from the train
// split, val loss picks the epoch), decodes the test split greedily or with beam
// search, and reports BLEU-4, ROUGE-L and a finding-level F1 from a rule-based
// labeler (a proxy for CheXbert F1), each with a bootstrap 95% interval over test
// reports (metrics NAME, NAME.low, NAME.high), with every generated report beside its
// reference.
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>

#include "plugins/ml/eval/feature_set.h"
#include "plugins/ml/metrics/bleu.h"
#include "plugins/ml/metrics/rouge.h"
#include "plugins/ml/metrics/text_tokenizer.h"
#include "plugins/ml/torch/cpu_runtime.h"
#include "plugins/report-gen/finding_labeler.h"
#include "plugins/report-gen/report_decoder.h"
#include "plugins/report-gen/report_intervals.h"
#include "plugins/report-gen/report_trainer.h"
#include "plugins/report-gen/report_vocabulary.h"
#include "radflow/plugin.hpp"

namespace {

using nlohmann::json;
using radflow::ml::eval::FeatureSet;
using namespace radflow::report_gen;
namespace metrics = radflow::ml::metrics;

json finite_or_null(double value) { return std::isfinite(value) ? json(value) : json(); }

// report.json's [low, high]; what the report card reads as the step's own interval.
json ci_json(const metrics::BootstrapInterval& ci) { return {finite_or_null(ci.low), finite_or_null(ci.high)}; }

struct SplitData {
  std::vector<size_t> rows;
  torch::Tensor patches;
  std::vector<std::vector<int64_t>> ids;
};

SplitData split_of(const FeatureSet& set, const torch::Tensor& tokens, const std::string& split,
                   const ReportVocabulary* vocab, size_t max_length) {
  SplitData out;
  std::vector<int64_t> index;
  for (size_t i = 0; i < set.rows.size(); ++i) {
    if (set.rows[i].split != split || set.rows[i].report.empty()) continue;
    out.rows.push_back(i);
    index.push_back(static_cast<int64_t>(i));
    if (vocab != nullptr) out.ids.push_back(vocab->encode(set.rows[i].report, max_length));
  }
  out.patches = tokens.index_select(0, torch::tensor(index, torch::kInt64));
  return out;
}

json labels_json(const std::vector<std::string>& findings, const std::vector<int>& labels) {
  json out = json::object();
  for (size_t f = 0; f < findings.size(); ++f) out[findings[f]] = labels[f];
  return out;
}

std::string table_cell(std::string text) {
  for (char& c : text) {
    if (c == '|' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

// The most frequent text; ties go to the first in sort order, so the choice is stable.
std::string most_common(const std::vector<std::string>& texts) {
  std::map<std::string, size_t> counts;
  for (const auto& t : texts) ++counts[t];
  auto best = counts.begin();
  for (auto it = counts.begin(); it != counts.end(); ++it) {
    if (it->second > best->second) best = it;
  }
  return best == counts.end() ? std::string() : best->first;
}

int fail(radflow::sdk::Context& ctx, const std::string& message) {
  ctx.fail(message);
  return RF_RUN_FAILED;
}

int run(radflow::sdk::Context& ctx) {
  radflow::ml::configure_cpu_runtime();
  const auto started = std::chrono::steady_clock::now();
  auto set = radflow::ml::eval::read_feature_set(ctx.input("features"), /*with_patch_tokens=*/true);
  if (!set.ok()) return fail(ctx, set.status().to_string());
  if (set->patch_tokens.empty()) {
    return fail(ctx, "the feature set has no patch tokens: report-gen needs them; set patch_layers on "
                     "the features step (e.g. \"patch_layers\": [-1])");
  }
  int64_t layer = set->patch_tokens.rbegin()->first;
  if (ctx.has_param("layer")) {
    layer = ctx.param<int64_t>("layer");
    if (set->patch_tokens.count(layer) == 0) {
      json present = json::array();
      for (const auto& [k, v] : set->patch_tokens) present.push_back(k);
      return fail(ctx, "layer " + std::to_string(layer) + " has no patch tokens in the feature set (layers: " +
                           present.dump() + ")");
    }
  }
  const torch::Tensor tokens = set->patch_tokens.at(layer);
  bool any_report = false;
  for (const auto& row : set->rows) any_report = any_report || !row.report.empty();
  if (!any_report) {
    return fail(ctx, "the dataset has no reports: every row's report is empty, so there is nothing to "
                     "train on or compare with (use a dataset whose manifest carries report text)");
  }

  const int64_t d_model = ctx.param<int64_t>("d_model", 128), heads = ctx.param<int64_t>("heads", 4);
  if (d_model <= 0 || heads <= 0 || d_model % heads != 0) {
    return fail(ctx, "d_model (" + std::to_string(d_model) + ") must be a positive multiple of heads (" +
                         std::to_string(heads) + ")");
  }
  const size_t max_length = static_cast<size_t>(ctx.param<int64_t>("max_length", 80));
  const int min_count = ctx.param<int>("min_count", 2);
  std::vector<std::string> train_reports;
  for (const auto& row : set->rows) {
    if (row.split == "train" && !row.report.empty()) train_reports.push_back(row.report);
  }
  if (train_reports.empty()) return fail(ctx, "the train split has no row with a report: nothing to train on");
  const ReportVocabulary vocab = ReportVocabulary::build(train_reports, min_count);
  SplitData train = split_of(*set, tokens, "train", &vocab, max_length);
  SplitData val = split_of(*set, tokens, "val", &vocab, max_length);
  SplitData test = split_of(*set, tokens, "test", nullptr, max_length);
  if (test.rows.empty()) return fail(ctx, "the test split has no row with a report: nothing to evaluate");
  size_t skipped = 0;
  for (const auto& row : set->rows) skipped += row.report.empty();
  if (skipped > 0) ctx.log_warning(std::to_string(skipped) + " row(s) without a report are left out");

  std::vector<std::string> findings = set->findings();
  if (ctx.has_param("findings")) findings = ctx.params()["findings"].get<std::vector<std::string>>();
  std::map<std::string, std::vector<std::string>> extra_phrases;
  if (ctx.has_param("finding_phrases")) {
    extra_phrases = ctx.params()["finding_phrases"].get<std::map<std::string, std::vector<std::string>>>();
  }
  const FindingLabeler labeler(findings, extra_phrases, ctx.param<int>("negation_window", 5));

  ReportDecoderOptions model_options;
  model_options.input_dim = tokens.size(2);
  model_options.patch_count = tokens.size(1);
  model_options.vocab_size = vocab.size();
  model_options.max_length = static_cast<int64_t>(max_length);
  model_options.d_model = d_model;
  model_options.heads = heads;
  model_options.layers = ctx.param<int64_t>("layers", 2);
  model_options.feedforward = ctx.param<int64_t>("feedforward", 2 * d_model);
  model_options.dropout = ctx.param<double>("dropout", 0.1);
  ReportTrainOptions train_options;
  train_options.epochs = ctx.param<int>("epochs", 20);
  train_options.batch_size = ctx.param<int64_t>("batch_size", 32);
  train_options.learning_rate = ctx.param<double>("learning_rate", 1e-3);
  train_options.weight_decay = ctx.param<double>("weight_decay", 0.01);
  train_options.seed = ctx.param<uint64_t>("seed", 0);
  const int64_t beam_size = ctx.param<int64_t>("beam_size", 3);
  const double length_penalty = ctx.param<double>("length_penalty", 1.0);

  // The constant baseline every encoder must beat: the most common train report as the
  // prediction for every test image, scored like a decoder's output.
  const std::string decoder = ctx.param<std::string>("decoder", "trained");
  ReportTrainResult trained;
  std::vector<std::string> generated, references;
  if (decoder == "most_common_train_report") {
    generated.assign(test.rows.size(), most_common(train_reports));
    ctx.log_info("constant baseline: every test report is the most common train report: \"" +
                 generated.front() + "\"");
  } else {
    torch::manual_seed(train_options.seed);
    ReportDecoder model(model_options);
    ctx.log_info("training a " + std::to_string(model_options.layers) + "-layer decoder (d_model " +
                 std::to_string(d_model) + ", vocabulary " + std::to_string(vocab.size()) + ") on " +
                 std::to_string(train.rows.size()) + " train reports, layer " + std::to_string(layer) +
                 " patch tokens [" + std::to_string(tokens.size(1)) + " x " + std::to_string(tokens.size(2)) + "]");
    trained = train_report_decoder(
        model, train.patches, train.ids, val.patches, val.ids, train_options,
        [&](int epoch, double train_loss, double val_loss) {
          ctx.metric("train_loss", epoch, train_loss);
          if (std::isfinite(val_loss)) ctx.metric("val_loss", epoch, val_loss);
          ctx.progress(0.8 * (epoch + 1) / std::max(1, train_options.epochs),
                       "epoch " + std::to_string(epoch + 1) + ": train loss " + std::to_string(train_loss));
          return !ctx.cancelled();
        });
    if (trained.stopped && ctx.cancelled()) return RF_RUN_CANCELLED;

    ctx.progress(0.85, "decoding the test split");
    const int64_t decode_batch = 64;
    for (int64_t start = 0; start < test.patches.size(0); start += decode_batch) {
      const int64_t count = std::min(decode_batch, test.patches.size(0) - start);
      for (const auto& ids : model->generate(test.patches.narrow(0, start, count), beam_size, length_penalty)) {
        generated.push_back(vocab.decode(ids));
      }
    }
  }
  ReportTexts texts;
  for (size_t i = 0; i < test.rows.size(); ++i) {
    references.push_back(set->rows[test.rows[i]].report);
    texts.generated_kept.push_back(metrics::tokenize(generated[i]));
    texts.reference_kept.push_back(metrics::tokenize(references[i]));
    texts.generated_dropped.push_back(metrics::tokenize(generated[i], metrics::PunctuationMode::kDrop));
    texts.reference_dropped.push_back(metrics::tokenize(references[i], metrics::PunctuationMode::kDrop));
    texts.generated_labels.push_back(labeler.label(generated[i]));
    texts.reference_labels.push_back(labeler.label(references[i]));
  }
  const auto& generated_labels = texts.generated_labels;
  const auto& reference_labels = texts.reference_labels;
  const auto bleu = metrics::corpus_bleu4_details(texts.generated_kept, texts.reference_kept);
  const double rouge = metrics::mean_rouge_l_f(texts.generated_dropped, texts.reference_dropped, metrics::kRougeScoreBeta);
  const double rouge_coco = metrics::mean_rouge_l_f(texts.generated_dropped, texts.reference_dropped, metrics::kCocoBeta);
  const FindingF1 f1 = finding_f1(generated_labels, reference_labels, findings.size());
  ctx.progress(0.9, "bootstrap intervals over the test reports");
  const ReportIntervals ci =
      report_intervals(texts, findings.size(), ctx.param<int>("bootstrap", 1000), train_options.seed);

  json report = {
      {"layer", layer},
      {"bleu4", bleu.bleu},
      {"bleu4_ci", ci_json(ci.bleu4)},
      {"bleu_precisions", {bleu.precisions[0], bleu.precisions[1], bleu.precisions[2], bleu.precisions[3]}},
      {"bleu_brevity_penalty", bleu.brevity_penalty},
      {"rouge_l", finite_or_null(rouge)},
      {"rouge_l_ci", ci_json(ci.rouge_l)},
      {"rouge_l_coco", finite_or_null(rouge_coco)},
      {"rouge_l_coco_ci", ci_json(ci.rouge_l_coco)},
      {"metric_definitions",
       {{"bleu4", "nltk corpus_bleu: weights 0.25 x 4, no smoothing (method0), one reference; tokens keep "
                  "punctuation"},
        {"rouge_l", "ROUGE-L F1 (beta 1), rouge-score's rougeL, mean over test reports; punctuation dropped"},
        {"rouge_l_coco", "ROUGE-L F-beta with beta 1.2, pycocoevalcap's Rouge, mean over test reports; "
                         "punctuation dropped"}}},
      {"finding_f1_macro", finite_or_null(f1.macro)},
      {"finding_f1_macro_ci", ci_json(ci.finding_f1_macro)},
      {"finding_f1_micro", finite_or_null(f1.micro)},
      {"finding_f1_micro_ci", ci_json(ci.finding_f1_micro)},
      {"finding_f1_macro_findings", f1.macro_count},
      {"finding_f1_note", "proxy for CheXbert F1: a rule-based labeler with negation detection over the "
                          "dataset's label columns, applied to generated and reference reports"},
      {"findings", json::array()},
      {"decoder", decoder},
      {"decoding", {{"method", beam_size <= 1 ? "greedy" : "beam"}, {"beam_size", std::max<int64_t>(1, beam_size)},
                    {"length_penalty", length_penalty}, {"max_length", max_length}}},
      {"model", {{"d_model", d_model}, {"heads", heads}, {"layers", model_options.layers},
                 {"feedforward", model_options.feedforward}, {"dropout", model_options.dropout},
                 {"patch_count", model_options.patch_count}, {"input_dim", model_options.input_dim}}},
      {"training", {{"epochs", trained.train_loss.size()}, {"best_epoch", trained.best_epoch},
                    {"train_loss", trained.train_loss}, {"val_loss", trained.val_loss},
                    {"learning_rate", train_options.learning_rate}, {"batch_size", train_options.batch_size}}},
      {"bootstrap", {{"resamples", ctx.param<int>("bootstrap", 1000)}, {"seed", train_options.seed},
                     {"over", "test reports"}}},
      {"vocab_size", vocab.size()},
      {"counts", {{"train", train.rows.size()}, {"val", val.rows.size()}, {"test", test.rows.size()},
                  {"without_report", skipped}}}};
  for (size_t f = 0; f < findings.size(); ++f) {
    json phrases = json::array();
    for (const auto& phrase : labeler.phrases(f)) {
      std::string text;
      for (const auto& w : phrase) text += (text.empty() ? "" : " ") + w;
      phrases.push_back(text);
    }
    json entry = {{"finding", findings[f]}, {"f1", finite_or_null(f1.per_finding[f])},
                  {"f1_ci", ci_json(ci.finding_f1[f])},
                  {"tp", f1.tp[f]}, {"fp", f1.fp[f]}, {"fn", f1.fn[f]},
                  {"reference_positives", f1.tp[f] + f1.fn[f]}, {"phrases", phrases}};
    if (!std::isfinite(f1.per_finding[f])) {
      entry["warning"] = "positive in neither generated nor reference reports";
      ctx.log_warning("finding " + findings[f] + " is positive in no test report: its F1 is NaN");
    }
    report["findings"].push_back(entry);
    ctx.final_metric("finding_f1." + findings[f], f1.per_finding[f], ci.finding_f1[f].low, ci.finding_f1[f].high);
  }
  if (findings.empty()) ctx.log_warning("the dataset has no label columns: finding F1 is NaN");
  ctx.final_metric("bleu4", bleu.bleu, ci.bleu4.low, ci.bleu4.high);
  ctx.final_metric("rouge_l", rouge, ci.rouge_l.low, ci.rouge_l.high);
  ctx.final_metric("rouge_l_coco", rouge_coco, ci.rouge_l_coco.low, ci.rouge_l_coco.high);
  ctx.final_metric("finding_f1_macro", f1.macro, ci.finding_f1_macro.low, ci.finding_f1_macro.high);
  ctx.final_metric("finding_f1_micro", f1.micro, ci.finding_f1_micro.low, ci.finding_f1_micro.high);

  const std::string report_path = ctx.output_path("report.json");
  std::ofstream(report_path) << report.dump(2) << "\n";
  const std::string predictions_path = ctx.output_path("predictions.jsonl");
  const std::string side_path = ctx.output_path("side_by_side.md");
  std::ofstream predictions(predictions_path), side(side_path);
  side << "| path | reference | generated |\n|---|---|---|\n";
  for (size_t i = 0; i < test.rows.size(); ++i) {
    const auto& row = set->rows[test.rows[i]];
    predictions << json{{"path", row.path},
                        {"reference", references[i]},
                        {"generated", generated[i]},
                        {"reference_labels", labels_json(findings, reference_labels[i])},
                        {"generated_labels", labels_json(findings, generated_labels[i])}}
                       .dump()
                << "\n";
    side << "| " << table_cell(row.path) << " | " << table_cell(references[i]) << " | "
         << table_cell(generated[i]) << " |\n";
  }
  predictions.close();
  side.close();
  const std::string vocab_path = ctx.output_path("vocabulary.json");
  std::ofstream(vocab_path) << vocab.to_json().dump() << "\n";
  ctx.register_output("report", report_path);
  ctx.register_output("predictions", predictions_path);
  ctx.register_output("side_by_side", side_path);
  ctx.register_output("vocabulary", vocab_path);
  ctx.progress(1.0, "done");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ctx.log_info("BLEU-4 " + std::to_string(bleu.bleu) + ", ROUGE-L " + std::to_string(rouge) + " (beta 1.2: " +
               std::to_string(rouge_coco) + ")" +
               ", finding F1 macro " + std::to_string(f1.macro) + " (" + std::to_string(seconds) + " s)");
  return RF_RUN_OK;
}

}  // namespace

constexpr const char* kParamsSchema = R"json({"type":"object","properties":{
    "layer":{"type":"integer","description":"block whose patch tokens are used (default: the last present)"},
    "d_model":{"type":"integer","minimum":8,"default":128,"description":"decoder width"},
    "heads":{"type":"integer","minimum":1,"default":4,"description":"attention heads (divides d_model)"},
    "layers":{"type":"integer","minimum":1,"maximum":12,"default":2,"description":"decoder layers"},
    "feedforward":{"type":"integer","minimum":8,"description":"decoder MLP width (default 2 x d_model)"},
    "dropout":{"type":"number","minimum":0,"maximum":0.9,"default":0.1},
    "epochs":{"type":"integer","minimum":1,"default":20},
    "batch_size":{"type":"integer","minimum":1,"default":32},
    "learning_rate":{"type":"number","exclusiveMinimum":0,"default":0.001},
    "weight_decay":{"type":"number","minimum":0,"default":0.01},
    "min_count":{"type":"integer","minimum":1,"default":2,
                 "description":"train-split occurrences a word needs to enter the vocabulary"},
    "max_length":{"type":"integer","minimum":3,"maximum":512,"default":80,
                  "description":"longest report in tokens, <bos> and <eos> included"},
    "beam_size":{"type":"integer","minimum":1,"maximum":16,"default":3,"description":"1 = greedy decoding"},
    "length_penalty":{"type":"number","minimum":0,"default":1.0,
                      "description":"beam score = log-probability / length^length_penalty"},
    "findings":{"type":"array","items":{"type":"string"},
                "description":"findings the labeler scores (default: every label column)"},
    "finding_phrases":{"type":"object","additionalProperties":{"type":"array","items":{"type":"string"}},
                       "description":"extra phrases naming a finding, e.g. {\"nodule\": [\"granuloma\"]}"},
    "negation_window":{"type":"integer","minimum":0,"maximum":50,"default":5,
                       "description":"tokens between a negation cue and the finding phrase"},
    "decoder":{"type":"string","enum":["trained","most_common_train_report"],"default":"trained",
               "description":"trained: the decoder on patch tokens; most_common_train_report: the constant baseline (no training; the features only supply the rows)"},
    "bootstrap":{"type":"integer","minimum":0,"maximum":100000,"default":1000,
                 "description":"bootstrap resamples (over test reports) for the 95% intervals"},
    "seed":{"type":"integer","minimum":0,"default":0}},
  "additionalProperties":false})json";

constexpr const char* kInputs =
    R"json([{"name":"features","description":"a feature set folder with patch tokens (patches.safetensors) and report text"}])json";

constexpr const char* kOutputs = R"json([
  {"name":"report","description":"report.json: BLEU-4, ROUGE-L, finding F1 (micro, macro, per finding) with bootstrap 95% intervals, decoding and training settings"},
  {"name":"predictions","description":"predictions.jsonl: path, reference, generated, labeler results per finding, per test sample"},
  {"name":"side_by_side","description":"side_by_side.md: reference and generated reports in a table"},
  {"name":"vocabulary","description":"vocabulary.json: the decoder's word vocabulary with train counts"}])json";

RADFLOW_PLUGIN("report-gen", "0.1.0",
               "Report generation from frozen patch tokens: projector + small transformer decoder, "
               "greedy or beam decoding; BLEU-4, ROUGE-L and a rule-based finding F1 (CheXbert proxy).",
               kParamsSchema, kInputs, kOutputs, run)
