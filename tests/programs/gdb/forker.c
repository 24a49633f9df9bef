/* forker: a program that forks, for the gdb tests. The parent is debugged; the child runs
 * child_work (where gdb has a breakpoint the child must never stop at) to completion.
 * "nowait": the parent ends without waiting for the child. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int child_work(int n)
{
    int sum = 0;
    for (int i = 1; i <= n; i++)
        sum += i;
    return sum;
}

int parent_report(int child_code)
{
    int doubled = child_code * 2;
    return doubled;
}

int main(int argc, char **argv)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("child: sum=%d\n", child_work(10));
        return 3;
    }
    if (argc > 1 && strcmp(argv[1], "nowait") == 0) {
        printf("parent: not waiting\n");
        return 0;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    int reported = parent_report(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("parent: child exited %d, reported %d\n", WEXITSTATUS(status), reported);
    return 0;
}
