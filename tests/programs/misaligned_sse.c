/* misaligned_sse: movaps on an address that is not 16-byte aligned raises #GP;
 * natively SIGSEGV (status 139). */
#include <stdio.h>

static _Alignas(16) char buffer[64];

__attribute__((noinline)) static void load_aligned(const char *address)
{
    __asm__ volatile("movaps (%0), %%xmm0" : : "r"(address) : "xmm0", "memory");
}

int main(void)
{
    printf("movaps from an address 1 byte off alignment\n");
    fflush(stdout);
    load_aligned(buffer + 1);
    printf("still alive after a misaligned movaps\n");
    return 0;
}
