/*
 * exec_pending.c — signals pending at execve stay pending in the new
 * program (Linux keeps the process's set and the caller's own), with their
 * siginfo; the blocked mask is kept, handlers are reset.
 *
 *   exec_pending          blocks SIGUSR1, SIGUSR2 and SIGRTMIN+2, makes them
 *                         pending (kill, tkill, two sigqueue values), execs
 *                         itself with "after"
 *   exec_pending after    reports what is pending and takes each signal
 *                         with sigtimedwait, showing its code and value
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER:
        return "SI_USER";
    case SI_TKILL:
        return "SI_TKILL";
    case SI_QUEUE:
        return "SI_QUEUE";
    default:
        return "other";
    }
}

static int after(void)
{
    sigset_t blocked, pending;
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    sigpending(&pending);
    int rt = SIGRTMIN + 2;
    printf("blocked after exec: USR1 %d USR2 %d RTMIN+2 %d\n", sigismember(&blocked, SIGUSR1),
           sigismember(&blocked, SIGUSR2), sigismember(&blocked, rt));
    printf("pending after exec: USR1 %d USR2 %d RTMIN+2 %d\n", sigismember(&pending, SIGUSR1),
           sigismember(&pending, SIGUSR2), sigismember(&pending, rt));
    struct timespec zero = {0, 0};
    for (;;) {
        siginfo_t info;
        int signal = sigtimedwait(&blocked, &info, &zero);
        if (signal < 0)
            break;
        printf("took %s, %s", signal == rt ? "SIGRTMIN+2" : strsignal(signal),
               code_name(info.si_code));
        if (info.si_code == SI_QUEUE)
            printf(" value %d", info.si_value.sival_int);
        printf(", from this pid %d\n", info.si_pid == getpid());
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "after") == 0)
        return after();
    int rt = SIGRTMIN + 2;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, rt);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR1);                          /* the process's */
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2); /* this thread's */
    sigqueue(getpid(), rt, (union sigval){.sival_int = 41});
    sigqueue(getpid(), rt, (union sigval){.sival_int = 42});
    char *const args[] = {argv[0], "after", NULL};
    execv("/proc/self/exe", args);
    perror("execv");
    return 1;
}
