// The dataset plugin through the real worker: label table + images folder, bad
// files skipped or failing the step by name, and re-validation of a synth-cxr folder.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include "plugins/ml/data/manifest.h"
#include "tests/data/plugin_runner.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
namespace data = radflow::ml::data;
using nlohmann::json;

class DatasetPluginTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "rf-dataset-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    synth_ = run_plugin("synth-cxr", {{"seed", 3}, {"count", 12}, {"image_size", 48}}, json::object(),
                        dir_ + "/synth", dir_ + "/synth.json");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  void SetUp() override {
    ASSERT_EQ(synth_.exit_code, 0) << synth_.end.dump();
    // An images folder with 4 good DICOMs, a PNG mask as a 5th image, and one corrupt file.
    images_ = dir_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(images_ + "/sub");
    for (int i = 0; i < 4; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "cxr-%06d.dcm", i);
      fs::copy_file(dir_ + "/synth/dataset/images/" + name, images_ + "/" + name);
    }
    fs::copy_file(dir_ + "/synth/dataset/masks/cxr-000000/lungs.png", images_ + "/sub/lungs.png");
    std::ofstream(images_ + "/broken.dcm") << std::string(200, 'x');
    std::ofstream(images_ + "/labels.csv")
        << "path,age,sex,label:nodule,report\n"
           "cxr-000000.dcm,50,F,1,\"Nodule, left.\"\n"
           "cxr-000001.dcm,60,M,0,\n"
           "cxr-000002.dcm,,,0,\n"
           "cxr-000003.dcm,70,M,1,\n"
           "sub/lungs.png,30,F,0,\n"
           "broken.dcm,40,F,1,\n";
  }

  PluginRun run(const json& params, const json& inputs = json::object()) {
    const std::string name = "run" + std::to_string(++runs_);
    return run_plugin("dataset", params, inputs, images_ + "-" + name, images_ + "-" + name + ".json");
  }

  static json stats_of(const PluginRun& r) {
    std::ifstream in(r.output("dataset") + "/stats.json");
    return json::parse(in);
  }

  static std::string dir_;
  static PluginRun synth_;
  std::string images_;
  int runs_ = 0;
};
std::string DatasetPluginTest::dir_;
PluginRun DatasetPluginTest::synth_;

TEST_F(DatasetPluginTest, SkipModeCountsTheCorruptFileAndKeepsTheRest) {
  const PluginRun r = run({{"images_dir", images_}, {"labels", images_ + "/labels.csv"}, {"seed", 1}, {"deidentify", false}});
  ASSERT_EQ(r.exit_code, 0) << r.end.dump();
  const json stats = stats_of(r);
  EXPECT_EQ(stats["bad_count"], 1);
  EXPECT_EQ(stats["bad_files"][0]["path"], images_ + "/broken.dcm");
  EXPECT_NE(stats["bad_files"][0]["reason"].get<std::string>().find("unknown format"), std::string::npos);
  EXPECT_EQ(stats["images"], 5);
  EXPECT_EQ(stats["listed"], 6);
  EXPECT_EQ(stats["formats"]["dicom"], 4);
  EXPECT_EQ(stats["formats"]["png"], 1);
  EXPECT_EQ(stats["image_sizes"]["48x48"], 5);
  EXPECT_EQ(stats["labels"]["nodule"]["all"]["positives"], 2);

  auto m = data::read_manifest(r.output("dataset") + "/manifest.csv");
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  ASSERT_EQ(m->records.size(), 5u);
  EXPECT_EQ(m->records[0].path, images_ + "/cxr-000000.dcm");  // absolute source path, not copied
  EXPECT_EQ(m->records[0].report, "Nodule, left.");
  EXPECT_FALSE(m->records[2].age.has_value());
  for (const auto& rec : m->records) EXPECT_NE(rec.split, data::Split::kUnassigned);
  EXPECT_FALSE(fs::exists(r.output("dataset") + "/cxr-000000.dcm"));
  int bad_metric = -1;
  for (const auto& e : r.events) {
    if (e.value("type", "") == "metric" && e.value("name", "") == "bad_files") bad_metric = e["value"].get<int>();
  }
  EXPECT_EQ(bad_metric, 1);
}

