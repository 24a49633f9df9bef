/*
 * overcommit: reserves address space far beyond RAM, as Go, Java, V8 and
 * ASan-built programs do, and touches a few pages of it. Linux's default
 * overcommit (heuristic) lets private PROT_NONE, read-only and
 * MAP_NORESERVE mappings of any size through, and writable ones each up to
 * RAM; frames are taken at first touch. A forked child touches pages of the
 * reservations too (its copy), and the parent's are unchanged. Prints only
 * what holds on any Linux machine with 1 GiB of RAM or more.
 *
 * A writable mapping larger than all of RAM and swap (sysinfo's: in the
 * VM the guest's) fails with ENOMEM, by malloc, mmap or brk, and the
 * program goes on.
 *
 * "overcommit touch MIB" touches MIB MiB of a MAP_NORESERVE mapping page by
 * page and says so: where RAM runs out first, Linux's OOM killer ends it
 * with SIGKILL. "overcommit malloc MIB" mallocs MIB MiB, says whether it
 * got NULL, and goes on.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define GIB (1UL << 30)

static char *reserve(const char *what, size_t len, int prot, int flags)
{
    char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    printf("%s %zu GiB: %s\n", what, len / GIB, p == MAP_FAILED ? strerror(errno) : "ok");
    if (p == MAP_FAILED)
        exit(1);
    return p;
}

/* Sums bytes one GiB apart: reads of untouched memory are zeros. */
static long sum_every_gib(const char *p, size_t len)
{
    long sum = 0;
    for (size_t at = 0; at < len; at += GIB)
        sum += p[at] + p[len - 1 - at];
    return sum;
}

static int touch(size_t mib)
{
    char *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    for (size_t at = 0; at < mib << 20; at += 4096)
        p[at] = 1;
    printf("touched %zu MiB\n", mib);
    return 0;
}

/* The program goes on after a refusal: a small block works. */
static void goes_on(void)
{
    char *small = malloc(1 << 20);
    if (small)
        memset(small, 'x', 1 << 20);
    printf("then 1 MiB: %s\n", small && small[12345] == 'x' ? "ok" : "FAILED");
    free(small);
}

static int malloc_mib(size_t mib)
{
    char *p = malloc(mib << 20);
    printf("malloc %zu MiB: %s\n", mib, p ? "ok" : errno == ENOMEM ? "NULL, ENOMEM" : "NULL");
    free(p);
    goes_on();
    return 0;
}

/* More than RAM and swap in one writable mapping: each way of asking is
 * refused (Linux's heuristic, vm.overcommit_memory 0), nothing else is. */
static void beyond_ram(void)
{
    struct sysinfo info;
    if (sysinfo(&info) != 0)
        return;
    size_t len = ((size_t)info.totalram + info.totalswap) * info.mem_unit + (64UL << 20);
    errno = 0;
    char *p = malloc(len);
    printf("malloc beyond RAM: %s\n", p ? "ok" : errno == ENOMEM ? "NULL, ENOMEM" : "NULL");
    free(p);
    errno = 0;
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap beyond RAM: %s\n", p != MAP_FAILED ? "ok" : strerror(errno));
    if (p != MAP_FAILED)
        munmap(p, len);
    errno = 0;
    p = sbrk((intptr_t)len);
    printf("sbrk beyond RAM: %s\n", p != (void *)-1 ? "ok" : strerror(errno));
    if (p != (void *)-1)
        sbrk(-(intptr_t)len);
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    printf("MAP_NORESERVE beyond RAM: %s\n", p != MAP_FAILED ? "ok" : strerror(errno));
    if (p != MAP_FAILED)
        munmap(p, len);
    goes_on();
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "touch") == 0)
        return touch(strtoul(argv[2], NULL, 10));
    if (argc == 3 && strcmp(argv[1], "malloc") == 0)
        return malloc_mib(strtoul(argv[2], NULL, 10));
    beyond_ram();
    char *ro = reserve("PROT_READ", 8 * GIB, PROT_READ, 0);
    char *none = reserve("PROT_NONE", 64 * GIB, PROT_NONE, 0);
    char *rw = reserve("MAP_NORESERVE read-write", 16 * GIB, PROT_READ | PROT_WRITE, MAP_NORESERVE);
    /* Each writable one under RAM; together more than a small guest's. */
    char *parts[6];
    for (int i = 0; i < 6; i++)
        parts[i] = reserve("read-write", GIB, PROT_READ | PROT_WRITE, 0);
    /* Linux merges adjacent mappings like these into one area, and fork
     * refuses to copy a writable area larger than RAM (ENOMEM on a 6 GiB
     * machine): a read-only last page keeps each part its own area. */
    for (int i = 0; i < 6; i++)
        if (parts[i] != MAP_FAILED)
            mprotect(parts[i] + GIB - 4096, 4096, PROT_READ);

    printf("read-only sum %ld\n", sum_every_gib(ro, 8 * GIB));
    for (size_t at = 0; at < 16 * GIB; at += GIB / 2)
        rw[at + at / GIB] = (char)(1 + at / GIB);
    long sum = 0;
    for (size_t at = 0; at < 16 * GIB; at += GIB / 2)
        sum += rw[at + at / GIB];
    printf("read-write sum %ld, untouched %ld\n", sum, sum_every_gib(rw + 4096, 8 * GIB));
    for (int i = 0; i < 6; i++)
        memset(parts[i] + i * 4096 * 3, 'a' + i, 4096);
    printf("parts %c%c%c%c%c%c\n", parts[0][0], parts[1][3 * 4096], parts[2][6 * 4096],
           parts[3][9 * 4096], parts[4][12 * 4096], parts[5][15 * 4096]);

    /* Go's way: commit part of a PROT_NONE arena, use it, decommit it. */
    char *arena = none + 40 * GIB;
    printf("mprotect: %d\n", mprotect(arena, 64 << 20, PROT_READ | PROT_WRITE));
    strcpy(arena + (32 << 20), "arena");
    printf("arena %s\n", arena + (32 << 20));
    int advised = madvise(arena, 64 << 20, MADV_DONTNEED);
    printf("MADV_DONTNEED: %d, then %d\n", advised, arena[32 << 20]);
    printf("PROT_NONE again: %d\n", mprotect(arena, 64 << 20, PROT_NONE));

    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        rw[5] = 'c';
        parts[1][7] = 'c';
        printf("child %c %c %ld\n", rw[5], parts[1][7], sum_every_gib(ro, 8 * GIB));
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("child exit %d; parent %d %d\n", WEXITSTATUS(status), rw[5], parts[1][7]);

    int unmapped = munmap(ro, 8 * GIB) | munmap(none, 64 * GIB) | munmap(rw, 16 * GIB);
    for (int i = 0; i < 6; i++)
        unmapped |= munmap(parts[i], GIB);
    printf("munmap: %d\n", unmapped);
    return 0;
}
