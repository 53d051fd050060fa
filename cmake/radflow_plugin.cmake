# radflow_add_plugin(NAME SOURCES... [LINK libs...] [OUTPUT_DIR dir])
#
# Builds one step plugin as a shared library named exactly NAME.so (no lib prefix),
# the name radflow-worker finds it by. Every symbol is hidden except the entry point
# the SDK exports. Used for every plugin, in tree and out of tree.
function(radflow_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR" "SOURCES;LINK" ${ARGN})
  set(sources ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${RADFLOW_PLUGIN_OUTPUT_DIR})
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
endfunction()
