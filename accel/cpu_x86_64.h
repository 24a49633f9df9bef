/*
 * accel/cpu_x86_64.h — the x86-64 architecture's own numbers that the
 * monitor and every backend use: control register and EFER bits, the MSRs
 * the guest kernel's entry depends on, RFLAGS bits, and the flat segments
 * of long mode. Architecture facts only; what this project chose (its
 * selectors, its kernel's addresses) is kernel/abi.h's.
 *
 * Constants and one pure helper; no state, any thread.
 */
#ifndef HERMITUX_ACCEL_CPU_X86_64_H
#define HERMITUX_ACCEL_CPU_X86_64_H

#include "accel/accel.h"

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_AM (1ULL << 18)
#define CR0_PG (1ULL << 31)

#define CR4_PAE        (1ULL << 5)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_OSXSAVE    (1ULL << 18)

#define EFER_SCE (1ULL << 0) /* syscall/sysret */
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

#define MSR_EFER           0xc0000080
#define MSR_STAR           0xc0000081
#define MSR_LSTAR          0xc0000082
#define MSR_CSTAR          0xc0000083
#define MSR_FMASK          0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define RFLAGS_FIXED (1ULL << 1) /* always reads 1 */
#define RFLAGS_TF    (1ULL << 8) /* the trap flag: a #DB after the next instruction */
#define RFLAGS_IF    (1ULL << 9)
#define RFLAGS_RF    (1ULL << 16)

/* A long-mode segment over all of memory: code (type 11: execute/read,
 * accessed; 64-bit) or data (type 3: read/write, accessed; 32-bit default
 * size, as a data descriptor has), at privilege level dpl. */
static inline struct cpu_segment cpu_flat_segment(uint16_t selector, uint8_t type, uint8_t dpl)
{
    int code = (type & 8) != 0;
    return (struct cpu_segment){.selector = selector,
                                .limit = 0xffffffff,
                                .type = type,
                                .present = 1,
                                .dpl = dpl,
                                .s = 1,
                                .l = (uint8_t)code,
                                .db = (uint8_t)!code,
                                .g = 1};
}

#endif
