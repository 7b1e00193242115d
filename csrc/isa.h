// The instruction set the kernels run with: each kernel family is compiled once per ISA into
// namespaces isa_avx512, isa_avx2 and isa_generic, and calls go to the active one.
#pragma once

#include <string>

enum class Isa { generic, avx2, avx512 };

const char* isa_name(Isa isa);
bool isa_supported(Isa isa);   // compiled into this build and runnable on this CPU
Isa best_isa();
Isa active_isa();

// Makes `name` ("avx512", "avx2" or "generic") active; std::invalid_argument when unknown or
// unsupported here.
void set_isa(const std::string& name);

// Applies TENSORCORE_ISA when set. An unknown or unsupported value leaves the best ISA active
// and returns a warning for the caller to raise; otherwise returns "".
std::string select_isa_from_environment();

// TC_ISA_CALL(isa, f(args)) evaluates isa_<isa>::f(args) for the given ISA.
#ifdef TENSORCORE_X86_ISAS
#define TC_ISA_CALL(isa, call)                                            \
    ((isa) == Isa::avx512 ? isa_avx512::call                              \
     : (isa) == Isa::avx2 ? isa_avx2::call                                \
                          : isa_generic::call)
#else
#define TC_ISA_CALL(isa, call) ((void)(isa), isa_generic::call)
#endif
