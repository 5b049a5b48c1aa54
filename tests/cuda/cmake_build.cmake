# Configures agd itself with -DAGD_CUDA=ON in a scratch directory, as a user building the CUDA
# examples would (README: the CUDA build), and builds one example with nvcc: the CMake path of
# the CUDA build, which CMake before 3.26 (Debian 12 has 3.25) refused with nvcc 13 ("requires
# the language dialect CUDA20"). No GPU is needed to build.
#   cmake -DSOURCE=... -DWORK_DIR=... -DGENERATOR=... -DTARGET=fashion_mnist -P cmake_build.cmake
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE}" -B "${WORK_DIR}" -G "${GENERATOR}"
                        -DCMAKE_BUILD_TYPE=Release -DAGD_CUDA=ON -DAGD_BUILD_TESTS=OFF
                        -DAGD_BUILD_BENCH=OFF -DAGD_MPI=OFF
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "configuring with -DAGD_CUDA=ON failed:\n${out}${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}" --target ${TARGET}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "building ${TARGET} with nvcc failed:\n${out}${err}")
endif()
if(NOT EXISTS "${WORK_DIR}/examples/${TARGET}")
  message(FATAL_ERROR "the build reported success but made no examples/${TARGET}")
endif()
message(STATUS "-DAGD_CUDA=ON configures, and nvcc built examples/${TARGET}")
