/* posix_timers: POSIX timers aimed at threads and CPU-time clocks, as vim
 * (its 'redrawtime' timeout), glibc's and musl's SIGEV_THREAD timers (a
 * helper thread the kernel signals through SIGEV_THREAD_ID) and profilers
 * use them: a SIGEV_THREAD timer runs its function; a SIGEV_THREAD_ID timer
 * signals the thread it names, with the timer's siginfo, and is refused for a
 * tid outside the program; the CPU clocks of a process or of one thread
 * (clock_getcpuclockid, pthread_getcpuclockid) read, advance as that thread
 * runs, and drive a timer. Prints facts, never times: every line is the same
 * on every run. Exits non-zero when a check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* Linux's include/linux/posix-timers.h */
#define CPUCLOCK_SCHED                    2
#define MAKE_PROCESS_CPUCLOCK(pid, clock) ((int)((~(unsigned)(pid)) << 3) | (clock))
#define MAKE_THREAD_CPUCLOCK(tid, clock)  (MAKE_PROCESS_CPUCLOCK(tid, clock) | 4)

#define LINUX_SIGEV_THREAD_ID 4

/* The kernel's sigevent: raw calls, so the same with both libcs. */
struct kernel_sigevent {
    union sigval value;
    int signo;
    int notify;
    int tid;
    int padding[11];
};

static long raw_timer_create(clockid_t clock, struct kernel_sigevent *event, int *id)
{
    return syscall(SYS_timer_create, clock, event, id);
}

static long raw_timer_settime(int id, const struct itimerspec *value)
{
    return syscall(SYS_timer_settime, id, 0, value, NULL);
}

static long raw_timer_delete(int id)
{
    return syscall(SYS_timer_delete, id);
}

static pid_t own_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static int64_t ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int64_t clock_ns(clockid_t clock)
{
    struct timespec now;
    if (clock_gettime(clock, &now) != 0)
        return -1;
    return ns(&now);
}

/* Runs on the calling thread until its own CPU clock advanced by at least
 * nanoseconds (or stop becomes non-zero). */
static void burn(int64_t nanoseconds, volatile sig_atomic_t *stop)
{
    int64_t start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    volatile uint64_t sink = 0;
    while (clock_ns(CLOCK_THREAD_CPUTIME_ID) - start < nanoseconds && !(stop && *stop))
        for (int i = 0; i < 10000; i++)
            sink += (uint64_t)i;
}

/* Waits up to ten seconds for *flag. */
static int wait_for(volatile sig_atomic_t *flag)
{
    for (int i = 0; i < 1000 && !*flag; i++) {
        struct timespec pause_for = {0, 10 * 1000 * 1000};
        nanosleep(&pause_for, NULL);
    }
    return *flag != 0;
}

/* ---- SIGEV_THREAD through libc ---- */

static volatile sig_atomic_t thread_fired;
static volatile int thread_fired_value;

static void timer_function(union sigval value)
{
    thread_fired_value = value.sival_int;
    thread_fired = 1;
}

static void sigev_thread(void)
{
    struct sigevent event;
    memset(&event, 0, sizeof(event));
    event.sigev_notify = SIGEV_THREAD;
    event.sigev_notify_function = timer_function;
    event.sigev_value.sival_int = 4242;
    timer_t timer;
    int created = timer_create(CLOCK_MONOTONIC, &event, &timer);
    printf("timer_create(CLOCK_MONOTONIC, SIGEV_THREAD) -> %s\n", created ? fails_with(-1) : "0");
    check("SIGEV_THREAD timer created", created == 0);
    if (created)
        return;
    struct itimerspec in_10ms = {{0, 0}, {0, 10 * 1000 * 1000}};
    check("SIGEV_THREAD timer armed", timer_settime(timer, 0, &in_10ms, NULL) == 0);
    check("SIGEV_THREAD timer ran its function", wait_for(&thread_fired));
    check("SIGEV_THREAD function got sigev_value", thread_fired_value == 4242);
    check("SIGEV_THREAD timer deleted", timer_delete(timer) == 0);
}

/* ---- SIGEV_THREAD_ID aimed at a second thread ---- */

