/*
 * wait_fds.c — waiting on many things: poll, ppoll, select and pselect on
 * pipes with timeouts, epoll (level and edge triggered, the program's own
 * data cookie back), eventfd and timerfd loops, inotify seeing files made in
 * DIR, splice, tee and vmsplice between pipes, pipe sizes. Timeouts are only checked
 * from below (a wait lasts at least what it asked), never from above.
 *
 * usage: wait_fds DIR
 *        wait_fds watch DIR   waits (at most 20 s) for DIR/ready to be
 *                             written and closed by someone else, then
 *                             prints its contents
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void make_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        exit(1);
}

static void poll_family(void)
{
    int fds[2];
    make_pipe(fds);
    struct pollfd readable = {fds[0], POLLIN, 0};
    int64_t start = now_ms();
    check("poll times out with 0", poll(&readable, 1, 50) == 0);
    check("poll waited at least 50 ms", now_ms() - start >= 50);
    if (write(fds[1], "x", 1) != 1)
        exit(1);
    check("poll sees data", poll(&readable, 1, 1000) == 1 && readable.revents == POLLIN);
    struct pollfd invalid[2] = {{fds[0], POLLIN, 0}, {999, POLLIN, 0}};
    check("poll reports POLLNVAL", poll(invalid, 2, -1) == 2 && invalid[1].revents == POLLNVAL);
    struct pollfd ignored = {-1, POLLIN, 0};
    check("poll ignores negative fds", poll(&ignored, 1, 0) == 0);

    struct timespec timeout = {0, 30000000};
    char byte;
    if (read(fds[0], &byte, 1) != 1)
        exit(1);
    start = now_ms();
    check("ppoll times out", ppoll(&readable, 1, &timeout, NULL) == 0);
    check("ppoll waited at least 30 ms", now_ms() - start >= 30);
    sigset_t mask;
    sigemptyset(&mask);
    timeout.tv_nsec = 1;
    check("ppoll with a mask", ppoll(&readable, 1, &timeout, &mask) == 0);
    timeout.tv_nsec = 1000000000;
    check("ppoll bad timeout is EINVAL",
          ppoll(&readable, 1, &timeout, NULL) == -1 && errno == EINVAL);
    check("ppoll bad sigset size is EINVAL",
          syscall(SYS_ppoll, &readable, 1, NULL, &mask, 4) == -1 && errno == EINVAL);

    close(fds[1]);
    check("poll sees the hang-up", poll(&readable, 1, 1000) == 1 && (readable.revents & POLLHUP));
    close(fds[0]);
}

static void select_family(void)
{
    int fds[2];
    make_pipe(fds);
    fd_set read_set;
    FD_ZERO(&read_set);
    FD_SET(fds[0], &read_set);
    struct timeval timeout = {0, 40000};
    int64_t start = now_ms();
    /* The raw call: musl's select passes a copy of the timeout. */
    check("select times out",
          syscall(SYS_select, fds[0] + 1, &read_set, NULL, NULL, &timeout) == 0);
    check("select waited at least 40 ms", now_ms() - start >= 40);
    check("select clears the set", !FD_ISSET(fds[0], &read_set));
    check("select writes back no time left", timeout.tv_sec == 0 && timeout.tv_usec == 0);

    if (write(fds[1], "x", 1) != 1)
        exit(1);
    fd_set write_set;
    FD_ZERO(&read_set);
    FD_ZERO(&write_set);
    FD_SET(fds[0], &read_set);
    FD_SET(fds[1], &write_set);
    /* A huge timeout on ready fds returns at once, and the time left is
     * nearly all of it. */
    timeout.tv_sec = (time_t)1 << 40;
    timeout.tv_usec = 0;
    check("select with a huge timeout",
          syscall(SYS_select, fds[1] + 1, &read_set, &write_set, NULL, &timeout) == 2);
    check("select time left stays huge", timeout.tv_sec > ((time_t)1 << 39));
    timeout.tv_sec = 0;
    timeout.tv_usec = 1500000; /* past a second: Linux carries it */
    FD_ZERO(&read_set);
    FD_SET(fds[0], &read_set);
    check("select carries microseconds", select(fds[0] + 1, &read_set, NULL, NULL, &timeout) == 1);
    timeout.tv_usec = -1;
    check("select negative timeout is EINVAL",
          select(fds[0] + 1, &read_set, NULL, NULL, &timeout) == -1 && errno == EINVAL);
    FD_ZERO(&read_set);
    /* Below 64: Linux ignores bits past its fd table's size, which
     * depends on the fds the process ever had. */
    FD_SET(60, &read_set);
    timeout.tv_usec = 0;
    check("select on a closed fd is EBADF",
          select(61, &read_set, NULL, NULL, &timeout) == -1 && errno == EBADF);

    struct timespec spec = {0, 20000000};
    FD_ZERO(&read_set);
    FD_SET(fds[0], &read_set);
    check("pselect sees data", pselect(fds[0] + 1, &read_set, NULL, NULL, &spec, NULL) == 1);
    char byte;
    if (read(fds[0], &byte, 1) != 1)
        exit(1);
    sigset_t mask;
    sigemptyset(&mask);
    start = now_ms();
    check("pselect times out", pselect(fds[0] + 1, &read_set, NULL, NULL, &spec, &mask) == 0);
    check("pselect waited at least 20 ms", now_ms() - start >= 20);
    close(fds[0]);
    close(fds[1]);
}

