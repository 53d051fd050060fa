#include "plugins/ml/safetensors/safetensors_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "plugins/ml/safetensors/float16.h"
#include "plugins/ml/safetensors/safetensors_writer.h"

namespace radflow::ml::safetensors {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("radflow_st_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes raw bytes: the 8-byte little-endian length of `header` (or `length` when
  // given), the header text, then `data`.
  std::string craft(const std::string& header, const std::string& data = "",
                    int64_t length = -1) {
    const std::string file = path("crafted.safetensors");
    const uint64_t n = length >= 0 ? static_cast<uint64_t>(length) : header.size();
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    bytes += header;
    bytes += data;
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
  }

  std::string read_all(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Expects open() to fail with `code` and a message holding every needle.
  void expect_error(const std::string& file, const std::string& code,
                    std::initializer_list<std::string> needles) {
    Result<SafetensorsFile> opened = SafetensorsFile::open(file);
    ASSERT_FALSE(opened.ok());
    const Status status = opened.status();
    EXPECT_EQ(status.code(), code) << status.to_string();
    EXPECT_EQ(status.err().path, file);
    EXPECT_NE(status.message().find(file), std::string::npos) << status.message();
    for (const std::string& needle : needles) {
      EXPECT_NE(status.message().find(needle), std::string::npos)
          << "missing '" << needle << "' in: " << status.message();
    }
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripsF32F16Bf16WithMetadata) {
  const std::vector<float> weights = {1.0f, -2.5f, 3.25f, 0.0f, 65504.0f, -1e-3f};
  const std::vector<float> small = {0.5f, -1.0f, 2.0f};
  const std::vector<uint16_t> half = f32_to_f16(small.data(), small.size());
  const std::vector<uint16_t> brain = f32_to_bf16(small.data(), small.size());
  const std::string file = path("model.safetensors");
  // Deliberately unsorted: the file must come out in name order.
  ASSERT_TRUE(write_safetensors(file,
                                {{"z.weight", DType::kF32, {2, 3}, weights.data(), 24},
                                 {"a.half", DType::kF16, {3}, half.data(), 6},
                                 {"m.brain", DType::kBF16, {1, 3}, brain.data(), 6}},
                                {{"format", "pt"}, {"note", "radflow"}})
                  .ok());

  Result<SafetensorsFile> opened = SafetensorsFile::open(file);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  const SafetensorsFile& st = *opened;
  EXPECT_EQ(st.names(), std::vector<std::string>({"a.half", "m.brain", "z.weight"}));
  EXPECT_EQ(st.metadata().at("format"), "pt");
  EXPECT_EQ(st.metadata().at("note"), "radflow");

  Result<TensorView> w = st.tensor("z.weight");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->dtype, DType::kF32);
  EXPECT_EQ(w->shape, std::vector<int64_t>({2, 3}));
  ASSERT_EQ(w->size_bytes, 24u);
  EXPECT_EQ(std::memcmp(w->data, weights.data(), 24), 0);
  EXPECT_EQ(to_f32(*w).value(), weights);

  Result<TensorView> h = st.tensor("a.half");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->dtype, DType::kF16);
  EXPECT_EQ(to_f32(*h).value(), small);
  Result<TensorView> b = st.tensor("m.brain");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->dtype, DType::kBF16);
  EXPECT_EQ(b->shape, std::vector<int64_t>({1, 3}));
  EXPECT_EQ(to_f32(*b).value(), small);

  // Sorted-name layout: a.half, then m.brain, then z.weight.
  EXPECT_LT(h->data, b->data);
  EXPECT_LT(b->data, w->data);
}

