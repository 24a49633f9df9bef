/*
 * kernel/vclock.h — the clock page the monitor publishes for the guest's vDSO.
 *
 * Shared by the vDSO (kernel/vdso/) and the monitor, so it holds only plain
 * data. The page lies one page below the vDSO image, read-only for the
 * program. The monitor updates it under a sequence count (odd while it
 * writes); a reader retries while the count is odd or changed under it.
 *
 * Time is computed from the CPU's time-stamp counter, which the guest reads
 * natively and which equals the host's (the monitor publishes
 * HX_VCLOCK_TSC only where it does):
 *   ns(clock) = base_ns[clock] + ((tsc - tsc_base) * mult) >> HX_VCLOCK_SHIFT
 * with every base continuous across updates, so the clocks never step back.
 */
#ifndef HERMITUX_KERNEL_VCLOCK_H
#define HERMITUX_KERNEL_VCLOCK_H

#include <stdint.h>

#define HX_VCLOCK_SHIFT 32

enum hx_vclock_mode {
    HX_VCLOCK_SYSCALL = 0, /* no usable clock here: every call is a syscall */
    HX_VCLOCK_TSC = 1,
};

/* The clocks the page carries, indexed as Linux numbers them where they fit. */
enum hx_vclock_clock {
    HX_VCLOCK_REALTIME = 0,
    HX_VCLOCK_MONOTONIC = 1,
    HX_VCLOCK_BOOTTIME = 2,
    HX_VCLOCK_COUNT = 3,
};

struct hx_vclock {
    volatile uint32_t sequence;
    volatile uint32_t mode; /* enum hx_vclock_mode */
    volatile uint64_t tsc_base;
    volatile uint64_t mult; /* ns per TSC tick << HX_VCLOCK_SHIFT */
    volatile uint64_t base_ns[HX_VCLOCK_COUNT];
    volatile int32_t tz_minuteswest, tz_dsttime; /* gettimeofday's timezone */
};

#endif
