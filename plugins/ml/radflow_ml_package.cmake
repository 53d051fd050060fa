# radflow::ml: the ML library `cmake --install` gives out-of-tree plugins
# (find_package(radflow) -> radflow::ml; docs/writing-plugins.md). Built only with
# LibTorch; included from plugins/ml/CMakeLists.txt after its libraries.
#
# One archive of what a plugin author needs: metrics, safetensors, the dataset manifest
# and prefetch loader, the ViT and its checkpoints, feature sets and the linear probe.
# It reuses the object files of the folder libraries (in-tree plugins keep linking
# those: radflow::ml_eval, ...), so nothing is compiled twice. Left out, with their
# headers: image/ (DCMTK, OpenJPEG, libpng and libjpeg would become every plugin's link
# dependencies), eval/encoder_features (it decodes images) and ssl/ (the pretrain
# plugin's trainer). RF_CHECK's check_failed comes with it (common/check.cpp).
include(${PROJECT_SOURCE_DIR}/cmake/radflow_public_headers.cmake)

# The public headers: installed under include/radflow/ml/ (common/'s as
# include/radflow/status.h and check.h, which the others return and use). Every other
# header of plugins/ml is internal; a public header that includes one fails the build.
radflow_add_public_headers(TARGET radflow_ml_headers COMPONENT dev HEADERS
  common/check.h
  common/status.h
  plugins/ml/metrics/metric_warning.h
  plugins/ml/metrics/auroc.h
  plugins/ml/metrics/average_precision.h
  plugins/ml/metrics/bootstrap.h
  plugins/ml/metrics/mask_overlap.h
  plugins/ml/metrics/regression.h
  plugins/ml/metrics/text_tokenizer.h
  plugins/ml/metrics/bleu.h
  plugins/ml/metrics/rouge.h
  plugins/ml/safetensors/dtype.h
  plugins/ml/safetensors/float16.h
  plugins/ml/safetensors/tensor_view.h
  plugins/ml/safetensors/safetensors_file.h
  plugins/ml/safetensors/safetensors_writer.h
  plugins/ml/data/record.h
  plugins/ml/data/manifest.h
  plugins/ml/data/manifest_stats.h
  plugins/ml/data/split_assignment.h
  plugins/ml/data/prefetch_loader.h
  plugins/ml/torch/cpu_runtime.h
  plugins/ml/torch/cpu_shards.h
  plugins/ml/torch/vit_config.h
  plugins/ml/torch/vit_block.h
  plugins/ml/torch/vit.h
  plugins/ml/torch/checkpoint_keys.h
  plugins/ml/torch/checkpoint.h
  plugins/ml/eval/feature_set.h
  plugins/ml/eval/linear_probe.h)

add_library(radflow_ml STATIC
  $<TARGET_OBJECTS:radflow_ml_metrics>
  $<TARGET_OBJECTS:radflow_ml_safetensors>
  $<TARGET_OBJECTS:radflow_ml_data>
  $<TARGET_OBJECTS:radflow_ml_torch>
  $<TARGET_OBJECTS:radflow_ml_torch_parallel>
  # encoder_features.cpp is kept out of unity batches (plugins/ml/eval/CMakeLists.txt)
  # so that its object can be left out here.
  "$<FILTER:$<TARGET_OBJECTS:radflow_ml_eval>,EXCLUDE,/encoder_features[.]>"
  ${PROJECT_SOURCE_DIR}/common/check.cpp)
add_dependencies(radflow_ml radflow_ml_headers)
target_include_directories(radflow_ml
  PRIVATE ${PROJECT_SOURCE_DIR}
  INTERFACE $<BUILD_INTERFACE:${RADFLOW_PUBLIC_INCLUDE_DIR}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(radflow_ml INTERFACE cxx_std_17)
# LibTorch only in the build tree: radflow_ml.cmake adds the consumer's own Torch.
# libgomp too: the object of radflow_ml_torch_parallel (cpu_shards) calls it directly.
target_link_libraries(radflow_ml INTERFACE nlohmann_json::nlohmann_json Threads::Threads
  "$<BUILD_INTERFACE:${RADFLOW_TORCH_LIBRARIES}>" "$<BUILD_INTERFACE:OpenMP::OpenMP_CXX>")
set_target_properties(radflow_ml PROPERTIES EXPORT_NAME ml POSITION_INDEPENDENT_CODE ON)
add_library(radflow::ml ALIAS radflow_ml)

install(TARGETS radflow_ml EXPORT radflowMlTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
# `cmake --install --strip` and the Debian package (CPACK_STRIP_FILES) drop the archive's
# debug info, as Debian ships static libraries (RelWithDebInfo: 140 MB -> 3.5 MB); its
# symbols stay, so plugins still link it.
install(CODE "
  if(CMAKE_INSTALL_DO_STRIP)
    execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-debug
      \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:radflow_ml>\"
      COMMAND_ERROR_IS_FATAL ANY)
  endif()" COMPONENT dev)
install(EXPORT radflowMlTargets NAMESPACE radflow::
  DESTINATION ${RADFLOW_INSTALL_CMAKEDIR} COMPONENT dev)
set(RADFLOW_TORCH_DIR ${Torch_DIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/radflow_ml.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/radflow_ml.cmake @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/radflow_ml.cmake
  DESTINATION ${RADFLOW_INSTALL_CMAKEDIR} COMPONENT dev)
