/*
 * sched_calls.c — scheduling policy calls (glibc's pthread_getschedparam and
 * Go and Abseil runtimes make them): the policy and priority of the calling
 * thread and of another thread, the policies a process without privileges
 * may choose, a thread inheriting its creator's, and the errors Linux gives.
 * A real-time policy is left out: natively root gets it, the VM refuses it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

static void show(const char *what, long result)
{
    if (result < 0)
        printf("%s: -1 %s\n", what, errno_name(errno));
    else
        printf("%s: %ld\n", what, result);
}

static void *worker(void *argument)
{
    (void)argument;
    int policy = -1;
    struct sched_param param;
    memset(&param, 0xff, sizeof(param));
    int result = pthread_getschedparam(pthread_self(), &policy, &param);
    printf("worker: pthread_getschedparam %d, policy %d, priority %d\n", result, policy,
           param.sched_priority);
    return NULL;
}

int main(void)
{
    struct sched_param param = {0};
    show("sched_getscheduler(0)", sched_getscheduler(0));
    show("sched_getscheduler(pid)", sched_getscheduler(getpid()));
    show("sched_getparam(0)", sched_getparam(0, &param));
    printf("priority %d\n", param.sched_priority);
    show("max FIFO", sched_get_priority_max(SCHED_FIFO));
    show("min RR", sched_get_priority_min(SCHED_RR));
    show("max OTHER", sched_get_priority_max(SCHED_OTHER));
    show("max of policy 77", sched_get_priority_max(77));
    show("set BATCH", sched_setscheduler(0, SCHED_BATCH, &param));
    show("now", sched_getscheduler(0));
    pthread_t thread;
    int created = pthread_create(&thread, NULL, worker, NULL) == 0;
    check("pthread_create and pthread_join", created && pthread_join(thread, NULL) == 0);
    param.sched_priority = 5;
    show("OTHER at priority 5", sched_setscheduler(0, SCHED_OTHER, &param));
    show("sched_setparam priority 5", sched_setparam(0, &param));
    param.sched_priority = 0;
    show("set IDLE", sched_setscheduler(0, SCHED_IDLE, &param));
    show("now", sched_getscheduler(0));
    show("set OTHER", sched_setscheduler(0, SCHED_OTHER, &param));
    show("now", sched_getscheduler(0));
    show("sched_getparam(-1)", sched_getparam(-1, &param));
    show("sched_getparam NULL", syscall(SYS_sched_getparam, 0, NULL));
    show("sched_getscheduler(no such pid)", sched_getscheduler(0x3fffff00));
    struct timespec interval = {1, 1};
    show("sched_rr_get_interval", sched_rr_get_interval(0, &interval));
    printf("interval %ld.%09ld\n", (long)interval.tv_sec, interval.tv_nsec);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
