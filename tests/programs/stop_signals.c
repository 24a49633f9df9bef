/* stop_signals: SIGTSTP, SIGTTIN and SIGTTOU (and SIGSTOP) stop a child
 * with their default action, raised by the child or sent by its parent: the
 * parent's waitpid(WUNTRACED) sees it stopped by that very signal (a shell
 * says "Stopped", not "Stopped (signal)"), SIGCONT resumes it and
 * waitpid(WCONTINUED) sees that. The child is in a process group of its own
 * whose parent is outside it, so the group is not orphaned (Linux discards
 * the three in an orphaned group). Every line is the same on every run.
 * Exits non-zero when a check fails. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static const char *signal_name(int signal)
{
    switch (signal) {
    case SIGTSTP:
        return "SIGTSTP";
    case SIGTTIN:
        return "SIGTTIN";
    case SIGTTOU:
        return "SIGTTOU";
    default:
        return "SIGSTOP";
    }
}

/* The child raises signal (and says on resumed when raise returned) or
 * waits for the parent's; then it waits for SIGTERM. */
static pid_t child_in_own_group(int signal, int raise_it, int resumed)
{
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        if (raise_it) {
            raise(signal);
            (void)write(resumed, "r", 1);
        }
        for (;;)
            pause();
    }
    setpgid(pid, pid); /* whichever runs first */
    return pid;
}

static int wait_for(pid_t pid, int options)
{
    int status = 0;
    if (waitpid(pid, &status, options) != pid)
        return -1;
    return status;
}

static void stop_and_continue(int signal, int raise_it)
{
    char what[80], line[160];
    snprintf(what, sizeof(what), "%s %s", raise_it ? "raise" : "kill", signal_name(signal));
    int resumed[2];
    if (pipe(resumed) != 0)
        return;
    pid_t pid = child_in_own_group(signal, raise_it, resumed[1]);
    close(resumed[1]);
    if (!raise_it)
        kill(pid, signal);
    int status = wait_for(pid, WUNTRACED);
    printf("%s: stopped %d, stop signal %d\n", what, WIFSTOPPED(status),
           WIFSTOPPED(status) ? WSTOPSIG(status) : 0);
    snprintf(line, sizeof(line), "%s: stopped by it", what);
    check(line, WIFSTOPPED(status) && WSTOPSIG(status) == signal);
    kill(pid, SIGCONT);
    status = wait_for(pid, WCONTINUED);
    snprintf(line, sizeof(line), "%s: continued", what);
    check(line, status != -1 && WIFCONTINUED(status));
    if (raise_it) {
        char byte;
        check("  raise returned in the child", read(resumed[0], &byte, 1) == 1);
    }
    close(resumed[0]);
    kill(pid, SIGTERM);
    status = wait_for(pid, 0);
    snprintf(line, sizeof(line), "%s: then killed by SIGTERM", what);
    check(line, WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    static const int signals[] = {SIGTSTP, SIGTTIN, SIGTTOU, SIGSTOP};
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        stop_and_continue(signals[i], 1);
        stop_and_continue(signals[i], 0);
    }
    return failures ? 1 : 0;
}
