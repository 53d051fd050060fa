# radflow_add_plugin(NAME SOURCES... [LINK libs...] [OUTPUT_DIR dir] [NO_INSTALL])
#
# Builds one step plugin as a shared library named exactly NAME.so (no lib prefix),
# the name radflow-worker finds it by. Every symbol is hidden except the entry point
# the SDK exports. Used for every plugin, in tree and out of tree (there it comes
# from find_package(radflow), which installs this file beside radflowConfig.cmake).
#
# The library goes to OUTPUT_DIR, else ${RADFLOW_PLUGIN_OUTPUT_DIR}, else
# <build>/plugins. Unless NO_INSTALL, `cmake --install` puts it into
# <prefix>/${RADFLOW_INSTALL_PLUGINDIR} (lib/radflow/plugins), the folder an
# installed radflowd reads by default.
function(radflow_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LINK" ${ARGN})
  set(sources ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  if(NOT name MATCHES "^[a-z0-9][a-z0-9-]*$")
    message(FATAL_ERROR "radflow_add_plugin: plugin name '${name}' must match "
      "[a-z0-9][a-z0-9-]* (lower-case letters, digits, dashes); radflow-worker refuses "
      "other names (invalid_name)")
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${RADFLOW_PLUGIN_OUTPUT_DIR})
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${CMAKE_BINARY_DIR}/plugins)
  endif()
  add_library(${name} MODULE ${sources})
  target_link_libraries(${name} PRIVATE radflow::plugin_sdk ${ARG_LINK})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIR}
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # A plugin that leaves a symbol undefined must fail to link, not fail to dlopen.
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  if(NOT ARG_NO_INSTALL)
    set(destination "${RADFLOW_INSTALL_PLUGINDIR}")
    if(NOT destination)
      set(destination lib/radflow/plugins)
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION ${destination} COMPONENT plugins)
    # In radflow's own tree, the target radflow_runtime (`make run`) builds these.
    set_property(GLOBAL APPEND PROPERTY RADFLOW_SHIPPED_PLUGINS ${name})
  endif()
endfunction()
