/* tlb_pressure: data that a small software TLB cannot hold. Two 16 MiB buffers exactly
 * 64 MiB apart (their pages fall on the same entries of any direct-mapped TLB of up to
 * 16 Ki entries) are read and written in turns, page by page, for some rounds; between
 * rounds pages are dropped (MADV_DONTNEED: they must read zero), made read-only and
 * writable again, and an unrelated mapping comes and goes. Under tcg this makes the TLB
 * grow while the mappings change under it. Prints checksums; exits 1 on a wrong value.
 *   tlb_pressure [ROUNDS]   (default 12) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE  4096UL
#define MIB   (1024UL * 1024UL)
#define SPAN  (16 * MIB)
#define APART (64 * MIB)
#define PAGES (SPAN / PAGE)
#define WORDS (PAGE / sizeof(uint64_t))

static uint64_t *word(char *base, size_t page, size_t index)
{
    return (uint64_t *)(base + page * PAGE) + index;
}

static int check_dropped(char *a, size_t first, size_t count)
{
    for (size_t p = first; p < first + count; p++)
        for (size_t w = 0; w < WORDS; w += 97)
            if (*word(a, p, w)) {
                printf("page %zu word %zu: %#llx after MADV_DONTNEED\n", p, w,
                       (unsigned long long)*word(a, p, w));
                return 1;
            }
    return 0;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 12;
    char *area =
        mmap(NULL, APART + SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    char *a = area, *b = area + APART;
    for (size_t p = 0; p < PAGES; p++) {
        *word(a, p, p % WORDS) = p * 0x9e3779b97f4a7c15ULL;
        *word(b, p, (p * 7) % WORDS) = p ^ 0x5555;
    }
    uint64_t sum = 0;
    for (int r = 0; r < rounds; r++) {
        for (size_t p = 0; p < PAGES; p++) {
            uint64_t *x = word(a, p, p % WORDS), *y = word(b, p, (p * 7) % WORDS);
            *x += *y ^ (uint64_t)r;
            *y += *x >> 3;
            sum += *x ^ *y;
        }
        /* Mappings change under the TLB: a page range dropped, read-only and back,
         * another mapping made and removed. */
        size_t first = ((size_t)r * 331) % (PAGES - 64);
        if (madvise(a + first * PAGE, 64 * PAGE, MADV_DONTNEED) != 0 || check_dropped(a, first, 64))
            return 1;
        if (mprotect(b, SPAN / 2, PROT_READ) != 0 || mprotect(b, SPAN / 2, PROT_READ | PROT_WRITE))
            return 1;
        char *other =
            mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (other == MAP_FAILED)
            return 1;
        memset(other, r, 8 * PAGE);
        sum += (unsigned char)other[5 * PAGE + 1];
        munmap(other, 8 * PAGE);
        printf("round %d: %016llx\n", r, (unsigned long long)sum);
    }
    return 0;
}
