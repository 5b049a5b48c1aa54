// Tests that need what a machine may lack (the Fashion-MNIST files) report themselves skipped
// there, not passed: agd_test::skip() says why (a Catch2 warning) and marks the test case, and
// the test programs' main (tests/catch_main.cpp) then exits with skip_exit_code, which ctest
// shows as "Skipped".
//
//   if (!agd_test::have_fashion_mnist())  // tests/fashion_mnist_data.hpp
//     return agd_test::skip("Fashion-MNIST not found in ...");
#pragma once

#include <catch2/catch.hpp>

#include <string>

namespace agd_test {

/// The exit code of a run whose every test case was skipped (ctest's SKIP_RETURN_CODE).
inline constexpr int skip_exit_code = 77;

/// Test cases skipped so far in this run (defined in catch_main.cpp).
extern int test_cases_skipped;

/// Marks the running test case skipped, with the reason as a warning; return right after.
inline void skip(const std::string& reason) {
  WARN("skipped: " << reason);
  ++test_cases_skipped;
}

}  // namespace agd_test
