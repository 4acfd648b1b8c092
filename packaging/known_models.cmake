# SPDX-License-Identifier: Apache-2.0
# Writes known-models.tsv: every model name and alias the built plugins offer, with the family
# (from the plugin file ckptconv_<family>.so) and its Debian package.
# Usage: cmake -DEXE=<ckptconv> -DPLUGIN_DIR=<dir> -DOUT=<file> -P known_models.cmake
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env CKPT_PLUGIN_PATH= CKPT_PLUGIN_DEFAULT_DIR=${PLUGIN_DIR} ${EXE} list --json --hide-notes
  RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ckptconv list --json failed (${rc}):\n${err}")
endif()
set(lines "")
string(JSON count LENGTH "${json}" models)
if(count GREATER 0)
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON model GET "${json}" models ${i} model)
    string(JSON plugin GET "${json}" models ${i} plugin)
    get_filename_component(file ${plugin} NAME_WLE)
    string(REGEX REPLACE "^ckptconv_" "" family "${file}")
    string(REPLACE "_" "-" package_family "${family}")
    string(APPEND lines "${model}\t${family}\tckptconv-plugin-${package_family}\n")
  endforeach()
endif()
file(WRITE ${OUT}.tmp "${lines}")
file(RENAME ${OUT}.tmp ${OUT})
