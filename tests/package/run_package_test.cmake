# SPDX-License-Identifier: Apache-2.0
# Installs ckptconv into a temporary prefix, builds tests/package/plugin against that prefix
# only, installs the plugin beside the others and checks the installed ckptconv lists it.
# Usage: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P run_package_test.cmake
foreach(v BUILD_DIR SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "${v} is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

include(${CMAKE_CURRENT_LIST_DIR}/run_helper.cmake)

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f bin/ckptconv include/ckptconv/ckptconv.h include/ckptconv/cpp/plugin.hpp
          lib/cmake/ckptconv/ckptconvConfig.cmake lib/cmake/ckptconv/CkptconvPlugin.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install is missing ${f}")
  endif()
endforeach()
file(GLOB_RECURSE host_headers ${prefix}/include/*.hpp)
foreach(h ${host_headers})
  if(NOT h MATCHES "/include/ckptconv/cpp/")
    message(FATAL_ERROR "a host header was installed: ${h}")
  endif()
endforeach()

# The guide's build, word for word (docs/writing-a-plugin.md §2).
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/plugin -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_INSTALL_PREFIX=${prefix} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
file(READ ${WORK_DIR}/build/compile_commands.json cc)
string(FIND "${cc}" "${SOURCE_DIR}/host" host_ref)
string(FIND "${cc}" "${SOURCE_DIR}/sdk" sdk_ref)
if(NOT host_ref EQUAL -1 OR NOT sdk_ref EQUAL -1)
  message(FATAL_ERROR "the out-of-tree plugin saw the source tree:\n${cc}")
endif()
run(${CMAKE_COMMAND} --install ${WORK_DIR}/build)
set(plugin ${prefix}/lib/ckptconv/plugins/ckptconv_acme.so)
if(NOT EXISTS ${plugin})
  message(FATAL_ERROR "the plugin was not installed into lib/ckptconv/plugins")
endif()
# The version script leaves the entry point as the only exported symbol.
run(nm -D --defined-only ${plugin})
string(REGEX MATCHALL "[^\n]+" exported "${LAST_OUT}")
list(FILTER exported EXCLUDE REGEX " A ") # version nodes, not symbols
if(NOT exported MATCHES "^[0-9a-f]+ T ckpt_plugin_entry$")
  message(FATAL_ERROR "the plugin exports more than ckpt_plugin_entry:\n${LAST_OUT}")
endif()

set(ENV{CKPT_PLUGIN_PATH} "")
unset(ENV{CKPT_PLUGIN_DEFAULT_DIR})
set(ckptconv ${prefix}/bin/ckptconv)
run(${ckptconv} list acme-lm)
if(NOT LAST_OUT MATCHES "acme-lm" OR NOT LAST_OUT MATCHES "acme-1")
  message(FATAL_ERROR "installed ckptconv does not list the plugin:\n${LAST_OUT}\n${LAST_ERR}")
endif()
run(${ckptconv} plugins)
if(NOT LAST_OUT MATCHES "loaded +${prefix}/lib/ckptconv/plugins/ckptconv_acme.so")
  message(FATAL_ERROR "installed ckptconv did not load the plugin:\n${LAST_OUT}")
endif()

# Both directions with the installed ckptconv, bit-exact (docs/writing-a-plugin.md §3).
set(data ${WORK_DIR}/data)
file(COPY ${SOURCE_DIR}/tests/data/toy/model.safetensors ${SOURCE_DIR}/tests/data/toy/config.json DESTINATION ${data})
run(${ckptconv} convert ${data}/model.safetensors --model acme --src-fmt hf --tgt-fmt acme-1
    --config ${data}/config.json --no-progress-bar)
run(${ckptconv} convert ${data}/model_to_acme-1 --model acme --src-fmt acme-1 --tgt-fmt hf
    --config ${data}/config_to_acme-1.json --export-safetensors --no-progress-bar)
run(${ckptconv} diff ${data}/model.safetensors ${data}/model_to_acme-1_to_hf/model.safetensors.index.json)
message(STATUS "package test passed:\n${LAST_OUT}")
file(REMOVE_RECURSE ${WORK_DIR})
