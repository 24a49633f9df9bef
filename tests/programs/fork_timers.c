/* fork_timers: a fork's child has none of its parent's timers (fork(2)):
 * its interval timers read 0, its parent's POSIX timer id is not its own
 * (EINVAL), and a timer it sets fires for it. Before, the child inherited
 * the parent's slots: getitimer read hours left, setitimer failed and the
 * child's pause() waited for ever. Prints facts, never times. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int signal)
{
    (void)signal;
    alarms++;
}

static int child_side(timer_t parent_timer)
{
    static const int which[] = {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF};
    int zero = 1;
    for (size_t i = 0; i < sizeof which / sizeof which[0]; i++) {
        struct itimerval left;
        if (getitimer(which[i], &left) != 0 || left.it_value.tv_sec || left.it_value.tv_usec)
            zero = 0;
    }
    check("child: interval timers not inherited", zero);
    struct itimerspec spec;
    errno = 0;
    int result = timer_gettime(parent_timer, &spec);
    printf("child: timer_gettime of the parent's timer: %d %s\n", result, errno_name(errno));
    struct itimerval soon = {{0, 0}, {0, 20000}};
    check("child: setitimer", setitimer(ITIMER_REAL, &soon, NULL) == 0);
    while (!alarms)
        pause();
    check("child: its own SIGALRM came", alarms == 1);
    return failures ? 1 : 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGALRM, on_alarm);
    struct itimerval later = {{1, 0}, {100, 0}};
    check("parent: setitimer ITIMER_REAL 100 s", setitimer(ITIMER_REAL, &later, NULL) == 0);
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGUSR1;
    timer_t timer;
    check("parent: timer_create", timer_create(CLOCK_MONOTONIC, &event, &timer) == 0);
    struct itimerspec armed = {{0, 0}, {100, 0}};
    check("parent: timer_settime 100 s", timer_settime(timer, 0, &armed, NULL) == 0);
    pid_t child = fork();
    if (child == 0)
        _exit(child_side(timer));
    int status = 0;
    waitpid(child, &status, 0);
    check("child exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct itimerval left;
    getitimer(ITIMER_REAL, &left);
    check("parent: its timer still set", left.it_value.tv_sec > 90);
    check("parent: no SIGALRM", alarms == 0);
    return failures ? 1 : 0;
}