static void epoll_family(void)
{
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    check("epoll_create1", epoll >= 0 && fcntl(epoll, F_GETFD) == FD_CLOEXEC);
    check("epoll_create(0) is EINVAL", syscall(SYS_epoll_create, 0) == -1 && errno == EINVAL);
    check("epoll_create1 bad flags is EINVAL", epoll_create1(1) == -1 && errno == EINVAL);
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
    check("epoll_ctl add", epoll_ctl(epoll, EPOLL_CTL_ADD, a[0], &event) == 0);
    event.events = EPOLLIN | EPOLLET;
    event.data.u64 = 42;
    check("epoll_ctl add edge-triggered", epoll_ctl(epoll, EPOLL_CTL_ADD, b[0], &event) == 0);
    check("epoll_ctl add twice is EEXIST",
          epoll_ctl(epoll, EPOLL_CTL_ADD, a[0], &event) == -1 && errno == EEXIST);
    check("epoll_ctl on a closed fd is EBADF",
          epoll_ctl(epoll, EPOLL_CTL_ADD, 900, &event) == -1 && errno == EBADF);
    check("epoll_ctl on itself is EINVAL",
          epoll_ctl(epoll, EPOLL_CTL_ADD, epoll, &event) == -1 && errno == EINVAL);

    struct epoll_event events[4];
    int64_t start = now_ms();
    check("epoll_wait times out", epoll_wait(epoll, events, 4, 30) == 0);
    check("epoll_wait waited at least 30 ms", now_ms() - start >= 30);
    if (write(a[1], "x", 1) != 1 || write(b[1], "y", 1) != 1)
        exit(1);
    int n = epoll_wait(epoll, events, 4, 1000);
    int seen_a = 0, seen_b = 0;
    for (int i = 0; i < n; i++) {
        seen_a |= events[i].data.u64 == 0x1122334455667788ULL && events[i].events == EPOLLIN;
        seen_b |= events[i].data.u64 == 42 && events[i].events == EPOLLIN;
    }
    check("epoll_wait returns both cookies", n == 2 && seen_a && seen_b);
    n = epoll_wait(epoll, events, 4, 0);
    check("level-triggered stays ready, edge-triggered does not",
          n == 1 && events[0].data.u64 == 0x1122334455667788ULL);
    check("maxevents 1 returns one", epoll_wait(epoll, events, 1, 0) == 1);
    check("maxevents 0 is EINVAL", epoll_wait(epoll, events, 0, 0) == -1 && errno == EINVAL);
    event.events = EPOLLOUT;
    event.data.u64 = 7;
    check("epoll_ctl mod", epoll_ctl(epoll, EPOLL_CTL_MOD, a[0], &event) == 0);
    check("epoll_ctl del", epoll_ctl(epoll, EPOLL_CTL_DEL, b[0], NULL) == 0);
    check("nothing ready after mod and del", epoll_wait(epoll, events, 4, 0) == 0);
    sigset_t mask;
    sigemptyset(&mask);
    event.events = EPOLLIN;
    epoll_ctl(epoll, EPOLL_CTL_MOD, a[0], &event);
    check("epoll_pwait", epoll_pwait(epoll, events, 4, 100, &mask) == 1 && events[0].data.u64 == 7);
    struct timespec timeout = {0, 1000000};
    long result = syscall(SYS_epoll_pwait2, epoll, events, 4, &timeout, NULL, 8);
    check("epoll_pwait2", result == 1 && events[0].data.u64 == 7);
    check("epoll_wait on a pipe is EINVAL",
          epoll_wait(a[0], events, 4, 0) == -1 && errno == EINVAL);
    /* A closed fd leaves the set. */
    close(a[0]);
    check("closed fd leaves the set", epoll_wait(epoll, events, 4, 0) == 0);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    close(epoll);
}

