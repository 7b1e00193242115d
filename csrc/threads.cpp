#include "threads.h"

#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace {

std::atomic<int> threads{omp_get_max_threads()};

}  // namespace

int num_threads() { return threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
    if (n < 1) {
        throw std::invalid_argument("set_num_threads: expected a positive thread count, got " +
                                    std::to_string(n));
    }
    threads.store(n, std::memory_order_relaxed);
}

std::string select_num_threads_from_environment() {
    const char* requested = std::getenv("TENSORCORE_NUM_THREADS");
    if (requested == nullptr || *requested == '\0') return "";
    char* end = nullptr;
    long n = std::strtol(requested, &end, 10);
    if (*end != '\0' || n < 1 || n > 1 << 16) {
        return std::string("TENSORCORE_NUM_THREADS='") + requested +
               "' is not a positive integer; using " + std::to_string(num_threads()) + " threads";
    }
    threads.store(static_cast<int>(n), std::memory_order_relaxed);
    return "";
}
