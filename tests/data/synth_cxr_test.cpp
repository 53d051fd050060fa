// synth-cxr through the real worker: valid DICOM in every requested flavour, masks
// that line up with the pixels, findings that change the pixels where they should,
// reports that agree with the labels, and one dataset per seed.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/sha256.h"
#include "plugins/ml/data/manifest.h"
#include "tests/data/plugin_runner.h"
#include "tests/data/test_images.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
namespace data = radflow::ml::data;
using nlohmann::json;

constexpr int kCount = 240;
constexpr int kSize = 128;

std::string make_temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "rf-synth-XXXXXX").string();
  return ::mkdtemp(pattern.data());
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Mean attenuation over pixels where `in` is set and `out` (optional) is not.
double masked_mean(const std::vector<float>& pixels, const std::vector<uint8_t>& in,
                   const std::vector<uint8_t>* out = nullptr) {
  double sum = 0;
  size_t n = 0;
  for (size_t i = 0; i < pixels.size(); ++i) {
    if (in[i] && !(out && (*out)[i])) {
      sum += pixels[i];
      ++n;
    }
  }
  return n ? sum / n : -1;
}

size_t count_set(const std::vector<uint8_t>& mask) {
  return static_cast<size_t>(std::count_if(mask.begin(), mask.end(), [](uint8_t v) { return v != 0; }));
}

class SynthCxrTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = make_temp_dir();
    run_ = run_plugin("synth-cxr", {{"seed", 11}, {"count", kCount}, {"image_size", kSize}}, json::object(),
                      dir_ + "/out", dir_ + "/spec.json");
    auto manifest = data::read_manifest(dir_ + "/out/dataset/manifest.csv");
    if (manifest.ok()) manifest_ = new data::Manifest(std::move(manifest).value());
  }
  static void TearDownTestSuite() {
    delete manifest_;
    manifest_ = nullptr;
    fs::remove_all(dir_);
  }
  void SetUp() override {
    ASSERT_EQ(run_.exit_code, 0) << run_.end.dump();
    ASSERT_NE(manifest_, nullptr);
  }

  static GrayImage mask(const data::Record& r, const std::string& name) {
    return read_png_gray8(manifest_->resolve(r.masks.at(name)));
  }

  static std::string dir_;
  static PluginRun run_;
  static data::Manifest* manifest_;
};
std::string SynthCxrTest::dir_;
PluginRun SynthCxrTest::run_;
data::Manifest* SynthCxrTest::manifest_ = nullptr;

TEST_F(SynthCxrTest, WritesTheDatasetFolderAndReportsProgress) {
  EXPECT_EQ(run_.output("dataset"), dir_ + "/out/dataset");
  EXPECT_EQ(manifest_->records.size(), static_cast<size_t>(kCount));
  EXPECT_TRUE(data::validate_manifest(*manifest_, data::FileCheck::kMustExist).ok());
  double last_images = 0;
  for (const auto& e : run_.events) {
    if (e.value("type", "") == "metric" && e.value("name", "") == "images_written") last_images = e["value"].get<double>();
  }
  EXPECT_EQ(last_images, kCount);
  std::ifstream in(dir_ + "/out/dataset/stats.json");
  const json stats = json::parse(in);
  EXPECT_EQ(stats["images"], kCount);
  EXPECT_EQ(stats["per_split"]["train"], 168);  // 0.7 * 240, exact
  EXPECT_EQ(stats["per_split"]["val"], 36);
  EXPECT_EQ(stats["per_split"]["test"], 36);
  EXPECT_EQ(stats["generator"]["seed"], 11);
}