static void eventfd_loop(void)
{
    int fd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
    check("eventfd", fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
    uint64_t value = 0;
    check("eventfd reads its initial value", read(fd, &value, 8) == 8 && value == 3);
    check("empty eventfd is EAGAIN", read(fd, &value, 8) == -1 && errno == EAGAIN);
    uint64_t total = 0;
    for (int i = 1; i <= 100; i++) {
        value = (uint64_t)i;
        if (write(fd, &value, 8) != 8)
            break;
        if (i % 10 == 0 && read(fd, &value, 8) == 8)
            total += value;
    }
    check("eventfd counts 1..100", total == 5050);
    check("short eventfd read is EINVAL", read(fd, &value, 4) == -1 && errno == EINVAL);
    close(fd);
    fd = eventfd(0, EFD_SEMAPHORE);
    value = 3;
    if (write(fd, &value, 8) != 8)
        exit(1);
    int reads = 0;
    struct pollfd readable = {fd, POLLIN, 0};
    while (poll(&readable, 1, 0) == 1 && read(fd, &value, 8) == 8 && value == 1)
        reads++;
    check("semaphore eventfd reads 1 three times", reads == 3);
    close(fd);
    check("eventfd bad flags is EINVAL", eventfd(0, 2) == -1 && errno == EINVAL);
}

static void timerfd_loop(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    check("timerfd_create", fd >= 0);
    struct itimerspec setting = {{0, 10000000}, {0, 10000000}}, old;
    /* Taken before arming: five expiries are 50 ms after the arming, which a
     * slow call between the two would otherwise eat into. */
    int64_t start = now_ms();
    check("timerfd_settime", timerfd_settime(fd, 0, &setting, &old) == 0 &&
                                 old.it_value.tv_sec == 0 && old.it_value.tv_nsec == 0);
    struct itimerspec current;
    check("timerfd_gettime",
          timerfd_gettime(fd, &current) == 0 && current.it_interval.tv_nsec == 10000000);
    uint64_t expirations = 0, count;
    for (int i = 0; i < 5; i++) {
        if (read(fd, &count, 8) != 8)
            break;
        expirations += count;
    }
    check("timerfd expired at least 5 times", expirations >= 5);
    check("five expirations took at least 50 ms", now_ms() - start >= 50 - 1);
    setting.it_value.tv_nsec = 0;
    setting.it_interval.tv_nsec = 0;
    check("timerfd disarm", timerfd_settime(fd, 0, &setting, NULL) == 0);
    struct pollfd readable = {fd, POLLIN, 0};
    check("disarmed timerfd is quiet", poll(&readable, 1, 20) == 0);
    setting.it_value.tv_nsec = 1000000000;
    check("timerfd bad value is EINVAL",
          timerfd_settime(fd, 0, &setting, NULL) == -1 && errno == EINVAL);
    close(fd);
    check("timerfd bad clock is EINVAL", timerfd_create(12345, 0) == -1 && errno == EINVAL);
}

/* Reads inotify events until one names `name` with `mask`. */
static int inotify_sees(int fd, const char *name, uint32_t mask, int timeout_ms)
{
    char buffer[4096] __attribute__((aligned(8)));
    struct pollfd readable = {fd, POLLIN, 0};
    while (poll(&readable, 1, timeout_ms) == 1) {
        ssize_t n = read(fd, buffer, sizeof(buffer));
        for (ssize_t offset = 0; n > 0 && offset < n;) {
            struct inotify_event *event = (struct inotify_event *)(buffer + offset);
            if ((event->mask & mask) && event->len && strcmp(event->name, name) == 0)
                return 1;
            offset += (ssize_t)(sizeof(*event) + event->len);
        }
    }
    return 0;
}

static void inotify_family(const char *dir)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    check("inotify_init1", fd >= 0);
    int watch = inotify_add_watch(fd, dir, IN_CREATE | IN_CLOSE_WRITE | IN_DELETE);
    check("inotify_add_watch", watch >= 0);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/made", dir);
    int file = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    check("inotify sees the create", inotify_sees(fd, "made", IN_CREATE, 1000));
    if (write(file, "data", 4) != 4)
        exit(1);
    close(file);
    check("inotify sees the close after write", inotify_sees(fd, "made", IN_CLOSE_WRITE, 1000));
    unlink(path);
    check("inotify sees the delete", inotify_sees(fd, "made", IN_DELETE, 1000));
    check("inotify_rm_watch", inotify_rm_watch(fd, watch) == 0);
    /* A relative path is the program's cwd's. */
    if (chdir(dir) != 0)
        exit(1);
    mkdir("sub", 0755);
    watch = inotify_add_watch(fd, "sub", IN_CREATE);
    check("inotify_add_watch of a relative path", watch >= 0);
    file = open("sub/new", O_CREAT | O_WRONLY, 0644);
    close(file);
    check("inotify sees it", inotify_sees(fd, "new", IN_CREATE, 1000));
    unlink("sub/new");
    rmdir("sub");
    if (chdir("/") != 0)
        exit(1);
    check("inotify_rm_watch twice is EINVAL", inotify_rm_watch(fd, watch) == -1 && errno == EINVAL);
    check("inotify_add_watch missing path is ENOENT",
          inotify_add_watch(fd, "/no/such/path", IN_CREATE) == -1 && errno == ENOENT);
    close(fd);
}

