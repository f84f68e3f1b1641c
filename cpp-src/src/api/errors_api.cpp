#include <string>

#include "api/guard.h"

namespace sl4j {
namespace {
thread_local std::string t_last_error;
}

void set_last_error(int32_t status, const std::string& message) {
    (void)status;
    t_last_error = message;
}

}  // namespace sl4j

extern "C" const char* sl4j_last_error(void) { return sl4j::t_last_error.c_str(); }

extern "C" const char* sl4j_status_name(int32_t status) {
    switch (status) {
        case SL4J_OK: return "SL4J_OK";
        case SL4J_ERR_INVALID_ARGUMENT: return "SL4J_ERR_INVALID_ARGUMENT";
        case SL4J_ERR_IO: return "SL4J_ERR_IO";
        case SL4J_ERR_FORMAT: return "SL4J_ERR_FORMAT";
        case SL4J_ERR_UNSUPPORTED: return "SL4J_ERR_UNSUPPORTED";
        case SL4J_ERR_OUT_OF_MEMORY: return "SL4J_ERR_OUT_OF_MEMORY";
        case SL4J_ERR_BACKEND: return "SL4J_ERR_BACKEND";
        case SL4J_ERR_NOT_FOUND: return "SL4J_ERR_NOT_FOUND";
        case SL4J_ERR_INTERNAL: return "SL4J_ERR_INTERNAL";
        default: return "SL4J_ERR_UNKNOWN";
    }
}
