/* crunch: ordinary compiled code for the CPU benchmark (built -O0 by run-bench.sh, as a
 * new user's program would be): a xorshift generator whose state, counters and sum live
 * in memory, so every iteration loads and stores as unoptimised code does.
 *   crunch [ITERATIONS]   (default 10000000)
 * Prints the sum so nothing is optimised away. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 10000000;
    uint64_t x = 88172645463325252ULL, sum = 0;
    for (long i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum += x & 0xff;
    }
    printf("%llu\n", (unsigned long long)sum);
    return 0;
}
