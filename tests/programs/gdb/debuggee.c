/* A program for the gdb tests: functions, a struct, a global, a loop. */
#include <stdio.h>
#include <string.h>

struct point {
    int x, y;
};

int counter;
struct point origin = {7, 9};

int add(int a, int b)
{
    return a + b;
}

int scale(struct point *p, int factor)
{
    p->x *= factor;
    p->y *= factor;
    return p->x + p->y;
}

int main(int argc, char **argv)
{
    struct point p = {3, 4};
    int total = 0;
    for (int i = 0; i < 5; i++) {
        total = add(total, i);
        counter++;
    }
    int scaled = scale(&p, 2);
    /* The gdb tests set counter here and expect to see their value. */
    printf("total=%d counter=%d scaled=%d origin=%d,%d argc=%d\n", total, counter, scaled, origin.x,
           origin.y, argc);
    /* With an argument: loop until the debugger interrupts and kills it. */
    int spin = argc > 1 ? (int)strlen(argv[1]) : 0;
    volatile unsigned long spins = 0;
    while (spin > 0)
        spins++;
    return total;
}
