/* int3: a breakpoint instruction with no debugger attached; natively SIGTRAP (status
 * 133). */
#include <stdio.h>

int main(void)
{
    printf("executing int3\n");
    fflush(stdout);
    __asm__ volatile("int3");
    printf("still alive after int3\n");
    return 0;
}
