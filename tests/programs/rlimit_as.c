/* rlimit_as: RLIMIT_AS (`ulimit -v`) bounds the address space. With the limit 64 MiB
 * above what the program uses, mmap, brk and mremap fail with ENOMEM past it and work
 * within it. Prints only what Linux decides. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define MIB (1024UL * 1024)

static unsigned long vm_size(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long kib = 0;
    while (status && fgets(line, sizeof(line), status))
        if (sscanf(line, "VmSize: %lu kB", &kib) == 1)
            break;
    if (status)
        fclose(status);
    return kib * 1024;
}

static const char *outcome(void *result)
{
    return result == MAP_FAILED ? strerror(errno) : "mapped";
}

int main(void)
{
    struct rlimit limit = {vm_size() + 64 * MIB, RLIM_INFINITY};
    if (setrlimit(RLIMIT_AS, &limit) != 0)
        return 1;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    printf("mmap 128 MiB: %s\n",
           outcome(mmap(NULL, 128 * MIB, PROT_READ | PROT_WRITE, flags, -1, 0)));
    printf("mmap 128 MiB PROT_NONE: %s\n", outcome(mmap(NULL, 128 * MIB, PROT_NONE, flags, -1, 0)));
    void *small = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE, flags, -1, 0);
    printf("mmap 16 MiB: %s\n", outcome(small));
    printf("mremap to 128 MiB: %s\n", outcome(mremap(small, 16 * MIB, 128 * MIB, MREMAP_MAYMOVE)));
    printf("mremap to 32 MiB: %s\n", outcome(mremap(small, 16 * MIB, 32 * MIB, MREMAP_MAYMOVE)));
    void *base = sbrk(0);
    printf("brk +128 MiB: %s\n", brk((char *)base + 128 * MIB) == 0 ? "moved" : strerror(errno));
    printf("brk +1 MiB: %s\n", brk((char *)base + MIB) == 0 ? "moved" : strerror(errno));
    return 0;
}
