/*
 * sched_calls.c — scheduling policy calls (glibc's pthread_getschedparam and
 * Go and Abseil runtimes make them): the policy and priority of the calling
 * thread and of another thread, the policies a process without privileges
 * may choose, a thread inheriting its creator's, and the errors Linux gives.
 * A real-time policy is left out: natively root gets it, the VM refuses it.
 * CPU affinity: a mask set is the one read back, by the thread and by tid,
 * and threads, a fork child and an execve'd program start with it (nproc's
 * answer under taskset). Usage: sched_calls [affinity-count]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

/* ---- CPU affinity ---- */

static cpu_set_t only_first; /* the first CPU the program started with, alone */
static pthread_barrier_t affinity_barrier;
static pid_t worker_tid;

static int allowed_count(pid_t tid)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    return sched_getaffinity(tid, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
}

static int has_only_first(pid_t tid)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    return sched_getaffinity(tid, sizeof(set), &set) == 0 && CPU_EQUAL(&set, &only_first);
}

/* A thread created under the one-CPU mask: it has it too, then takes all of
 * them back for itself alone while main looks at it by tid. */
static void *affinity_worker(void *argument)
{
    const cpu_set_t *all = argument;
    check("a new thread inherits its creator's affinity", has_only_first(0));
    check("the thread widens its own mask", sched_setaffinity(0, sizeof(*all), all) == 0);
    worker_tid = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&affinity_barrier);
    pthread_barrier_wait(&affinity_barrier); /* main has read it */
    return NULL;
}

static void affinity_errors(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    show("sched_setaffinity(empty mask)", sched_setaffinity(0, sizeof(set), &set));
    CPU_SET(CPU_SETSIZE - 1, &set); /* no machine of the tests has CPU 1023 online */
    show("sched_setaffinity(offline CPU)", sched_setaffinity(0, sizeof(set), &set));
    show("sched_setaffinity(no such tid)", sched_setaffinity(0x3fffff00, sizeof(set), &set));
    show("sched_getaffinity(no such tid)", sched_getaffinity(0x3fffff00, sizeof(set), &set));
    show("sched_getaffinity(0, 1 byte)", syscall(SYS_sched_getaffinity, 0, 1, &set));
    show("sched_setaffinity NULL", syscall(SYS_sched_setaffinity, 0, sizeof(set), NULL));
    show("sched_getaffinity NULL", syscall(SYS_sched_getaffinity, 0, sizeof(set), NULL));
}

static void affinity(void)
{
    cpu_set_t all;
    CPU_ZERO(&all);
    check("sched_getaffinity", sched_getaffinity(0, sizeof(all), &all) == 0 && CPU_COUNT(&all));
    CPU_ZERO(&only_first);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &all)) {
            CPU_SET(cpu, &only_first);
            break;
        }
    }
    check("sched_setaffinity to one CPU",
          sched_setaffinity(0, sizeof(only_first), &only_first) == 0);
    printf("CPUs allowed now: %d\n", allowed_count(0));
    check("read back as set", has_only_first(0));
    check("read back by the pid", has_only_first(getpid()));
    check("by gettid", has_only_first((pid_t)syscall(SYS_gettid)));

    pthread_barrier_init(&affinity_barrier, NULL, 2);
    pthread_t thread;
    pthread_create(&thread, NULL, affinity_worker, &all);
    pthread_barrier_wait(&affinity_barrier);
    check("the thread's own mask by its tid", allowed_count(worker_tid) == CPU_COUNT(&all));
    check("main's unchanged", has_only_first(0));
    pthread_barrier_wait(&affinity_barrier);
    pthread_join(thread, NULL);

    fflush(stdout);
    pid_t child = fork();
    if (child == 0)
        _exit(has_only_first(0) ? 0 : 1);
    int status = -1;
    waitpid(child, &status, 0);
    check("a fork child inherits it", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    child = fork();
    if (child == 0) {
        execl("/proc/self/exe", "sched_calls", "affinity-count", (char *)NULL);
        _exit(127);
    }
    waitpid(child, &status, 0);
    check("so does the program it execs", WIFEXITED(status) && WEXITSTATUS(status) == 1);

    affinity_errors();
    check("all CPUs back",
          sched_setaffinity(0, sizeof(all), &all) == 0 && allowed_count(0) == CPU_COUNT(&all));
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "affinity-count") == 0)
        return allowed_count(0); /* the execve'd program: how many CPUs it may use */
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
    affinity();
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
