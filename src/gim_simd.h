/* Wider vectors for the per-cell loops without non-portable compiler flags.
 *
 * R builds packages for the baseline x86-64 ISA (SSE2: two doubles per
 * instruction). On GCC/Linux the hot cell loops are compiled three times:
 * for x86-64-v4 (AVX-512: eight doubles per instruction), for x86-64-v3
 * (AVX2 + FMA: four doubles, fused multiply-add) and for the baseline, and
 * the dynamic loader picks the best version the CPU supports (an ifunc).
 * Other compilers and platforms get the baseline only. Results can differ in
 * the last bits between the versions (FMA rounds once; reductions are split
 * differently), never between thread counts on one machine. Define
 * GIM_NO_TARGET_CLONES to disable. */
#ifndef GIM_SIMD_H
#define GIM_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && !defined(GIM_NO_TARGET_CLONES)
#define GIM_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GIM_TARGET_CLONES
#endif

/* Kernels called from cloned functions must be inlined into each clone to
 * get its instruction set: GIM_ALWAYS_INLINE (gim_vmath.h). */
#include "gim_vmath.h"

#endif
