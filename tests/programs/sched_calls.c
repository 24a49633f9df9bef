/*
 * sched_calls.c — scheduling policy calls (glibc's pthread_getschedparam and
 * Go and Abseil runtimes make them): the policy and priority of the calling
 * thread and of another thread, the policies a process without privileges
 * may choose, a thread inheriting its creator's, and the errors Linux gives.
 * A real-time policy is left out: natively root gets it, the VM refuses it.
 * CPU affinity: a mask set is the one read back, by the thread and by tid,
 * and threads, a fork child and an execve'd program start with it (nproc's
 * answer under taskset). sched_getattr and sched_setattr (chrt, schedtool),
 * ioprio_get and ioprio_set (ionice) on the program's threads, with the
 * values a thread, a fork child and an execve'd program then have, and the
 * errors Linux gives. Usage: sched_calls [affinity-count|ioprio]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
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
    /* Linux checks the length before it looks for the thread (-1: none). */
    show("sched_getaffinity(-1, 1 byte)", syscall(SYS_sched_getaffinity, -1, 1, &set));
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

/* ---- sched_getattr, sched_setattr ---- */

/* struct sched_attr (linux/sched/types.h), SCHED_ATTR_SIZE_VER1. */
struct attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};
#define FLAG_KEEP_POLICY 0x08
#define FLAG_KEEP_PARAMS 0x10
#ifndef SYS_sched_getattr
#define SYS_sched_setattr 314
#define SYS_sched_getattr 315
#endif

static long get_attr(pid_t tid, struct attr *attr, unsigned size)
{
    memset(attr, 0xee, sizeof(*attr));
    return syscall(SYS_sched_getattr, tid, attr, size, 0);
}

static void show_attr(const char *what, pid_t tid)
{
    struct attr attr;
    long result = get_attr(tid, &attr, sizeof(attr));
    show(what, result);
    if (result == 0)
        printf("  size %u, policy %u, flags %#llx, nice %d, priority %u, util %u..%u\n", attr.size,
               attr.policy, (unsigned long long)attr.flags, attr.nice, attr.priority, attr.util_min,
               attr.util_max);
}

static long set_attr(pid_t tid, uint32_t policy, int nice, uint64_t flags)
{
    struct attr attr = {.size = sizeof(attr), .policy = policy, .flags = flags, .nice = nice};
    return syscall(SYS_sched_setattr, tid, &attr, 0);
}

static void *attr_worker(void *argument)
{
    (void)argument;
    show_attr("worker: sched_getattr(0)", 0);
    worker_tid = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&affinity_barrier);
    pthread_barrier_wait(&affinity_barrier);
    return NULL;
}

static void sched_attr_calls(void)
{
    struct attr attr;
    show_attr("sched_getattr(0)", 0);
    show_attr("sched_getattr(pid)", getpid());
    show("sched_getattr, size 48", get_attr(0, &attr, 48));
    printf("  size %u\n", attr.size);
    show("sched_getattr, size 47", get_attr(0, &attr, 47));
    show("sched_getattr, size 4097", get_attr(0, &attr, 4097));
    show("sched_getattr, flags 1", syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 1));
    show("sched_getattr NULL", syscall(SYS_sched_getattr, 0, NULL, sizeof(attr), 0));
    show("sched_getattr at 16", syscall(SYS_sched_getattr, 0, (void *)16, sizeof(attr), 0));
    show("sched_getattr(no such tid)", get_attr(0x3fffff00, &attr, sizeof(attr)));
    show("sched_getattr(-1)", get_attr(-1, &attr, sizeof(attr)));

    show("sched_setattr BATCH, nice 5", set_attr(0, SCHED_BATCH, 5, 0));
    show("sched_getscheduler", sched_getscheduler(0));
    errno = 0;
    show("getpriority", getpriority(PRIO_PROCESS, 0));
    show_attr("sched_getattr(0)", 0);
    show("sched_setattr keeping policy and nice",
         set_attr(0, SCHED_IDLE, 9, FLAG_KEEP_POLICY | FLAG_KEEP_PARAMS));
    show_attr("sched_getattr(0)", 0);
    show("sched_setattr policy 77", set_attr(0, 77, 0, 0));
    show("sched_setattr flags 1 << 40", set_attr(0, SCHED_OTHER, 0, 1ULL << 40));
    show("sched_setattr OTHER, priority 3",
         syscall(SYS_sched_setattr, 0,
                 &(struct attr){.size = sizeof(attr), .policy = SCHED_OTHER, .priority = 3}, 0));
    show("sched_setattr NULL", syscall(SYS_sched_setattr, 0, NULL, 0));
    show("sched_setattr, flags argument 1", syscall(SYS_sched_setattr, 0, &attr, 1));
    show("sched_setattr(no such tid)", set_attr(0x3fffff00, SCHED_OTHER, 5, 0));
    /* A size too small or too large: E2BIG, the kernel's size written back. */
    attr = (struct attr){.size = 8};
    show("sched_setattr, size 8", syscall(SYS_sched_setattr, 0, &attr, 0));
    printf("  size now %u\n", attr.size);
    struct {
        struct attr attr;
        uint64_t more;
    } larger = {{.size = sizeof(larger), .policy = SCHED_OTHER, .nice = 5}, 1};
    show("sched_setattr, nonzero bytes past the kernel's",
         syscall(SYS_sched_setattr, 0, &larger, 0));
    larger.more = 0;
    show("sched_setattr, zero bytes past the kernel's", syscall(SYS_sched_setattr, 0, &larger, 0));

    /* A new thread and a fork child start with the policy and nice. */
    pthread_barrier_init(&affinity_barrier, NULL, 2);
    pthread_t thread;
    pthread_create(&thread, NULL, attr_worker, NULL);
    pthread_barrier_wait(&affinity_barrier);
    show("sched_setattr of the worker, IDLE", set_attr(worker_tid, SCHED_IDLE, 5, 0));
    show("its policy", sched_getscheduler(worker_tid));
    show("main's", sched_getscheduler(0));
    pthread_barrier_wait(&affinity_barrier);
    pthread_join(thread, NULL);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        show_attr("fork child: sched_getattr(0)", 0);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    show("sched_setattr OTHER, nice 5", set_attr(0, SCHED_OTHER, 5, 0));
}