TEST_F(SynthCxrTest, EveryImageIsAValidDicomInTheRequestedFlavour) {
  std::map<std::string, int> syntaxes;
  int mono1 = 0;
  for (const data::Record& r : manifest_->records) {
    const DicomPixels dcm = read_dicom(manifest_->resolve(r.path));
    ASSERT_TRUE(dcm.ok) << r.path << ": " << dcm.error;
    EXPECT_EQ(dcm.modality, "DX");
    EXPECT_EQ(dcm.rows, kSize);
    EXPECT_EQ(dcm.columns, kSize);
    EXPECT_TRUE(dcm.bits_stored == 12 || dcm.bits_stored == 14 || dcm.bits_stored == 16) << dcm.bits_stored;
    EXPECT_EQ(std::to_string(dcm.bits_stored), r.extra.at("bits_stored"));
    EXPECT_TRUE(dcm.has_rescale && dcm.has_window) << r.path;
    EXPECT_EQ(dcm.sex, r.sex);
    char age[8];
    std::snprintf(age, sizeof age, "%03dY", static_cast<int>(*r.age));
    EXPECT_EQ(dcm.age, age);
    EXPECT_EQ(dcm.photometric, r.extra.at("photometric"));
    EXPECT_EQ(dcm.transfer_syntax_uid, r.extra.at("transfer_syntax"));
    ++syntaxes[dcm.transfer_syntax_uid];
    mono1 += dcm.photometric == "MONOCHROME1";
  }
  EXPECT_NEAR(mono1 / double(kCount), 0.25, 0.1);
  ASSERT_EQ(syntaxes.size(), 3u);
  EXPECT_NEAR(syntaxes["1.2.840.10008.1.2.1"] / double(kCount), 0.75, 0.1);
  EXPECT_GT(syntaxes["1.2.840.10008.1.2.5"], 10);     // RLE lossless
  EXPECT_GT(syntaxes["1.2.840.10008.1.2.4.80"], 10);  // JPEG-LS lossless
}

TEST_F(SynthCxrTest, LabelPrevalenceMatchesTheDefaults) {
  const std::map<std::string, double> expected = {{"cardiomegaly", 0.25}, {"effusion", 0.2}, {"pneumothorax", 0.15},
                                                  {"nodule", 0.2}, {"consolidation", 0.2}, {"chest_tube", 0.15}};
  EXPECT_EQ(manifest_->findings().size(), expected.size());
  for (const auto& [finding, p] : expected) {
    int positives = 0;
    for (const auto& r : manifest_->records) positives += r.labels.at(finding);
    EXPECT_NEAR(positives / double(kCount), p, 0.08) << finding;
  }
}

TEST_F(SynthCxrTest, MasksAreBinaryAlignedAndPresentExactlyForPositiveFindings) {
  for (const data::Record& r : manifest_->records) {
    const GrayImage lungs = mask(r, "lungs"), heart = mask(r, "heart");
    ASSERT_TRUE(lungs.ok && heart.ok) << r.path;
    ASSERT_EQ(lungs.width, kSize);
    ASSERT_EQ(lungs.height, kSize);
    EXPECT_GT(count_set(lungs.pixels), kSize * kSize / 10u);
    EXPECT_GT(count_set(heart.pixels), kSize * kSize / 50u);  // smallest heart at the smallest scale: ~1/42
    for (size_t i = 0; i < lungs.pixels.size(); ++i) {
      ASSERT_TRUE(lungs.pixels[i] == 0 || lungs.pixels[i] == 255);
      ASSERT_FALSE(lungs.pixels[i] && heart.pixels[i]) << "heart overlaps lungs in " << r.path;
    }
    for (const auto& [finding, label] : r.labels) {
      ASSERT_EQ(r.masks.count(finding), static_cast<size_t>(label)) << finding << " " << r.path;
      if (!label) continue;
      const GrayImage m = mask(r, finding);
      ASSERT_TRUE(m.ok);
      EXPECT_GT(count_set(m.pixels), 0u) << finding << " " << r.path;
      if (finding == "chest_tube" || finding == "cardiomegaly") continue;
      for (size_t i = 0; i < m.pixels.size(); ++i) {
        ASSERT_TRUE(!m.pixels[i] || lungs.pixels[i]) << finding << " outside the lungs in " << r.path;
      }
    }
  }
}

