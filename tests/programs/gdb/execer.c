/* execer: a program that replaces itself (execve of its own file with one more argument),
 * for the gdb tests: the debugger stays with it across the execve. */
#include <stdio.h>
#include <unistd.h>

int after_exec(const char *argument)
{
    printf("after exec: %s\n", argument);
    return 3;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return after_exec(argv[1]);
    printf("before exec\n");
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "again", (char *)NULL);
    perror("execl");
    return 1;
}