TEST_F(SafetensorsTest, HeaderIsSpacePaddedToEightBytes) {
  const float value = 1.0f;
  const std::string file = path("pad.safetensors");
  for (const std::string name : {"a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"}) {
    ASSERT_TRUE(write_safetensors(file, {{name, DType::kF32, {}, &value, 4}}).ok());
    const std::string bytes = read_all(file);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
    EXPECT_EQ(n % 8, 0u) << name;
    EXPECT_EQ(bytes.size(), 8 + n + 4);
    const std::string header = bytes.substr(8, n);
    EXPECT_EQ(header.front(), '{');
    const size_t close = header.rfind('}');
    EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos);
    ASSERT_TRUE(SafetensorsFile::open(file).ok());
  }
}

TEST_F(SafetensorsTest, ScalarsEmptyTensorsAndNoMetadata) {
  const int64_t scalar = -7;
  const std::string file = path("edge.safetensors");
  ASSERT_TRUE(write_safetensors(file, {{"s", DType::kI64, {}, &scalar, 8},
                                       {"empty", DType::kF32, {0, 4}, nullptr, 0}})
                  .ok());
  Result<SafetensorsFile> st = SafetensorsFile::open(file);
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  EXPECT_TRUE(st->metadata().empty());
  Result<TensorView> s = st->tensor("s");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->shape.empty());
  int64_t read_back = 0;
  std::memcpy(&read_back, s->data, 8);
  EXPECT_EQ(read_back, -7);
  EXPECT_EQ(st->tensor("empty")->size_bytes, 0u);
  EXPECT_EQ(to_f32(*s).status().code(), "safetensors_unsupported_dtype");
}

TEST_F(SafetensorsTest, ReadsOtherDtypesFromHandCraftedFile) {
  const std::string data = std::string("\x01\x00", 2) + std::string("\x05\x00\x00\x00", 4);
  const std::string file = craft(
      R"({"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]},)"
      R"("i":{"dtype":"I32","shape":[1],"data_offsets":[2,6]}})",
      data);
  Result<SafetensorsFile> st = SafetensorsFile::open(file);
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  EXPECT_EQ(st->tensor("b")->dtype, DType::kBool);
  EXPECT_EQ(st->tensor("i")->dtype, DType::kI32);
  EXPECT_EQ(st->tensor("i")->data[0], 5);
}

TEST_F(SafetensorsTest, OverwritesAtomicallyAndLeavesNoTempFile) {
  const std::string file = path("w.safetensors");
  const float a = 1.0f, b = 2.0f;
  ASSERT_TRUE(write_safetensors(file, {{"x", DType::kF32, {1}, &a, 4}}).ok());
  ASSERT_TRUE(write_safetensors(file, {{"y", DType::kF32, {1}, &b, 4}}).ok());
  EXPECT_EQ(SafetensorsFile::open(file)->names(), std::vector<std::string>({"y"}));
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) entries += entry.is_regular_file();
  EXPECT_EQ(entries, 1);
}

TEST_F(SafetensorsTest, WriterRejectsBadTensors) {
  const float v[2] = {1, 2};
  const std::string file = path("bad.safetensors");
  EXPECT_EQ(write_safetensors(file, {{"x", DType::kF32, {3}, v, 8}}).code(),
            "safetensors_invalid_tensor");
  EXPECT_EQ(write_safetensors(file, {{"x", DType::kF32, {1}, v, 4}, {"x", DType::kF32, {1}, v, 4}})
                .code(),
            "safetensors_invalid_tensor");
  EXPECT_EQ(write_safetensors(file, {{"__metadata__", DType::kF32, {1}, v, 4}}).code(),
            "safetensors_invalid_tensor");
  EXPECT_EQ(write_safetensors(file, {{"x", DType::kF32, {-1}, v, 4}}).code(),
            "safetensors_invalid_tensor");
  EXPECT_FALSE(fs::exists(file));
  EXPECT_EQ(write_safetensors(path("no/such/dir/f.safetensors"), {}).code(), "safetensors_io");
}