TEST_F(SynthCxrTest, FindingsChangeThePixelsWhereTheirMasksSay) {
  std::map<std::string, std::pair<int, int>> brighter;  // finding -> (as expected, positives)
  double heart_area[2] = {0, 0};
  int heart_n[2] = {0, 0};
  for (const data::Record& r : manifest_->records) {
    const DicomPixels dcm = read_dicom(manifest_->resolve(r.path));
    ASSERT_TRUE(dcm.ok);
    const GrayImage lungs = mask(r, "lungs"), heart = mask(r, "heart");
    // Anatomy: the heart is denser than the aerated lungs in every image, whatever
    // the photometric interpretation it was stored with.
    EXPECT_GT(masked_mean(dcm.attenuation, heart.pixels), masked_mean(dcm.attenuation, lungs.pixels) + 0.05) << r.path;
    const int cardio = r.labels.at("cardiomegaly");
    heart_area[cardio] += count_set(heart.pixels);
    ++heart_n[cardio];
    for (const char* finding : {"effusion", "nodule", "consolidation", "chest_tube", "pneumothorax"}) {
      if (!r.labels.at(finding)) continue;
      const GrayImage m = mask(r, finding);
      const double inside = masked_mean(dcm.attenuation, m.pixels);
      const double rest = masked_mean(dcm.attenuation, lungs.pixels, &m.pixels);
      const bool darker_expected = std::string(finding) == "pneumothorax";
      auto& [ok, n] = brighter[finding];
      ++n;
      ok += darker_expected ? inside < rest : inside > rest;
    }
  }
  EXPECT_GT(heart_area[1] / heart_n[1], 1.3 * heart_area[0] / heart_n[0]);
  for (const auto& [finding, counts] : brighter) {
    EXPECT_GE(counts.first, 0.9 * counts.second) << finding << ": " << counts.first << "/" << counts.second;
    EXPECT_GT(counts.second, 10) << finding;
  }
}

TEST_F(SynthCxrTest, ReportsAgreeWithLabels) {
  std::set<std::string> distinct;
  for (const data::Record& r : manifest_->records) {
    const std::string report = lower(r.report);
    distinct.insert(r.report);
    EXPECT_EQ(report.find("no pneumothorax") == std::string::npos, r.labels.at("pneumothorax") == 1) << r.report;
    const bool says_effusion = report.find(" effusion") != std::string::npos && report.find("no pleural effusion") == std::string::npos &&
                               report.find("no effusion") == std::string::npos;
    EXPECT_EQ(says_effusion, r.labels.at("effusion") == 1) << r.report;
    const bool enlarged = report.find("enlarged") != std::string::npos || report.find("cardiomegaly") != std::string::npos;
    EXPECT_EQ(enlarged, r.labels.at("cardiomegaly") == 1) << r.report;
    const bool consolidation = report.find("consolidation") != std::string::npos && report.find("no focal") == std::string::npos &&
                               report.find("no airspace") == std::string::npos;
    EXPECT_EQ(consolidation, r.labels.at("consolidation") == 1) << r.report;
    EXPECT_EQ(report.find("chest tube") != std::string::npos || report.find("drain") != std::string::npos,
              r.labels.at("chest_tube") == 1) << r.report;
  }
  EXPECT_GT(distinct.size(), kCount / 2u);  // phrasing varies
}

// Every file byte for byte across runs and thread settings. Half the images JPEG-LS:
// DCMTK's encoder padded odd-length codestreams with an uninitialised byte, so a few
// files differed in that byte between runs until synth-cxr zeroed it.
TEST(SynthCxrDeterminism, SameSeedSameBytesAcrossRunsAndThreadsOtherSeedOtherData) {
  const std::string dir = make_temp_dir();
  auto generate = [&](int seed, const std::string& name, const char* threads) {
    ::setenv("RADFLOW_CPUS", threads, 1);
    ::setenv("OMP_NUM_THREADS", threads, 1);
    const PluginRun run = run_plugin("synth-cxr", {{"seed", seed}, {"count", 120}, {"image_size", 48},
                                     {"compressed_fraction", 1.0}, {"studies_per_patient", 2}},
                                     json::object(), dir + "/" + name, dir + "/" + name + ".json");
    ::unsetenv("RADFLOW_CPUS");
    ::unsetenv("OMP_NUM_THREADS");
    EXPECT_EQ(run.exit_code, 0) << run.end.dump();
    return dir + "/" + name + "/dataset";
  };
  const std::string a = generate(5, "a", "1"), b = generate(5, "b", "1"), two = generate(5, "two", "2");
  const std::string c = generate(6, "c", "1");
  auto hash = [](const std::string& path) { return sha256_file(path).value(); };
  EXPECT_NE(hash(a + "/manifest.csv"), hash(c + "/manifest.csv"));
  int files = 0, jpegls = 0;
  for (const auto& entry : fs::recursive_directory_iterator(a)) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = fs::relative(entry.path(), a).string();
    ++files;
    if (rel.rfind("images/", 0) == 0) {
      jpegls += read_dicom(entry.path().string()).transfer_syntax_uid == "1.2.840.10008.1.2.4.80";
    }
    EXPECT_EQ(hash(entry.path().string()), hash(b + "/" + rel)) << rel << " differs between two runs";
    EXPECT_EQ(hash(entry.path().string()), hash(two + "/" + rel)) << rel << " differs between 1 and 2 threads";
  }
  EXPECT_GT(files, 120 * 3);
  EXPECT_GT(jpegls, 40);
  fs::remove_all(dir);
}

