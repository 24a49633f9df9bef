/* touch: first touch of fresh heap memory, the cost issue 11 measures.
 *   touch MIB   allocates MIB MiB with malloc and writes one byte per 4 KiB page,
 *               then prints the sum of a byte per page (so nothing is optimised out). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 300;
    size_t size = mib << 20;
    unsigned char *heap = malloc(size);
    if (!heap)
        return 1;
    for (size_t at = 0; at < size; at += 4096)
        heap[at] = (unsigned char)(at >> 12);
    unsigned long sum = 0;
    for (size_t at = 0; at < size; at += 4096)
        sum += heap[at];
    printf("%zu MiB touched, sum %lu\n", mib, sum);
    return 0;
}
