// bench_dicom_decode: radflow's side of bench/dicom_decode (README.md there). Each task
// is one file through the path the embed and pretrain plugins take: read_image (DCMTK,
// first frame) then rad_dino_input (VOI window or min-max, bicubic antialiased resize
// to a 518 shortest edge, centre crop 518, normalise, grey to 3 channels).
//
//   bench_dicom_decode --threads T --passes K [--dump DIR] FILE...
// runs every file K times (K x files tasks) on T threads, and prints one JSON line:
// wall seconds, images/s, and per file the median milliseconds of its tasks and of
// their read_image part (the rest is rad_dino_input). With
// --dump, each file's tensor is written once to DIR/<basename>.f32 (raw float32,
// 3 x 518 x 518) so the Python side can compare outputs.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugins/ml/image/image_reader.h"
#include "plugins/ml/image/rad_dino_preprocess.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  int threads = 1;
  int passes = 1;
  std::string dump_dir;
  std::vector<std::string> files;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--threads") {
      a.threads = std::max(1, std::atoi(next().c_str()));
    } else if (arg == "--passes") {
      a.passes = std::max(1, std::atoi(next().c_str()));
    } else if (arg == "--dump") {
      a.dump_dir = next();
    } else {
      a.files.push_back(arg);
    }
  }
  if (a.files.empty()) {
    std::cerr << "usage: bench_dicom_decode --threads T --passes K [--dump DIR] FILE...\n";
    std::exit(2);
  }
  return a;
}

// read_ms: read_image (file to float pixels); the rest is rad_dino_input.
std::vector<float> decode(const std::string& path, double* read_ms = nullptr) {
  const auto s = Clock::now();
  auto image = radflow::ml::read_image(path);
  if (!image.ok()) {
    std::cerr << image.status().to_string() << "\n";
    std::exit(1);
  }
  if (read_ms) *read_ms = std::chrono::duration<double, std::milli>(Clock::now() - s).count();
  return radflow::ml::rad_dino_input(image.value());
}

double median(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (!a.dump_dir.empty()) {
    for (const std::string& f : a.files) {
      const std::vector<float> t = decode(f);
      std::ofstream out(a.dump_dir + "/" + std::filesystem::path(f).filename().string() + ".f32",
                        std::ios::binary);
      out.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(t.size() * sizeof(float)));
    }
  }
  const size_t tasks = a.files.size() * static_cast<size_t>(a.passes);
  std::vector<std::vector<double>> ms(a.files.size()), read_ms(a.files.size());
  std::mutex ms_mutex;
  std::atomic<size_t> next{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < a.threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < tasks;) {
        const size_t file = i % a.files.size();
        const auto s = Clock::now();
        double read = 0;
        const std::vector<float> tensor = decode(a.files[file], &read);
        const double took = std::chrono::duration<double, std::milli>(Clock::now() - s).count();
        if (tensor.size() != 3u * 518 * 518) std::abort();
        std::lock_guard<std::mutex> lock(ms_mutex);
        ms[file].push_back(took);
        read_ms[file].push_back(read);
      }
    });
  }
  for (std::thread& t : pool) t.join();
  const double wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  nlohmann::json per_file = nlohmann::json::object(), per_file_read = nlohmann::json::object();
  for (size_t f = 0; f < a.files.size(); ++f) {
    const std::string name = std::filesystem::path(a.files[f]).filename().string();
    per_file[name] = median(ms[f]);
    per_file_read[name] = median(read_ms[f]);
  }
  nlohmann::json out = {{"threads", a.threads}, {"images", tasks}, {"wall_s", wall_s},
                        {"images_per_s", tasks / wall_s}, {"median_ms", per_file},
                        {"read_median_ms", per_file_read}};
  std::cout << out.dump() << std::endl;
  return 0;
}
