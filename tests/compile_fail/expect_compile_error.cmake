# Compiles SOURCE (syntax only) and passes when the compiler rejects it with output that contains
# EXPECT. Run with cmake -DCOMPILER=... -DSOURCE=... -DINCLUDES=a;b -DEXPECT=... -P this file.
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
string(LENGTH "${all}" length)
message(STATUS "rejected as expected (${length} characters of diagnostics), with: ${EXPECT}")
