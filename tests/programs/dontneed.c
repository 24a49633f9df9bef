/* dontneed: what glibc does with an exited thread's stack, 64 times over. Maps
 * 8 MiB of anonymous memory, writes its first and last bytes, hands the whole
 * range back with MADV_DONTNEED and keeps the mapping (glibc caches stacks).
 * The written bytes must read zero again; a range the program never touched
 * must cost the host nothing (the case checks the monitor's peak RSS).
 *   dontneed [MAPPINGS]   (default 64) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "check.h"

#define STACK (8L << 20)

int main(int argc, char **argv)
{
    int mappings = argc > 1 ? atoi(argv[1]) : 64;
    long nonzero = 0, failed = 0;
    for (int i = 0; i < mappings; i++) {
        char *p = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                       -1, 0);
        if (p == MAP_FAILED) {
            failed++;
            continue;
        }
        p[0] = p[STACK / 2] = p[STACK - 1] = 1;
        if (madvise(p, STACK, MADV_DONTNEED) != 0)
            failed++;
        nonzero += p[0] + p[STACK / 2] + p[STACK - 1];
        /* Written again after the discard: the pages are usable. */
        p[1] = 2;
        nonzero += p[1] != 2;
    }
    check("every mapping made and discarded", failed == 0);
    check("the discarded bytes read zero", nonzero == 0);
    return failures ? 1 : 0;
}
