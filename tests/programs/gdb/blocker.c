/* blocker: a main thread blocked in a system call while a worker (named "worker") stops at
 * worker_stop(), for the gdb tests of a thread stopped inside a call. The mode argument
 * says where the main thread blocks: "join" (pthread_join: a futex wait), "read" (a pipe
 * the worker writes to after worker_stop), "sleep" (nanosleep of 2 s: long enough to be
 * stopped in under load) or "signal" (a read, which the worker interrupts with SIGUSR1,
 * SA_RESTART, instead of stopping). The calls Linux ends with EINTR after a stop:
 * "epoll" (epoll_wait on that pipe, no timeout), "sigwait" (sigtimedwait for SIGUSR2,
 * blocked, which the worker sends after worker_stop). Timed waits, restarted for the time
 * left: "poll" and "select" (2 s on a pipe nobody writes). "read-intr": a read, with a
 * SIGUSR1 handler without SA_RESTART (gdb gives the signal). The worker waits until the
 * main thread has said it is about to block, and has blocked (await_main.h), before
 * worker_stop. The main thread prints what its call returned: a restarted call returns
 * what it would have returned without the stop. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "await_main.h"

static const char *mode = "join";
static int data[2], ready[2], idle[2]; /* idle: nobody writes it */
static pthread_t main_thread;
static volatile sig_atomic_t got_usr1;

static void on_usr1(int signal)
{
    (void)signal;
    got_usr1++;
}

int twice(int value)
{
    return 2 * value;
}

void worker_stop(void)
{
}

static void *worker(void *argument)
{
    (void)argument;
    prctl(PR_SET_NAME, "worker");
    char byte;
    if (read(ready[0], &byte, 1) != 1)
        return NULL;
    await_main_blocked();
    if (strcmp(mode, "signal") == 0) {
        /* The data comes once the handler ran (the read restarted then gets it). */
        pthread_kill(main_thread, SIGUSR1);
        struct timespec pause = {0, 1000000};
        for (int i = 0; i < 1000 && !got_usr1; i++)
            nanosleep(&pause, NULL);
    } else {
        worker_stop();
    }
    if (strcmp(mode, "sigwait") == 0)
        pthread_kill(main_thread, SIGUSR2);
    else if (strcmp(mode, "poll") != 0 && strcmp(mode, "select") != 0 &&
             write(data[1], "x", 1) != 1)
        perror("write");
    return NULL;
}

static void block_in_read(void)
{
    char buffer[8];
    errno = 0;
    long count = read(data[0], buffer, sizeof buffer);
    printf("read returned %ld, errno %d\n", count, count < 0 ? errno : 0);
}

static void block_in_epoll(void)
{
    int epoll = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN}, got;
    if (epoll < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, data[0], &event) != 0) {
        perror("epoll");
        return;
    }
    errno = 0;
    int count = epoll_wait(epoll, &got, 1, -1);
    printf("epoll_wait returned %d, errno %d\n", count, count < 0 ? errno : 0);
}

static void block_in_sigwait(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    errno = 0;
    int signal = sigtimedwait(&set, NULL, NULL);
    printf("sigtimedwait returned %d, errno %d\n", signal, signal < 0 ? errno : 0);
}

/* The time left after a stop is not checked here (no wall clock in the tests): gdb
 * shows the restart code (poll) or the timeout as the kernel left it (select). */
static void block_in_poll(void)
{
    struct pollfd wait = {.fd = idle[0], .events = POLLIN};
    errno = 0;
    int count = poll(&wait, 1, 2000);
    printf("poll returned %d, errno %d\n", count, count < 0 ? errno : 0);
}

static void block_in_select(void)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(idle[0], &set);
    struct timeval timeout = {2, 0};
    errno = 0;
    int count = select(idle[0] + 1, &set, NULL, NULL, &timeout);
    printf("select returned %d, errno %d, %s\n", count, count < 0 ? errno : 0,
           timeout.tv_sec == 0 && timeout.tv_usec == 0 ? "no time left" : "time left");
}

static void block_in_sleep(void)
{
    struct timespec request = {2, 0};
    errno = 0;
    int result = nanosleep(&request, NULL);
    printf("nanosleep returned %d, errno %d\n", result, result < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        mode = argv[1];
    main_thread = pthread_self();
    bool restart = strcmp(mode, "read-intr") != 0;
    struct sigaction action = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
    sigaction(SIGUSR1, &action, NULL);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL); /* the worker inherits it: sigwait's alone */
    if (pipe(data) != 0 || pipe(ready) != 0 || pipe(idle) != 0) {
        perror("pipe");
        return 1;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) != 0) {
        perror("pthread_create");
        return 1;
    }
    if (write(ready[1], "r", 1) != 1)
        return 1;
    if (strcmp(mode, "read") == 0 || strcmp(mode, "signal") == 0 || !restart)
        block_in_read();
    else if (strcmp(mode, "sleep") == 0)
        block_in_sleep();
    else if (strcmp(mode, "epoll") == 0)
        block_in_epoll();
    else if (strcmp(mode, "sigwait") == 0)
        block_in_sigwait();
    else if (strcmp(mode, "poll") == 0)
        block_in_poll();
    else if (strcmp(mode, "select") == 0)
        block_in_select();
    pthread_join(thread, NULL);
    printf("joined%s\n", got_usr1 ? ", SIGUSR1 handled" : "");
    return 0;
}
