/*
 * gdbstub/handover.c — a debugger session carried across the program's
 * execve.
 *
 * A guest execve is a host execve of a new monitor (monitor/fork.c). Under
 * gdbserver the debugger stays attached through an exec and is told of it
 * (an exec stop reply), so here the connection and listening sockets stay
 * open across the host execve and the new monitor's stub adopts them with
 * what this session agreed: acknowledgement mode, the qSupported features,
 * the signal filters. gdb waits for the stop reply of the resume that ran
 * into the execve; the new stub owes it and sends it when the new program
 * stops at its first instruction.
 *
 * A fork's child that gdb follows (follow-fork-mode child: gdb detaches
 * the parent with D;PID) takes the connection the same way, with the fd it
 * got from the host fork; the parent stops reading at that D.
 *
 * The text handed over: "conn=N;listen=N;flags=HEX;pass=S.S;program=S.S;
 * catch=E.N.N;unix=HEXPATH", signal and syscall numbers in hex (catch: the
 * last QCatchSyscalls, enable then numbers; gdb does not send it again
 * after an exec, as gdbserver keeps it).
 */
#include "gdbstub/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    HANDOVER_NO_ACK = 1 << 0,
    HANDOVER_SWBREAK = 1 << 1,
    HANDOVER_HWBREAK = 1 << 2,
    HANDOVER_THREADS_IN_STOP = 1 << 3,
    HANDOVER_MULTIPROCESS = 1 << 4,
    HANDOVER_FORK_EVENTS = 1 << 5,
    HANDOVER_VFORK_EVENTS = 1 << 6,
    HANDOVER_EXEC_EVENTS = 1 << 7,
    HANDOVER_NO_RESUMED = 1 << 8,
};

static void set_inherited(int fd, bool inherited)
{
    if (fd < 0)
        return;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, inherited ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC);
}

static void append_signals(GString *text, const char *name, const bool set[GDB_SIGNAL_LIMIT])
{
    g_string_append_printf(text, ";%s=", name);
    bool first = true;
    for (int signal = 0; signal < GDB_SIGNAL_LIMIT; signal++) {
        if (!set[signal])
            continue;
        g_string_append_printf(text, first ? "%x" : ".%x", (unsigned)signal);
        first = false;
    }
}

/* The session's text; listen < 0: none handed over. exec: for the new
 * monitor of an execve, which gets this one's spare connection too. */
static char *session_text(const struct gdbstub *stub, int listen, bool no_ack, bool exec)
{
    unsigned flags = (no_ack || stub->no_ack_mode ? HANDOVER_NO_ACK : 0) |
                     (stub->debugger_swbreak ? HANDOVER_SWBREAK : 0) |
                     (stub->debugger_hwbreak ? HANDOVER_HWBREAK : 0) |
                     (stub->list_threads_in_stop_reply ? HANDOVER_THREADS_IN_STOP : 0) |
                     (stub->multiprocess ? HANDOVER_MULTIPROCESS : 0) |
                     (stub->fork_events ? HANDOVER_FORK_EVENTS : 0) |
                     (stub->vfork_events ? HANDOVER_VFORK_EVENTS : 0) |
                     (stub->exec_events ? HANDOVER_EXEC_EVENTS : 0) |
                     (stub->debugger_no_resumed ? HANDOVER_NO_RESUMED : 0);
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "conn=%d;listen=%d;flags=%x", stub->connection_fd, listen, flags);
    append_signals(text, "pass", stub->pass_signals);
    append_signals(text, "program", stub->program_signals);
    /* A kept child's copy of gdb's connection comes across its execve. */
    if (exec && stub->spare_connection_fd >= 0)
        g_string_append_printf(text, ";spare=%d", stub->spare_connection_fd);
    if (stub->catch_syscalls)
        g_string_append_printf(text, ";catch=%s", stub->catch_syscalls);
    if (listen >= 0 && stub->unix_path) {
        g_string_append(text, ";unix=");
        for (const char *at = stub->unix_path; *at; at++)
            g_string_append_printf(text, "%02x", (unsigned char)*at);
    }
    return g_string_free(text, FALSE);
}

char *gdbstub_handover_save(struct gdbstub *stub)
{
    if (!stub || stub->connection_fd < 0 || stub->closing || !stub->stop_reply_owed)
        return NULL;
    set_inherited(stub->connection_fd, true);
    set_inherited(stub->listen_fd, true);
    set_inherited(stub->spare_connection_fd, true);
    return session_text(stub, stub->listen_fd, false, true);
}

/* gdb follows a fork's child (follow-fork-mode child): the child has the
 * connection's fd already (a host fork copies them all). The listening
 * socket stays the parent's: one process accepts on it. A kept child
 * talks to this stub without acks (its pair is reliable). */
char *gdbstub_handover_fork_session(const struct gdbstub *stub, bool kept)
{
    return session_text(stub, -1, kept, false);
}

