// storage_bench: what durability costs and how fast verify() reads. Not a
// test (nothing is asserted); run build/bin/storage_bench [scratch dir] and
// copy the figures into storage/README.md.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "storage/artifact_store.h"
#include "storage/store.h"

namespace rs = radflow::storage;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

rs::NewRun small_run() {
  rs::NewRun run;
  run.name = "bench";
  run.workflow_json = R"({"name":"bench","tags":["x"]})";
  for (int i = 0; i < 3; ++i) {
    rs::NewStep step;
    step.name = "s" + std::to_string(i);
    step.plugin = "p";
    step.plugin_version = "1";
    step.position = i;
    run.steps.push_back(step);
  }
  return run;
}

void bench_store(const fs::path &dir, rs::Durability durability, const char *label) {
  fs::remove_all(dir);
  rs::StoreOptions options;
  options.durability = durability;
  auto store = rs::Store::open(dir.string(), options);
  if (!store.ok()) {
    std::printf("open: %s\n", store.status().to_string().c_str());
    return;
  }
  constexpr int kRuns = 200;
  auto start = std::chrono::steady_clock::now();
  int64_t run_id = 0;
  for (int i = 0; i < kRuns; ++i) run_id = *(*store)->create_run(small_run());
  const double runs_per_s = kRuns / seconds_since(start);

  const int64_t step = (*store)->find_step(run_id, "s0")->id;
  constexpr int kLines = 200000, kPerCall = 50;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < kLines / kPerCall; ++i) {
    std::vector<rs::LogRecord> logs;
    for (int j = 0; j < kPerCall; ++j) {
      logs.push_back({0, step, 0, 1, "info", "plugin", "iteration " + std::to_string(i) +
                                                           " loss 0.1234 lr 0.001"});
    }
    (*store)->append_logs(std::move(logs));
  }
  (*store)->flush();
  const double lines_per_s = kLines / seconds_since(start);
  std::printf("%-7s create_run %8.0f runs/s   append_logs %9.0f rows/s   (%lu batches)\n", label,
              runs_per_s, lines_per_s,
              static_cast<unsigned long>((*store)->writer_stats().batches_committed));
}

void bench_verify(const fs::path &dir) {
  fs::remove_all(dir);
  auto artifacts = rs::ArtifactStore::open(dir.string());
  const std::string file = (dir / "big.bin").string();
  {
    std::ofstream out(file, std::ios::binary);
    std::mt19937_64 random(1);
    std::string block(1 << 20, '\0');
    for (int mb = 0; mb < 256; ++mb) {
      for (auto &c : block) c = static_cast<char>(random());
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
  }
  auto start = std::chrono::steady_clock::now();
  auto stored = (*artifacts)->put(file);
  const double put_s = seconds_since(start);
  start = std::chrono::steady_clock::now();
  radflow::Status verified = (*artifacts)->verify(stored->digest);
  const double verify_s = seconds_since(start);
  std::printf("put 256 MiB %.2f s; verify %.2f s = %.0f MB/s (%s)\n", put_s, verify_s,
              256 * 1.048576 / verify_s, verified.ok() ? "ok" : verified.to_string().c_str());
}

}  // namespace

int main(int argc, char **argv) {
  const fs::path scratch =
      argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / "radflow-storage-bench";
  bench_store(scratch / "normal", rs::Durability::kNormal, "NORMAL");
  bench_store(scratch / "full", rs::Durability::kFull, "FULL");
  bench_verify(scratch / "verify");
  std::error_code ec;
  for (auto &entry : fs::recursive_directory_iterator(scratch, ec)) {
    if (entry.is_directory()) fs::permissions(entry.path(), fs::perms::owner_all, ec);
  }
  fs::remove_all(scratch, ec);
  return 0;
}
