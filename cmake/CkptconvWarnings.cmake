# SPDX-License-Identifier: Apache-2.0
# Warning flags for the project's own targets.
function(ckptconv_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local -Wno-missing-field-initializers)
endfunction()
