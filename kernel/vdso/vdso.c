/*
 * kernel/vdso/vdso.c — the guest's vDSO: clock_gettime, gettimeofday, time,
 * clock_getres and getcpu answered in the guest, as Linux's vDSO does, so the
 * calls programs make most often cost no exit to the monitor.
 *
 * It runs in the program's own context (CPL3, the program's stack), so it is
 * position-independent, needs no relocation (no one relocates a vDSO), and
 * falls back to the real syscall for anything the clock page cannot answer.
 */
#include "kernel/vclock.h"

#include <stdint.h>

/* Linux's ABI types, spelled out: nothing from the host's libc is linked. */
struct hx_timespec {
    int64_t tv_sec;
    int64_t tv_nsec;
};

struct hx_timeval {
    int64_t tv_sec;
    int64_t tv_usec;
};

struct hx_timezone {
    int32_t tz_minuteswest;
    int32_t tz_dsttime;
};

#define NSEC_PER_SEC      1000000000ULL
#define SYS_GETTIMEOFDAY  96
#define SYS_TIME          201
#define SYS_CLOCK_GETTIME 228
#define SYS_CLOCK_GETRES  229
#define SYS_GETCPU        309

/* Linux's clock ids. */
#define CLOCK_REALTIME         0
#define CLOCK_MONOTONIC        1
#define CLOCK_MONOTONIC_RAW    4
#define CLOCK_REALTIME_COARSE  5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME         7

/* The clock page lies one page below this object's ELF header, its load
 * address (__ehdr_start, defined by the linker). Taken in assembly: the
 * compiler would see a negative offset into an object and object to it. */
static const struct hx_vclock *vclock(void)
{
    uintptr_t base;
    __asm__("lea __ehdr_start(%%rip), %0" : "=r"(base));
    return (const struct hx_vclock *)(base - 4096);
}

static long syscall2(long number, long a, long b)
{
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b)
                     : "rcx", "r11", "memory");
    return result;
}

static long syscall3(long number, long a, long b, long c)
{
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return result;
}

static inline uint64_t read_tsc(void)
{
    uint32_t low, high;
    /* lfence: the counter is read after earlier loads, as Linux's vDSO orders it. */
    __asm__ volatile("lfence; rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

static inline void compiler_barrier(void)
{
    __asm__ volatile("" ::: "memory");
}

/* The clock page's slot for a Linux clock id, or -1 to ask the monitor. */
static int slot_of(int clock)
{
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
        return HX_VCLOCK_REALTIME;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
        return HX_VCLOCK_MONOTONIC;
    case CLOCK_BOOTTIME:
        return HX_VCLOCK_BOOTTIME;
    default:
        return -1;
    }
}

/* Nanoseconds of clock slot, or false when the page says to ask the monitor. */
static int read_ns(int slot, uint64_t *ns)
{
    const struct hx_vclock *page = vclock();
    uint32_t sequence;
    uint64_t value;
    do {
        sequence = page->sequence;
        compiler_barrier();
        if (page->mode != HX_VCLOCK_TSC)
            return 0;
        uint64_t delta = read_tsc() - page->tsc_base;
        /* A counter behind its base (another CPU's, a moment ago) counts as now. */
        if ((int64_t)delta < 0)
            delta = 0;
        value = page->base_ns[slot] +
                (uint64_t)(((unsigned __int128)delta * page->mult) >> HX_VCLOCK_SHIFT);
        compiler_barrier();
    } while ((sequence & 1) || sequence != page->sequence);
    *ns = value;
    return 1;
}

int __vdso_clock_gettime(int clock, struct hx_timespec *ts)
{
    int slot = slot_of(clock);
    uint64_t ns;
    if (slot < 0 || !read_ns(slot, &ns))
        return (int)syscall2(SYS_CLOCK_GETTIME, clock, (long)ts);
    ts->tv_sec = (int64_t)(ns / NSEC_PER_SEC);
    ts->tv_nsec = (int64_t)(ns % NSEC_PER_SEC);
    return 0;
}

int __vdso_gettimeofday(struct hx_timeval *tv, struct hx_timezone *tz)
{
    uint64_t ns;
    if (!read_ns(HX_VCLOCK_REALTIME, &ns))
        return (int)syscall2(SYS_GETTIMEOFDAY, (long)tv, (long)tz);
    if (tv) {
        tv->tv_sec = (int64_t)(ns / NSEC_PER_SEC);
        tv->tv_usec = (int64_t)(ns % NSEC_PER_SEC / 1000);
    }
    if (tz) {
        tz->tz_minuteswest = vclock()->tz_minuteswest;
        tz->tz_dsttime = vclock()->tz_dsttime;
    }
    return 0;
}

int64_t __vdso_time(int64_t *t)
{
    uint64_t ns;
    if (!read_ns(HX_VCLOCK_REALTIME, &ns))
        return syscall2(SYS_TIME, (long)t, 0);
    int64_t seconds = (int64_t)(ns / NSEC_PER_SEC);
    if (t)
        *t = seconds;
    return seconds;
}

int __vdso_clock_getres(int clock, struct hx_timespec *res)
{
    /* The resolution is the host's; asking costs one call, and programs ask once. */
    return (int)syscall2(SYS_CLOCK_GETRES, clock, (long)res);
}

long __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
    /* Which CPU runs this thread is the host's to say. */
    return syscall3(SYS_GETCPU, (long)cpu, (long)node, (long)unused);
}

/* The unprefixed names Linux's vDSO also exports. */
int clock_gettime(int, struct hx_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct hx_timeval *, struct hx_timezone *)
    __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct hx_timespec *) __attribute__((weak, alias("__vdso_clock_getres")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
