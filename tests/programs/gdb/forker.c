/* forker: a program that forks, for the gdb tests. The parent is debugged; the child runs
 * child_work (where gdb has a breakpoint the child must never stop at) to completion.
 * "nowait": the parent ends without waiting for the child.
 * "tree": the parent forks child 1, which forks a grandchild, and child 2, then calls
 * parent_report and ends without waiting; each child runs child_work and exits with its
 * own code (for detach-on-fork off: gdb keeps every process).
 * "relay": the parent forks a child that waits for a byte the parent writes after the
 * fork, then waits for it: both must run at once (schedule-multiple on). */
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

static void tree(void)
{
    fflush(stdout);
    if (fork() == 0) {
        if (fork() == 0) {
            printf("grandchild: sum=%d\n", child_work(5));
            fflush(stdout);
            _exit(5);
        }
        printf("child 1: sum=%d\n", child_work(10));
        fflush(stdout);
        _exit(3);
    }
    if (fork() == 0) {
        printf("child 2: sum=%d\n", child_work(20));
        fflush(stdout);
        _exit(4);
    }
    printf("parent: not waiting, reported %d\n", parent_report(0));
}

static int relay(void)
{
    int channel[2];
    if (pipe(channel) != 0)
        return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char byte = 0;
        close(channel[1]);
        if (read(channel[0], &byte, 1) != 1)
            _exit(1);
        printf("child: got %c, sum=%d\n", byte, child_work(10));
        fflush(stdout);
        fflush(stdout);
        _exit(3);
    }
    close(channel[0]);
    if (write(channel[1], "x", 1) != 1)
        return 1;
    int status = 0;
    waitpid(pid, &status, 0);
    int reported = parent_report(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("parent: child exited %d, reported %d\n", WEXITSTATUS(status), reported);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "tree") == 0) {
        tree();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "relay") == 0)
        return relay();
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
