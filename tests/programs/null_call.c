/* null_call: calls through a NULL function pointer, so the CPU fetches an instruction
 * at address 0; natively SIGSEGV (status 139). The caller survives on the stack as the
 * return address the call pushed, which a backtrace must find. */
#include <stdio.h>

static void (*volatile callback)(void);

int main(void)
{
    printf("calling a NULL function pointer\n");
    fflush(stdout);
    callback();
    printf("still alive after calling NULL\n");
    return 0;
}