static void pipe_plumbing(const char *dir)
{
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    int size = fcntl(a[0], F_GETPIPE_SZ);
    printf("default pipe size: %d\n", size);
    check("F_SETPIPE_SZ", fcntl(a[0], F_SETPIPE_SZ, 1 << 20) >= 1 << 20);
    check("F_GETPIPE_SZ", fcntl(a[1], F_GETPIPE_SZ) == 1 << 20);
    if (write(a[1], "spliced text", 12) != 12)
        exit(1);
    check("tee copies", tee(a[0], b[1], 100, 0) == 12);
    char buffer[32] = {0};
    check("tee leaves the source", read(a[0], buffer, sizeof(buffer)) == 12);
    memset(buffer, 0, sizeof(buffer));
    if (write(a[1], "moved", 5) != 5)
        exit(1);
    check("splice pipe to pipe", splice(a[0], NULL, b[1], NULL, 100, 0) == 5);
    check("destination has both",
          read(b[0], buffer, sizeof(buffer)) == 17 && memcmp(buffer, "spliced textmoved", 17) == 0);

    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/spliced", dir);
    int file = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (write(a[1], "to file", 7) != 7)
        exit(1);
    loff_t offset = 3;
    check("splice pipe to file at an offset",
          splice(a[0], NULL, file, &offset, 7, 0) == 7 && offset == 10);
    offset = 3;
    check("splice file to pipe", splice(file, &offset, b[1], NULL, 7, 0) == 7 && offset == 10);
    memset(buffer, 0, sizeof(buffer));
    check("file data came back",
          read(b[0], buffer, sizeof(buffer)) == 7 && strcmp(buffer, "to file") == 0);
    check("splice between files is EINVAL",
          splice(file, NULL, file, NULL, 1, 0) == -1 && errno == EINVAL);
    /* The file holds "\0\0\0to file": sendfile from an offset into a pipe,
     * copy_file_range into a second file. */
    offset = 3;
    check("sendfile file to pipe", sendfile(a[1], file, &offset, 100) == 7 && offset == 10);
    memset(buffer, 0, sizeof(buffer));
    check("sendfile data",
          read(a[0], buffer, sizeof(buffer)) == 7 && strcmp(buffer, "to file") == 0);
    snprintf(path, sizeof(path), "%s/copied", dir);
    int copy = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    loff_t from = 3, to = 0;
    check("copy_file_range", copy_file_range(file, &from, copy, &to, 7, 0) == 7 && to == 7);
    memset(buffer, 0, sizeof(buffer));
    check("copied data",
          pread(copy, buffer, sizeof(buffer), 0) == 7 && strcmp(buffer, "to file") == 0);
    close(copy);
    unlink(path);
    snprintf(path, sizeof(path), "%s/spliced", dir);
    close(file);
    unlink(path);
    close(b[0]);
    signal(SIGPIPE, SIG_IGN);
    check("splice to a closed pipe is EPIPE",
          write(a[1], "z", 1) == 1 && splice(a[0], NULL, b[1], NULL, 1, 0) == -1 && errno == EPIPE);
    close(a[0]);
    close(a[1]);
    close(b[1]);
}

