// Uses radflow::ml from outside radflow's tree, through its installed headers only:
// writes a four-row feature set, reads it back, and computes the AUROC of one feature
// column against the rows' labels. usage: ml_consumer DIR. Prints "auroc 0.75" and
// exits 0, or says what differs and exits 1.
#include <cstdio>
#include <string>
#include <vector>

#include "radflow/ml/eval/feature_set.h"
#include "radflow/ml/metrics/auroc.h"

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "ml_consumer: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: ml_consumer DIR");
  namespace eval = radflow::ml::eval;
  // scikit-learn's roc_auc_score example: labels 0 0 1 1, scores .1 .4 .35 .8 -> 0.75.
  const std::vector<float> scores = {0.1f, 0.4f, 0.35f, 0.8f};
  const std::vector<int> labels = {0, 0, 1, 1};
  eval::FeatureSet written;
  written.cls = torch::tensor(scores).reshape({4, 1});
  written.mean_patch = torch::zeros({4, 1});
  for (size_t i = 0; i < scores.size(); ++i) {
    written.rows.push_back({"image" + std::to_string(i) + ".png", "test", {{"nodule", labels[i]}}});
  }
  if (auto status = eval::write_feature_set(argv[1], written); !status.ok()) {
    return fail("write_feature_set: " + status.to_string());
  }

  auto read = eval::read_feature_set(argv[1]);
  if (!read.ok()) return fail("read_feature_set: " + read.status().to_string());
  if (read->rows.size() != 4 || !torch::equal(read->cls, written.cls)) {
    return fail("the feature set read back differs from the one written");
  }
  std::vector<double> column;
  std::vector<int> row_labels;
  for (int64_t i = 0; i < read->cls.size(0); ++i) {
    column.push_back(read->cls[i][0].item<double>());
    row_labels.push_back(read->rows[i].labels.at("nodule"));
  }
  const double auroc = radflow::ml::metrics::auroc(column, row_labels);
  std::printf("auroc %.2f\n", auroc);
  return auroc == 0.75 ? 0 : fail("auroc " + std::to_string(auroc) + ", expected 0.75");
}
