/* A program for the gdb watchpoint tests: data wider than a debug register,
 * an unaligned field, a pointer that starts NULL, and neighbouring array
 * elements read and written by separate functions (so where a watchpoint
 * stops says which access it caught). */
#include <stdio.h>

struct wide {
    long first, second;
};

struct __attribute__((packed)) unaligned {
    char tag;
    int value; /* at an odd address */
};

struct wide wide;
struct unaligned unaligned = {'u', 0};
int target;
int *pointer;
int data[4] = {10, 20, 30, 40};

int read_first(void)
{
    return data[0];
}

int read_second(void)
{
    return data[1];
}

void write_fourth(int value)
{
    data[3] = value;
}

int touch_third(void)
{
    data[2] += 1;
    return data[2];
}

int main(void)
{
    wide.second = 5;
    unaligned.value = 77;
    pointer = &target;
    *pointer = 3;
    int sum = read_first();
    sum += read_second();
    write_fourth(sum);
    sum += touch_third();
    printf("wide=%ld,%ld unaligned=%d target=%d sum=%d data=%d,%d,%d,%d\n", wide.first, wide.second,
           unaligned.value, target, sum, data[0], data[1], data[2], data[3]);
    return 0;
}
