// Instruction-set dispatch for the kernels.
//
// The ISA is detected once (CPUID plus the OS's XSAVE state), may be forced
// with the environment variable FPTQ_ISA=ref|avx2|avx512vnni, and is the same
// for the whole process. Every ISA's kernels are reachable through
// kernels_for(isa) so tests and benchmarks can run each one side by side.
#pragma once

#include <string_view>

namespace fptq::kernels {

enum class Isa { Ref, Avx2, Avx512Vnni };

struct KernelTable;  // kernels/kernel_table.h

// "ref", "avx2", "avx512vnni".
const char* isa_name(Isa isa);

// Parses an FPTQ_ISA value (exact, lower case). Throws fptq::Error naming the
// value and the accepted spellings when it is unknown.
Isa parse_isa(std::string_view name);

// True when the ISA's kernels are compiled into this binary and this CPU and
// OS can run them (Ref always is).
bool isa_supported(Isa isa);

// The best supported ISA on this machine, ignoring FPTQ_ISA.
Isa best_supported_isa();

// The ISA chosen by an FPTQ_ISA value: nullptr or "" selects
// best_supported_isa(). Throws fptq::Error when the value is unknown or names
// an ISA this machine cannot run.
Isa select_isa(const char* fptq_isa_value);

// select_isa(getenv("FPTQ_ISA")), evaluated once per process (thread-safe).
// Throws fptq::Error (on every call) while the variable holds a bad value.
Isa active_isa();

// The kernels of one ISA. Throws fptq::Error when !isa_supported(isa).
const KernelTable& kernels_for(Isa isa);

// kernels_for(active_isa()).
const KernelTable& active_kernels();

}  // namespace fptq::kernels
