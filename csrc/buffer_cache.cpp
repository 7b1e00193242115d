#include "buffer_cache.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "asan.h"

namespace tensorcore {

OutOfMemory::OutOfMemory(size_t bytes)
    : message_("out of memory for an array of " + std::to_string(bytes) + " bytes") {}

OutOfMemory::OutOfMemory(const char* op, const std::bad_alloc& cause)
    : message_(std::string(op) + ": " +
               (dynamic_cast<const OutOfMemory*>(&cause) ? cause.what() : "out of memory")) {}

namespace {

// Each block starts with a header line holding its capacity; callers get the byte after it.
constexpr size_t header_bytes = 64;
// Smaller blocks come from malloc's heap, which reuses them without faults: not cached.
constexpr size_t smallest_cached = size_t(64) << 10;
constexpr size_t default_limit = size_t(1) << 30;

// Capacity for a request: whole 64-byte lines, whole pages once cached, so that requests of
// nearly the same size share blocks. Under AddressSanitizer exactly the bytes asked for, so
// that a kernel writing past its buffer hits ASan's red zone, not the rounding.
size_t capacity_for(size_t bytes) {
#if defined(__SANITIZE_ADDRESS__)
    return std::max<size_t>(bytes, 1);
#else
    const size_t lines = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    return lines < smallest_cached ? lines : (lines + 4095) / 4096 * 4096;
#endif
}

struct Cache {
    std::mutex mutex;
    std::vector<char*> blocks;   // free blocks (their headers), oldest first
    size_t cached = 0, limit = default_limit;
    std::atomic<bool> poison{false};

    static size_t capacity(const char* base) { return *reinterpret_cast<const size_t*>(base); }

    // Frees the oldest blocks until at most `bytes` stay cached; with the mutex held.
    void shrink_to(size_t bytes) {
        size_t dropped = 0;
        while (cached > bytes && dropped < blocks.size()) {
            cached -= capacity(blocks[dropped]);
            std::free(blocks[dropped++]);
        }
        blocks.erase(blocks.begin(), blocks.begin() + dropped);
    }
};

Cache& cache() {
    static Cache* instance = new Cache();   // never destroyed: blocks may return at exit
    return *instance;
}

// A block of `capacity` bytes: a cached one of that capacity, else a fresh one.
char* take_block(size_t capacity) {
    if (capacity >= smallest_cached) {
        Cache& c = cache();
        std::lock_guard<std::mutex> lock(c.mutex);
        for (size_t i = c.blocks.size(); i-- > 0;) {   // the most recently freed first
            if (Cache::capacity(c.blocks[i]) == capacity) {
                char* base = c.blocks[i];
                c.blocks.erase(c.blocks.begin() + i);
                c.cached -= capacity;
                ASAN_UNPOISON_MEMORY_REGION(base + header_bytes, capacity);
                return base;
            }
        }
    }
    if (capacity > SIZE_MAX - header_bytes) throw OutOfMemory(capacity);
    void* fresh = nullptr;   // posix_memalign: under ASan capacity is not a multiple of 64
    if (posix_memalign(&fresh, 64, header_bytes + capacity) != 0) throw OutOfMemory(capacity);
    char* base = static_cast<char*>(fresh);
    *reinterpret_cast<size_t*>(base) = capacity;
    // the header past the capacity, so that a kernel writing just before its block is caught
    ASAN_POISON_MEMORY_REGION(base + sizeof(size_t), header_bytes - sizeof(size_t));
    return base;
}

}  // namespace

void* cache_allocate(size_t bytes) {
    const size_t capacity = capacity_for(bytes);
    char* block = take_block(capacity) + header_bytes;
    if (cache().poison.load(std::memory_order_relaxed)) std::memset(block, 0xFF, capacity);
    return block;
}

void cache_free(void* block) {
    if (block == nullptr) return;
    char* base = static_cast<char*>(block) - header_bytes;
    const size_t capacity = Cache::capacity(base);
    if (capacity >= smallest_cached) {
        Cache& c = cache();
        std::lock_guard<std::mutex> lock(c.mutex);
        if (capacity <= c.limit) {
            // a kernel touching a cached block (freed: not its own) is a use after free
            ASAN_POISON_MEMORY_REGION(block, capacity);
            c.shrink_to(c.limit - capacity);
            c.blocks.push_back(base);
            c.cached += capacity;
            return;
        }
    }
    std::free(base);
}

size_t cache_limit() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    return c.limit;
}

void set_cache_limit(size_t bytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.limit = bytes;
    c.shrink_to(bytes);
}

void set_cache_poison(bool on) { cache().poison.store(on, std::memory_order_relaxed); }

size_t cache_cached_bytes() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    return c.cached;
}

std::string select_cache_limit_from_environment() {
    const char* requested = std::getenv("TENSORCORE_CPU_CACHE_MB");
    if (requested == nullptr || *requested == '\0') return "";
    char* end = nullptr;
    const long long megabytes = std::strtoll(requested, &end, 10);
    if (*end != '\0' || megabytes < 0 || megabytes > (1LL << 30)) {
        return std::string("TENSORCORE_CPU_CACHE_MB='") + requested +
               "' is not an integer from 0 to 2^30; caching up to " +
               std::to_string(cache_limit() >> 20) + " MB of freed buffers";
    }
    set_cache_limit(static_cast<size_t>(megabytes) << 20);
    return "";
}

}  // namespace tensorcore
