/*
 * monitor/ring.c — the thread that answers a vCPU's syscall ring (ring.h).
 */
#include "config.h"
#include "monitor/ring.h"
#include "accel/accel.h"
#include "kernel/abi.h"
#include "linux/linux.h"
#include "monitor/monitor.h"

#include <errno.h>
#include <glib.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A burst this long starts the ring, or wakes its sleeping thread. */
#define RING_BURST_START 4
#define RING_BURST_WAKE  2
/* How long the entry spins for an answer before it rings the doorbell: 400
 * pause loops, 30 to 40 us on this project's AMD EPYC host (75 to 100 ns
 * each), about one exit's cost. An answer takes about 1 us when the
 * answering thread has a CPU; it is this late only when it has none. */
#define RING_ENTRY_SPIN 400

/* The answering thread's stack (touched only as deep as it goes). */
#define RING_STACK_SIZE (2 * 1024 * 1024) /* ThreadSanitizer wants 0.9 MiB */

/* The numbers the entry may post; linux_ring_allowed decides for each call. */
static const unsigned ring_calls[] = {
    SYS_read,    SYS_write,  SYS_pread64, SYS_pwrite64, SYS_readv,  SYS_writev,
    SYS_lseek,   SYS_fstat,  SYS_getpid,  SYS_getppid,  SYS_gettid, SYS_getuid,
    SYS_geteuid, SYS_getgid, SYS_getegid, SYS_sendfile,
};

struct monitor_ring {
    struct accel_ring accel;
    struct linux_thread *thread;
    uint64_t spin_ns;
    pthread_t server;
    uint32_t wake;     /* futex word the sleeping thread waits on (__atomic) */
    uint32_t sleeping; /* it sleeps, or is about to (__atomic) */
    bool stop;         /* __atomic */
    void *stack;
    bool verbose;
    unsigned answered, bounced, sleeps; /* the answering thread's, read after the join */
};

