/*
 * The sockets a debugger connects to: listening on tcp or unix, accepting one
 * debugger at a time, or stdin and stdout through a relay process (--gdb
 * stdio); non-blocking output, and closing from the main loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>

#include "gdbstub/internal.h"

bool gdbstub_debugger_present(const struct gdbstub *stub)
{
    return stub->connection_fd >= 0 || stub->capture != NULL;
}

static gboolean on_closing_idle(gpointer data);

/* Ends the connection from the main loop, not from under whatever packet
 * handler or monitor callback noticed it should end. */
void gdbstub_close_soon(struct gdbstub *stub, bool goodbye)
{
    stub->closing = true;
    stub->said_goodbye |= goodbye;
    if (!stub->capture && stub->connection_fd >= 0 && !stub->closing_source)
        stub->closing_source = gdbstub_add_idle_source(stub, on_closing_idle);
}

/* Sends what the socket takes now; false if the connection failed. */
static bool flush_output(struct gdbstub *stub)
{
    GString *pending = stub->pending_output;
    while (pending->len > 0) {
        ssize_t sent = send(stub->connection_fd, pending->str, pending->len, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (sent <= 0)
            return false;
        g_string_erase(pending, 0, sent);
    }
    return true;
}

static gboolean on_connection_writable(gint fd, GIOCondition condition, gpointer data)
{
    struct gdbstub *stub = data;
    (void)fd, (void)condition;
    if (!flush_output(stub)) {
        g_string_truncate(stub->pending_output, 0);
        gdbstub_close_soon(stub, false);
    }
    if (stub->pending_output->len > 0)
        return G_SOURCE_CONTINUE;
    stub->output_source = 0;
    return G_SOURCE_REMOVE;
}

/* A debugger that stops reading is not worth more memory than this. */
#define MAX_PENDING_OUTPUT (1024 * 1024)

/* The socket is non-blocking: what it cannot take now waits in
 * pending_output, so a slow debugger never stalls the main loop. */
void gdbstub_send_raw(struct gdbstub *stub, const char *bytes, size_t length)
{
    if (stub->capture) {
        stub->capture(stub->capture_opaque, bytes, length);
        return;
    }
    if (stub->connection_fd < 0 || (stub->closing && !stub->said_goodbye))
        return;
    g_string_append_len(stub->pending_output, bytes, (gssize)length);
    if (stub->pending_output->len > MAX_PENDING_OUTPUT || !flush_output(stub)) {
        g_string_truncate(stub->pending_output, 0);
        gdbstub_close_soon(stub, false);
        return;
    }
    if (stub->pending_output->len > 0 && !stub->output_source)
        stub->output_source = gdbstub_add_fd_source(stub, stub->connection_fd, G_IO_OUT,
                                                    on_connection_writable, stub);
}

/* ---- sockets ----------------------------------------------------------- */

guint gdbstub_add_fd_source(struct gdbstub *stub, int fd, GIOCondition condition,
                            GUnixFDSourceFunc callback, gpointer data)
{
    GSource *source = g_unix_fd_source_new(fd, condition);
    g_source_set_callback(source, (GSourceFunc)(void (*)(void))callback, data, NULL);
    /* GLib (2.74) blocks a source while its callback runs, taking its fd
     * out of the poll set and putting it back, and each of the two signals
     * the context's wakeup fd: four host calls more per packet from gdb,
     * ~60 us per breakpoint hit here. Nothing dispatches the stub's
     * context from inside its callbacks, so there is no recursion to
     * block. */
    g_source_set_can_recurse(source, TRUE);
    guint id = g_source_attach(source, stub->context);
    g_source_unref(source);
    return id;
}

guint gdbstub_add_idle_source(struct gdbstub *stub, GSourceFunc callback)
{
    GSource *source = g_idle_source_new();
    g_source_set_callback(source, callback, stub, NULL);
    guint id = g_source_attach(source, stub->context);
    g_source_unref(source);
    return id;
}

void gdbstub_remove_source(struct gdbstub *stub, guint *source)
{
    GSource *found = *source ? g_main_context_find_source_by_id(stub->context, *source) : NULL;
    if (found)
        g_source_destroy(found);
    *source = 0;
}

void gdbstub_close_connection(struct gdbstub *stub)
{
    gdbstub_remove_source(stub, &stub->connection_source);
    gdbstub_remove_source(stub, &stub->output_source);
    gdbstub_remove_source(stub, &stub->closing_source);
    if (stub->connection_fd >= 0)
        close(stub->connection_fd);
    stub->connection_fd = -1;
    __atomic_store_n(&stub->connected, false, __ATOMIC_RELEASE);
    stub->serve_at_stop = false;
    g_string_truncate(stub->pending_output, 0);
    gdbstub_forget_processes(stub);
    gdbstub_close_passed_fds(stub);
    gdbstub_reset_session(stub);
}

/* A debugger that left by D or k was dealt with by its packet; one that
 * just went away leaves the monitor to clean up after it. */
static void end_connection(struct gdbstub *stub)
{
    bool said_goodbye = stub->said_goodbye;
    if (said_goodbye)
        flush_output(stub); /* D's OK, if the socket takes it */
    /* gdb detached or killed this process but keeps a child: it goes on
     * with it. */
    if (said_goodbye && gdbstub_pass_connection_on(stub))
        return;
    gdbstub_close_connection(stub);
    if (!said_goodbye)
        stub->ops->disconnected(stub->opaque);
}

static gboolean on_closing_idle(gpointer data)
{
    struct gdbstub *stub = data;
    stub->closing_source = 0; /* removed by returning G_SOURCE_REMOVE */
    end_connection(stub);
    return G_SOURCE_REMOVE;
}

static gboolean on_connection_readable(gint fd, GIOCondition condition, gpointer data)
{
    struct gdbstub *stub = data;
    char buffer[4096];
    (void)condition;
    ssize_t received = gdbstub_receive_with_fds(stub, fd, buffer, sizeof buffer);
    if (received < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return G_SOURCE_CONTINUE;
    if (received > 0) {
        gdbstub_feed(stub, buffer, (size_t)received);
        if (!stub->closing)
            return G_SOURCE_CONTINUE;
        /* Nothing more is read; the closing idle ends the connection. */
        stub->connection_source = 0;
        return G_SOURCE_REMOVE;
    }
    stub->connection_source = 0;
    end_connection(stub);
    return G_SOURCE_REMOVE;
}

static char *describe_peer(const struct sockaddr_storage *peer, socklen_t length)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (peer->ss_family == AF_UNIX)
        return g_strdup("a local socket");
    if (getnameinfo((const struct sockaddr *)peer, length, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return g_strdup("an unknown address");
    return g_strdup_printf(peer->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

static gboolean on_listen_readable(gint fd, GIOCondition condition, gpointer data)
{
    struct gdbstub *stub = data;
    struct sockaddr_storage peer;
    socklen_t peer_length = sizeof peer;
    (void)condition;
    int connection =
        accept4(fd, (struct sockaddr *)&peer, &peer_length, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (connection < 0)
        return G_SOURCE_CONTINUE;
    if (stub->connection_fd >= 0) {
        char *who = describe_peer(&peer, peer_length);
        fprintf(stderr, "hermitux-run: gdb: refused a second debugger connection from %s\n", who);
        g_free(who);
        close(connection);
        return G_SOURCE_CONTINUE;
    }
    if (peer.ss_family != AF_UNIX) {
        int one = 1;
        setsockopt(connection, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    gdbstub_reset_session(stub);
    gdbstub_adopt_connection(stub, connection);
    return G_SOURCE_CONTINUE;
}

static void serve_connection(struct gdbstub *stub)
{
    stub->serve_at_stop = false;
    stub->connection_source = gdbstub_add_fd_source(
        stub, stub->connection_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_connection_readable, stub);
}

void gdbstub_adopt_connection(struct gdbstub *stub, int connection)
{
    stub->connection_fd = connection;
    __atomic_store_n(&stub->connected, true, __ATOMIC_RELEASE);
    if (!stub->serve_at_stop)
        serve_connection(stub);
}

static int listen_unix(struct gdbstub *stub, const char *path, char **error)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    struct stat status;
    if (!*path || strlen(path) >= sizeof address.sun_path) {
        *error = g_strdup_printf("gdb: bad unix socket path '%s'", path);
        return -1;
    }
    strcpy(address.sun_path, path);
    /* A socket left behind by an earlier run would make bind fail. */
    if (lstat(path, &status) == 0 && S_ISSOCK(status.st_mode))
        unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(fd, 1) < 0) {
        *error = g_strdup_printf("gdb: cannot listen on %s: %s", path, g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    stub->listen_fd = fd;
    stub->unix_path = g_strdup(path);
    stub->address = g_strdup(path);
    return 0;
}

static int bind_tcp(const struct addrinfo *candidate)
{
    int one = 1;
    int fd =
        socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, candidate->ai_protocol);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, candidate->ai_addr, candidate->ai_addrlen) < 0 || listen(fd, 1) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int listen_tcp(struct gdbstub *stub, const char *host, const char *port, char **error)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *candidates;
    char *end;
    long port_number = strtol(port, &end, 10);
    if (!*port || *end || port_number < 0 || port_number > 65535) {
        *error = g_strdup_printf("gdb: bad port '%s'", port);
        return -1;
    }
    int result = getaddrinfo(host, port, &hints, &candidates);
    if (result != 0) {
        *error = g_strdup_printf("gdb: cannot resolve '%s': %s", host, gai_strerror(result));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *candidate = candidates; candidate && fd < 0;
         candidate = candidate->ai_next)
        fd = bind_tcp(candidate);
    int saved = errno;
    freeaddrinfo(candidates);
    if (fd < 0) {
        *error = g_strdup_printf("gdb: cannot listen on %s:%s: %s", host, port, g_strerror(saved));
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t bound_length = sizeof bound;
    getsockname(fd, (struct sockaddr *)&bound, &bound_length);
    stub->listen_fd = fd;
    stub->address = describe_peer(&bound, bound_length);
    return 0;
}

/* ---- --gdb stdio ---------------------------------------------------------- */

static bool relay_write_all(int fd, const char *bytes, size_t length)
{
    while (length) {
        ssize_t done = write(fd, bytes, length);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false;
        bytes += done;
        length -= (size_t)done;
    }
    return true;
}

/* The relay: stdin to the socket, the socket to stdout, until the stub's
 * side closes (the program ended) or a write fails. gdb closing our stdin
 * is passed on as the end of the socket's input (the stub sees gdb leave). */
static _Noreturn void stdio_relay(int socket_fd)
{
    char buffer[65536];
    bool input_open = true;
    for (;;) {
        struct pollfd fds[2] = {{input_open ? 0 : -1, POLLIN, 0}, {socket_fd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        if (fds[0].revents) {
            ssize_t got = read(0, buffer, sizeof buffer);
            if (got <= 0) {
                input_open = false;
                shutdown(socket_fd, SHUT_WR);
            } else if (!relay_write_all(socket_fd, buffer, (size_t)got)) {
                _exit(0);
            }
        }
        if (fds[1].revents) {
            ssize_t got = read(socket_fd, buffer, sizeof buffer);
            if (got <= 0 || !relay_write_all(1, buffer, (size_t)got))
                _exit(0);
        }
    }
}

/* In the relay's process: only its three fds, default signals, its name. */
static _Noreturn void start_relay(int socket_fd)
{
    if (dup2(socket_fd, 3) < 0)
        _exit(1);
    syscall(SYS_close_range, 4, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* gdb's interrupt comes as a packet; a terminal's ^C is not the relay's. */
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_NAME, "hermitux-stdio");
    stdio_relay(3);
}

int gdbstub_stdio_open(char **error)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        *error = g_strdup_printf("gdb: --gdb stdio: socketpair: %s", g_strerror(errno));
        return -1;
    }
    /* Twice forked: the relay's parent exits at once and is reaped here. */
    pid_t middle = fork();
    if (middle == 0) {
        if (fork() == 0)
            start_relay(pair[1]);
        _exit(0);
    }
    close(pair[1]);
    int status;
    if (middle < 0 || waitpid(middle, &status, 0) != middle || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        *error = g_strdup("gdb: --gdb stdio: cannot start the relay process");
        close(pair[0]);
        return -1;
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(2, 1) < 0) {
        *error = g_strdup_printf("gdb: --gdb stdio: cannot redirect stdin and stdout: %s",
                                 g_strerror(errno));
        if (null >= 0)
            close(null);
        close(pair[0]);
        return -1;
    }
    close(null);
    return pair[0];
}

static int adopt_stdio(struct gdbstub *stub, const char *number, char **error)
{
    char *end;
    long fd = strtol(number, &end, 10);
    if (!*number || *end || fd < 0 || fd > INT_MAX || fcntl((int)fd, F_GETFD) < 0) {
        *error = g_strdup_printf("gdb: bad stdio connection '%s'", number);
        return -1;
    }
    stub->stdio_fd = (int)fd;
    stub->address = g_strdup("stdio");
    return 0;
}

/* "tcp::PORT", "tcp:HOST:PORT" (the last ':' splits, so [v6]:PORT and
 * bare v6 addresses work), "unix:PATH", "stdio:FD". */
static int listen_on_spec(struct gdbstub *stub, const char *spec, char **error)
{
    if (g_str_has_prefix(spec, "unix:"))
        return listen_unix(stub, spec + 5, error);
    if (g_str_has_prefix(spec, "stdio:"))
        return adopt_stdio(stub, spec + 6, error);
    if (!g_str_has_prefix(spec, "tcp:") || !strchr(spec + 4, ':')) {
        *error = g_strdup_printf("gdb: '%s' is not tcp::PORT, tcp:HOST:PORT or unix:PATH", spec);
        return -1;
    }
    const char *host_start = spec + 4;
    const char *colon = strrchr(host_start, ':');
    char *host = g_strndup(host_start, (size_t)(colon - host_start));
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        char *bare = g_strndup(host + 1, strlen(host) - 2);
        g_free(host);
        host = bare;
    }
    int result = listen_tcp(stub, *host ? host : "127.0.0.1", colon + 1, error);
    g_free(host);
    return result;
}

int gdbstub_listen(struct gdbstub *stub, const char *spec, char **error)
{
    *error = NULL;
    if (stub->listen_fd >= 0 || stub->stdio_fd >= 0) {
        *error = g_strdup("gdb: already listening");
        return -1;
    }
    if (listen_on_spec(stub, spec, error) < 0)
        return -1;
    if (stub->have_stop || stub->running)
        gdbstub_start_accepting(stub);
    return 0;
}

/* Connections are taken only once the guest is known to be running or
 * stopped: before that (-S, the vCPU not yet parked) a debugger's first
 * resume could not be accepted. A debugger that connects earlier waits in
 * the listen backlog. */
void gdbstub_start_accepting(struct gdbstub *stub)
{
    if (stub->stdio_fd >= 0 && stub->connection_fd < 0) {
        int fd = stub->stdio_fd;
        stub->stdio_fd = -1;
        gdbstub_adopt_connection(stub, fd);
    }
    if (stub->serve_at_stop && stub->connection_fd >= 0)
        serve_connection(stub);
    if (stub->listen_source || stub->listen_fd < 0)
        return;
    stub->listen_source =
        gdbstub_add_fd_source(stub, stub->listen_fd, G_IO_IN, on_listen_readable, stub);
}

bool gdbstub_accepting(const struct gdbstub *stub)
{
    return stub->listen_source != 0;
}

const char *gdbstub_address(const struct gdbstub *stub)
{
    return stub->address ? stub->address : "";
}

void gdbstub_forget_after_fork(struct gdbstub *stub, bool keep_connection)
{
    if (!stub)
        return;
    if (stub->connection_fd >= 0 && !keep_connection)
        close(stub->connection_fd);
    /* Copies that would keep gdb's connection, or a kept child's pair,
     * open after their owner ended. */
    if (stub->spare_connection_fd >= 0)
        close(stub->spare_connection_fd);
    stub->spare_connection_fd = -1;
    gdbstub_close_process_fds(stub);
    if (stub->listen_fd >= 0)
        close(stub->listen_fd);
    if (stub->stdio_fd >= 0)
        close(stub->stdio_fd);
    stub->connection_fd = stub->listen_fd = stub->stdio_fd = -1;
}
