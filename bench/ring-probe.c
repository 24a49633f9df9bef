/*
 * ring-probe: what an exitless syscall transport would cost on this machine.
 *
 * A stand-in for the design of issue 11 (the guest writes a request into a
 * shared slot and spins; a monitor thread spinning on the slot serves it and
 * writes the answer): two host threads in one process, the "guest" thread
 * posting N back-to-back requests (each served by the "server" thread with a
 * getppid() host call, as the monitor would), the server spinning for up to
 * SPIN_US on an empty slot before it sleeps on a futex, the guest spinning
 * for up to SPIN_US for its answer before it falls back to waking the
 * server (the doorbell exit, in the real thing). Prints the round trip's
 * median, 90th and 99th percentiles, how many requests needed the fallback,
 * and the CPU time both threads burned per request, for a few spin limits.
 *
 *   ring-probe [N]
 *
 * Host threads are a lower bound for the real transport: a guest thread
 * spinning inside KVM_RUN cannot be told apart from work by the host
 * scheduler either, and the fallback there is an exit (28-45 us here).
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct slot {
    _Atomic uint32_t request;  /* sequence number of the posted request */
    _Atomic uint32_t answered; /* sequence number of the last answer */
    _Atomic uint32_t sleeping; /* the server sleeps on `request` */
    _Atomic int quit;
    long value;
};

static struct slot slot;
static long spin_ns;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t value)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *server(void *unused)
{
    (void)unused;
    uint32_t served = 0;
    while (!atomic_load(&slot.quit)) {
        uint64_t start = now_ns();
        while (atomic_load_explicit(&slot.request, memory_order_acquire) == served) {
            if (atomic_load(&slot.quit))
                return NULL;
            if ((long)(now_ns() - start) > spin_ns) {
                atomic_store(&slot.sleeping, 1);
                if (atomic_load(&slot.request) == served)
                    futex_wait(&slot.request, served);
                atomic_store(&slot.sleeping, 0);
                start = now_ns();
            }
            __builtin_ia32_pause();
        }
        served = atomic_load(&slot.request);
        slot.value = syscall(SYS_getppid);
        atomic_store_explicit(&slot.answered, served, memory_order_release);
    }
    return NULL;
}

static int compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static void probe(long n, long spin_us)
{
    uint64_t *trips = malloc(sizeof(*trips) * (size_t)n);
    long fallbacks = 0;
    spin_ns = spin_us * 1000;
    atomic_store(&slot.request, 0);
    atomic_store(&slot.answered, 0);
    atomic_store(&slot.quit, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, server, NULL);
    double cpu = cpu_seconds();
    uint64_t wall = now_ns();
    for (uint32_t i = 1; i <= (uint32_t)n; i++) {
        uint64_t start = now_ns();
        atomic_store_explicit(&slot.request, i, memory_order_release);
        bool woke = false;
        while (atomic_load_explicit(&slot.answered, memory_order_acquire) != i) {
            if (!woke && (long)(now_ns() - start) > spin_ns) {
                /* The fallback: in the VM, the doorbell exit. */
                fallbacks++;
                woke = true;
                if (atomic_load(&slot.sleeping))
                    futex_wake(&slot.request);
            }
            if (woke && atomic_load(&slot.sleeping))
                futex_wake(&slot.request);
            __builtin_ia32_pause();
        }
        trips[i - 1] = now_ns() - start;
    }
    wall = now_ns() - wall;
    atomic_store(&slot.quit, 1);
    futex_wake(&slot.request);
    pthread_join(thread, NULL);
    cpu = cpu_seconds() - cpu;
    qsort(trips, (size_t)n, sizeof(*trips), compare);
    printf("spin %4ld us: round trip median %6.2f us, p90 %7.2f us, p99 %8.2f us; "
           "fallbacks %5.1f%%; CPU %6.2f us per request (wall %6.2f us)\n",
           spin_us, trips[n / 2] / 1e3, trips[n * 9 / 10] / 1e3, trips[n * 99 / 100] / 1e3,
           100.0 * fallbacks / n, cpu * 1e6 / n, wall / 1e3 / n);
    free(trips);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    static const long spins[] = {5, 20, 50, 200};
    for (size_t i = 0; i < sizeof(spins) / sizeof(spins[0]); i++)
        probe(n, spins[i]);
    return 0;
}
