/* A program for the gdb tests: it reads the first byte of its own function
 * target() before calling it, as gdb's bp-permanent.exp does. A software
 * breakpoint there is an int3 written into the program's memory under
 * gdbserver, so the program sees 0xcc. */
#include <stdio.h>

int calls;

void target(void)
{
    calls++;
}

int main(void)
{
    unsigned char first = *(volatile unsigned char *)(void *)target;
    printf("first byte %02x\n", first);
    target();
    printf("calls %d\n", calls);
    return 0;
}
