/* ud2: executes the undefined instruction ud2; natively SIGILL (shell status 132). */
#include <stdio.h>

int main(void)
{
    printf("executing ud2\n");
    fflush(stdout);
    __asm__ volatile("ud2");
    printf("still alive after ud2\n");
    return 0;
}
