// Running a check whose failure could be a fault (SIGILL, SIGSEGV) in a child process, so the
// host process -- a JVM -- survives it. Used by the AMX self-test: code on instructions this
// build has never run must not be able to take the process down on its first call.
#pragma once

#include <string>

namespace sl4j::cpu {

// Runs check() in a fork of this process and returns its result: "" when it passed, else what it
// found. A child killed by a signal, one that exits without a result, or one still running after
// timeout_ms (then killed) gives a message naming that. Where fork is unavailable the message says
// so. check() runs on the forking thread only: it must not wait on other threads (the thread pool)
// or take locks they may hold. Its result is cut to 4,000 bytes.
std::string run_isolated(std::string (*check)(void*), void* arg, int timeout_ms);

}  // namespace sl4j::cpu
