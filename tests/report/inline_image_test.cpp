#include "orchestrator/report/inline_image.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/storage/temp_dir.h"

namespace radflow::report {
namespace {

TEST(Base64, MatchesRfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\xfe", 2)), "//4=");
}

TEST(PngDataUri, RefusesWhatIsNotAPng) {
  storage::testing::TempDir dir;
  std::ofstream(dir.sub("x.png")) << "GIF89a";
  auto uri = png_data_uri(dir.sub("x.png"));
  ASSERT_FALSE(uri.ok());
  EXPECT_EQ(uri.status().code(), "bad_image");
  EXPECT_EQ(png_data_uri(dir.sub("missing.png")).status().code(), "io_error");
}

}  // namespace
}  // namespace radflow::report