static volatile sig_atomic_t signalled;
static volatile pid_t handler_tid;
static volatile int handler_code, handler_timerid, handler_overrun, handler_value;

static void on_timer_signal(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)context;
    handler_tid = own_tid();
    handler_code = info->si_code;
    handler_timerid = info->si_timerid;
    handler_overrun = info->si_overrun;
    handler_value = info->si_value.sival_int;
    signalled = 1;
}

static sem_t worker_ready, worker_go, worker_parked, worker_resume;
static volatile pid_t worker_tid;
static volatile sig_atomic_t worker_quit;
static int64_t worker_cpu_before, worker_cpu_after;

static void *worker(void *unused)
{
    (void)unused;
    worker_tid = own_tid();
    sem_post(&worker_ready);
    /* Waits (not blocking the signal) for the timer's signal. */
    while (!signalled && !worker_quit)
        pause();
    sem_wait(&worker_go);
    /* Burns CPU, then parks while the main thread reads its clock. */
    burn(50 * 1000 * 1000, NULL);
    worker_cpu_before = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    sem_post(&worker_parked);
    sem_wait(&worker_resume);
    worker_cpu_after = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    return NULL;
}

static void sigev_thread_id(pthread_t thread)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = on_timer_signal;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &action, NULL);

    struct kernel_sigevent event;
    memset(&event, 0, sizeof(event));
    event.notify = SIGEV_SIGNAL | LINUX_SIGEV_THREAD_ID;
    event.signo = SIGUSR1;
    event.value.sival_int = 77;
    event.tid = worker_tid;
    int id = -1;
    long created = raw_timer_create(CLOCK_MONOTONIC, &event, &id);
    printf("timer_create(CLOCK_MONOTONIC, SIGEV_THREAD_ID at the second thread) -> %s\n",
           created ? fails_with(-1) : "0");
    check("SIGEV_THREAD_ID timer created", created == 0);
    if (created) {
        worker_quit = 1;
        pthread_kill(thread, SIGUSR1);
        return;
    }
    struct itimerspec in_10ms = {{0, 0}, {0, 10 * 1000 * 1000}};
    check("SIGEV_THREAD_ID timer armed", raw_timer_settime(id, &in_10ms) == 0);
    /* The main thread does not block SIGUSR1 either: a signal sent to the
     * process would be the main thread's. */
    check("SIGEV_THREAD_ID signal delivered", wait_for(&signalled));
    check("the handler ran on the thread aimed at", handler_tid == worker_tid);
    check("si_code is SI_TIMER", handler_code == SI_TIMER);
    check("si_timerid is the timer's id", handler_timerid == id);
    check("si_overrun is 0", handler_overrun == 0);
    check("si_value is sigev_value", handler_value == 77);
    check("SIGEV_THREAD_ID timer deleted", raw_timer_delete(id) == 0);

    /* The main thread aims one at itself. */
    signalled = 0;
    event.tid = own_tid();
    created = raw_timer_create(CLOCK_MONOTONIC, &event, &id);
    check("SIGEV_THREAD_ID timer at the caller created", created == 0);
    if (!created) {
        raw_timer_settime(id, &in_10ms);
        check("its signal reached the caller", wait_for(&signalled) && handler_tid == own_tid());
        raw_timer_delete(id);
    }
}

/* ---- refused targets ---- */

