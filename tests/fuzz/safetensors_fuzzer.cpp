// libFuzzer target: a safetensors file -> SafetensorsFile::open(). For a file it
// accepts, it checks the contract of safetensors_file.h: every tensor's byte count is
// product(shape) * dtype size and lies inside the file; to_f32() gives one float per
// element for the float dtypes. Then it writes the tensors and metadata back with
// write_safetensors() and reads that file: the same names, dtypes, shapes, bytes and
// metadata (a round trip through the writer).
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "plugins/ml/safetensors/safetensors_file.h"
#include "plugins/ml/safetensors/safetensors_writer.h"
#include "tests/fuzz/fuzz_input_file.h"

namespace {

namespace st = radflow::ml::safetensors;
using radflow::fuzz::fail;

bool is_float(st::DType dtype) {
  return dtype == st::DType::kF32 || dtype == st::DType::kF16 || dtype == st::DType::kBF16 ||
         dtype == st::DType::kF64;
}

// Where the round trip writes: a private folder in /dev/shm (the writer renames a
// temp file into place, which a memfd cannot take).
const std::string& round_trip_path() {
  static const std::string path = [] {
    static char dir[] = "/dev/shm/radflow-fuzz-safetensors-XXXXXX";
    if (!mkdtemp(dir)) fail("mkdtemp");
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return std::string(dir) + "/round-trip.safetensors";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static radflow::fuzz::InputFile input("safetensors");
  auto file = st::SafetensorsFile::open(input.write(data, size));
  if (!file.ok()) {
    if (file.status().code().empty()) fail("error without a code");
    return 0;
  }
  std::vector<st::TensorView> views;
  std::vector<st::TensorToWrite> to_write;
  for (const auto& name : file->names()) {
    auto view = file->tensor(name);
    if (!view.ok()) fail("listed tensor " + name + " cannot be read: " + view.status().message());
    auto count = st::element_count(view->shape);
    if (!count) fail("accepted tensor " + name + " with a bad shape");
    if (static_cast<uint64_t>(*count) * st::dtype_size_bytes(view->dtype) != view->size_bytes) {
      fail("tensor " + name + ": size_bytes != elements * dtype size");
    }
    if (view->size_bytes > size || (view->size_bytes > 0 && view->data == nullptr)) {
      fail("tensor " + name + " larger than the file");
    }
    volatile uint8_t sink = 0;  // touch every byte: ASan sees reads past the mapping
    for (size_t i = 0; i < view->size_bytes; ++i) sink ^= view->data[i];
    if (is_float(view->dtype)) {
      auto floats = st::to_f32(*view);
      if (!floats.ok()) fail("to_f32 refused a float tensor: " + floats.status().message());
      if (floats->size() != static_cast<size_t>(*count)) fail("to_f32 element count");
    }
    to_write.push_back({view->name, view->dtype, view->shape, view->data, view->size_bytes});
    views.push_back(*view);
  }
  if (file->tensor("\x01 not a tensor name").ok()) fail("found a tensor that is not there");

  const std::string& path = round_trip_path();
  if (auto written = st::write_safetensors(path, to_write, file->metadata()); !written.ok()) {
    fail("cannot write back an accepted file: " + written.message());
  }
  auto again = st::SafetensorsFile::open(path);
  if (!again.ok()) fail("cannot read back what was written: " + again.status().message());
  if (again->size() != views.size() || again->metadata() != file->metadata()) {
    fail("round trip changed the tensor count or metadata");
  }
  for (const auto& view : views) {
    auto back = again->tensor(view.name);
    if (!back.ok() || back->dtype != view.dtype || back->shape != view.shape ||
        back->size_bytes != view.size_bytes ||
        (view.size_bytes > 0 && std::memcmp(back->data, view.data, view.size_bytes) != 0)) {
      fail("round trip changed tensor " + view.name);
    }
  }
  return 0;
}
