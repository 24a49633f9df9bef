/* narrowing: a change that narrows a mapping takes effect at once, however
 * the accelerator caches translations (a shadow-paging KVM keeps them until
 * it is told to drop them).
 * 200 rounds of: write two pages, make one read-only and the other
 * inaccessible and check that a write and a read fault (SIGSEGV, caught),
 * open the first again and write it, unmap everything and check that a read
 * faults. Prints the number of accesses that should have faulted but did not,
 * or faulted but should not have. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096

static sigjmp_buf jump;

static void on_segv(int signal)
{
    (void)signal;
    siglongjmp(jump, 1);
}

static int writes(volatile char *address)
{
    if (sigsetjmp(jump, 1))
        return 0;
    *address = 1;
    return 1;
}

static int reads(volatile char *address)
{
    if (sigsetjmp(jump, 1))
        return 0;
    (void)*address;
    return 1;
}

int main(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_segv;
    action.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &action, NULL);
    int wrong = 0;
    for (int round = 0; round < 200; round++) {
        char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        p[0] = 1;
        p[PAGE] = 2;
        p[3 * PAGE] = 3;
        mprotect(p, PAGE, PROT_READ);
        wrong += writes(p);
        mprotect(p + PAGE, PAGE, PROT_NONE);
        wrong += reads(p + PAGE);
        mprotect(p, PAGE, PROT_READ | PROT_WRITE);
        wrong += !writes(p);
        munmap(p, 4 * PAGE);
        wrong += reads(p);
        wrong += reads(p + 3 * PAGE);
    }
    printf("accesses that went wrong: %d\n", wrong);
    return wrong != 0;
}
