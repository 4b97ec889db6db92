# hutch_add_plugin(<name> SOURCES <files...> [LINK <targets...>] [NO_INSTALL])
#
# Builds the backend plugin module "hutch-<name>.so" against hutch::core, the way the loader
# expects it: a MODULE library with no "lib" prefix and hidden symbols (only the two
# HUTCH_PLUGIN exports are visible). Used by hutch's own plugins and installed with the CMake
# package for third-party authors.
function(hutch_add_plugin name)
  cmake_parse_arguments(PLUGIN "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;LINK" ${ARGN})
  set(target hutch-${name})
  add_library(${target} MODULE ${PLUGIN_SOURCES})
  target_link_libraries(${target} PRIVATE hutch::core ${PLUGIN_LINK})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "hutch-${name}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${PLUGIN_OUTPUT_DIRECTORY}")
  elseif(DEFINED HUTCH_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${HUTCH_PLUGIN_OUTPUT_DIR}")
  endif()
  if(NOT PLUGIN_NO_INSTALL AND DEFINED HUTCH_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION "${HUTCH_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
