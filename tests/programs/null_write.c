/* null_write: the HermiTux seed example. Writes through a NULL pointer; natively the
 * process dies of SIGSEGV (shell status 139). */
#include <stdio.h>

int main(void)
{
    volatile int *volatile pointer = NULL;
    printf("writing through a NULL pointer\n");
    fflush(stdout);
    *pointer = 42;
    printf("still alive after writing through NULL\n");
    return 0;
}
