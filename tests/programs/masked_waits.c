/*
 * masked_waits.c — the signal mask argument of ppoll, pselect, epoll_pwait
 * and epoll_pwait2: a signal blocked outside the call and let in by its mask
 * interrupts it (EINTR, the handler runs, the caller's mask is back after);
 * a signal the mask blocks waits; ready fds win over a pending signal and
 * the signal stays pending. Also select's EBADF for a closed fd below nfds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t handled;

static void on_signal(int signal)
{
    (void)signal;
    handled++;
}

static int pipe_fds[2];
static int epoll_fd;

enum wait_kind { WAIT_PPOLL, WAIT_PSELECT, WAIT_EPOLL_PWAIT, WAIT_EPOLL_PWAIT2 };
static const char *const kind_names[] = {"ppoll", "pselect", "epoll_pwait", "epoll_pwait2"};

/* One wait on the pipe's read end with mask, timeout_ms long. */
static int wait_with(enum wait_kind kind, const sigset_t *mask, int timeout_ms)
{
    struct timespec timeout = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    struct epoll_event event;
    switch (kind) {
    case WAIT_PPOLL: {
        struct pollfd fd = {pipe_fds[0], POLLIN, 0};
        return ppoll(&fd, 1, &timeout, mask);
    }
    case WAIT_PSELECT: {
        fd_set read_set;
        FD_ZERO(&read_set);
        FD_SET(pipe_fds[0], &read_set);
        return pselect(pipe_fds[0] + 1, &read_set, NULL, NULL, &timeout, mask);
    }
    case WAIT_EPOLL_PWAIT:
        return epoll_pwait(epoll_fd, &event, 1, timeout_ms, mask);
    default:
        /* musl has no wrapper: the raw call (sigsetsize 8). */
        return (int)syscall(SYS_epoll_pwait2, epoll_fd, &event, 1, &timeout, mask, 8);
    }
}

static sigset_t set_of(int signal)
{
    sigset_t set;
    sigemptyset(&set);
    if (signal)
        sigaddset(&set, signal);
    return set;
}

static int is_blocked(int signal)
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, signal);
}

static int is_pending(int signal)
{
    sigset_t pending;
    sigpending(&pending);
    return sigismember(&pending, signal);
}

/* Takes a pending blocked signal off without running its handler. */
static void drop_pending(int signal)
{
    sigset_t set = set_of(signal);
    struct timespec zero = {0, 0};
    sigtimedwait(&set, NULL, &zero);
}

static void one_kind(enum wait_kind kind)
{
    char what[128];
    const char *name = kind_names[kind];
    sigset_t open_mask = set_of(0), usr2_blocked = set_of(SIGUSR2);

    /* Pending before the call, let in by the mask. */
    handled = 0;
    raise(SIGUSR1);
    errno = 0;
    int result = wait_with(kind, &open_mask, 5000);
    snprintf(what, sizeof what, "%s: pending signal let in -> %d %s, handler ran %d", name, result,
             errno_name(errno), (int)handled);
    check(what, result == -1 && errno == EINTR && handled == 1);
    snprintf(what, sizeof what, "%s: mask back after the handler", name);
    check(what, is_blocked(SIGUSR1) && !is_blocked(SIGUSR2));

    /* Sent during the wait (a timer), let in by the mask. */
    handled = 0;
    struct itimerval soon = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &soon, NULL);
    sigset_t alarm_in = set_of(0);
    errno = 0;
    result = wait_with(kind, &alarm_in, 5000);
    int error = errno;
    snprintf(what, sizeof what, "%s: signal during the wait -> %d %s, handler ran %d", name, result,
             errno_name(error), (int)handled);
    check(what, result == -1 && error == EINTR && handled == 1);
    check("SIGALRM blocked again", is_blocked(SIGALRM));

    /* The call's mask blocks it: the wait times out, the signal waits. */
    handled = 0;
    sigset_t only_alarm = set_of(SIGALRM);
    sigaddset(&only_alarm, SIGUSR1);
    raise(SIGUSR1);
    result = wait_with(kind, &only_alarm, 30);
    snprintf(what, sizeof what, "%s: blocked by the call's mask -> %d, handler ran %d, pending %d",
             name, result, (int)handled, is_pending(SIGUSR1));
    check(what, result == 0 && handled == 0 && is_pending(SIGUSR1));

    /* Ready fd and a pending signal let in: the fd wins, the signal stays
     * pending (the caller's mask is back at once). */
    if (write(pipe_fds[1], "x", 1) != 1)
        exit(1);
    result = wait_with(kind, &usr2_blocked, 5000);
    snprintf(what, sizeof what,
             "%s: ready fd with a pending signal -> %d, handler ran %d, pending %d", name, result,
             (int)handled, is_pending(SIGUSR1));
    check(what, result == 1 && handled == 0 && is_pending(SIGUSR1));

    /* No wait at all (timeout 0) with a pending signal let in. */
    errno = 0;
    result = wait_with(kind, &open_mask, 0);
    snprintf(what, sizeof what, "%s: zero timeout, ready fd, pending signal -> %d, handler ran %d",
             name, result, (int)handled);
    check(what, result == 1 && handled == 0);
    char byte;
    if (read(pipe_fds[0], &byte, 1) != 1)
        exit(1);
    errno = 0;
    result = wait_with(kind, &open_mask, 0);
    error = errno;
    snprintf(what, sizeof what, "%s: zero timeout, pending signal -> %d %s, handler ran %d", name,
             result, result < 0 ? errno_name(error) : "-", (int)handled);
    check(what, handled == (result < 0));
    drop_pending(SIGUSR1);
}

