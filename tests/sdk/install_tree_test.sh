#!/bin/bash
# The installed SDK, used as an outside author would: nothing here may reach into the
# source or build tree.
#   1. `cmake --install BUILD --prefix P` (components dev and runtime);
#   2. no installed CMake or header file names the source or build tree;
#   3. every installed header compiles on its own (C++17; plugin.h also as C99)
#      in a project that only knows P (find_package(radflow CONFIG)); radflow::ml's
#      (radflow/ml/..., radflow/status.h, radflow/check.h) with -fsyntax-only, which
#      parses LibTorch's headers without the ~25 s of code generation per header;
#   4. for each kind, `P/bin/radflow plugins new` writes a project that configures
#      against P, builds, passes its own test, and `radflow plugins check` accepts;
#   5. the same for examples/knn-probe (its source is read from the tree, but it
#      finds radflow only in P);
#   6. with ML=ON (radflow built with LibTorch): tests/sdk/ml_consumer, a program
#      linking radflow::ml, builds against P and writes, reads and scores a feature set.
#      With ML=OFF, radflow::ml must not be installed, and the test says it skipped 6.
# usage: install_tree_test.sh SOURCE_DIR BUILD_DIR WORK_DIR ML(ON|OFF)
set -euo pipefail
src=$(realpath "$1")
build=$(realpath "$2")
work=$3
with_ml=$4
rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")
prefix=$work/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

for component in dev runtime; do
  cmake --install "$build" --prefix "$prefix" --component "$component" >/dev/null
done
for file in radflowd radflow radflow-worker; do
  [[ -x $prefix/bin/$file ]] || fail "bin/$file not installed"
done
for file in include/radflow/plugin.h include/radflow/plugin.hpp include/radflow/plugin_testing.hpp \
    lib/cmake/radflow/radflowConfig.cmake lib/cmake/radflow/radflowConfigVersion.cmake \
    lib/cmake/radflow/radflow_plugin.cmake; do
  [[ -f $prefix/$file ]] || fail "$file not installed"
done
ml_files=(include/radflow/ml/eval/feature_set.h include/radflow/status.h lib/libradflow_ml.a
  lib/cmake/radflow/radflow_ml.cmake lib/cmake/radflow/radflowMlTargets.cmake)
for file in "${ml_files[@]}"; do
  if [[ $with_ml == ON && ! -f $prefix/$file ]]; then fail "$file not installed (ML=ON)"; fi
  if [[ $with_ml != ON && -e $prefix/$file ]]; then fail "$file installed, but ML=$with_ml"; fi
done
if grep -rlF -e "$src" -e "$build" "$prefix/include" "$prefix/lib/cmake"; then
  fail "installed files above name the source or build tree"
fi

# Configure a project against the prefix only: no package registry, no system radflow.
configure() {
  cmake -S "$1" -B "$2" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
    >"$2.configure.log" 2>&1 || { cat "$2.configure.log"; fail "configuring $1"; }
  grep -q "^radflow_DIR:PATH=$prefix/" "$2/CMakeCache.txt" || fail "$1 did not find radflow in $prefix"
}

# 3. Each header alone: one source file per header. The SDK's headers are compiled,
# radflow::ml's only parsed (-fsyntax-only); -j 2 parses two at a time.
headers=$work/headers
mkdir -p "$headers"
{
  echo 'cmake_minimum_required(VERSION 3.22)'
  echo 'project(headers LANGUAGES C CXX)'
  echo 'set(CMAKE_CXX_STANDARD 17)'
  echo 'find_package(radflow CONFIG REQUIRED)'
  echo 'add_library(sdk_headers OBJECT)'
  echo 'target_link_libraries(sdk_headers PRIVATE radflow::plugin_testing)'
  echo 'target_compile_options(sdk_headers PRIVATE -Wall -Wextra -Werror)'
  if [[ $with_ml == ON ]]; then
    echo 'add_library(ml_headers OBJECT)'
    echo 'target_link_libraries(ml_headers PRIVATE radflow::ml)'
    echo 'target_compile_options(ml_headers PRIVATE -fsyntax-only -Wall -Wextra -Wno-unused-parameter -Werror)'
  fi
} >"$headers/CMakeLists.txt"
count=0
ml_count=0
while IFS= read -r name; do  # e.g. radflow/ml/eval/feature_set.h
  stem=${name//[\/.]/_}
  echo "#include \"$name\"" >"$headers/$stem.cpp"
  case $name in
    radflow/plugin.h | radflow/plugin.hpp | radflow/plugin_testing.hpp) library=sdk_headers ;;
    *)
      [[ $with_ml == ON ]] || fail "include/$name installed, but only radflow::ml installs more than the SDK's headers"
      library=ml_headers
      ml_count=$((ml_count + 1)) ;;
  esac
  echo "target_sources($library PRIVATE $stem.cpp)" >>"$headers/CMakeLists.txt"
  if [[ $name == radflow/plugin.h ]]; then  # the C ABI
    echo "#include \"$name\"" >"$headers/${stem}_c99.c"
    echo "target_sources(sdk_headers PRIVATE ${stem}_c99.c)" >>"$headers/CMakeLists.txt"
    echo "set_source_files_properties(${stem}_c99.c PROPERTIES COMPILE_OPTIONS \"-std=c99;-pedantic\")" \
      >>"$headers/CMakeLists.txt"
  fi
  count=$((count + 1))
