# Compiles SOURCE (syntax only) and passes when the compiler rejects it with output that contains
# EXPECT (and, given MAX_LINES, of at most that many lines: an error that must stay short). Run
# with cmake -DCOMPILER=... -DSOURCE=... -DINCLUDES=a;b -DEXPECT=... [-DMAX_LINES=n] -P this file.
set(include_flags)
foreach(dir IN LISTS INCLUDES)
  list(APPEND include_flags "-I${dir}")
endforeach()
execute_process(COMMAND ${COMPILER} -std=c++20 -fsyntax-only ${include_flags} ${SOURCE}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must be rejected")
endif()
string(FIND "${all}" "${EXPECT}" position)
if(position EQUAL -1)
  message(FATAL_ERROR "${SOURCE} was rejected, but the compiler output lacks\n  ${EXPECT}\n"
                      "It said:\n${all}")
endif()
string(REGEX MATCHALL "\n" newlines "${all}")
list(LENGTH newlines lines)
if(MAX_LINES AND lines GREATER MAX_LINES)
  message(FATAL_ERROR "${SOURCE} was rejected with ${lines} lines of diagnostics, more than "
                      "${MAX_LINES}. It said:\n${all}")
endif()
string(LENGTH "${all}" length)
message(STATUS "rejected as expected (${lines} lines, ${length} characters of diagnostics), "
               "with: ${EXPECT}")
