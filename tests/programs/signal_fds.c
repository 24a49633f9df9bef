/*
 * signal_fds.c — signalfd: blocked signals read as struct signalfd_siginfo
 * (kill, sigqueue, raise, a POSIX timer), readiness for poll and epoll, the
 * mask changed in place, several records in one read, a blocking read woken
 * by another thread, dup, and the errors Linux gives.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int readable(int fd)
{
    struct pollfd wait = {fd, POLLIN, 0};
    return poll(&wait, 1, 0) == 1 && (wait.revents & POLLIN);
}

static sigset_t set_of(int first, int second)
{
    sigset_t set;
    sigemptyset(&set);
    if (first)
        sigaddset(&set, first);
    if (second)
        sigaddset(&set, second);
    return set;
}

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER:
        return "SI_USER";
    case SI_QUEUE:
        return "SI_QUEUE";
    case SI_TKILL:
        return "SI_TKILL";
    case SI_TIMER:
        return "SI_TIMER";
    default:
        return "other";
    }
}

/* One read of one record, described. */
static void read_one(int fd, const char *what)
{
    struct signalfd_siginfo info;
    memset(&info, 0, sizeof info);
    ssize_t n = read(fd, &info, sizeof info);
    printf("%s: read %zd signo %s code %s pid %s int %d\n", what, n,
           info.ssi_signo == SIGUSR1   ? "SIGUSR1"
           : info.ssi_signo == SIGUSR2 ? "SIGUSR2"
                                       : (info.ssi_signo ? "rt" : "none"),
           code_name(info.ssi_code), info.ssi_pid == (uint32_t)getpid() ? "self" : "other",
           info.ssi_int);
    if (n != (ssize_t)sizeof info)
        failures++;
}

static void *send_later(void *argument)
{
    (void)argument;
    usleep(50000);
    kill(getpid(), SIGUSR2);
    return NULL;
}

int main(void)
{
    sigset_t blocked = set_of(SIGUSR1, SIGUSR2);
    for (int rt = SIGRTMIN + 4; rt <= SIGRTMIN + 5; rt++)
        sigaddset(&blocked, rt);
    sigprocmask(SIG_BLOCK, &blocked, NULL);

    sigset_t usr1 = set_of(SIGUSR1, 0);
    int fd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC);
    check("signalfd", fd >= 0);
    check("FD_CLOEXEC", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    struct signalfd_siginfo info;
    printf("read with nothing pending -> %s\n", fails_with(read(fd, &info, sizeof info)));
    check("not readable", !readable(fd));

    int epoll = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = 7};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    kill(getpid(), SIGUSR1);
    check("readable after kill", readable(fd));
    struct epoll_event got;
    check("epoll sees it", epoll_wait(epoll, &got, 1, 1000) == 1 && got.data.u64 == 7);
    read_one(fd, "kill");
    check("not readable once read", !readable(fd));
    printf("read again -> %s\n", fails_with(read(fd, &info, sizeof info)));

    union sigval value = {.sival_int = 77};
    sigqueue(getpid(), SIGUSR1, value);
    read_one(fd, "sigqueue");

    /* A signal outside the mask does not count; changing the mask does. */
    raise(SIGUSR2);
    check("SIGUSR2 is not in the mask", !readable(fd));
    sigset_t usr2 = set_of(SIGUSR2, 0);
    check("signalfd changes the mask in place", signalfd(fd, &usr2, 0) == fd);
    check("readable with the new mask", readable(fd));
    read_one(fd, "raise");

    /* Two queued real-time signals in one read. */
    sigset_t rts = set_of(SIGRTMIN + 4, SIGRTMIN + 5);
    signalfd(fd, &rts, 0);
    value.sival_int = 1;
    sigqueue(getpid(), SIGRTMIN + 5, value);
    value.sival_int = 2;
    sigqueue(getpid(), SIGRTMIN + 4, value);
    value.sival_int = 3;
    sigqueue(getpid(), SIGRTMIN + 4, value);
    struct signalfd_siginfo many[4];
    ssize_t n = read(fd, many, sizeof many);
    printf("three queued: read %zd, ints %d %d %d\n", n, many[0].ssi_int, many[1].ssi_int,
           many[2].ssi_int);
    check("lowest first, in queue order", n == 3 * (ssize_t)sizeof info && many[0].ssi_int == 2 &&
                                              many[1].ssi_int == 3 && many[2].ssi_int == 1);

    /* A POSIX timer's signal. */
    struct sigevent notify;
    memset(&notify, 0, sizeof notify);
    notify.sigev_notify = SIGEV_SIGNAL;
    notify.sigev_signo = SIGRTMIN + 4;
    notify.sigev_value.sival_int = 5;
    timer_t timer;
    struct itimerspec soon = {{0, 0}, {0, 10000000}};
    if (timer_create(CLOCK_MONOTONIC, &notify, &timer) == 0 &&
        timer_settime(timer, 0, &soon, NULL) == 0) {
        fcntl(fd, F_SETFL, 0);
        read_one(fd, "timer");
        timer_delete(timer);
    }

    /* Blocking read, woken by another thread's kill; through a dup. */
    signalfd(fd, &usr2, 0);
    int copy = dup(fd);
    close(fd);
    pthread_t thread;
    pthread_create(&thread, NULL, send_later, NULL);
    read_one(copy, "blocking read of a dup");
    pthread_join(thread, NULL);

    char small[64];
    printf("read of 64 bytes -> %s\n", fails_with(read(copy, small, sizeof small)));
    printf("write -> %s\n", fails_with(write(copy, &info, sizeof info)));
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return 1;
    printf("signalfd on a pipe -> %s\n", fails_with(signalfd(pipe_fds[0], &usr1, 0)));
    printf("signalfd on a closed fd -> %s\n", fails_with(signalfd(999, &usr1, 0)));
    printf("signalfd bad flags -> %s\n", fails_with(signalfd(-1, &usr1, 1)));
    printf("signalfd bad mask -> %s\n", fails_with(signalfd(-1, (sigset_t *)16, 0)));
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