TEST_F(DatasetPluginTest, FailModeFailsNamingTheBadFiles) {
  std::ofstream(images_ + "/empty.png");  // zero bytes
  std::ofstream(images_ + "/labels.csv", std::ios::app) << "empty.png,1,M,0,\nmissing.dcm,1,M,0,\n";
  const PluginRun r = run({{"images_dir", images_}, {"labels", images_ + "/labels.csv"}, {"on_bad_file", "fail"},
                           {"deidentify", false}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.end.value("reason", ""), "plugin_failed");
  const std::string message = r.end.value("message", "");
  EXPECT_NE(message.find("3 bad file(s) of 8"), std::string::npos) << message;
  EXPECT_NE(message.find(images_ + "/broken.dcm"), std::string::npos) << message;
  EXPECT_NE(message.find("empty.png: empty"), std::string::npos) << message;
  EXPECT_NE(message.find("missing.dcm: missing"), std::string::npos) << message;
}

TEST_F(DatasetPluginTest, ImagesDirAloneListsEveryImageWithSeededSplits) {
  const PluginRun r = run({{"images_dir", images_}, {"split_ratios", {{"train", 1}, {"val", 0}, {"test", 1}}}});
  ASSERT_EQ(r.exit_code, 0) << r.end.dump();
  const json stats = stats_of(r);
  EXPECT_EQ(stats["images"], 5);  // labels.csv is not an image; broken.dcm is bad
  EXPECT_EQ(stats["bad_count"], 1);
  EXPECT_EQ(stats["per_split"]["train"].get<int>() + stats["per_split"]["test"].get<int>(), 5);
  EXPECT_FALSE(stats["per_split"].contains("val"));
}

TEST_F(DatasetPluginTest, RevalidatesASynthCxrFolderKeepingItsSplitsAndMasks) {
  const PluginRun r = run({{"deidentify", false}}, {{"source", dir_ + "/synth/dataset"}});
  ASSERT_EQ(r.exit_code, 0) << r.end.dump();
  const json stats = stats_of(r);
  EXPECT_EQ(stats["images"], 12);
  EXPECT_EQ(stats["bad_count"], 0);
  auto original = data::read_manifest(dir_ + "/synth/dataset/manifest.csv");
  auto checked = data::read_manifest(r.output("dataset") + "/manifest.csv");
  ASSERT_TRUE(original.ok() && checked.ok());
  ASSERT_EQ(checked->records.size(), original->records.size());
  for (size_t i = 0; i < checked->records.size(); ++i) {
    const auto& a = original->records[i];
    const auto& b = checked->records[i];
    EXPECT_EQ(b.path, original->resolve(a.path));
    EXPECT_EQ(b.split, a.split);
    EXPECT_EQ(b.labels, a.labels);
    EXPECT_EQ(b.masks.at("lungs"), original->resolve(a.masks.at("lungs")));
  }
  // A deleted mask makes its record bad.
  fs::remove(dir_ + "/synth/dataset/masks/cxr-000005/heart.png");
  const PluginRun again = run({{"on_bad_file", "fail"}, {"deidentify", false}}, {{"source", dir_ + "/synth/dataset"}});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.end.value("message", "").find("mask 'heart'"), std::string::npos) << again.end.dump();
}

TEST_F(DatasetPluginTest, DeidentifiesByDefaultIntoRenamedCopiesAndNamesBadFilesByItem) {
  const PluginRun r = run({{"images_dir", images_}, {"labels", images_ + "/labels.csv"}, {"deid_seed", 5}});
  ASSERT_EQ(r.exit_code, 0) << r.end.dump();
  const json stats = stats_of(r);
  EXPECT_EQ(stats["images"], 5);
  ASSERT_EQ(stats["bad_count"], 1);
  EXPECT_EQ(stats["bad_files"][0]["item"], 6);  // broken.dcm, the label table's 6th row
  EXPECT_FALSE(stats["bad_files"][0].contains("path"));
  EXPECT_EQ(stats["deidentification"]["key"], "seed");
  auto m = data::read_manifest(r.output("dataset") + "/manifest.csv");
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  ASSERT_EQ(m->records.size(), 5u);
  for (const auto& rec : m->records) {
    EXPECT_EQ(rec.path.rfind("images/", 0), 0u) << rec.path;  // relative, inside the dataset
    EXPECT_EQ(rec.path.find("cxr-"), std::string::npos) << rec.path;
    EXPECT_TRUE(fs::exists(m->resolve(rec.path))) << rec.path;
  }
  EXPECT_EQ(m->records[0].report, "Nodule, left.");  // label-table fields pass through
  EXPECT_EQ(m->records[0].sex, "F");
  DcmFileFormat copy;
  ASSERT_TRUE(copy.loadFile(m->resolve(m->records[0].path).c_str()).good());
  OFString value;
  EXPECT_TRUE(copy.getDataset()->findAndGetOFString(DCM_PatientIdentityRemoved, value).good());
  EXPECT_EQ(value, "YES");
  EXPECT_TRUE(copy.getDataset()->findAndGetOFString(DCM_PatientID, value).good());
  EXPECT_EQ(value.c_str()[0], 'P');
  EXPECT_NE(value, "synth-P000000");
  EXPECT_EQ(m->records[0].extra.at("patient_id"), value.c_str());  // the pseudonym, not the PatientID
}

