# ctest distributed.*_stops_*: runs COMMAND (an mpirun job that is meant to fail) and passes if
# it ends with a non-zero status within LIMIT seconds and its output matches the regular
# expression EXPECT (the message that says why).
string(TIMESTAMP start "%s")
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE status OUTPUT_VARIABLE output
                ERROR_VARIABLE output TIMEOUT ${LIMIT})
string(TIMESTAMP end "%s")
math(EXPR elapsed "${end} - ${start}")
message("${output}")
if(status MATCHES "timeout|Process terminated due to timeout")
  message(FATAL_ERROR "the job was still running after ${LIMIT} s: a rank hangs")
endif()
if(status STREQUAL "0")
  message(FATAL_ERROR "the job succeeded; it should have stopped with an error")
endif()
if(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "the job stopped (status ${status}) but its output does not say why: "
                      "expected a match of '${EXPECT}'")
endif()
message(STATUS "the job stopped after ${elapsed} s with status '${status}', saying why")
