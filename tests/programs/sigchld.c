/* sigchld: a child's end reaches the parent as SIGCHLD, with the siginfo Linux
 * fills (si_code, si_pid, si_status), whether the child exits or is killed; with
 * SIG_DFL it is ignored and wait still reports the child. A program that waits for
 * its SIGCHLD handler in sigsuspend hung before the monitor forwarded it. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t got_code, got_pid, got_status;

static void on_child(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)context;
    got_code = info->si_code;
    got_pid = info->si_pid;
    got_status = info->si_status;
}

/* Starts a child that ends as `how` says, waits for its SIGCHLD, reaps it. */
static void one_child(const char *how, int expect_code, int expect_status)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    got_code = 0;
    pid_t child = fork();
    if (child == 0) {
        if (expect_code == CLD_KILLED)
            pause();
        _exit(expect_status);
    }
    if (expect_code == CLD_KILLED)
        kill(child, expect_status);
    while (!got_code)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    int status;
    pid_t reaped = waitpid(child, &status, 0);
    char what[96];
    snprintf(what, sizeof(what), "%s: SIGCHLD with si_code, si_pid and si_status", how);
    check(what, got_code == expect_code && got_pid == child && got_status == expect_status);
    snprintf(what, sizeof(what), "%s: waitpid reports it", how);
    check(what,
          reaped == child && (expect_code == CLD_EXITED
                                  ? WIFEXITED(status) && WEXITSTATUS(status) == expect_status
                                  : WIFSIGNALED(status) && WTERMSIG(status) == expect_status));
}

int main(void)
{
    struct sigaction action = {0};
    action.sa_sigaction = on_child;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &action, NULL);
    one_child("exit 7", CLD_EXITED, 7);
    one_child("killed by SIGTERM", CLD_KILLED, SIGTERM);

    /* SIG_DFL: ignored, and the child is still a zombie to wait for. */
    signal(SIGCHLD, SIG_DFL);
    pid_t child = fork();
    if (child == 0)
        _exit(3);
    int status;
    check("SIG_DFL: waitpid reports exit 3",
          waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 3);
    return failures ? 1 : 0;
}
