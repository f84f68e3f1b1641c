#include "cpu/isolated.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "core/error.h"

#if defined(__linux__)
#include <csignal>
#include <ctime>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace sl4j::cpu {

namespace {
// What the child leaves in the shared page: done = 1 once `text` holds its result.
struct ChildResult {
    volatile int done;
    char text[4092];
};
static_assert(sizeof(ChildResult) == 4096, "one page");
}  // namespace

std::string run_isolated(std::string (*check)(void*), void* arg, int timeout_ms) {
#if defined(__linux__)
    void* page = mmap(nullptr, sizeof(ChildResult), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return format("could not run isolated: mmap: %s", std::strerror(errno));
    auto* res = static_cast<ChildResult*>(page);
    res->done = 0;
    const pid_t pid = fork();
    if (pid < 0) {
        const int err = errno;
        munmap(page, sizeof(ChildResult));
        return format("could not run isolated: fork: %s", std::strerror(err));
    }
    if (pid == 0) {
        // The host's handlers (the JVM's) must not run here: a fault ends the child plainly,
        // without a core file.
        const rlimit no_core{0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        sigset_t all;
        sigemptyset(&all);
        for (int sig : {SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGABRT, SIGTRAP}) {
            std::signal(sig, SIG_DFL);
            sigaddset(&all, sig);
        }
        pthread_sigmask(SIG_UNBLOCK, &all, nullptr);
        std::string out;
        try {
            out = check(arg);
        } catch (const std::exception& e) {
            out = std::string("threw: ") + e.what();
        } catch (...) {
            out = "threw a non-standard exception";
        }
        std::snprintf(res->text, sizeof res->text, "%s", out.c_str());
        __atomic_store_n(&res->done, 1, __ATOMIC_RELEASE);
        _exit(0);
    }
    int status = 0;
    pid_t got = 0;
    const timespec step{0, 2000000};  // 2 ms
    for (int waited = 0;; waited += 2) {
        got = waitpid(pid, &status, WNOHANG);
        if (got == pid || (got < 0 && errno != EINTR)) break;
        if (waited >= timeout_ms) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            munmap(page, sizeof(ChildResult));
            return format("still running after %d ms, killed", timeout_ms);
        }
        nanosleep(&step, nullptr);
    }
    std::string out;
    if (got != pid) out = format("could not wait for the child: %s", std::strerror(errno));
    else if (WIFSIGNALED(status))
        out = format("the child died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (!__atomic_load_n(&res->done, __ATOMIC_ACQUIRE))
        out = format("the child exited with status %d and no result", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    else
        out = res->text;
    munmap(page, sizeof(ChildResult));
    return out;
#else
    (void)check, (void)arg, (void)timeout_ms;
    return "could not run isolated: no fork on this platform";
#endif
}

}  // namespace sl4j::cpu
