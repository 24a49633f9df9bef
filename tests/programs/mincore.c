/* mincore: which pages of anonymous memory are resident, as libunwind,
 * garbage collectors and vmtouch ask: pages the program touched are, pages
 * it gave back with MADV_DONTNEED are not; the errors are Linux's. (Pages
 * it never touched are not resident natively; under hermitux-run they may
 * be, as guest RAM comes in 2 MiB host pages: not checked.) Exits non-zero
 * when a check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

#define PAGES 8

static int residency(unsigned char *vec, const char *expected)
{
    for (int i = 0; i < PAGES; i++)
        if ((vec[i] & 1) != expected[i] - '0')
            return 0;
    return 1;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    long page = sysconf(_SC_PAGESIZE);
    char *memory =
        mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        return 2;
    unsigned char vec[PAGES];
    memset(vec, 0xff, sizeof(vec));
    check("mincore of fresh memory", mincore(memory, PAGES * page, vec) == 0);
    memory[0] = 1;
    memory[2 * page + 7] = 1;
    memory[7 * page] = 1;
    check("touched pages are resident",
          mincore(memory, PAGES * page, vec) == 0 && (vec[0] & vec[2] & vec[7] & 1) == 1);
    memset(vec, 0xff, sizeof(vec));
    check("a length not a page multiple covers the last page",
          mincore(memory + 6 * page, page + 1, vec) == 0 && vec[1] == 1 && vec[2] == 0xff);
    madvise(memory, PAGES * page, MADV_DONTNEED);
    check("MADV_DONTNEED gives them back",
          mincore(memory, PAGES * page, vec) == 0 && residency(vec, "00000000"));
    check("a zero length", mincore(memory, 0, vec) == 0);
    check_errno(mincore(memory + 1, page, vec), EINVAL, "an unaligned start");
    check_errno(mincore(memory, page, (unsigned char *)8), EFAULT, "a vector it cannot write");
    munmap(memory + 4 * page, page);
    check_errno(mincore(memory, PAGES * page, vec), ENOMEM, "a range with a hole");
    check_errno(mincore((void *)(1UL << 47), page, vec), ENOMEM, "past the user address space");
    return failures ? 1 : 0;
}
