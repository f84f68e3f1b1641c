// Internal error type. Engine code throws sl4j::Error; the C API boundary
// (src/api/) catches everything, stores the message as the thread's last
// error and returns the status code. Nothing is thrown across the C ABI.
#pragma once
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "stackllama4j.h"

namespace sl4j {

class Error : public std::runtime_error {
public:
    Error(int32_t status, const std::string& message)
        : std::runtime_error(message), status_(status) {}
    int32_t status() const { return status_; }

private:
    int32_t status_;
};

// printf-style formatting into a std::string.
inline std::string format(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    va_list copy;
    va_copy(copy, args);
    int n = std::vsnprintf(nullptr, 0, fmt, copy);
    va_end(copy);
    std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
    if (n > 0) std::vsnprintf(&out[0], out.size() + 1, fmt, args);
    va_end(args);
    return out;
}

#define SL4J_FAIL(status, ...) throw ::sl4j::Error((status), ::sl4j::format(__VA_ARGS__))
#define SL4J_CHECK_ARG(cond, ...) \
    do { if (!(cond)) SL4J_FAIL(SL4J_ERR_INVALID_ARGUMENT, __VA_ARGS__); } while (0)

}  // namespace sl4j