/* ---- ioprio_get, ioprio_set ---- */

#define IOPRIO_WHO_PROCESS        1
#define IOPRIO_WHO_USER           3
#define IOPRIO_VALUE(class, data) (((class) << 13) | (data))
#ifndef SYS_ioprio_set
#define SYS_ioprio_set 251
#define SYS_ioprio_get 252
#endif

static long ioprio_get(int which, int who)
{
    return syscall(SYS_ioprio_get, which, who);
}

static long ioprio_set(int which, int who, int value)
{
    return syscall(SYS_ioprio_set, which, who, value);
}

static void *ioprio_worker(void *argument)
{
    (void)argument;
    show("worker: ioprio_get(0)", ioprio_get(IOPRIO_WHO_PROCESS, 0));
    worker_tid = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&affinity_barrier);
    pthread_barrier_wait(&affinity_barrier);
    show("worker: its own after main set it", ioprio_get(IOPRIO_WHO_PROCESS, 0));
    return NULL;
}

static void ioprio_calls(void)
{
    show("ioprio_get(0)", ioprio_get(IOPRIO_WHO_PROCESS, 0));
    show("ioprio_set(0, best effort 7)", ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_VALUE(2, 7)));
    show("ioprio_get(0)", ioprio_get(IOPRIO_WHO_PROCESS, 0));
    show("ioprio_get(pid)", ioprio_get(IOPRIO_WHO_PROCESS, getpid()));
    show("ioprio_get(gettid)", ioprio_get(IOPRIO_WHO_PROCESS, (int)syscall(SYS_gettid)));
    show("ioprio_set(0, class 5)", ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_VALUE(5, 0)));
    show("ioprio_set(0, best effort 8)", ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_VALUE(2, 8)));
    show("ioprio_get(which 9)", ioprio_get(9, 0));
    show("ioprio_get(no such tid)", ioprio_get(IOPRIO_WHO_PROCESS, 0x3fffff00));
    show("ioprio_get(-1)", ioprio_get(IOPRIO_WHO_PROCESS, -1));

    pthread_barrier_init(&affinity_barrier, NULL, 2);
    pthread_t thread;
    pthread_create(&thread, NULL, ioprio_worker, NULL);
    pthread_barrier_wait(&affinity_barrier);
    show("ioprio_set(worker, idle)",
         ioprio_set(IOPRIO_WHO_PROCESS, worker_tid, IOPRIO_VALUE(3, 0)));
    show("ioprio_get(worker)", ioprio_get(IOPRIO_WHO_PROCESS, worker_tid));
    show("ioprio_get(0), main's", ioprio_get(IOPRIO_WHO_PROCESS, 0));
    pthread_barrier_wait(&affinity_barrier);
    pthread_join(thread, NULL);

    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        show("fork child: ioprio_get(0)", ioprio_get(IOPRIO_WHO_PROCESS, 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    child = fork();
    if (child == 0) {
        execl("/proc/self/exe", "sched_calls", "ioprio", (char *)NULL);
        _exit(127);
    }
    waitpid(child, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "affinity-count") == 0)
        return allowed_count(0); /* the execve'd program: how many CPUs it may use */
    if (argc > 1 && strcmp(argv[1], "ioprio") == 0) {
        show("execve'd program: ioprio_get(0)", ioprio_get(IOPRIO_WHO_PROCESS, 0));
        return 0;
    }
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
    /* The value is the host scheduler's for this moment (Linux 6.1's CFS
     * gives a loaded run queue's slice, 0 to a few jiffies): only its shape
     * can be compared with a native run. */
    printf("interval written %d, valid %d\n", interval.tv_sec != 1 || interval.tv_nsec != 1,
           interval.tv_sec >= 0 && interval.tv_nsec >= 0 && interval.tv_nsec < 1000000000L);
    affinity();
    sched_attr_calls();
    ioprio_calls();
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
