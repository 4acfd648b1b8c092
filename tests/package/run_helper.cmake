# SPDX-License-Identifier: Apache-2.0
# run(<command> ...): the package tests' one way to run a command; fails the test, showing the
# command and its output, on a non-zero exit; leaves stdout and stderr in LAST_OUT and LAST_ERR.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_OUT "${out}" PARENT_SCOPE)
  set(LAST_ERR "${err}" PARENT_SCOPE)
endfunction()
