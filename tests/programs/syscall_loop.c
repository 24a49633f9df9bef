/* syscall_loop: N getppid() system calls, for benchmarks (the cost of one trap).
 *   syscall_loop [N]   (default 1000000)
 * Calls the system call directly (no libc caching) and checks every answer is the same. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 0) : 1000000L;
    long first = syscall(SYS_getppid);
    long mismatches = 0;
    for (long i = 0; i < n; i++)
        if (syscall(SYS_getppid) != first)
            mismatches++;
    printf("getppid calls: %ld\nmismatches: %ld\n", n, mismatches);
    return mismatches != 0;
}