static void refused_targets(pid_t child)
{
    struct kernel_sigevent event;
    memset(&event, 0, sizeof(event));
    event.notify = SIGEV_SIGNAL | LINUX_SIGEV_THREAD_ID;
    event.signo = SIGUSR1;
    int id;
    event.tid = child;
    check_errno(raw_timer_create(CLOCK_MONOTONIC, &event, &id), EINVAL,
                "SIGEV_THREAD_ID at another process");
    event.tid = 0x3ffffff0;
    check_errno(raw_timer_create(CLOCK_MONOTONIC, &event, &id), EINVAL,
                "SIGEV_THREAD_ID at a tid no task has");
    event.tid = 0;
    check_errno(raw_timer_create(CLOCK_MONOTONIC, &event, &id), EINVAL, "SIGEV_THREAD_ID at tid 0");
    event.tid = worker_tid;
    event.signo = 0;
    check_errno(raw_timer_create(CLOCK_MONOTONIC, &event, &id), EINVAL,
                "SIGEV_THREAD_ID with signal 0");
    event.signo = SIGUSR1;
    event.notify = 8;
    check_errno(raw_timer_create(CLOCK_MONOTONIC, &event, &id), EINVAL, "an unknown sigev_notify");
    /* SIGEV_THREAD is libc's: the kernel takes it as SIGEV_SIGNAL. */
    event.notify = SIGEV_THREAD;
    long created = raw_timer_create(CLOCK_MONOTONIC, &event, &id);
    check("raw timer_create with SIGEV_THREAD", created == 0);
    if (!created)
        raw_timer_delete(id);
    event.notify = SIGEV_SIGNAL;
    check_errno(raw_timer_create(CLOCK_MONOTONIC_RAW, &event, &id), EOPNOTSUPP,
                "timer_create(CLOCK_MONOTONIC_RAW)");
    check_errno(raw_timer_create(CLOCK_REALTIME_COARSE, &event, &id), EOPNOTSUPP,
                "timer_create(CLOCK_REALTIME_COARSE)");
}

/* ---- CPU-time clocks ---- */

static void cpu_clocks(pthread_t thread, pid_t child)
{
    struct timespec resolution;
    clockid_t process_clock = -1;
    int error = clock_getcpuclockid(getpid(), &process_clock);
    check("clock_getcpuclockid(getpid())", error == 0);
    check("it is the pid's CPU clock",
          !error && process_clock == MAKE_PROCESS_CPUCLOCK(getpid(), CPUCLOCK_SCHED));
    clockid_t zero_clock = -1;
    check("clock_getcpuclockid(0)", clock_getcpuclockid(0, &zero_clock) == 0);
    check("clock_getres on the process CPU clock", clock_getres(process_clock, &resolution) == 0);

    clockid_t thread_clock = -1;
    error = pthread_getcpuclockid(thread, &thread_clock);
    check("pthread_getcpuclockid(second thread)", error == 0);
    check("clock_getres on the thread's CPU clock", clock_getres(thread_clock, &resolution) == 0);
    check("its resolution is 1ns", resolution.tv_sec == 0 && resolution.tv_nsec == 1);

    int64_t process_start = clock_ns(process_clock);
    int64_t thread_start = clock_ns(thread_clock);
    check("clock_gettime on the process CPU clock", process_start >= 0);
    check("clock_gettime on the thread's CPU clock", thread_start >= 0);

    /* The thread burns 50ms of CPU and parks. */
    sem_post(&worker_go);
    sem_wait(&worker_parked);
    int64_t thread_seen = clock_ns(thread_clock);
    int64_t process_seen = clock_ns(process_clock);
    check("the thread's CPU clock advanced as it ran", thread_seen - thread_start >= 50000000);
    check("the process CPU clock advanced with it", process_seen - process_start >= 50000000);
    check("the thread's clock read here is its own reading",
          thread_seen >= worker_cpu_before && thread_seen - worker_cpu_before < 1000000000);
    sem_post(&worker_resume);
    pthread_join(thread, NULL);
    check("and nothing ran it since", worker_cpu_after >= thread_seen);

    /* The main thread's clock, read by itself through its id. */
    clockid_t main_clock = -1;
    check("pthread_getcpuclockid(main thread)",
          pthread_getcpuclockid(pthread_self(), &main_clock) == 0);
    int64_t own_before = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t by_id = clock_ns(main_clock);
    int64_t own_after = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    check("the main thread's clock by id is CLOCK_THREAD_CPUTIME_ID",
          own_before <= by_id && by_id <= own_after);
    check("thread clock with the main thread's tid",
          clock_ns(MAKE_THREAD_CPUCLOCK(getpid(), CPUCLOCK_SCHED)) >= own_before);

    /* Another process: its CPU clock reads; not as a thread's. */
    clockid_t child_clock = -1;
    check("clock_getcpuclockid(child)", clock_getcpuclockid(child, &child_clock) == 0);
    check("clock_gettime on the child's CPU clock", clock_ns(child_clock) >= 0);
    check_errno(clock_gettime(MAKE_THREAD_CPUCLOCK(child, CPUCLOCK_SCHED), &resolution), EINVAL,
                "clock_gettime on another process's thread clock");
    check_errno(clock_getres(MAKE_THREAD_CPUCLOCK(child, CPUCLOCK_SCHED), &resolution), EINVAL,
                "clock_getres on another process's thread clock");
    clockid_t none;
    printf("clock_getcpuclockid(a pid no process has) -> %s\n",
           errno_name(clock_getcpuclockid(0x3ffffff0, &none)));
    check_errno(clock_gettime(MAKE_PROCESS_CPUCLOCK(0x3ffffff0, CPUCLOCK_SCHED), &resolution),
                EINVAL, "clock_gettime on the CPU clock of a pid no process has");
    check_errno(clock_gettime(MAKE_THREAD_CPUCLOCK(0x3ffffff0, CPUCLOCK_SCHED), &resolution),
                EINVAL, "clock_gettime on the CPU clock of a tid no task has");
    check_errno(clock_gettime(MAKE_THREAD_CPUCLOCK(getpid(), 3), &resolution), EINVAL,
                "clock_gettime on a CPU clock of an unknown kind");
}