void gdbstub_handover_cancel(struct gdbstub *stub)
{
    if (!stub)
        return;
    set_inherited(stub->connection_fd, false);
    set_inherited(stub->listen_fd, false);
    set_inherited(stub->spare_connection_fd, false);
}

/* "S.S.S" (hex) into set; false on anything else. */
static bool parse_signals(const char *text, bool set[GDB_SIGNAL_LIMIT])
{
    memset(set, 0, GDB_SIGNAL_LIMIT * sizeof(bool));
    while (*text) {
        char *end;
        unsigned long signal = strtoul(text, &end, 16);
        if (end == text || signal >= GDB_SIGNAL_LIMIT || (*end && *end != '.'))
            return false;
        set[signal] = true;
        text = *end ? end + 1 : end;
    }
    return true;
}

static char *parse_hex_string(const char *text)
{
    size_t length = strlen(text);
    if (length % 2)
        return NULL;
    char *out = g_malloc(length / 2 + 1);
    for (size_t i = 0; i < length / 2; i++) {
        unsigned byte;
        if (sscanf(text + 2 * i, "%2x", &byte) != 1) {
            g_free(out);
            return NULL;
        }
        out[i] = (char)byte;
    }
    out[length / 2] = '\0';
    return out;
}

/* An fd the handover names: open, and a socket. */
static bool is_socket_fd(int fd)
{
    int type;
    socklen_t length = sizeof type;
    return fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0;
}

struct handover {
    int conn, listen;
    int spare; /* a kept child: gdb's own connection, for when its parent ends */
    unsigned flags;
    bool pass[GDB_SIGNAL_LIMIT], program[GDB_SIGNAL_LIMIT];
    char *unix_path;
    GArray *catch_numbers; /* NULL: no QCatchSyscalls came */
    bool catch_enable;
};

/* "E.N.N" (hex): QCatchSyscalls' enable and numbers. */
static bool parse_catch(struct handover *handover, const char *text)
{
    gchar **fields = g_strsplit(text, ".", -1);
    bool good = fields[0] && (!strcmp(fields[0], "0") || !strcmp(fields[0], "1"));
    handover->catch_enable = good && fields[0][0] == '1';
    handover->catch_numbers = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (gchar **field = fields + (fields[0] ? 1 : 0); good && *field; field++) {
        char *end;
        uint64_t number = strtoull(*field, &end, 16);
        good = end != *field && *end == '\0';
        g_array_append_val(handover->catch_numbers, number);
    }
    g_strfreev(fields);
    return good;
}

static bool parse_item(struct handover *handover, const char *item)
{
    const char *value = strchr(item, '=');
    if (!value)
        return false;
    size_t name_length = (size_t)(value - item);
    value++;
    char *end = NULL;
    if (name_length == 4 && !strncmp(item, "conn", 4))
        handover->conn = (int)strtol(value, &end, 10);
    else if (name_length == 6 && !strncmp(item, "listen", 6))
        handover->listen = (int)strtol(value, &end, 10);
    else if (name_length == 5 && !strncmp(item, "spare", 5))
        handover->spare = (int)strtol(value, &end, 10);
    else if (name_length == 5 && !strncmp(item, "flags", 5))
        handover->flags = (unsigned)strtoul(value, &end, 16);
    else if (name_length == 4 && !strncmp(item, "pass", 4))
        return parse_signals(value, handover->pass);
    else if (name_length == 7 && !strncmp(item, "program", 7))
        return parse_signals(value, handover->program);
    else if (name_length == 4 && !strncmp(item, "unix", 4))
        return (handover->unix_path = parse_hex_string(value)) != NULL;
    else if (name_length == 5 && !strncmp(item, "catch", 5) && !handover->catch_numbers)
        return parse_catch(handover, value);
    else
        return false;
    return end && end != value && *end == '\0';
}

static bool parse_handover(struct handover *handover, const char *text, int connection)
{
    *handover = (struct handover){.conn = -1, .listen = -1, .spare = -1};
    gchar **items = g_strsplit(text, ";", -1);
    bool good = true;
    for (gchar **item = items; *item && good; item++)
        good = parse_item(handover, *item);
    g_strfreev(items);
    if (connection >= 0) {
        handover->spare = is_socket_fd(handover->conn) ? handover->conn : -1;
        handover->conn = connection;
    }
    if (!is_socket_fd(handover->spare))
        handover->spare = -1;
    return good && is_socket_fd(handover->conn) &&
           (handover->listen < 0 || is_socket_fd(handover->listen));
}

