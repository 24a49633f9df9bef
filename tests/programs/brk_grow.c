/* brk_grow [STEPS] [beyond]: grows the heap with brk one page at a time,
 * writing each page as it comes, checks every page afterwards, gives half
 * back and grows it again (the pages come back zeroed, as Linux gives
 * them). With "beyond", then touches the page just past the break: SIGSEGV,
 * as natively. Prints only deterministic facts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096

/* The brk system call itself: musl's sbrk refuses to move the break, and
 * nothing here allocates (stdout has a static buffer). */
static uintptr_t set_break(uintptr_t address)
{
    return (uintptr_t)syscall(SYS_brk, address);
}

static char output[4096];

static long check(unsigned char *base, long pages, int zero)
{
    long bad = 0;
    for (long i = 0; i < pages; i++) {
        unsigned char want = zero ? 0 : (unsigned char)(i * 7 + 1);
        if (base[i * PAGE] != want || base[i * PAGE + PAGE - 1] != want)
            bad++;
    }
    return bad;
}

int main(int argc, char **argv)
{
    long steps = argc > 1 ? atol(argv[1]) : 3000;
    int beyond = argc > 2 && strcmp(argv[2], "beyond") == 0;
    setvbuf(stdout, output, _IOFBF, sizeof(output));
    uintptr_t start = (set_break(0) + PAGE - 1) / PAGE * PAGE;
    unsigned char *base = (unsigned char *)start;
    for (long i = 0; i < steps; i++) {
        if (set_break(start + (uintptr_t)(i + 1) * PAGE) != start + (uintptr_t)(i + 1) * PAGE)
            return 3;
        unsigned char *page = base + i * PAGE;
        page[0] = page[PAGE - 1] = (unsigned char)(i * 7 + 1);
    }
    printf("grown by %ld pages, wrong: %ld\n", steps, check(base, steps, 0));
    long half = steps / 2;
    if (set_break(start + (uintptr_t)(steps - half) * PAGE) !=
        start + (uintptr_t)(steps - half) * PAGE)
        return 4;
    for (long i = steps - half; i < steps; i++) {
        if (set_break(start + (uintptr_t)(i + 1) * PAGE) != start + (uintptr_t)(i + 1) * PAGE)
            return 5;
    }
    printf("regrown %ld pages, not zero: %ld, first half wrong: %ld\n", half,
           check(base + (steps - half) * PAGE, half, 1), check(base, steps - half, 0));
    if (beyond) {
        fflush(stdout);
        *(volatile unsigned char *)(base + steps * PAGE) = 1;
        printf("wrote past the break\n");
    }
    return 0;
}