// Splits by patient from the DICOM PatientID: with de-identification the manifest
// carries the pseudonym (one per patient, as in the DICOM copy), without it the ID.
TEST_F(DatasetPluginTest, SplitsByPatientAndReportsPatientsAndImagesPerSplit) {
  const PluginRun synth = run_plugin("synth-cxr", {{"seed", 4}, {"count", 60}, {"image_size", 32}, {"studies_per_patient", 3}},
                                     json::object(), images_ + "-synth", images_ + "-synth.json");
  ASSERT_EQ(synth.exit_code, 0) << synth.end.dump();
  for (const bool deidentify : {true, false}) {
    const PluginRun r = run({{"images_dir", images_ + "-synth/dataset/images"}, {"deidentify", deidentify}, {"deid_seed", 5}});
    ASSERT_EQ(r.exit_code, 0) << r.end.dump();
    auto m = data::read_manifest(r.output("dataset") + "/manifest.csv");
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    ASSERT_EQ(m->records.size(), 60u);
    std::map<std::string, std::set<data::Split>> splits;
    for (const auto& rec : m->records) {
      const std::string patient = rec.extra.at("patient_id");
      splits[patient].insert(rec.split);
      DcmFileFormat file;
      ASSERT_TRUE(file.loadFile(m->resolve(rec.path).c_str()).good());
      OFString id;
      ASSERT_TRUE(file.getDataset()->findAndGetOFString(DCM_PatientID, id).good());
      EXPECT_EQ(patient, id.c_str());
      EXPECT_EQ(patient.rfind("synth-P", 0) == 0, !deidentify) << patient;
    }
    EXPECT_EQ(splits.size(), 20u);
    for (const auto& [patient, in] : splits) EXPECT_EQ(in.size(), 1u) << patient << " is in several splits";
    const json report = stats_of(r)["split_report"];
    EXPECT_EQ(report["patients"], 20);
    EXPECT_EQ(report["patients_in_several_splits"], 0);
    EXPECT_EQ(report["train"]["images"], 42);  // 0.7 * 60, 14 patients of 3
    EXPECT_EQ(report["train"]["patients"], 14);
  }
}

TEST_F(DatasetPluginTest, PseudonymMapIsWrittenOnlyWhereAskedAndNeverInsideTheDataset) {
  const std::string map = images_ + "-map.json";
  const PluginRun r = run({{"images_dir", images_}, {"labels", images_ + "/labels.csv"}, {"pseudonym_map", map}});
  ASSERT_EQ(r.exit_code, 0) << r.end.dump();
  std::ifstream in(map);
  const json written = json::parse(in);
  EXPECT_EQ(written["patients"].size(), 4u);
  EXPECT_TRUE(written["patients"].contains("synth-P000003"));
  EXPECT_EQ(written["files"][0]["source"], images_ + "/cxr-000000.dcm");
  for (const auto& entry : fs::recursive_directory_iterator(r.output("dataset"))) {
    EXPECT_NE(entry.path().filename(), "map.json");
  }
  const std::string inside = images_ + "-run2/dataset/map.json";
  const PluginRun refused = run({{"images_dir", images_}, {"labels", images_ + "/labels.csv"}, {"pseudonym_map", inside}});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.end.value("message", "").find("must not be inside the dataset"), std::string::npos)
      << refused.end.dump();
}

TEST_F(DatasetPluginTest, UnreadableLabelTableFailsWithItsLine) {
  std::ofstream(images_ + "/bad.csv") << "path,label:x\ncxr-000000.dcm,yes\n";
  const PluginRun r = run({{"images_dir", images_}, {"labels", images_ + "/bad.csv"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.end.value("message", "").find("bad.csv:2:2"), std::string::npos) << r.end.dump();
}

}  // namespace
}  // namespace radflow::test
