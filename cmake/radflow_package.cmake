# The CMake package an out-of-tree plugin finds with find_package(radflow CONFIG):
# the targets exported to `radflowTargets` (radflow::plugin_sdk,
# radflow::plugin_testing), radflow_add_plugin() and the install folders.
# Included once, after every target is defined.
include(CMakePackageConfigHelpers)

install(EXPORT radflowTargets
  NAMESPACE radflow::
  DESTINATION ${RADFLOW_INSTALL_CMAKEDIR}
  COMPONENT dev)
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/radflowConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/radflowConfig.cmake
  INSTALL_DESTINATION ${RADFLOW_INSTALL_CMAKEDIR}
  PATH_VARS RADFLOW_INSTALL_PLUGINDIR CMAKE_INSTALL_BINDIR)
# The plugin ABI is promised within a major version (docs/plugins.md).
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/radflowConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/radflowConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/radflowConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/radflow_plugin.cmake
  DESTINATION ${RADFLOW_INSTALL_CMAKEDIR}
  COMPONENT dev)
# The plugin folder exists in every runtime install, also before any plugin is in it:
# an installed radflowd reads it by default (common/install_layout.h).
install(DIRECTORY DESTINATION ${RADFLOW_INSTALL_PLUGINDIR} COMPONENT runtime)
