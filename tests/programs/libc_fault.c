/* libc_fault: a fault inside the C library (strlen of an unmapped address), for fault
 * reports and core files that must name the library's function and file. */
#include <stdio.h>
#include <string.h>

int main(void)
{
    const char *volatile unmapped = (const char *)0xdead0000;
    printf("before\n");
    fflush(stdout);
    return (int)strlen(unmapped);
}