/* Serves the connection with the session's agreements. */
static int adopt(struct gdbstub *stub, const char *text, int connection, char **error)
{
    struct handover handover;
    if (!parse_handover(&handover, text, connection)) {
        g_free(handover.unix_path);
        if (handover.catch_numbers)
            g_array_free(handover.catch_numbers, TRUE);
        *error = g_strdup_printf("gdb: the debugger session handed over is unusable "
                                 "('%s'); this is a bug of hermitux-run",
                                 text);
        return -1;
    }
    set_inherited(handover.conn, false);
    set_inherited(handover.listen, false);
    fcntl(handover.conn, F_SETFL, fcntl(handover.conn, F_GETFL) | O_NONBLOCK);
    gdbstub_reset_session(stub);
    stub->no_ack_mode = handover.flags & HANDOVER_NO_ACK;
    stub->debugger_swbreak = handover.flags & HANDOVER_SWBREAK;
    stub->debugger_hwbreak = handover.flags & HANDOVER_HWBREAK;
    stub->debugger_no_resumed = handover.flags & HANDOVER_NO_RESUMED;
    stub->list_threads_in_stop_reply = handover.flags & HANDOVER_THREADS_IN_STOP;
    stub->multiprocess = handover.flags & HANDOVER_MULTIPROCESS;
    stub->fork_events = handover.flags & HANDOVER_FORK_EVENTS;
    stub->vfork_events = handover.flags & HANDOVER_VFORK_EVENTS;
    stub->exec_events = handover.flags & HANDOVER_EXEC_EVENTS;
    memcpy(stub->pass_signals, handover.pass, sizeof stub->pass_signals);
    memcpy(stub->program_signals, handover.program, sizeof stub->program_signals);
    if (stub->ops->signal_filters)
        stub->ops->signal_filters(stub->opaque, stub->pass_signals, stub->program_signals);
    if (stub->ops->process_events)
        stub->ops->process_events(stub->opaque, stub->fork_events, stub->vfork_events);
    if (handover.catch_numbers) {
        if (stub->ops->catch_syscalls &&
            stub->ops->catch_syscalls(stub->opaque, handover.catch_enable,
                                      (const uint64_t *)handover.catch_numbers->data,
                                      handover.catch_numbers->len) == 0)
            gdbstub_remember_catch_syscalls(stub, handover.catch_enable, handover.catch_numbers);
        g_array_free(handover.catch_numbers, TRUE);
    }
    stub->listen_fd = handover.listen;
    stub->unix_path = handover.unix_path;
    stub->address = g_strdup(handover.unix_path ? handover.unix_path : "the debugger's socket");
    gdbstub_adopt_connection(stub, handover.conn);
    stub->spare_connection_fd = handover.spare;
    set_inherited(handover.spare, false);
    /* Stopped, or about to be: until the first stop nothing is answered. */
    stub->running = true;
    return 0;
}

int gdbstub_handover_adopt(struct gdbstub *stub, const char *text, char **error)
{
    if (adopt(stub, text, -1, error) < 0)
        return -1;
    /* gdb waits for the stop of the resume that ran into the execve. */
    stub->stop_reply_owed = true;
    return 0;
}

int gdbstub_handover_adopt_fork(struct gdbstub *stub, const char *text, int connection,
                                char **error)
{
    /* gdb sends its next packet (Hg to the child) as soon as the parent's
     * D is answered: read only once the child is parked for it. */
    stub->serve_at_stop = true;
    if (adopt(stub, text, connection, error) == 0)
        return 0;
    stub->serve_at_stop = false;
    return -1;
}

/* A kept child whose parent's program ended: gdb's own connection is this
 * stub's now (QHermituxAdopt:NOACK[;UNTOLD], from the parent's stub, which
 * sent gdb the parent's exit and stopped reading), as gdbserver goes on
 * serving the processes left. UNTOLD: the stops this child's stub sent its
 * parent's that gdb has not heard yet (gdbstub_adopt_untold). No answer:
 * the parent is gone. */
void gdbstub_handle_adopt(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t no_ack;
    /* The connection comes with the packet; the copy from the fork is the
     * parent's pair instead when the parent was a kept child itself. */
    int connection = gdbstub_take_passed_fd(stub);
    if (connection < 0)
        connection = stub->spare_connection_fd;
    else if (stub->spare_connection_fd >= 0)
        close(stub->spare_connection_fd);
    stub->spare_connection_fd = -1;
    if (connection < 0 || !gdbstub_take_char(args, ':') || !gdbstub_take_hex(args, &no_ack)) {
        if (connection >= 0)
            close(connection);
        return;
    }
    gdbstub_remove_source(stub, &stub->connection_source);
    gdbstub_remove_source(stub, &stub->output_source);
    g_string_truncate(stub->pending_output, 0);
    close(stub->connection_fd);
    stub->own_pending = false;
    if (gdbstub_take_char(args, ';'))
        gdbstub_adopt_untold(stub, args);
    stub->no_ack_mode = no_ack != 0;
    stub->receive_state = RECEIVE_IDLE;
    fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) | O_NONBLOCK);
    gdbstub_adopt_connection(stub, connection);
}
