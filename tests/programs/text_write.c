/* text_write: writes into the program's own (read-only) code; natively SIGSEGV (status
 * 139). */
#include <stdint.h>
#include <stdio.h>

static int victim(void)
{
    return 1;
}

__attribute__((noinline)) static void patch(volatile unsigned char *code)
{
    *code = 0xc3; /* ret */
}

int main(void)
{
    printf("writing into the program's text\n");
    fflush(stdout);
    patch((volatile unsigned char *)(uintptr_t)victim);
    printf("still alive after writing text, victim %d\n", victim());
    return 0;
}
