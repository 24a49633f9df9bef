/* clock-loop: N clock_gettime(CLOCK_MONOTONIC) calls through the C library (the vDSO
 * where there is one), for benchmarks.
 *   clock-loop N */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 0) : 1000000L;
    struct timespec first, now = {0, 0};
    clock_gettime(CLOCK_MONOTONIC, &first);
    long backwards = 0;
    for (long i = 0; i < n; i++) {
        struct timespec before = now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec < before.tv_sec ||
            (now.tv_sec == before.tv_sec && now.tv_nsec < before.tv_nsec))
            backwards++;
    }
    printf("clock_gettime calls: %ld\nwent backwards: %ld\n", n, backwards);
    return backwards != 0;
}
