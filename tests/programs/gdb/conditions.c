/* A program for the gdb tests of breakpoint conditions and commands run by
 * the target: a function called 1000 times, with an int and a string. */
#include <stdio.h>

int total;
static const char *const kinds[] = {"even", "odd"};

void visit(int i, const char *kind)
{
    total += i + (kind[0] == 'o');
}

int main(void)
{
    for (int i = 0; i < 1000; i++)
        visit(i, kinds[i & 1]);
    printf("total=%d\n", total);
    return 0;
}
