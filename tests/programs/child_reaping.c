/* child_reaping: SIGCHLD ignored or SA_NOCLDWAIT makes the kernel reap a
 * process's children as they end (daemons rely on it: no zombies), so wait
 * blocks until none is left and then fails with ECHILD; back at SIG_DFL,
 * children wait to be reaped again. An ignored SIGCHLD stays so across
 * execve. Exits non-zero when a check fails.
 *   child_reaping [after-exec] */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static pid_t child(int status)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(status);
    return pid;
}

static void reaped_for_us(const char *what)
{
    pid_t pid = child(3);
    char line[128];
    snprintf(line, sizeof(line), "%s: waitpid of an ended child", what);
    check_errno(waitpid(pid, NULL, 0), ECHILD, line);
    child(4);
    child(5);
    snprintf(line, sizeof(line), "%s: wait for any", what);
    check_errno(wait(NULL), ECHILD, line);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        reaped_for_us("SIG_IGN across execve");
        return failures ? 1 : 0;
    }
    signal(SIGCHLD, SIG_IGN);
    reaped_for_us("SIG_IGN");

    struct sigaction action = {.sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT};
    sigaction(SIGCHLD, &action, NULL);
    reaped_for_us("SA_NOCLDWAIT");

    signal(SIGCHLD, SIG_DFL);
    int status = 0;
    pid_t pid = child(6);
    check("SIG_DFL: the child waits to be reaped",
          waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 6);

    pid = fork();
    if (pid == 0) {
        signal(SIGCHLD, SIG_IGN);
        execl(argv[0], argv[0], "after-exec", (char *)NULL);
        _exit(127);
    }
    check("the exec'd child's own checks",
          waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return failures ? 1 : 0;
}