static uint64_t now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void futex_wake(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* One posted call, taken: answered (DONE) or handed back to the doorbell
 * (BOUNCED). The page is the program's too: each field is read once. */
static void ring_answer(struct monitor_ring *ring)
{
    struct hx_ring *page = ring->accel.page;
    (void)__atomic_load_n(&ring->accel.entered, __ATOMIC_ACQUIRE);
    struct linux_syscall call = {.number = __atomic_load_n(&page->nr, __ATOMIC_RELAXED)};
    for (int i = 0; i < 6; i++)
        call.args[i] = __atomic_load_n(&page->args[i], __ATOMIC_RELAXED);
    uint32_t state = HX_RING_BOUNCED;
    uint64_t result;
    if (linux_ring_allowed(ring->thread, &call) &&
        linux_ring_syscall(ring->thread, &call, &result)) {
        __atomic_store_n(&page->result, result, __ATOMIC_RELAXED);
        state = HX_RING_DONE;
        ring->answered++;
    } else {
        ring->bounced++;
    }
    __atomic_fetch_add(&ring->accel.served, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&page->state, state, __ATOMIC_RELEASE);
    __atomic_store_n(&ring->accel.busy, 0, __ATOMIC_RELEASE);
    if (__atomic_load_n(&ring->accel.waiting, __ATOMIC_SEQ_CST))
        futex_wake(&page->state);
}

/* Takes a posted call if there is one. */
static bool ring_take(struct monitor_ring *ring)
{
    struct hx_ring *page = ring->accel.page;
    if (__atomic_load_n(&page->state, __ATOMIC_RELAXED) != HX_RING_POSTED)
        return false;
    __atomic_store_n(&ring->accel.busy, 1, __ATOMIC_SEQ_CST);
    uint32_t posted = HX_RING_POSTED;
    if (!__atomic_compare_exchange_n(&page->state, &posted, HX_RING_TAKEN, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&ring->accel.busy, 0, __ATOMIC_RELEASE);
        return false;
    }
    ring_answer(ring);
    return true;
}

/* How long after an answer the spin does not yield: calls that come this
 * close together (a loop of getppid: one every ~1.7 us) would otherwise
 * often find the thread inside sched_yield, a host call of about a
 * microsecond here. */
#define RING_HOT_NS 20000

/* Spins for calls until spin_ns passed without one. */
static void ring_spin(struct monitor_ring *ring)
{
    uint64_t answered = now_ns();
    for (unsigned round = 1; !__atomic_load_n(&ring->stop, __ATOMIC_RELAXED); round++) {
        if (ring_take(ring)) {
            answered = now_ns();
            continue;
        }
        __builtin_ia32_pause();
        /* Every few microseconds, a yield: on a busy machine the spin gives
         * its CPU to whatever else waits for one there (the program's own
         * vCPU thread, computing between two calls, first of all). Without
         * it busybox sha256sum of 20 MB took 0.60-0.68 s with the ring
         * against 0.39-0.47 s without (load 5 to 6); with it, 0.39-0.49 s. */
        if (round % 64 == 0) {
            uint64_t now = now_ns();
            if (now - answered > ring->spin_ns)
                return;
            if (now - answered > RING_HOT_NS)
                sched_yield();
        }
    }
}

static void *ring_server(void *data)
{
    struct monitor_ring *ring = data;
    struct hx_ring *page = ring->accel.page;
    while (!__atomic_load_n(&ring->stop, __ATOMIC_ACQUIRE)) {
        /* (The vCPU thread clears awake too, when a call waited in vain.) */
        __atomic_store_n(&page->awake, 1, __ATOMIC_SEQ_CST);
        ring_spin(ring);
        /* The entry checks awake before it posts: a call posted after this
         * store goes to the doorbell, one posted before is seen below. */
        __atomic_store_n(&page->awake, 0, __ATOMIC_SEQ_CST);
        if (ring_take(ring))
            continue;
        __atomic_store_n(&ring->sleeping, 1, __ATOMIC_SEQ_CST);
        ring->sleeps++;
        while (!__atomic_exchange_n(&ring->wake, 0, __ATOMIC_ACQUIRE) &&
               !__atomic_load_n(&ring->stop, __ATOMIC_ACQUIRE))
            syscall(SYS_futex, &ring->wake, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        __atomic_store_n(&ring->sleeping, 0, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void ring_wake(struct monitor_ring *ring)
{
    if (!__atomic_load_n(&ring->sleeping, __ATOMIC_SEQ_CST))
        return;
    __atomic_store_n(&ring->wake, 1, __ATOMIC_RELEASE);
    futex_wake(&ring->wake);
}

static struct monitor_ring *ring_start(struct accel *accel, const struct accel_ops *ops,
                                       struct linux_thread *thread, unsigned spin_us, bool verbose,
                                       bool *none)
{
    struct monitor_ring *ring = g_new0(struct monitor_ring, 1);
    ring->thread = thread;
    ring->spin_ns = (uint64_t)spin_us * 1000;
    ring->verbose = verbose;
    /* The ring's pages join the memory map: under the program's map lock,
     * as the map changes of its own calls. */
    linux_map_lock(thread);
    int result = ops->ring_start(accel, &ring->accel);
    linux_map_unlock(thread);
    if (result < 0) {
        *none = result == -ENOTSUP || result == -ENOSPC;
        if (verbose)
            fprintf(stderr, "hermitux-run: no syscall ring for this thread: %s\n",
                    result == -ENOTSUP  ? "the syscall entry runs in kernel mode (exits are cheap)"
                    : result == -ENOSPC ? "every ring page is taken"
                                        : strerror(-result));
        g_free(ring);
        return NULL;
    }
    struct hx_ring *page = ring->accel.page;
    page->spin = RING_ENTRY_SPIN;
    for (size_t i = 0; i < G_N_ELEMENTS(ring_calls); i++)
        page->bitmap[ring_calls[i] / 64] |= 1ULL << (ring_calls[i] % 64);
    /* No signal for the monitor or the program lands on this thread. Its
     * stack is its own, not one from libc's cache: in a fork's child, where
     * this thread does not exist, libc gives the stacks of the parent's
     * threads to the child's next threads, which ThreadSanitizer then takes
     * for this one ("dup thread"). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    ring->stack = mmap(NULL, RING_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    result = ring->stack == MAP_FAILED
                 ? ENOMEM
                 : pthread_attr_setstack(&attributes, ring->stack, RING_STACK_SIZE);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (result == 0)
        result = pthread_create(&ring->server, &attributes, ring_server, ring);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attributes);
    if (result != 0) {
        /* The vCPU keeps the page: with awake 0 its entry rings the doorbell. */
        *none = true;
        return NULL;
    }
    pthread_setname_np(ring->server, "hermitux-ring");
    return ring;
}

/* Whether a CPU is free for the answering thread to spin on: the host's
 * runnable tasks (/proc/loadavg's fourth field, this thread included) fewer
 * than the CPUs the monitor may use. A free CPU is believed for 10 ms, a
 * busy one for 1 ms: the count is of one instant, and a task that happened
 * to run then sent 10 ms of calls through the doorbell (busybox sha256sum
 * of 20 MB: 10 to 430 of its 5,122 reads, at ~28 us each against ~2.5). */
static bool ring_cpu_free(struct monitor_ring_state *state, uint64_t now)
{
    uint64_t believed_ns = state->cpu_free ? 10000000 : 1000000;
    if (state->free_checked_ns && now - state->free_checked_ns < believed_ns)
        return state->cpu_free;
    state->free_checked_ns = now;
    state->cpu_free = true; /* unreadable: as if free */
    FILE *file = fopen("/proc/loadavg", "re");
    unsigned running = 0;
    if (file && fscanf(file, "%*s %*s %*s %u/", &running) == 1)
        state->cpu_free = (int)running < state->cpus;
    if (file)
        fclose(file);
    return state->cpu_free;
}

/* Whether the entry would have posted call and its answering thread made
 * it (the fd of a read may be closed since: a guess then, and harmless). */
static bool ring_may_answer(struct linux_thread *thread, const struct linux_syscall *call)
{
    for (size_t i = 0; i < G_N_ELEMENTS(ring_calls); i++)
        if (call->number == ring_calls[i])
            return linux_ring_allowed(thread, call);
    return false;
}

void monitor_ring_after_syscall(struct monitor_ring_state *state, struct accel *accel,
                                const struct accel_ops *ops, struct linux_thread *thread,
                                const struct linux_syscall *call,
                                const struct monitor_options *options, bool debugging)
{
    unsigned spin_us = options->syscall_ring_us;
    if (!spin_us || debugging || state->unavailable || !ops->ring_start)
        return;
    /* With one CPU to run on, the two sides of the ring would only take
     * turns spinning. */
    if (!state->cpus) {
        cpu_set_t cpus;
        state->cpus = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : 2;
        if (state->cpus < 2) {
            state->unavailable = true;
            if (options->verbose)
                fprintf(stderr, "hermitux-run: no syscall ring: one CPU to run on\n");
            return;
        }
    }
    /* Only calls the ring could have answered make a burst: a start-up's
     * brk, mmap and write to a terminal would start a thread and change
     * the memory map for nothing. The others neither count nor break one. */
    if (!ring_may_answer(thread, call))
        return;
    /* A burst: calls closer together than half the answering thread's
     * spin, so that it rarely spins for nothing. */
    uint64_t now = now_ns();
    uint64_t burst_ns = (uint64_t)spin_us * 500;
    state->burst = state->call_started_ns - state->last_call_ns < burst_ns ? state->burst + 1 : 0;
    state->last_call_ns = now;
    if (state->burst < (state->ring ? RING_BURST_WAKE : RING_BURST_START))
        return;
    /* On a machine whose CPUs are all busy the answering thread would wait
     * for one while the program waits for it: the doorbell is faster. */
    if (!options->syscall_ring_always && !ring_cpu_free(state, now))
        return;
    if (!state->ring)
        state->ring =
            ring_start(accel, ops, thread, spin_us, options->verbose, &state->unavailable);
    else
        ring_wake(state->ring);
}

void monitor_ring_before_syscall(struct monitor_ring_state *state)
{
    state->call_started_ns = now_ns();
}

void monitor_ring_stop(struct monitor_ring_state *state)
{
    struct monitor_ring *ring = state->ring;
    state->ring = NULL;
    if (!ring)
        return;
    __atomic_store_n(&ring->stop, true, __ATOMIC_RELEASE);
    __atomic_store_n(&ring->wake, 1, __ATOMIC_RELEASE);
    futex_wake(&ring->wake);
    pthread_join(ring->server, NULL);
    munmap(ring->stack, RING_STACK_SIZE);
    if (ring->verbose)
        fprintf(stderr,
                "hermitux-run: syscall ring: %u calls answered inside the guest, %u handed to "
                "the doorbell; its thread slept %u times\n",
                ring->answered, ring->bounced, ring->sleeps);
    g_free(ring);
}

void monitor_ring_forget(struct monitor_ring_state *state)
{
    *state = (struct monitor_ring_state){0};
}
