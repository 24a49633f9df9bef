/* div_zero: an integer division by zero; natively SIGFPE (shell status 136). */
#include <stdio.h>

int main(void)
{
    volatile int numerator = 1000, zero = 0;
    printf("dividing by zero\n");
    fflush(stdout);
    int result = numerator / zero;
    printf("still alive, result %d\n", result);
    return 0;
}
