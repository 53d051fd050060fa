// The embed plugin through radflow-worker on a folder of mixed DICOM/PNG files, and
// `radflow embed` end to end: .npy header, shape and values, the paths file's order,
// --help, and the message when the plugin is not there.
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plugins/ml/data/manifest.h"
#include "tests/ml/features/plugin_fixture.h"

namespace radflow::ml::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Npy {
  std::string header;
  std::vector<float> values;
};

Npy read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  Npy npy;
  EXPECT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  const size_t header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
  npy.header = bytes.substr(10, header_len);
  EXPECT_EQ((10 + header_len) % 16, 0u);  // data aligned as numpy writes it
  const size_t count = (bytes.size() - 10 - header_len) / sizeof(float);
  npy.values.resize(count);
  std::memcpy(npy.values.data(), bytes.data() + 10 + header_len, count * sizeof(float));
  return npy;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class EmbedTest : public PluginFixture {
 protected:
  // A folder with two DICOM images and one PNG (a mask), named so that the sorted
  // order differs from the creation order, plus a file that is not an image.
  static std::string make_image_folder() {
    auto manifest = data::read_manifest(dataset_ + "/manifest.csv");
    EXPECT_TRUE(manifest.ok());
    const std::string folder = dir_ + "/images";
    if (fs::exists(folder)) return folder;  // made by an earlier test of the suite
    fs::create_directories(folder + "/sub");
    fs::copy_file(manifest->resolve(manifest->records[0].path), folder + "/b.dcm");
    fs::copy_file(manifest->resolve(manifest->records[1].path), folder + "/sub/c");  // no extension
    fs::copy_file(manifest->resolve(manifest->records[2].masks.at("lungs")), folder + "/a.png");
    std::ofstream(folder + "/notes.txt") << "not an image";
    return folder;
  }
  static int run_cli_in(const std::string& args, const std::string& env, std::string* out, std::string* err);
  static std::vector<std::string> expected_order(const std::string& folder) {
    return {folder + "/a.png", folder + "/b.dcm", folder + "/sub/c"};
  }
};

