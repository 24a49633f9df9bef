/* cpu_loop: a CPU-bound loop without system calls, for benchmarks.
 *   cpu_loop [ITERATIONS]   (default 1500000000, a few seconds natively)
 * Prints the iteration count and a checksum that depends on every iteration. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    uint64_t iterations = argc > 1 ? strtoull(argv[1], NULL, 0) : 1500000000ULL;
    uint64_t x = 0x9e3779b97f4a7c15ULL, sum = 0;
    for (uint64_t i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum += x ^ i;
    }
    printf("iterations: %llu\nchecksum: %016llx\n", (unsigned long long)iterations,
           (unsigned long long)sum);
    return 0;
}