TEST_F(SafetensorsTest, MissingFileAndUnknownTensor) {
  EXPECT_EQ(SafetensorsFile::open(path("absent")).status().code(), "safetensors_io");
  const float v = 1;
  const std::string file = path("one.safetensors");
  ASSERT_TRUE(write_safetensors(file, {{"x", DType::kF32, {1}, &v, 4}}).ok());
  Result<TensorView> missing = SafetensorsFile::open(file)->tensor("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), "safetensors_tensor_not_found");
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
}

TEST_F(SafetensorsTest, RejectsFileShorterThanLengthPrefix) {
  const std::string file = path("short.safetensors");
  std::ofstream(file, std::ios::binary) << "abcde";
  expect_error(file, "safetensors_malformed", {"5 bytes"});
  std::ofstream(file, std::ios::binary | std::ios::trunc);
  expect_error(file, "safetensors_malformed", {"0 bytes"});
}

TEST_F(SafetensorsTest, RejectsHeaderLengthPastFileOrOverLimit) {
  expect_error(craft("{}", "", 64), "safetensors_malformed", {"64", "past the end"});
  expect_error(craft("{}", "", 200'000'000), "safetensors_malformed", {"limit"});
}

TEST_F(SafetensorsTest, RejectsNonJsonAndNonObjectHeaders) {
  expect_error(craft("{not json"), "safetensors_malformed", {"not valid JSON"});
  expect_error(craft("[1, 2]  "), "safetensors_malformed", {"not a JSON object"});
  expect_error(craft(R"({"__metadata__":{"k":1}})"), "safetensors_malformed", {"'k'"});
  expect_error(craft(R"({"t":[1]})"), "safetensors_malformed", {"'t'"});
  expect_error(craft(R"({"t":{"dtype":"F32","shape":[1]}})", "abcd"), "safetensors_malformed",
               {"'t'", "data_offsets"});
}

TEST_F(SafetensorsTest, RejectsUnknownDtype) {
  expect_error(craft(R"({"t":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}})", "x"),
               "safetensors_unknown_dtype", {"'t'", "F7"});
}

TEST_F(SafetensorsTest, RejectsNegativeDim) {
  expect_error(craft(R"({"t":{"dtype":"U8","shape":[-1,2],"data_offsets":[0,2]}})", "xy"),
               "safetensors_malformed", {"'t'", "negative"});
  expect_error(craft(R"({"t":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", "x"),
               "safetensors_malformed", {"'t'", "non-integer"});
}

TEST_F(SafetensorsTest, RejectsBadOffsetPairs) {
  expect_error(craft(R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}})", "abcd"),
               "safetensors_malformed", {"'t'", "begin <= end"});
  expect_error(craft(R"({"t":{"dtype":"U8","shape":[2],"data_offsets":[2]}})", "ab"),
               "safetensors_malformed", {"'t'", "[begin, end]"});
  expect_error(craft(R"({"t":{"dtype":"U8","shape":[2],"data_offsets":[-2,0]}})", "ab"),
               "safetensors_malformed", {"'t'"});
}

TEST_F(SafetensorsTest, RejectsOffsetsPastDataSection) {
  expect_error(craft(R"({"t":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", "abcd"),
               "safetensors_malformed", {"'t'", "4-byte data section"});
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  expect_error(craft(R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                     R"("b":{"dtype":"U8","shape":[3],"data_offsets":[1,4]}})",
                     "abcd"),
               "safetensors_malformed", {"'b' overlaps tensor 'a'"});
}

TEST_F(SafetensorsTest, RejectsByteCountNotMatchingShape) {
  expect_error(craft(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd"),
               "safetensors_malformed", {"'t'", "4 bytes", "F32"});
}

TEST_F(SafetensorsTest, RejectsGapsAndTrailingBytes) {
  expect_error(craft(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                     R"("b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})",
                     "abc"),
               "safetensors_malformed", {"'b'", "gap of 1 bytes"});
  expect_error(craft(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "abc"),
               "safetensors_malformed", {"2 unused bytes"});
}

}  // namespace
}  // namespace radflow::ml::safetensors
