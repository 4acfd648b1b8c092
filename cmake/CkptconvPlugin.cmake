# SPDX-License-Identifier: Apache-2.0
# ckptconv_add_plugin(<family> SOURCES ... [OUTPUT_DIR dir] [NO_INSTALL])
# Builds a model-family plugin: a shared library named ckptconv_<family>.so that sees only the
# SDK, exports nothing but ckpt_plugin_entry (hidden visibility, and a linker version script for
# what visibility does not cover), and lands where the host looks for plugins.
# The same file is installed with the SDK so third parties build plugins the same way.
set(CKPTCONV_PLUGIN_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/ckptconv_plugin.map CACHE INTERNAL
    "linker version script of ckptconv plugins")
function(ckptconv_add_plugin family)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIR;TARGET" "SOURCES" ${ARGN})
  if(ARG_TARGET)
    set(target ${ARG_TARGET})
  else()
    set(target ckptconv_plugin_${family})
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  if(TARGET ckptconv::sdk)
    target_link_libraries(${target} PRIVATE ckptconv::sdk)
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ckptconv_${family}
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(ARG_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIR})
  elseif(DEFINED CKPTCONV_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CKPTCONV_PLUGIN_OUTPUT_DIR})
  endif()
  if(NOT APPLE AND NOT WIN32)
    target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,--version-script=${CKPTCONV_PLUGIN_VERSION_SCRIPT})
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${CKPTCONV_PLUGIN_VERSION_SCRIPT})
  endif()
  if(COMMAND ckptconv_warnings)
    ckptconv_warnings(${target})
  endif()
  if(NOT ARG_NO_INSTALL AND DEFINED CKPTCONV_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${CKPTCONV_PLUGIN_INSTALL_DIR} COMPONENT plugin_${family})
    # Packaging (packaging/CMakeLists.txt) makes one package per installed family from this list.
    set_property(GLOBAL APPEND PROPERTY CKPTCONV_INSTALLED_PLUGINS "${family}:${target}")
  endif()
endfunction()
