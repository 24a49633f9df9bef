/* rt_between: a real-time signal sigqueue'd to another process arrives there with its
 * value, for SIGRTMIN..SIGRTMIN+2. musl's SIGRTMIN is 35 and glibc's SIGRTMIN+1 is 35,
 * the number the monitor kicks its vCPU threads with: such a signal from outside is the
 * program's, not a kick (it was lost). */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void one_signal(int signal)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    sigprocmask(SIG_BLOCK, &set, NULL);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        siginfo_t info;
        alarm(10);
        int got = sigwaitinfo(&set, &info);
        _exit(got == signal && info.si_value.sival_int == signal * 10 ? 0 : 1);
    }
    union sigval value = {.sival_int = signal * 10};
    sigqueue(child, signal, value);
    int status = 0;
    waitpid(child, &status, 0);
    char what[64];
    snprintf(what, sizeof what, "SIGRTMIN+%d reaches a child with its value", signal - SIGRTMIN);
    check(what, WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    for (int signal = SIGRTMIN; signal <= SIGRTMIN + 2; signal++)
        one_signal(signal);
    return failures ? 1 : 0;
}