/* The kernel's fd table size (FDSize): select looks at no fd past it. */
static int fd_table_size(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    int size = -1;
    while (status && fgets(line, sizeof line, status)) {
        if (strncmp(line, "FDSize:", 7) == 0)
            size = atoi(line + 7);
    }
    if (status)
        fclose(status);
    return size;
}

/* select on closed fd 100: EBADF when the table reaches it, else not
 * looked at (how large the table starts depends on the parent's fds). */
static void select_fd_100(const char *when)
{
    char what[128];
    fd_set read_set;
    struct timeval zero = {0, 0};
    FD_ZERO(&read_set);
    FD_SET(100, &read_set);
    errno = 0;
    int result = select(101, &read_set, NULL, NULL, &zero);
    int table = fd_table_size();
    snprintf(what, sizeof what, "%s: select on closed fd 100 (past RLIMIT_NOFILE 64) -> %d %s",
             when, result, result < 0 ? errno_name(errno) : "-");
    check(what, table > 100 ? result == -1 && errno == EBADF : result == 0);
}

/* select: an fd below nfds that is not open, even past the table size. */
static void select_bad_fds(void)
{
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    struct rlimit small = {64, limit.rlim_max};
    setrlimit(RLIMIT_NOFILE, &small);
    fd_set read_set;
    struct timeval zero = {0, 0};
    select_fd_100("as started");
    FD_ZERO(&read_set);
    FD_SET(50, &read_set);
    check_errno(select(51, &read_set, NULL, NULL, &zero), EBADF, "select on fd 50 (closed)");
    FD_ZERO(&read_set);
    FD_SET(pipe_fds[1], &read_set);
    zero.tv_usec = 0;
    int result = select(1000, NULL, &read_set, NULL, &zero);
    printf("select with nfds 1000 past the limit -> %d\n", result);
    check("select nfds past the limit", result == 1);
    setrlimit(RLIMIT_NOFILE, &limit);

    /* The table grows to hold fd 200 (to 256) and does not shrink. */
    if (dup2(pipe_fds[1], 200) != 200)
        exit(1);
    close(200);
    printf("FDSize after fd 200 came and went: %d\n", fd_table_size());
    select_fd_100("table grown");
}

int main(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal; /* no SA_RESTART */
    sigaction(SIGUSR1, &action, NULL);
    sigaction(SIGALRM, &action, NULL);
    sigset_t blocked = set_of(SIGUSR1);
    sigaddset(&blocked, SIGALRM);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    if (pipe(pipe_fds) != 0)
        return 1;
    epoll_fd = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, pipe_fds[0], &event);
    for (int kind = WAIT_PPOLL; kind <= WAIT_EPOLL_PWAIT2; kind++)
        one_kind((enum wait_kind)kind);
    select_bad_fds();
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
