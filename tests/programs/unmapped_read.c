/* unmapped_read: reads an address nothing is mapped at; natively SIGSEGV (status 139). */
#include <stdint.h>
#include <stdio.h>

/* Far above the program and its heap, far below where mmap places things. */
#define UNMAPPED_ADDRESS 0xdead0000UL

__attribute__((noinline)) static int peek(const volatile int *pointer)
{
    return *pointer;
}

int main(void)
{
    printf("reading address %#lx\n", UNMAPPED_ADDRESS);
    fflush(stdout);
    int value = peek((const volatile int *)(uintptr_t)UNMAPPED_ADDRESS);
    printf("still alive, read %d\n", value);
    return 0;
}
