/* stack_overflow: unbounded recursion runs into the stack guard page; natively SIGSEGV
 * (status 139) once the 8 MiB stack is used up. */
#include <stdio.h>

/* volatile so the compiler can neither turn the recursion into a loop nor see that it
 * never ends. */
static volatile long depth_limit = 1L << 40;

static long recurse(long depth)
{
    volatile char frame[256];
    frame[0] = (char)depth;
    if (depth >= depth_limit)
        return frame[0];
    return recurse(depth + 1) + frame[0];
}

int main(void)
{
    printf("recursing without end\n");
    fflush(stdout);
    long result = recurse(0);
    printf("still alive, result %ld\n", result);
    return 0;
}
