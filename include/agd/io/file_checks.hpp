// agd::io's file checks (agd::io::file_error, check_readable, check_writable) live in
// core/file_checks.hpp, below the data readers that use them as well as the writers here; this
// header keeps the path that programs include.
#pragma once

#include "agd/core/file_checks.hpp"
