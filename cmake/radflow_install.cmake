# Where `cmake --install` puts radflow (a Debian-style layout under the prefix):
#   bin/                         radflowd, radflow, radflow-worker
#   lib/radflow/plugins/         the step plugins (NAME.so)
#   include/radflow/             plugin.h (the C ABI), plugin.hpp, plugin_testing.hpp
#   lib/cmake/radflow/           radflowConfig.cmake, its version file and targets
#   lib/libradflow_plugin_testing.a   the test harness behind plugin_testing.hpp
#   include/radflow/ml/, status.h, check.h, lib/libradflow_ml.a
#                                the ML library for plugins (built with LibTorch only;
#                                plugins/ml/radflow_ml_package.cmake)
# radflowd and radflow find the plugin folder relative to their own path
# (RADFLOW_PLUGIN_DIR_FROM_BIN), so an installed tree can be moved as a whole.
include(GNUInstallDirs)

set(RADFLOW_INSTALL_PLUGINDIR "lib/radflow/plugins" CACHE STRING
  "Plugin folder, relative to the install prefix")
set(RADFLOW_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/radflow" CACHE STRING
  "Folder of radflowConfig.cmake, relative to the install prefix")
# The plugin folder as seen from bin/ ("../lib/radflow/plugins"), compiled into the
# binaries that look for it.
file(RELATIVE_PATH RADFLOW_PLUGIN_DIR_FROM_BIN
  "/prefix/${CMAKE_INSTALL_BINDIR}" "/prefix/${RADFLOW_INSTALL_PLUGINDIR}")
