/*
 * proc_tasks.c — a thread's own entries under /proc/self/task/TID and
 * /proc/thread-self: comm, stat and status describe that thread (its tid,
 * its name), and a thread names another with pthread_setname_np, which
 * glibc and musl do by writing that thread's comm file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

static pthread_barrier_t named, looked;
static int worker_tid;

static int slurp(const char *path, char *text, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, size - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    return (int)n;
}

/* What a task directory says of its thread: comm, stat's pid and comm,
 * status's Name and Pid. */
static void describe(const char *who, const char *dir, int tid)
{
    char path[128], text[4096], comm[64] = "", stat_comm[64] = "", status_name[64] = "";
    int stat_tid = -1, status_pid = -1;
    snprintf(path, sizeof(path), "%s/comm", dir);
    if (slurp(path, comm, sizeof(comm)) > 0)
        comm[strcspn(comm, "\n")] = '\0';
    snprintf(path, sizeof(path), "%s/stat", dir);
    if (slurp(path, text, sizeof(text)) > 0)
        sscanf(text, "%d (%63[^)])", &stat_tid, stat_comm);
    snprintf(path, sizeof(path), "%s/status", dir);
    if (slurp(path, text, sizeof(text)) > 0) {
        const char *name = strstr(text, "Name:\t"), *pid = strstr(text, "\nPid:\t");
        if (name)
            sscanf(name + 6, "%63s", status_name);
        if (pid)
            status_pid = atoi(pid + 6);
    }
    printf("%s: comm %s, stat %s (%s), status %s (%s)\n", who, comm,
           stat_tid == tid ? "its tid" : "another tid", stat_comm,
           status_pid == tid ? "its tid" : "another tid", status_name);
}

static void *worker(void *argument)
{
    (void)argument;
    worker_tid = (int)syscall(SYS_gettid);
    pthread_barrier_wait(&named); /* the main thread names this one */
    pthread_barrier_wait(&looked);
    describe("worker's thread-self", "/proc/thread-self", worker_tid);
    return NULL;
}

/* A thread blocked in read(2) shows as sleeping (S) in its stat and status;
 * the thread reading its own shows running (R). */
static int pipe_fds[2];
static int reader_tid;

static void *reader(void *argument)
{
    (void)argument;
    __atomic_store_n(&reader_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
    char byte;
    return read(pipe_fds[0], &byte, 1) == 1 ? NULL : (void *)1;
}

static char stat_state(const char *path)
{
    char text[1024];
    const char *paren = slurp(path, text, sizeof(text)) > 0 ? strrchr(text, ')') : NULL;
    return paren && paren[1] == ' ' ? paren[2] : '?';
}

static void blocked_states(void)
{
    pthread_t thread;
    if (pipe(pipe_fds) != 0 || pthread_create(&thread, NULL, reader, NULL) != 0) {
        check("pipe and a reader", 0);
        return;
    }
    while (!__atomic_load_n(&reader_tid, __ATOMIC_ACQUIRE))
        usleep(1000);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", reader_tid);
    char state = '?';
    for (int i = 0; i < 5000 && (state = stat_state(path)) != 'S'; i++)
        usleep(1000);
    printf("a thread blocked in read: %c\n", state);
    printf("the thread reading its own stat: %c\n", stat_state("/proc/thread-self/stat"));
    check("the reader ends", write(pipe_fds[1], "x", 1) == 1 && pthread_join(thread, NULL) == 0);
}

int main(void)
{
    pthread_barrier_init(&named, NULL, 2);
    pthread_barrier_init(&looked, NULL, 2);
    pthread_t thread;
    check("pthread_create", pthread_create(&thread, NULL, worker, NULL) == 0);
    check("pthread_setname_np of the main thread",
          pthread_setname_np(pthread_self(), "leader") == 0);
    /* wait for the worker's tid */
    while (!__atomic_load_n(&worker_tid, __ATOMIC_ACQUIRE))
        usleep(1000);
    check("pthread_setname_np of another thread", pthread_setname_np(thread, "worker-one") == 0);
    char name[32] = "";
    check("pthread_getname_np of it",
          pthread_getname_np(thread, name, sizeof(name)) == 0 && strcmp(name, "worker-one") == 0);
    pthread_barrier_wait(&named);
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/self/task/%d", worker_tid);
    describe("the worker's task", dir, worker_tid);
    snprintf(dir, sizeof(dir), "/proc/self/task/%d", getpid());
    describe("the main thread's task", dir, getpid());
    describe("main's thread-self", "/proc/thread-self", getpid());
    describe("the process", "/proc/self", getpid());
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", worker_tid);
    int fd = open(path, O_RDONLY);
    check("a comm opened read-only refuses a write (EBADF)",
          fd >= 0 && write(fd, "x", 1) == -1 && errno == EBADF);
    close(fd);
    /* 15 bytes are kept, and the whole count is taken. */
    fd = open(path, O_WRONLY);
    check("a write of 20 bytes takes 20", fd >= 0 && write(fd, "abcdefghijklmnopqrst", 20) == 20);
    close(fd);
    check("and keeps 15", pthread_getname_np(thread, name, sizeof(name)) == 0 &&
                              strcmp(name, "abcdefghijklmno") == 0);
    pthread_barrier_wait(&looked);
    pthread_join(thread, NULL);
    blocked_states();
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
