#include "threads.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace {

// OpenMP's default, which an OMP_NUM_THREADS past int's range wraps to 0 or below
std::atomic<int> threads{std::clamp(omp_get_max_threads(), 1, max_num_threads)};

}  // namespace

int num_threads() { return threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
    if (n < 1 || n > max_num_threads) {
        throw std::invalid_argument("set_num_threads: expected a thread count from 1 to " +
                                    std::to_string(max_num_threads) + ", got " +
                                    std::to_string(n));
    }
    threads.store(n, std::memory_order_relaxed);
}

std::string select_num_threads_from_environment() {
    const char* requested = std::getenv("TENSORCORE_NUM_THREADS");
    if (requested == nullptr || *requested == '\0') return "";
    char* end = nullptr;
    const long n = std::strtol(requested, &end, 10);
    while (std::isspace(static_cast<unsigned char>(*end))) ++end;   // as strtol skips leading
    if (*end != '\0' || n < 1 || n > max_num_threads) {
        return std::string("TENSORCORE_NUM_THREADS='") + requested +
               "' is not a thread count from 1 to " + std::to_string(max_num_threads) +
               "; using " + std::to_string(num_threads()) + " threads";
    }
    threads.store(static_cast<int>(n), std::memory_order_relaxed);
    return "";
}
