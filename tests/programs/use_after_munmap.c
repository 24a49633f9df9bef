/* Reads memory it has just unmapped: must die of SIGSEGV, as natively, even
 * though the monitor gave the frames back without an explicit flush. Before
 * that, mapping again must show zeros, not the old contents. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void)
{
    size_t length = 64 * 4096;
    for (int round = 0; round < 50; round++) {
        char *first =
            mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (first == MAP_FAILED)
            return 1;
        memset(first, 0x5a, length);
        munmap(first, length);
        char *second =
            mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; i < length; i += 4096) {
            if (second[i] != 0) {
                printf("round %d: a fresh mapping shows old contents\n", round);
                return 1;
            }
        }
        munmap(second, length);
    }
    char *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    gone[0] = 1;
    munmap(gone, 4096);
    printf("fresh mappings read as zero; now reading unmapped memory\n");
    fflush(stdout);
    return *(volatile char *)gone;
}
