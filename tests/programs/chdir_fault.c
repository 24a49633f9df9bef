/* chdir_fault: moves to DIR, sets umask 0777, then writes through NULL (139). The
 * monitor's own files (--core, --gdb unix:) must stay where and as the user asked. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) != 0) {
        perror("chdir_fault: chdir");
        return 2;
    }
    umask(0777);
    printf("in %s\n", argv[1]);
    fflush(stdout);
    volatile int *volatile pointer = NULL;
    *pointer = 42;
    return 0;
}
