# Installs the agd build in BUILD_DIR into a scratch prefix, then configures, builds and runs the
# consumer project against it.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE result OUTPUT_QUIET)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()
if(NOT EXISTS "${prefix}/include/agd/agd.hpp")
  message(FATAL_ERROR "the install has no include/agd/agd.hpp")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE}" -B "${WORK_DIR}/build"
                        -G "${GENERATOR}" "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "configuring the consumer failed:\n${out}${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build"
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "building the consumer failed:\n${out}${err}")
endif()
foreach(program consumer consumer_native consumer_kernels)
  execute_process(COMMAND "${WORK_DIR}/build/${program}" RESULT_VARIABLE result
                  OUTPUT_VARIABLE out)
  message(STATUS "${program}: ${out}")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${program} ran but its loss did not decrease:\n${out}")
  endif()
endforeach()

# A project configured without a build type (the default of a new CMake project): agd says so
# loudly, and still compiles its headers with optimisation.
execute_process(COMMAND ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE}" -B "${WORK_DIR}/untyped"
                        -G "${GENERATOR}" "-DCMAKE_PREFIX_PATH=${prefix}"
                        -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "configuring the consumer without a build type failed:\n${out}${err}")
endif()
if(NOT "${out}${err}" MATCHES "configured without a build type")
  message(FATAL_ERROR "no warning for a consumer configured without a build type:\n${out}${err}")
endif()
file(READ "${WORK_DIR}/untyped/compile_commands.json" commands)
if(NOT commands MATCHES "consumer.dir/main.cpp.o[^}]*-O2" AND
   NOT commands MATCHES "-O2[^}]*consumer.dir/main.cpp.o")
  message(FATAL_ERROR "agd::agd did not add -O2 to a build without a type:\n${commands}")
endif()
message(STATUS "a consumer without a build type is warned and compiles with -O2")
