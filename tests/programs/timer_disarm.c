/* timer_disarm: no timer signal arrives after the call that disarmed or
 * re-armed the timer has returned. An interval timer of 100 us runs until
 * its first tick, is disarmed (setitimer, timer_settime) or re-armed for
 * 10 s, and the program then spins 1 ms without system calls: on Linux an
 * expiry before the call was queued before it returned, so nothing comes
 * in that millisecond. (A tick posted late by the monitor, from a host
 * callback that ran after the call, once released gdb-signals int3-spin's
 * loop.) Prints counts of late ticks, never times; exits non-zero when one
 * came. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "check.h"

#define ROUNDS 100

static volatile sig_atomic_t ticks;

static void on_tick(int signal)
{
    (void)signal;
    ticks++;
}

static long long now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* 1 ms without system calls (clock_gettime is the vDSO's): whether a tick
 * came in it. */
static int tick_while_quiet(void)
{
    int before = ticks;
    long long start = now_ns();
    while (now_ns() - start < 1000000)
        ;
    return ticks != before;
}

static void wait_for_tick(int before)
{
    while (ticks == before)
        ;
}

static int itimer_round(int which, int rearm)
{
    struct itimerval every = {{0, 100}, {0, 100}}, after = {{0, 0}, {rearm ? 10 : 0, 0}};
    int before = ticks;
    setitimer(which, &every, NULL);
    wait_for_tick(before);
    setitimer(which, &after, NULL);
    int late = tick_while_quiet();
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(which, &off, NULL);
    return late;
}

static int posix_round(timer_t timer, int rearm)
{
    struct itimerspec every = {{0, 100000}, {0, 100000}}, after = {{0, 0}, {rearm ? 10 : 0, 0}};
    int before = ticks;
    timer_settime(timer, 0, &every, NULL);
    wait_for_tick(before);
    timer_settime(timer, 0, &after, NULL);
    int late = tick_while_quiet();
    struct itimerspec off = {{0, 0}, {0, 0}};
    timer_settime(timer, 0, &off, NULL);
    return late;
}

static void report(const char *what, int late)
{
    char line[128];
    snprintf(line, sizeof line, "%s: %d late ticks in %d rounds", what, late, ROUNDS);
    check(line, late == 0);
}

int main(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_tick;
    action.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &action, NULL);
    sigaction(SIGPROF, &action, NULL);
    sigaction(SIGRTMIN, &action, NULL);

    static const struct {
        const char *name;
        int which;
    } itimers[] = {{"setitimer ITIMER_REAL", ITIMER_REAL}, {"setitimer ITIMER_PROF", ITIMER_PROF}};
    for (size_t i = 0; i < sizeof itimers / sizeof itimers[0]; i++) {
        for (int rearm = 0; rearm < 2; rearm++) {
            int late = 0;
            for (int round = 0; round < ROUNDS; round++)
                late += itimer_round(itimers[i].which, rearm);
            char what[96];
            snprintf(what, sizeof what, "%s, %s", itimers[i].name,
                     rearm ? "re-armed for 10 s" : "disarmed");
            report(what, late);
        }
    }

    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGRTMIN;
    timer_t timer;
    check("timer_create CLOCK_MONOTONIC", timer_create(CLOCK_MONOTONIC, &event, &timer) == 0);
    for (int rearm = 0; rearm < 2; rearm++) {
        int late = 0;
        for (int round = 0; round < ROUNDS; round++)
            late += posix_round(timer, rearm);
        report(rearm ? "timer_settime, re-armed for 10 s" : "timer_settime, disarmed", late);
    }
    timer_delete(timer);
    return failures ? 1 : 0;
}
