/* gdb-target: the program the gdb benchmark debugs (built -O0 -g by run-bench.sh).
 *   gdb-target [CALLS]   (default 1001; run-bench.sh passes 3 x hits + 1)
 * Fills a 1 MiB buffer (the memory-read phase dumps it), calls hit() CALLS times (the
 * breakpoint phase), then loops without calls long enough for 10000 stepi. Prints a
 * checksum so nothing is optimised away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned char buffer[1 << 20];
static volatile unsigned long counter;

void hit(int i)
{
    counter += (unsigned long)i;
}

int main(int argc, char **argv)
{
    int calls = argc > 1 ? atoi(argv[1]) : 1001;
    memset(buffer, 0x5a, sizeof buffer);
    for (int i = 0; i < calls; i++)
        hit(i);
    for (int i = 0; i < 1000000; i++)
        counter ^= (unsigned long)i * buffer[i & 0xfffff];
    printf("counter: %lu\n", counter);
    return 0;
}