done < <(cd "$prefix/include" && find radflow -type f | sort)
configure "$headers" "$work/headers-build"
cmake --build "$work/headers-build" -j 2 >"$work/headers-build.log" 2>&1 ||
  { cat "$work/headers-build.log"; fail "an installed header does not compile on its own"; }
echo "ok: $count installed headers compile on their own ($ml_count of them radflow::ml's, parsed)"

# 4. `radflow plugins new`, each kind, as written.
for kind in evaluation data trainer; do
  name=my-$kind
  "$prefix/bin/radflow" plugins new "$name" --kind "$kind" --dir "$work/projects" >/dev/null
  project=$work/projects/$name
  configure "$project" "$project/build"
  cmake --build "$project/build" -j 2 >"$project/build.log" 2>&1 ||
    { cat "$project/build.log"; fail "the generated $kind project does not build"; }
  ctest --test-dir "$project/build" --output-on-failure >"$project/ctest.log" 2>&1 ||
    { cat "$project/ctest.log"; fail "the generated $kind project's test fails"; }
  "$prefix/bin/radflow" plugins check "$project/build/plugins/$name.so" >"$project/check.log" ||
    { cat "$project/check.log"; fail "radflow plugins check refuses the generated $kind plugin"; }
  grep -q "^name: *$name$" "$project/check.log" || fail "plugins check did not print the name"
  echo "ok: generated $kind plugin builds, its test passes, plugins check accepts it"
done

# 5. examples/knn-probe, the out-of-tree evaluation plugin, against the prefix only.
knn=$work/knn-probe
configure "$src/examples/knn-probe" "$knn"
cmake --build "$knn" -j 2 >"$knn.log" 2>&1 || { cat "$knn.log"; fail "examples/knn-probe does not build"; }
ctest --test-dir "$knn" --output-on-failure >"$knn.ctest.log" 2>&1 ||
  { cat "$knn.ctest.log"; fail "examples/knn-probe's test fails"; }
"$prefix/bin/radflow" plugins check "$knn/plugins/knn-probe.so" >"$knn.check.log" ||
  { cat "$knn.check.log"; fail "radflow plugins check refuses knn-probe"; }
echo "ok: examples/knn-probe builds against the prefix, its test passes, plugins check accepts it"

# 6. radflow::ml from outside.
if [[ $with_ml == ON ]]; then
  consumer=$work/ml-consumer
  configure "$src/tests/sdk/ml_consumer" "$consumer"
  cmake --build "$consumer" >"$consumer.log" 2>&1 || { cat "$consumer.log"; fail "tests/sdk/ml_consumer does not build"; }
  "$consumer/ml_consumer" "$work/feature-set" >"$consumer.out" || fail "ml_consumer failed"
  grep -qx "auroc 0.75" "$consumer.out" || fail "ml_consumer printed $(cat "$consumer.out")"
  echo "ok: a program linking radflow::ml builds against the prefix and reads back the feature set it wrote"
else
  echo "skipped: radflow::ml was not built (RADFLOW_WITH_TORCH=OFF), nothing of it is installed"
fi
rm -rf "$work"
