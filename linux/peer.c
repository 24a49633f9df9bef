/*
 * linux/peer.c — how one process's monitor asks another's about its
 * program (for /proc/PID of a process of the same run, or of another run).
 *
 * A guest process is a host process whose monitor alone knows the
 * program's view of it: its argv, fds, directory, memory map. The host's
 * /proc/PID shows the monitor instead (hermitux-run's own mappings, host
 * fds, command line). So each monitor answers questions about its program
 * on an abstract unix socket named by its pid; a monitor whose program
 * reads /proc/PID of another asks that one.
 *
 * The transport only: one SOCK_SEQPACKET message each way per connection,
 * at most one fd with the reply (SCM_RIGHTS). What a request means is the
 * handler's (proc.c). The server is one thread with every signal blocked;
 * it serves one connection at a time, each bounded by a timeout, and only
 * peers of the monitor's own uid (or root), as the host's /proc would. A
 * client believes only the server whose pid it asked for (SO_PEERCRED):
 * anyone may bind an abstract name.
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A peer that does not answer within this (stopped, or wedged) is taken as
 * absent: the caller falls back rather than hang the program. */
#define PEER_TIMEOUT_MS 2000

/* The server thread's stack: its own mapping, not one from libc's cache
 * (see linux_peer_server_start). Deep enough for a lookup's recursion. */
#define PEER_STACK_SIZE (1024 * 1024)

struct linux_peer_server {
    int listen_fd;
    pthread_t thread;
    void *stack;
    /* Held while a request is served: a fork waits for it (the child
     * must not inherit a lock or an allocation half done by this thread;
     * ASan's allocator, unlike glibc's, is not made safe across fork). */
    GMutex busy;
    /* Set by the thread once it runs: its start (libc's, a sanitizer's
     * allocations) is over before the creator may fork, so no child
     * inherits an allocator lock that start held (seen under ASan: a
     * fork right after a fork hung the grandchild in calloc). */
    GCond started_cond;
    bool started;
    linux_peer_handler handler;
    void *opaque;
};

static socklen_t peer_address(int pid, struct sockaddr_un *address)
{
    memset(address, 0, sizeof(*address));
    address->sun_family = AF_UNIX;
    /* sun_path[0] stays '\0': the abstract namespace, nothing on disk. */
    int len =
        snprintf(address->sun_path + 1, sizeof(address->sun_path) - 1, "hermitux-run/proc/%d", pid);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
}

static void set_timeouts(int fd)
{
    struct timeval timeout = {PEER_TIMEOUT_MS / 1000, (PEER_TIMEOUT_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

static bool credentials(int fd, struct ucred *peer)
{
    socklen_t len = sizeof(*peer);
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, peer, &len) == 0 && len == sizeof(*peer);
}

/* One message with at most one fd; returns the bytes, -1 on failure. */
static ssize_t send_message(int fd, const void *data, size_t size, int passed_fd)
{
    struct iovec iov = {(void *)data, size};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1};
    if (passed_fd >= 0) {
        memset(&control, 0, sizeof(control));
        message.msg_control = control.buffer;
        message.msg_controllen = sizeof(control.buffer);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &passed_fd, sizeof(int));
    }
    ssize_t sent;
    do
        sent = sendmsg(fd, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent;
}

/* One whole message of exactly `size` bytes; *received_fd gets an fd that
 * came with it (close-on-exec) or -1. false for anything else. */
static bool receive_message(int fd, void *data, size_t size, int *received_fd)
{
    struct iovec iov = {data, size};
    union {
        char buffer[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } control;
    struct msghdr message = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buffer,
                             .msg_controllen = sizeof(control.buffer)};
    ssize_t got;
    do
        got = recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    int fds[4], count = 0;
    for (struct cmsghdr *header = got >= 0 ? CMSG_FIRSTHDR(&message) : NULL; header;
         header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n && count < 4; i++)
            memcpy(&fds[count++], CMSG_DATA(header) + i * sizeof(int), sizeof(int));
    }
    bool whole = got == (ssize_t)size && !(message.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
    /* Only a reply carries an fd, and only one. */
    bool fd_allowed = received_fd && count <= 1;
    for (int i = 0; i < count; i++) {
        if (whole && fd_allowed && i == 0)
            continue;
        close(fds[i]);
    }
    if (received_fd)
        *received_fd = whole && fd_allowed && count == 1 ? fds[0] : -1;
    return whole;
}

/* ---- the server ----------------------------------------------------------------- */

static bool may_ask(int fd)
{
    struct ucred peer;
    return credentials(fd, &peer) && (peer.uid == getuid() || peer.uid == 0);
}

static void serve_one(struct linux_peer_server *server, int fd)
{
    struct linux_peer_request request;
    if (!may_ask(fd) || !receive_message(fd, &request, sizeof(request), NULL))
        return;
    request.path[sizeof(request.path) - 1] = '\0';
    g_mutex_lock(&server->busy);
    struct linux_peer_reply *reply = g_new0(struct linux_peer_reply, 1);
    int passed_fd = -1;
    server->handler(server->opaque, &request, reply, &passed_fd);
    reply->text[sizeof(reply->text) - 1] = '\0';
    send_message(fd, reply, sizeof(*reply), passed_fd);
    if (passed_fd >= 0 && reply->close_after)
        close(passed_fd);
    g_free(reply);
    g_mutex_unlock(&server->busy);
}

static void *server_main(void *data)
{
    struct linux_peer_server *server = data;
    pthread_setname_np(pthread_self(), "hermitux-proc");
    g_mutex_lock(&server->busy);
    server->started = true;
    g_cond_signal(&server->started_cond);
    g_mutex_unlock(&server->busy);
    for (;;) {
        int fd = accept4(server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE ||
                errno == ENOBUFS || errno == ENOMEM) {
                if (errno != EINTR && errno != ECONNABORTED)
                    g_usleep(10 * 1000);
                continue;
            }
            return NULL; /* shut down (EINVAL): linux_peer_server_stop */
        }
        set_timeouts(fd);
        serve_one(server, fd);
        close(fd);
    }
}