/* ---- timers on CPU clocks ---- */

static volatile sig_atomic_t cpu_fired;

static void on_cpu_timer(int signal)
{
    (void)signal;
    cpu_fired = 1;
}

static void cpu_timers(pid_t child)
{
    signal(SIGUSR2, on_cpu_timer);
    clockid_t process_clock = -1;
    clock_getcpuclockid(getpid(), &process_clock);
    struct sigevent event;
    memset(&event, 0, sizeof(event));
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGUSR2;
    timer_t timer;
    int created = timer_create(process_clock, &event, &timer);
    printf("timer_create(process CPU clock) -> %s\n", created ? fails_with(-1) : "0");
    check("timer on the process CPU clock created", created == 0);
    if (!created) {
        struct itimerspec in_20ms = {{0, 0}, {0, 20 * 1000 * 1000}};
        check("timer on the process CPU clock armed", timer_settime(timer, 0, &in_20ms, NULL) == 0);
        burn(5LL * 1000 * 1000 * 1000, &cpu_fired);
        check("it fired as the program ran", cpu_fired);
        check("timer on the process CPU clock deleted", timer_delete(timer) == 0);
    }

    clockid_t main_clock = -1;
    pthread_getcpuclockid(pthread_self(), &main_clock);
    cpu_fired = 0;
    created = timer_create(main_clock, &event, &timer);
    check("timer on the main thread's CPU clock created", created == 0);
    if (!created) {
        struct itimerspec in_20ms = {{0, 0}, {0, 20 * 1000 * 1000}};
        timer_settime(timer, 0, &in_20ms, NULL);
        burn(5LL * 1000 * 1000 * 1000, &cpu_fired);
        check("it fired as the thread ran", cpu_fired);
        timer_delete(timer);
    }

    struct kernel_sigevent raw;
    memset(&raw, 0, sizeof(raw));
    raw.notify = SIGEV_NONE;
    int id;
    check_errno(raw_timer_create(MAKE_THREAD_CPUCLOCK(child, CPUCLOCK_SCHED), &raw, &id), EINVAL,
                "timer_create on another process's thread clock");
    check_errno(raw_timer_create(MAKE_PROCESS_CPUCLOCK(0x3ffffff0, CPUCLOCK_SCHED), &raw, &id),
                EINVAL, "timer_create on the CPU clock of a pid no process has");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    sigev_thread();

    sem_init(&worker_ready, 0, 0);
    sem_init(&worker_go, 0, 0);
    sem_init(&worker_parked, 0, 0);
    sem_init(&worker_resume, 0, 0);
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) != 0)
        return 2;
    sem_wait(&worker_ready);
    /* Some CPU time of its own for the main thread. */
    burn(10 * 1000 * 1000, NULL);

    /* Another process, alive until the end. */
    pid_t child = fork();
    if (child == 0)
        for (;;)
            pause();
    sigev_thread_id(thread);
    refused_targets(child);
    cpu_clocks(thread, child);
    cpu_timers(child);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