TEST(SynthCxrPatients, SeveralStudiesPerPatientShareOneSplitAndTheReportCountsPatients) {
  const std::string dir = make_temp_dir();
  const PluginRun run = run_plugin("synth-cxr", {{"seed", 9}, {"count", 90}, {"image_size", 48}, {"studies_per_patient", 3}},
                                   json::object(), dir + "/out", dir + "/spec.json");
  ASSERT_EQ(run.exit_code, 0) << run.end.dump();
  auto m = data::read_manifest(dir + "/out/dataset/manifest.csv");
  ASSERT_TRUE(m.ok());
  std::map<std::string, std::set<data::Split>> splits;
  std::map<std::string, std::set<std::string>> sexes;
  for (const auto& r : m->records) {
    const std::string patient = r.extra.at("patient_id");
    splits[patient].insert(r.split);
    sexes[patient].insert(r.sex);
    EXPECT_EQ(read_dicom(m->resolve(r.path)).patient_id, patient);
  }
  EXPECT_EQ(splits.size(), 30u);
  for (const auto& [patient, in] : splits) {
    EXPECT_EQ(in.size(), 1u) << patient << " is in more than one split";
    EXPECT_EQ(sexes[patient].size(), 1u) << patient;
  }
  std::ifstream in(dir + "/out/dataset/stats.json");
  const json report = json::parse(in)["split_report"];
  EXPECT_EQ(report["patients"], 30);
  EXPECT_EQ(report["patients_in_several_splits"], 0);
  int patients = 0, images = 0;
  for (const char* split : {"train", "val", "test"}) {
    ASSERT_TRUE(report.contains(split)) << report.dump();
    EXPECT_EQ(report[split]["images"].get<int>(), 3 * report[split]["patients"].get<int>());
    patients += report[split]["patients"].get<int>();
    images += report[split]["images"].get<int>();
  }
  EXPECT_EQ(patients, 30);
  EXPECT_EQ(images, 90);
  EXPECT_EQ(report["train"]["patients"], 21);  // round(0.7 * 90) = 63 images
  fs::remove_all(dir);
}

TEST(SynthCxrParams, PrevalenceAndFractionsAreHonouredAndBadParamsFail) {
  const std::string dir = make_temp_dir();
  const PluginRun run = run_plugin(
      "synth-cxr", {{"count", 40}, {"image_size", 48}, {"monochrome1_fraction", 1.0}, {"compressed_fraction", 0.0},
                    {"prevalence", {{"nodule", 1.0}, {"effusion", 0.0}}}, {"split_ratios", {{"train", 1}, {"val", 0}, {"test", 0}}}},
      json::object(), dir + "/out", dir + "/spec.json");
  ASSERT_EQ(run.exit_code, 0) << run.end.dump();
  auto m = data::read_manifest(dir + "/out/dataset/manifest.csv");
  ASSERT_TRUE(m.ok());
  for (const auto& r : m->records) {
    EXPECT_EQ(r.labels.at("nodule"), 1);
    EXPECT_EQ(r.labels.at("effusion"), 0);
    EXPECT_EQ(r.split, data::Split::kTrain);
    EXPECT_EQ(r.extra.at("photometric"), "MONOCHROME1");
    EXPECT_EQ(r.extra.at("transfer_syntax"), "1.2.840.10008.1.2.1");
  }
  const PluginRun bad = run_plugin("synth-cxr", {{"prevalence", {{"nodule", 2.0}}}}, json::object(), dir + "/bad",
                                   dir + "/bad.json");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.end.value("message", "").find("prevalence.nodule"), std::string::npos) << bad.end.dump();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace radflow::test
