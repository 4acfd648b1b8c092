# SPDX-License-Identifier: Apache-2.0
# Installs the `cli` component into a temporary prefix and checks that the manual pages and the
# shell completion come with the executable (what the Debian package is made from).
# Usage: cmake -DBUILD_DIR=... -DWORK_DIR=... -P run_cli_docs_test.cmake
foreach(v BUILD_DIR WORK_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "${v} is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --component cli --prefix ${prefix}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed (${rc}):\n${out}\n${err}")
endif()
execute_process(COMMAND ${prefix}/bin/ckptconv __complete commands OUTPUT_VARIABLE commands RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the installed ckptconv cannot list its commands")
endif()
string(REPLACE "\n" ";" commands "${commands}")
list(REMOVE_ITEM commands "help" "")
set(expected bin/ckptconv share/man/man1/ckptconv.1 share/bash-completion/completions/ckptconv
    share/zsh/vendor-completions/_ckptconv)
foreach(c ${commands})
  list(APPEND expected share/man/man1/ckptconv-${c}.1)
endforeach()
foreach(f ${expected})
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "the cli component does not install ${f}")
  endif()
endforeach()
message(STATUS "cli component installs: ${expected}")
