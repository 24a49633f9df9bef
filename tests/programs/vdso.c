/* vdso: the clocks a program reads through the vDSO (AT_SYSINFO_EHDR) agree with the
 * ones the kernel gives through the real syscall, never go back, and cost no syscall.
 *   vdso          checks agreement and monotonicity for a little over a second
 *   vdso calls N  then makes N clock_gettime calls (count the syscalls from outside)
 * Prints only verdicts; exits 1 on any disagreement. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int64_t ns_of(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* The kernel's answer, bypassing the vDSO. */
static int64_t kernel_ns(clockid_t clock)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, clock, &ts);
    return ns_of(&ts);
}

static int64_t vdso_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ns_of(&ts);
}

/* |vDSO - kernel| for clock, bracketed by two kernel readings. */
static int agrees(clockid_t clock, int64_t tolerance)
{
    int64_t before = kernel_ns(clock), mine = vdso_ns(clock), after = kernel_ns(clock);
    return mine >= before - tolerance && mine <= after + tolerance;
}

int main(int argc, char **argv)
{
    int failures = 0;
    printf("vdso: %s\n", getauxval(AT_SYSINFO_EHDR) ? "present" : "absent");
    if (argc == 3 && strcmp(argv[1], "calls") == 0) {
        /* Past the monitor's calibration, then a burst. */
        usleep(100000);
        struct timespec ts;
        long count = atol(argv[2]);
        for (long i = 0; i < count; i++)
            clock_gettime(CLOCK_MONOTONIC, &ts);
        printf("made %ld calls\n", count);
        return 0;
    }
    const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
    int64_t last[3] = {0, 0, 0};
    int64_t start = kernel_ns(CLOCK_MONOTONIC);
    int rounds = 0, disagreements = 0, backwards = 0;
    /* A little over a second: the calibration and the first update. */
    while (kernel_ns(CLOCK_MONOTONIC) - start < 1200000000LL) {
        for (int c = 0; c < 3; c++) {
            /* 1 ms: scheduling may come between the three readings. */
            if (!agrees(clocks[c], 1000000))
                disagreements++;
            int64_t now = vdso_ns(clocks[c]);
            if (now < last[c])
                backwards++;
            last[c] = now;
        }
        for (int spin = 0; spin < 2000; spin++)
            if (vdso_ns(CLOCK_MONOTONIC) < last[1])
                backwards++;
        rounds++;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t seconds = time(NULL);
    int64_t real = kernel_ns(CLOCK_REALTIME) / 1000000000;
    printf("vDSO and kernel clocks agree: %s\n", disagreements == 0 ? "ok" : "FAIL");
    printf("clocks never went back: %s\n", backwards == 0 ? "ok" : "FAIL");
    printf("time and gettimeofday agree: %s\n",
           (seconds >= real - 1 && seconds <= real && tv.tv_sec >= real - 1 && tv.tv_sec <= real)
               ? "ok"
               : "FAIL");
    failures += disagreements != 0 || backwards != 0 || rounds < 10;
    if (failures)
        fprintf(stderr, "vdso: %d disagreements, %d steps back over %d rounds\n", disagreements,
                backwards, rounds);
    return failures ? 1 : 0;
}
