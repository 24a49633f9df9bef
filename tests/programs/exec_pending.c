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
 *   exec_pending itimer   arms ITIMER_REAL (0.3 s, interval 0.25 s) and
 *                         execs itself with "itimer-after", which sees the
 *                         timer still armed and its SIGALRM arrive
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
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

static volatile sig_atomic_t alarms;

static void on_alarm(int signal)
{
    (void)signal;
    alarms++;
}

static int itimer_after(void)
{
    struct itimerval left;
    getitimer(ITIMER_REAL, &left);
    printf("after exec: ITIMER_REAL armed %d, left at most 0.3 s %d, interval %ld.%06ld\n",
           left.it_value.tv_sec > 0 || left.it_value.tv_usec > 0,
           left.it_value.tv_sec == 0 && left.it_value.tv_usec <= 300000,
           (long)left.it_interval.tv_sec, (long)left.it_interval.tv_usec);
    signal(SIGALRM, on_alarm);
    /* SIGALRM was blocked across the exec: an expiry during a slow exec
     * waits pending instead of killing the new image. */
    sigset_t open_mask;
    sigemptyset(&open_mask);
    while (alarms < 2)
        sigsuspend(&open_mask);
    setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {0, 0}}, NULL);
    printf("SIGALRM arrived twice\n");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "after") == 0)
        return after();
    if (argc > 1 && strcmp(argv[1], "itimer-after") == 0)
        return itimer_after();
    if (argc > 1 && strcmp(argv[1], "itimer") == 0) {
        sigset_t alarm_set;
        sigemptyset(&alarm_set);
        sigaddset(&alarm_set, SIGALRM);
        sigprocmask(SIG_BLOCK, &alarm_set, NULL);
        setitimer(ITIMER_REAL, &(struct itimerval){{0, 250000}, {0, 300000}}, NULL);
        char *const args[] = {argv[0], "itimer-after", NULL};
        execv("/proc/self/exe", args);
        perror("execv");
        return 1;
    }
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