struct linux_peer_server *linux_peer_server_start(linux_peer_handler handler, void *opaque)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    struct sockaddr_un address;
    socklen_t len = peer_address(linux_pid(), &address);
    if (bind(fd, (struct sockaddr *)&address, len) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return NULL;
    }
    struct linux_peer_server *server = g_new0(struct linux_peer_server, 1);
    server->listen_fd = fd;
    g_mutex_init(&server->busy);
    g_cond_init(&server->started_cond);
    server->handler = handler;
    server->opaque = opaque;
    /* Created with every signal blocked, so it inherits that: a signal for
     * the program never lands on this thread. Its stack is its own mapping:
     * in a fork's child, where this thread does not exist, libc would give
     * a cached stack of it to the child's next thread, which
     * ThreadSanitizer then takes for this one ("dup thread"). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    server->stack = mmap(NULL, PEER_STACK_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    int result = server->stack == MAP_FAILED
                     ? ENOMEM
                     : pthread_attr_setstack(&attributes, server->stack, PEER_STACK_SIZE);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (result == 0)
        result = pthread_create(&server->thread, &attributes, server_main, server);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attributes);
    if (result != 0) {
        if (server->stack != MAP_FAILED)
            munmap(server->stack, PEER_STACK_SIZE);
        close(fd);
        g_cond_clear(&server->started_cond);
        g_mutex_clear(&server->busy);
        g_free(server);
        return NULL;
    }
    /* Its start is waited for only before a fork (linux_peer_server_hold):
     * waiting here cost every program's start a wake-up (0.13 ms of 5.8). */
    return server;
}

void linux_peer_server_stop(struct linux_peer_server *server)
{
    if (!server)
        return;
    /* Wakes accept with EINVAL; a connection being served ends within
     * the timeout. */
    shutdown(server->listen_fd, SHUT_RDWR);
    pthread_join(server->thread, NULL);
    munmap(server->stack, PEER_STACK_SIZE);
    close(server->listen_fd);
    g_cond_clear(&server->started_cond);
    g_mutex_clear(&server->busy);
    g_free(server);
}

void linux_peer_server_forget(struct linux_peer_server *server)
{
    if (!server)
        return;
    /* In a fork's child the thread does not exist: only the socket is
     * there, the parent's name's, and busy as the forking thread held it
     * (linux_peer_server_hold). Its stack stays mapped: under ASan the
     * thread's poisoned stack shadow would outlive an unmap and mark what
     * is mapped there later (1 MiB of address space per fork generation,
     * whose pages are the parent's until written). */
    close(server->listen_fd);
    g_free(server);
}

void linux_peer_server_hold(struct linux_peer_server *server)
{
    if (!server)
        return;
    g_mutex_lock(&server->busy);
    /* The thread's own start allocations are over before anyone forks: a
     * fork's child must not get a malloc lock the thread held (ASan's
     * allocator is not fork-safe: a child hung in calloc). */
    while (!server->started)
        g_cond_wait(&server->started_cond, &server->busy);
}

void linux_peer_server_release(struct linux_peer_server *server)
{
    if (server)
        g_mutex_unlock(&server->busy);
}

/* ---- the client ------------------------------------------------------------------ */

/* Whether host process pid is stopped (SIGSTOP, job control): its server
 * thread is stopped with it. */
static bool stopped(int pid)
{
    char path[64], text[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return false;
    text[n] = '\0';
    const char *end = strrchr(text, ')');
    return end && end[1] == ' ' && (end[2] == 'T' || end[2] == 't');
}

long linux_peer_call(int pid, const struct linux_peer_request *request,
                     struct linux_peer_reply *reply, int *received_fd)
{
    *received_fd = -1;
    if (pid <= 0 || pid == linux_pid())
        return LINUX_PEER_ABSENT;
    /* Connected without blocking: a full backlog (a server that no longer
     * accepts) is EAGAIN at once, not a wait. */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return LINUX_PEER_ABSENT;
    struct sockaddr_un address;
    socklen_t len = peer_address(pid, &address);
    struct ucred peer;
    long result = LINUX_PEER_ABSENT;
    int status;
    do
        status = connect(fd, (struct sockaddr *)&address, len);
    while (status != 0 && errno == EINTR);
    /* A stopped monitor's listening socket still takes the connection:
     * asked only once the connection says it is a monitor at all (most
     * pids are not, and fail fast). */
    if (status == 0 && credentials(fd, &peer) && peer.pid == pid &&
        (peer.uid == getuid() || peer.uid == 0) && !stopped(pid) && fcntl(fd, F_SETFL, 0) == 0) {
        set_timeouts(fd);
        if (send_message(fd, request, sizeof(*request), -1) == (ssize_t)sizeof(*request) &&
            receive_message(fd, reply, sizeof(*reply), received_fd)) {
            reply->text[sizeof(reply->text) - 1] = '\0';
            result = 0;
        }
    }
    close(fd);
    return result;
}
