/* sendfile_pipe: sendfile(2) from a regular file into a pipe, as `cat file |
 * prog` makes it. Linux fills the pipe once per call; hermitux-run may move
 * more per call while a reader makes room, so only what a program can rely
 * on is printed: nothing lost or reordered, a pipe nobody reads gives back
 * what fits (no hang), a non-blocking pipe never waits, a reader that goes
 * away ends it with EPIPE, a signal's handler runs during a long transfer.
 * Prints facts, never times or per-call counts. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define FILE_SIZE (8 << 20)

static uint32_t mix(uint32_t sum, const unsigned char *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        sum = sum * 31 + data[i];
    return sum;
}

/* A file of FILE_SIZE bytes whose content depends on the offset. */
static int make_file(const char *dir, uint32_t *sum)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/sendfile_pipe.data", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0) {
        perror("open");
        exit(2);
    }
    unlink(path);
    static unsigned char block[65536];
    *sum = 0;
    for (int at = 0; at < FILE_SIZE; at += (int)sizeof(block)) {
        for (size_t i = 0; i < sizeof(block); i++)
            block[i] = (unsigned char)((at + (int)i) * 7 + ((at + (int)i) >> 13));
        *sum = mix(*sum, block, sizeof(block));
        if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
            exit(2);
    }
    return fd;
}

/* A child reading the pipe: all of it (limit < 0) or limit bytes, chunk
 * bytes at a time with pause_us between reads; reports bytes and checksum
 * through report. */
static pid_t start_reader(int fds[2], int report, long limit, size_t chunk, int pause_us)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    close(fds[1]);
    static unsigned char buffer[1 << 17];
    uint64_t total = 0;
    uint32_t sum = 0;
    for (;;) {
        size_t want = chunk;
        if (limit >= 0 && (long)(total + want) > limit)
            want = (size_t)(limit - (long)total);
        if (want == 0)
            break;
        ssize_t n = read(fds[0], buffer, want);
        if (n <= 0)
            break;
        sum = mix(sum, buffer, (size_t)n);
        total += (uint64_t)n;
        if (pause_us)
            usleep((useconds_t)pause_us);
    }
    uint64_t out[2] = {total, sum};
    if (write(report, out, sizeof(out)) != (ssize_t)sizeof(out))
        _exit(3);
    _exit(0);
}

static void reader_result(int report, pid_t pid, uint64_t *total, uint32_t *sum)
{
    uint64_t in[2] = {0, 0};
    if (read(report, in, sizeof(in)) != (ssize_t)sizeof(in))
        in[0] = UINT64_MAX;
    waitpid(pid, NULL, 0);
    *total = in[0];
    *sum = (uint32_t)in[1];
}

/* sendfile until the file's end or an error; returns the bytes moved and
 * leaves the last error in *error (0 if none). */
static uint64_t send_all(int out, int in, int *error)
{
    uint64_t total = 0;
    *error = 0;
    for (;;) {
        ssize_t n = sendfile(out, in, NULL, FILE_SIZE);
        if (n > 0) {
            total += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd room = {out, POLLOUT, 0};
            poll(&room, 1, -1);
            continue;
        }
        *error = n < 0 ? errno : 0;
        return total;
    }
}

static void to_reader(int file, uint32_t file_sum, const char *what, int flags, size_t chunk,
                      int pause_us)
{
    int fds[2], report[2];
    if (pipe(fds) != 0 || pipe(report) != 0)
        exit(2);
    fcntl(fds[1], F_SETFL, flags); /* the writer's end only: the reader blocks */
    lseek(file, 0, SEEK_SET);
    pid_t pid = start_reader(fds, report[1], -1, chunk, pause_us);
    close(fds[0]);
    int error;
    uint64_t sent = send_all(fds[1], file, &error);
    close(fds[1]);
    uint64_t got;
    uint32_t sum;
    reader_result(report[0], pid, &got, &sum);
    printf("%s: sent %llu, error %s\n", what, (unsigned long long)sent, errno_name(error));
    check("  the reader got every byte in order", got == FILE_SIZE && sum == file_sum);
    close(report[0]);
    close(report[1]);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int signal)
{
    (void)signal;
    alarms++;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    uint32_t file_sum;
    int file = make_file(argc > 1 ? argv[1] : "/tmp", &file_sum);

    /* Nobody reads the pipe: the first call moves what fits and returns. */
    int fds[2];
    if (pipe(fds) != 0)
        return 2;
    lseek(file, 0, SEEK_SET);
    ssize_t n = sendfile(fds[1], file, NULL, FILE_SIZE);
    long size = fcntl(fds[1], F_GETPIPE_SZ);
    check("a pipe nobody reads: one pipeful, no wait", n > 0 && n == size);
    close(fds[0]);
    close(fds[1]);

    to_reader(file, file_sum, "blocking pipe, fast reader", 0, 1 << 17, 0);
    to_reader(file, file_sum, "non-blocking pipe, fast reader", O_NONBLOCK, 1 << 17, 0);
    to_reader(file, file_sum, "blocking pipe, small reads", 0, 4096, 0);

    /* A slow reader and an interval timer: the handler runs while the
     * transfer goes on (SA_RESTART: a call interrupted before it moved
     * anything is made again). */
    struct sigaction action = {0};
    action.sa_handler = on_alarm;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, NULL);
    struct itimerval every = {{0, 5000}, {0, 5000}};
    setitimer(ITIMER_REAL, &every, NULL);
    to_reader(file, file_sum, "blocking pipe, slow reader, timer", 0, 65536, 2000);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    check("  the timer's handler ran during the transfer", alarms > 0);

    /* The reader stops after 100 KiB and exits: EPIPE (SIGPIPE ignored),
     * after part of the file went. */
    signal(SIGPIPE, SIG_IGN);
    int report[2];
    if (pipe(fds) != 0 || pipe(report) != 0)
        return 2;
    lseek(file, 0, SEEK_SET);
    pid_t pid = start_reader(fds, report[1], 100 << 10, 4096, 0);
    close(fds[0]);
    int error;
    uint64_t sent = send_all(fds[1], file, &error);
    uint64_t got;
    uint32_t sum;
    reader_result(report[0], pid, &got, &sum);
    printf("a reader that leaves: error %s\n", errno_name(error));
    check("  part of the file went", sent >= (100 << 10) && sent < FILE_SIZE && got == (100 << 10));
    close(fds[1]);
    return failures ? 1 : 0;
}
