// The C API boundary. Every exported function that can fail runs its body
// through sl4j::guard(), which turns any exception into a status code plus the
// thread's last-error message, so no C++ exception ever reaches the JVM.
#pragma once
#include <new>
#include <string>

#include "core/error.h"

namespace sl4j {

void set_last_error(int32_t status, const std::string& message);

template <typename F>
int32_t guard(F&& body) noexcept {
    try {
        body();
        return SL4J_OK;
    } catch (const Error& e) {
        set_last_error(e.status(), e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        set_last_error(SL4J_ERR_OUT_OF_MEMORY, "out of host memory");
        return SL4J_ERR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        set_last_error(SL4J_ERR_INTERNAL, std::string("internal error: ") + e.what());
        return SL4J_ERR_INTERNAL;
    } catch (...) {
        set_last_error(SL4J_ERR_INTERNAL, "internal error: unknown exception");
        return SL4J_ERR_INTERNAL;
    }
}

#define SL4J_CHECK_HANDLE(h) SL4J_CHECK_ARG((h) != nullptr, "%s is NULL", #h)

}  // namespace sl4j
