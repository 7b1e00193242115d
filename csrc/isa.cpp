#include "isa.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "cpu_features.h"

namespace {

std::atomic<Isa> active{best_isa()};

bool parse_isa(const std::string& name, Isa* isa) {
    for (Isa candidate : {Isa::avx512, Isa::avx2, Isa::generic}) {
        if (name == isa_name(candidate)) {
            *isa = candidate;
            return true;
        }
    }
    return false;
}

}  // namespace

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::avx512: return "avx512";
        case Isa::avx2: return "avx2";
        default: return "generic";
    }
}

bool isa_supported(Isa isa) {
#ifdef TENSORCORE_X86_ISAS
    const CpuFeatures& cpu = cpu_features();
    if (isa == Isa::avx512) {
        return cpu.avx512f && cpu.avx512bw && cpu.avx512dq && cpu.avx512vl && cpu.fma &&
               cpu.bmi2;
    }
    if (isa == Isa::avx2) return cpu.avx2 && cpu.fma;
#endif
    return isa == Isa::generic;
}

Isa best_isa() {
    for (Isa isa : {Isa::avx512, Isa::avx2}) {
        if (isa_supported(isa)) return isa;
    }
    return Isa::generic;
}

Isa active_isa() { return active.load(std::memory_order_relaxed); }

void set_isa(const std::string& name) {
    Isa isa;
    if (!parse_isa(name, &isa)) {
        throw std::invalid_argument("set_isa: unknown ISA '" + name +
                                    "'; expected 'avx512', 'avx2' or 'generic'");
    }
    if (!isa_supported(isa)) {
        throw std::invalid_argument(std::string("set_isa: ISA '") + name +
                                    "' is not supported on this CPU or not compiled into this "
                                    "build; the best available is '" + isa_name(best_isa()) + "'");
    }
    active.store(isa, std::memory_order_relaxed);
}

std::string select_isa_from_environment() {
    const char* requested = std::getenv("TENSORCORE_ISA");
    if (requested == nullptr || *requested == '\0') return "";
    Isa isa;
    if (!parse_isa(requested, &isa)) {
        return std::string("TENSORCORE_ISA='") + requested +
               "' is not one of 'avx512', 'avx2', 'generic'; using '" +
               isa_name(active_isa()) + "'";
    }
    if (!isa_supported(isa)) {
        return std::string("TENSORCORE_ISA='") + requested +
               "' is not supported on this CPU or not compiled into this build; using '" +
               isa_name(active_isa()) + "'";
    }
    active.store(isa, std::memory_order_relaxed);
    return "";
}
