# Public headers of in-tree libraries, installed under include/radflow/ with the paths
# an outside project includes them by.
#
# In the tree, radflow's headers include each other by source path
# ("plugins/ml/metrics/auroc.h", "common/status.h"); installed they live at
# "radflow/ml/metrics/auroc.h" and "radflow/status.h" (radflow_installed_header below
# is the one mapping). The build writes each public header's installed copy with its
# quoted includes mapped, and fails when a public header includes one that is not
# public: nothing installed names a file that is not installed.
#
#   radflow_add_public_headers(TARGET name COMPONENT component HEADERS src...)
#     src: source paths relative to the top of the tree. Makes the custom target `name`
#     (built by `all`) that writes the copies under RADFLOW_PUBLIC_INCLUDE_DIR, and
#     installs them into <prefix>/include/.
#
# Run as a script (cmake -P this file) it writes one copy: -DSOURCE_NAME=<src>
# -DSOURCE=<absolute src> -DOUTPUT=<copy> -DPUBLIC=<src,src,...>.

# The installed path (under include/) of the header at `source` (relative to the top of
# the tree), in `out`. Only common/ and plugins/ml/ have public headers.
function(radflow_installed_header source out)
  if(source MATCHES "^common/(.+)$")
    set(${out} "radflow/${CMAKE_MATCH_1}" PARENT_SCOPE)
  elseif(source MATCHES "^plugins/ml/(.+)$")
    set(${out} "radflow/ml/${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    message(FATAL_ERROR "radflow_installed_header: ${source} is not in common/ or "
      "plugins/ml/, the folders with public headers (cmake/radflow_public_headers.cmake)")
  endif()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE)
  cmake_minimum_required(VERSION 3.22)
  string(REPLACE "," ";" public "${PUBLIC}")
  radflow_installed_header("${SOURCE_NAME}" installed_name)
  string(CONCAT banner "// ${installed_name}: radflow's ${SOURCE_NAME}, installed as part of\n"
    "// radflow::ml's public API (docs/writing-plugins.md).\n")
  file(READ "${SOURCE}" content)
  string(REGEX MATCHALL "#include \"[^\"]+\"" includes "${content}")
  foreach(include IN LISTS includes)
    string(REGEX REPLACE "#include \"([^\"]+)\"" "\\1" included "${include}")
    if(NOT included IN_LIST public)
      message(FATAL_ERROR "${SOURCE}: the public header ${SOURCE_NAME} includes "
        "\"${included}\", which is not public. Move that include into the .cpp, or make "
        "${included} public too (the HEADERS of radflow_add_public_headers).")
    endif()
    radflow_installed_header("${included}" installed_include)
    string(REPLACE "${include}" "#include \"${installed_include}\"" content "${content}")
  endforeach()
  file(WRITE "${OUTPUT}" "${banner}${content}")
  return()
endif()

set(RADFLOW_PUBLIC_INCLUDE_DIR ${PROJECT_BINARY_DIR}/public-include)

function(radflow_add_public_headers)
  cmake_parse_arguments(ARG "" "TARGET;COMPONENT" "HEADERS" ${ARGN})
  string(REPLACE ";" "," public "${ARG_HEADERS}")
  set(outputs)
  foreach(header IN LISTS ARG_HEADERS)
    radflow_installed_header("${header}" installed)
    set(output ${RADFLOW_PUBLIC_INCLUDE_DIR}/${installed})
    add_custom_command(OUTPUT ${output}
      COMMAND ${CMAKE_COMMAND} -DSOURCE_NAME=${header} -DSOURCE=${PROJECT_SOURCE_DIR}/${header}
              -DOUTPUT=${output} -DPUBLIC=${public} -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
      DEPENDS ${PROJECT_SOURCE_DIR}/${header} ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
      COMMENT "Public header ${installed}"
      VERBATIM)
    get_filename_component(folder ${installed} DIRECTORY)
    install(FILES ${output} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${folder}
      COMPONENT ${ARG_COMPONENT})
    list(APPEND outputs ${output})
  endforeach()
  add_custom_target(${ARG_TARGET} ALL DEPENDS ${outputs})
endfunction()
