/*
 * thread_kill.c — signals another process aims at single threads (tgkill):
 * the main thread and a worker wait in nanosleep(), a second worker spins
 * without a system call. The first line gives the pid and the tids for the
 * sender; each thread then reports the signal its own handler took, with
 * its code and whether it came from outside, or "none" after 30 s.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define THREADS 3

static atomic_int taken[THREADS];
static atomic_int taken_code[THREADS];
static atomic_bool from_outside[THREADS];
static atomic_int tids[THREADS];
static atomic_int started;
static __thread int self_index;

static void on_signal(int signal, siginfo_t *info, void *context)
{
    (void)context;
    atomic_store(&taken_code[self_index], info->si_code);
    atomic_store(&from_outside[self_index], info->si_pid != getpid());
    atomic_store(&taken[self_index], signal);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Index 0 and 1 block in nanosleep (which the signal ends), index 2 spins. */
static void wait_for_signal(int index)
{
    double deadline = now() + 30;
    while (!atomic_load(&taken[index]) && now() < deadline) {
        if (index < 2) {
            struct timespec tick = {0, 200 * 1000 * 1000};
            nanosleep(&tick, NULL);
        }
    }
}

static void *worker(void *argument)
{
    self_index = (int)(long)argument;
    atomic_store(&tids[self_index], (int)syscall(SYS_gettid));
    atomic_fetch_add(&started, 1);
    wait_for_signal(self_index);
    return NULL;
}

static const char *name(int signal)
{
    switch (signal) {
    case SIGUSR1:
        return "SIGUSR1";
    case SIGUSR2:
        return "SIGUSR2";
    case SIGHUP:
        return "SIGHUP";
    default:
        return signal ? "another signal" : "none";
    }
}

int main(void)
{
    struct sigaction action = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO};
    sigemptyset(&action.sa_mask);
    check("sigaction", sigaction(SIGUSR1, &action, NULL) == 0);
    check("sigaction", sigaction(SIGUSR2, &action, NULL) == 0);
    check("sigaction", sigaction(SIGHUP, &action, NULL) == 0);
    self_index = 0;
    atomic_store(&tids[0], getpid());
    pthread_t threads[THREADS];
    for (long i = 1; i < THREADS; i++)
        check("pthread_create", pthread_create(&threads[i], NULL, worker, (void *)i) == 0);
    while (atomic_load(&started) < THREADS - 1)
        usleep(1000);
    printf("tids %d %d %d\n", getpid(), atomic_load(&tids[1]), atomic_load(&tids[2]));
    fflush(stdout);
    wait_for_signal(0);
    for (int i = 1; i < THREADS; i++)
        check("pthread_join", pthread_join(threads[i], NULL) == 0);
    for (int i = 0; i < THREADS; i++) {
        int code = atomic_load(&taken_code[i]);
        printf("thread %d took %s, %s, %s\n", i, name(atomic_load(&taken[i])),
               code == SI_TKILL ? "SI_TKILL" : "another code",
               atomic_load(&from_outside[i]) ? "from outside" : "from itself");
    }
    return failures ? 1 : 0;
}