TEST_F(EmbedTest, EmbedsAFolderInSortedOrderWithClsAndMean) {
  const std::string folder = make_image_folder();
  auto events = run("embed", {{"pool", "cls+mean"}, {"batch_size", 2}},
                    {{"encoder", encoder_}, {"images", folder}});
  ASSERT_EQ(events.back()["status"], "succeeded") << events.back().dump();
  const auto paths = read_lines(output_of(events, "paths"));
  EXPECT_EQ(paths, expected_order(folder));

  const Npy npy = read_npy(output_of(events, "embeddings"));
  EXPECT_NE(npy.header.find("'descr': '<f4'"), std::string::npos) << npy.header;
  EXPECT_NE(npy.header.find("'fortran_order': False"), std::string::npos) << npy.header;
  EXPECT_NE(npy.header.find("'shape': (3, 128)"), std::string::npos) << npy.header;
  ASSERT_EQ(npy.values.size(), 3u * 128u);
  const ViTOutput expected = reference_forward(paths);
  const auto rows = torch::from_blob(const_cast<float*>(npy.values.data()), {3, 128}, torch::kFloat32);
  EXPECT_TRUE(torch::allclose(rows.narrow(1, 0, 64), expected.cls, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(rows.narrow(1, 64, 64), expected.patch_tokens.mean(1), 1e-5, 1e-5));
}

TEST_F(EmbedTest, AManifestGivesItsRowOrderAndAnEmptyFolderFails) {
  auto events = run("embed", json::object(), {{"encoder", encoder_}, {"images", dataset_ + "/manifest.csv"}});
  ASSERT_EQ(events.back()["status"], "succeeded") << events.back().dump();
  auto manifest = data::read_manifest(dataset_ + "/manifest.csv");
  ASSERT_TRUE(manifest.ok());
  const auto paths = read_lines(output_of(events, "paths"));
  ASSERT_EQ(paths.size(), manifest->records.size());
  for (size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(paths[i], manifest->resolve(manifest->records[i].path));
  EXPECT_NE(read_npy(output_of(events, "embeddings")).header.find("'shape': (7, 64)"), std::string::npos);

  fs::create_directories(dir_ + "/no-images");
  auto empty = run("embed", json::object(), {{"encoder", encoder_}, {"images", dir_ + "/no-images"}});
  EXPECT_EQ(empty.back()["status"], "failed");
  EXPECT_NE(message_of(empty).find("no DICOM/PNG/JPEG images"), std::string::npos) << message_of(empty);
}

// Runs the radflow CLI; returns its exit code, stdout in *out and stderr in *err.
int run_cli(const std::string& args, const std::string& env, const std::string& err_file,
            std::string* out, std::string* err) {
  const std::string command = env + " " + RADFLOW_CLI_BIN + " " + args + " 2>" + err_file;
  FILE* pipe = popen(command.c_str(), "r");
  std::ostringstream captured;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) captured.write(buffer, n);
  const int status = pclose(pipe);
  *out = captured.str();
  std::ifstream in(err_file);
  *err = std::string((std::istreambuf_iterator<char>(in)), {});
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int EmbedTest::run_cli_in(const std::string& args, const std::string& env, std::string* out,
                          std::string* err) {
  return run_cli(args, env, dir_ + "/cli.err", out, err);
}

TEST_F(EmbedTest, TheCliWritesTheNpyAndPathsWithProgress) {
  const std::string folder = make_image_folder();
  const std::string out = dir_ + "/cli/emb.npy";
  fs::create_directories(dir_ + "/cli");
  std::string stdout_text, stderr_text;
  const std::string env = std::string("RADFLOW_PLUGIN_DIR=") + RADFLOW_PLUGIN_DIR;
  ASSERT_EQ(run_cli_in("embed --encoder " + encoder_ + " --images " + folder + " --out " + out +
                        " --batch-size 1 --size 56",
                    env, &stdout_text, &stderr_text),
            0)
      << stderr_text;
  EXPECT_EQ(read_lines(dir_ + "/cli/emb.paths.txt"), expected_order(folder));
  EXPECT_NE(read_npy(out).header.find("'shape': (3, 64)"), std::string::npos);
  EXPECT_NE(stderr_text.find("100% embedded 3/3 images"), std::string::npos) << stderr_text;
  EXPECT_NE(stdout_text.find("emb.paths.txt"), std::string::npos) << stdout_text;
}

TEST_F(EmbedTest, TheCliExplainsItselfAndReportsProblems) {
  std::string out, err;
  ASSERT_EQ(run_cli_in("embed --help", "", &out, &err), 0);
  for (const char* part : {"--encoder", "--images", "--out", "--pool cls+mean", "--size", "--batch-size",
                           ".paths.txt", "RADFLOW_WITH_TORCH"}) {
    EXPECT_NE(out.find(part), std::string::npos) << part;
  }
  EXPECT_EQ(run_cli_in("embed --encoder x --images y", "", &out, &err), 2);
  EXPECT_NE(err.find("--out is required"), std::string::npos) << err;
  EXPECT_EQ(run_cli_in("embed --encoder x --images y --out z.npy --pool max", "", &out, &err), 2);

  const std::string no_plugins = dir_ + "/no-plugins";
  fs::create_directories(no_plugins);
  EXPECT_EQ(run_cli_in("embed --encoder x --images y --out z.npy", "RADFLOW_PLUGIN_DIR=" + no_plugins, &out, &err), 1);
  EXPECT_NE(err.find("the embed plugin is not built"), std::string::npos) << err;

  EXPECT_EQ(run_cli_in("embed --encoder " + dir_ + "/missing --images " + dataset_ + " --out " + dir_ + "/m.npy",
                    std::string("RADFLOW_PLUGIN_DIR=") + RADFLOW_PLUGIN_DIR, &out, &err),
            1);
  EXPECT_NE(err.find("encoder checkpoint not found"), std::string::npos) << err;
}

}  // namespace
}  // namespace radflow::ml::test
