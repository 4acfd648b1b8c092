# SPDX-License-Identifier: Apache-2.0
# Builds the Debian packages of this build tree, unpacks the core and one family (gpt2) into a
# scratch root with dpkg -x, and checks that `list` offers only that family and that a model of a
# family not installed names its package (exit 3).
# Usage: cmake -DBUILD_DIR=... -DWORK_DIR=... -P run_debian_test.cmake
foreach(v BUILD_DIR WORK_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "${v} is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

include(${CMAKE_CURRENT_LIST_DIR}/run_helper.cmake)

# The documented command, into a scratch directory.
run(cpack --config ${BUILD_DIR}/CPackConfig.cmake -B ${WORK_DIR}/debs)
file(GLOB core ${WORK_DIR}/debs/ckptconv_*.deb)
file(GLOB dev ${WORK_DIR}/debs/ckptconv-dev_*.deb)
file(GLOB gpt2 ${WORK_DIR}/debs/ckptconv-plugin-gpt2_*.deb)
file(GLOB llama ${WORK_DIR}/debs/ckptconv-plugin-llama_*.deb)
foreach(deb core dev gpt2 llama)
  list(LENGTH ${deb} n)
  if(NOT n EQUAL 1)
    file(GLOB all ${WORK_DIR}/debs/*.deb)
    message(FATAL_ERROR "expected one ${deb} package, found: ${all}")
  endif()
endforeach()
run(dpkg-deb -f ${gpt2} Package Depends)
if(NOT LAST_OUT MATCHES "Package: ckptconv-plugin-gpt2\nDepends: ckptconv \\(= [0-9.]+\\)")
  message(FATAL_ERROR "the gpt2 plugin package does not depend on the matching ckptconv:\n${LAST_OUT}")
endif()
run(dpkg-deb -c ${dev})
foreach(f include/ckptconv/ckptconv.h ckptconvConfig.cmake share/doc/ckptconv-dev/copyright)
  if(NOT LAST_OUT MATCHES "${f}")
    message(FATAL_ERROR "ckptconv-dev lacks ${f}:\n${LAST_OUT}")
  endif()
endforeach()

set(root ${WORK_DIR}/root)
run(dpkg -x ${core} ${root})
run(dpkg -x ${gpt2} ${root})
set(ENV{CKPT_PLUGIN_PATH} "")
unset(ENV{CKPT_PLUGIN_DEFAULT_DIR})
run(${root}/usr/bin/ckptconv list --hide-notes)
if(NOT LAST_OUT MATCHES "gpt2" OR LAST_OUT MATCHES "llama|bert|t5")
  message(FATAL_ERROR "with only ckptconv-plugin-gpt2 installed, list shows:\n${LAST_OUT}")
endif()
execute_process(COMMAND ${root}/usr/bin/ckptconv convert ${WORK_DIR}/model.safetensors --model llama --src-fmt hf
                        --tgt-fmt cs-2.3 --config ${WORK_DIR}/config.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 3 OR NOT err MATCHES "Install the package ckptconv-plugin-llama")
  message(FATAL_ERROR "converting llama without its plugin gave exit ${rc}:\n${out}\n${err}")
endif()
message(STATUS "debian package test passed:\n${err}")
file(REMOVE_RECURSE ${WORK_DIR})
