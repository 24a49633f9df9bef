/* clocks: time as a program sees it. Prints only stable facts (yes/no answers). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAIL");
    if (!ok)
        failures++;
}

static int64_t ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int main(void)
{
    struct timespec m0, m1, m2, r0, res;
    check(clock_gettime(CLOCK_MONOTONIC, &m0) == 0, "clock_gettime(CLOCK_MONOTONIC)");
    check(clock_gettime(CLOCK_REALTIME, &r0) == 0, "clock_gettime(CLOCK_REALTIME)");
    /* 2020-01-01 .. 2100-01-01 */
    check(r0.tv_sec > 1577836800 && r0.tv_sec < 4102444800, "realtime is a plausible date");
    check(r0.tv_nsec >= 0 && r0.tv_nsec < 1000000000, "realtime tv_nsec in range");

    struct timespec sleep_for = {0, 20 * 1000 * 1000};
    check(nanosleep(&sleep_for, NULL) == 0, "nanosleep(20ms)");
    check(clock_gettime(CLOCK_MONOTONIC, &m1) == 0, "clock_gettime after sleep");
    int64_t slept = ns(&m1) - ns(&m0);
    check(slept >= 20 * 1000 * 1000, "monotonic advanced >= 20ms across nanosleep(20ms)");
    check(slept < 5LL * 1000 * 1000 * 1000, "monotonic advanced < 5s across nanosleep(20ms)");

    int64_t previous = ns(&m1), backwards = 0;
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &m2);
        if (ns(&m2) < previous)
            backwards++;
        previous = ns(&m2);
    }
    check(backwards == 0, "monotonic never goes backwards over 1000 reads");

    struct timeval tv;
    check(gettimeofday(&tv, NULL) == 0, "gettimeofday");
    check(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "gettimeofday tv_usec in range");
    int64_t tv_ns = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
    check(tv_ns >= ns(&r0) && tv_ns - ns(&r0) < 5LL * 1000 * 1000 * 1000,
          "gettimeofday agrees with CLOCK_REALTIME");
    time_t now = time(NULL), again;
    check(now >= r0.tv_sec && now - r0.tv_sec < 5, "time() agrees with CLOCK_REALTIME");
    check(time(&again) >= now && again >= now, "time(&t) stores and returns");

    check(clock_getres(CLOCK_MONOTONIC, &res) == 0, "clock_getres(CLOCK_MONOTONIC)");
    check(ns(&res) > 0 && ns(&res) <= 1000 * 1000, "monotonic resolution in (0, 1ms]");
    check(clock_getres(CLOCK_REALTIME, &res) == 0 && ns(&res) > 0 && ns(&res) <= 1000 * 1000,
          "realtime resolution in (0, 1ms]");
    struct timespec bad;
    check(clock_gettime((clockid_t)12345, &bad) == -1, "clock_gettime(bad clock) fails");
    printf("%s\n", failures ? "clocks FAILED" : "clocks ok");
    return failures != 0;
}
