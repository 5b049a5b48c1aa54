# ctest distributed.example_fashion_mnist (examples/CMakeLists.txt): runs COMMAND and passes only
# if it exits with status 0 *and* its output matches EXPECT (and, when given, not REFUSE). A
# PASS_REGULAR_EXPRESSION alone makes ctest ignore the exit status, so a run that printed the
# expected line and then failed (a crash at exit, the other rank's error) passed.
#
# The command reads Fashion-MNIST from DATA_DIR (the build's AGD_FASHION_MNIST_DIR), or from the
# environment's AGD_FASHION_MNIST_DIR when that is set, passed as `--data DIR`; where the files
# are not there it runs nothing and prints SKIP_MARKER, which the test's SKIP_REGULAR_EXPRESSION
# reports as "Skipped" (cmake -P cannot exit with a code of its choosing before CMake 3.29).
#
#   cmake "-DCOMMAND=prog;--flag" -DEXPECT=regex [-DREFUSE=regex] [-DDATA_DIR=dir]
#         -DSKIP_MARKER=text -P expect_run.cmake
if(NOT "$ENV{AGD_FASHION_MNIST_DIR}" STREQUAL "")
  set(DATA_DIR "$ENV{AGD_FASHION_MNIST_DIR}")
endif()
if(NOT DATA_DIR)
  set(DATA_DIR "/usr/share/datasets/fashion-mnist")  # agd::data::default_fashion_mnist_dir
endif()
foreach(file train-images-idx3-ubyte train-labels-idx1-ubyte)
  if(NOT EXISTS "${DATA_DIR}/${file}.gz" AND NOT EXISTS "${DATA_DIR}/${file}")
    message("${SKIP_MARKER} Fashion-MNIST not found in ${DATA_DIR} (no ${file}[.gz]); "
            "apt-get install dataset-fashion-mnist, or set AGD_FASHION_MNIST_DIR")
    return()
  endif()
endforeach()

execute_process(COMMAND ${COMMAND} --data ${DATA_DIR} RESULT_VARIABLE status
                OUTPUT_VARIABLE output ERROR_VARIABLE output)
message("${output}")
if(NOT status STREQUAL "0")
  message(FATAL_ERROR "the command ended with status '${status}', not 0")
endif()
if(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "the command succeeded but its output has no match of '${EXPECT}'")
endif()
if(DEFINED REFUSE AND output MATCHES "${REFUSE}")
  message(FATAL_ERROR "the command's output matches '${REFUSE}', which it must not")
endif()
message(STATUS "status 0 and the expected output")