/* vmsplice into a pipe's write end and out of its read end, with the
 * errors Linux gives; splice and tee on what it put there. */
static void vmsplice_calls(void)
{
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    char first[] = "vm", second[] = "spliced";
    struct iovec in[2] = {{first, 2}, {second, 7}};
    printf("vmsplice to the write end -> %zd\n", vmsplice(a[1], in, 2, 0));
    check("tee after vmsplice", tee(a[0], b[1], 100, 0) == 9);
    char out1[4] = {0}, out2[8] = {0};
    struct iovec out[2] = {{out1, 3}, {out2, 7}};
    ssize_t n = vmsplice(a[0], out, 2, 0);
    printf("vmsplice from the read end -> %zd \"%s\" \"%s\"\n", n, out1, out2);
    check("vmsplice round trip", n == 9 && !strcmp(out1, "vms") && !strcmp(out2, "pliced"));
    char copy[16] = {0};
    check("splice moved the tee'd copy",
          read(b[0], copy, sizeof copy) == 9 && !strcmp(copy, "vmspliced"));
    printf("vmsplice with no segments -> %zd\n", vmsplice(a[1], in, 0, 0));
    printf("vmsplice bad flags -> %s\n", fails_with(vmsplice(a[1], in, 1, 0x100)));
    printf("vmsplice too many segments -> %s\n", fails_with(vmsplice(a[1], in, 1025, 0)));
    struct iovec bad = {(void *)16, 4};
    printf("vmsplice from a bad address -> %s\n", fails_with(vmsplice(a[1], &bad, 1, 0)));
    printf("vmsplice bad iovec array -> %s\n",
           fails_with(vmsplice(a[1], (struct iovec *)16, 1, 0)));
    printf("vmsplice on a closed fd -> %s\n", fails_with(vmsplice(999, in, 1, 0)));
    int file = open("/proc/self/exe", O_RDONLY);
    printf("vmsplice on a file -> %s\n", fails_with(vmsplice(file, in, 1, 0)));
    close(file);
    /* A full pipe: SPLICE_F_NONBLOCK gives EAGAIN. */
    fcntl(a[1], F_SETPIPE_SZ, 4096);
    static char page[4096] __attribute__((aligned(4096)));
    struct iovec whole = {page, sizeof page};
    ssize_t filled = vmsplice(a[1], &whole, 1, SPLICE_F_NONBLOCK);
    printf("vmsplice fills the pipe -> %zd, then %s\n", filled,
           fails_with(vmsplice(a[1], in, 1, SPLICE_F_NONBLOCK)));
    close(a[0]);
    signal(SIGPIPE, SIG_IGN);
    printf("vmsplice to a pipe with no reader -> %s\n", fails_with(vmsplice(a[1], in, 1, 0)));
    signal(SIGPIPE, SIG_DFL);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

/* Waits for someone else to write DIR/ready (the test's host side). */
static int watch(const char *dir)
{
    int fd = inotify_init1(0);
    if (fd < 0 || inotify_add_watch(fd, dir, IN_CLOSE_WRITE) < 0)
        return 1;
    printf("watching\n");
    fflush(stdout);
    /* The host writes the file once it has seen "watching". */
    if (!inotify_sees(fd, "ready", IN_CLOSE_WRITE, 20000)) {
        printf("no event\n");
        return 1;
    }
    char path[PATH_MAX], buffer[64] = {0};
    snprintf(path, sizeof(path), "%s/ready", dir);
    int file = open(path, O_RDONLY);
    if (file < 0 || read(file, buffer, sizeof(buffer) - 1) < 0)
        return 1;
    printf("saw ready: %s", buffer);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "watch") == 0)
        return watch(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: wait_fds DIR | watch DIR\n");
        return 2;
    }
    poll_family();
    select_family();
    epoll_family();
    eventfd_loop();
    timerfd_loop();
    inotify_family(argv[1]);
    pipe_plumbing(argv[1]);
    vmsplice_calls();
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
