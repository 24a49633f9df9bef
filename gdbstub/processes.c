/*
 * gdbstub/processes.c — fork children gdb keeps (detach-on-fork off).
 *
 * gdbserver debugs every process of the session through one connection.
 * Here each guest process is a monitor of its own, so a kept child serves
 * gdb with a stub of its own, on a socket pair to this stub (the child's
 * side is monitor/debug.c's debugger_fork_child): this stub passes it
 * every packet about it and sends gdb its answers as they are. Which
 * packets: those naming its pid (Hg/Hc, T, D;PID, vKill;PID, vCont
 * actions, qAttached:PID), those for the process Hg selected (registers,
 * memory, breakpoints, qXfer objects of one process, vFile), and the
 * settings every process shares (QPassSignals...), which it gets too. The
 * thread lists are this process's and every stopped child's. When this
 * process ends or is detached, gdb's connection and every kept child's
 * pair go to the first kept child (fds passed on the pair), whose stub
 * serves them all from then on, as gdbserver keeps every process.
 *
 * All-stop: while a child runs alone (schedule-multiple off, gdb's default),
 * its stop reply is gdb's next answer and Ctrl-C goes to it. A vCont naming
 * several processes (schedule-multiple on) resumes each; see "several
 * processes resumed at once" below.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib.h>

#include "gdbstub/internal.h"

/* A child that does not answer in this long is taken for gone. */
#define ASK_TIMEOUT_MS 10000

struct gdbstub_process {
    struct gdbstub *stub;
    int64_t pid;
    int fd;
    guint source;
    GString *input;  /* bytes received, not yet a whole packet */
    bool running;    /* resumed: its stop is gdb's next answer */
    bool forwarding; /* a packet was passed on: its answer goes to gdb */
    bool leaving;    /* gdb detached or killed it */
    bool halting;    /* QHermituxHalt sent: its OK is not gdb's */
    /* Its stops not told gdb yet, oldest first (GString frames): several
     * resumed at once; its own end and, reached through its pair once it
     * ended, its kept children's. */
    GPtrArray *pending;
    /* Its last qXfer:threads answer's lines: the name of a thread listed on
     * after its end until gdb is told of it (as gdbserver lists a dead
     * process's leader while its exit is pending). */
    char *threads_xml;
    /* The processes reached through it: the children gdb keeps of its own
     * (its stub routes to them in turn), learnt from its fork stops. */
    GArray *descendants; /* int64_t pids */
};

static GPtrArray *processes(struct gdbstub *stub)
{
    if (!stub->processes)
        stub->processes = g_ptr_array_new();
    return stub->processes;
}

static void free_frame(gpointer frame)
{
    g_string_free(frame, TRUE);
}

static void process_free(struct gdbstub_process *process)
{
    gdbstub_remove_source(process->stub, &process->source);
    if (process->fd >= 0)
        close(process->fd);
    g_string_free(process->input, TRUE);
    g_ptr_array_free(process->pending, TRUE);
    g_free(process->threads_xml);
    g_array_free(process->descendants, TRUE);
    g_free(process);
}

static void drop_process(struct gdbstub *stub, struct gdbstub_process *process)
{
    if (stub->general_process == process)
        stub->general_process = NULL;
    if (stub->held_process == process)
        stub->held_process = NULL;
    g_ptr_array_remove(stub->processes, process);
    process_free(process);
}

void gdbstub_forget_processes(struct gdbstub *stub)
{
    stub->together = stub->own_stop_held = stub->absorb_own_stop = stub->own_pending = false;
    /* Each child sees its pair close and runs on undebugged. */
    while (stub->processes && stub->processes->len > 0)
        drop_process(stub, g_ptr_array_index(stub->processes, 0));
    stub->general_process = NULL;
}

static int descendant_index(const struct gdbstub_process *process, int64_t pid)
{
    for (guint i = 0; i < process->descendants->len; i++) {
        if (g_array_index(process->descendants, int64_t, i) == pid)
            return (int)i;
    }
    return -1;
}

/* The kept child that is pid, or through which pid is reached. */
void gdbstub_close_process_fds(struct gdbstub *stub)
{
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        close(process->fd);
        process->fd = -1;
    }
}

static struct gdbstub_process *find_process(const struct gdbstub *stub, int64_t pid)
{
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        if (process->pid == pid || descendant_index(process, pid) >= 0)
            return process;
    }
    return NULL;
}

/* The pid after name ("fork:p", ";process:") in payload, 0 if none. */
static int64_t pid_after(const char *payload, size_t length, const char *name)
{
    const char *at = g_strstr_len(payload, (gssize)length, name);
    return at ? g_ascii_strtoll(at + strlen(name), NULL, 16) : 0;
}

/* What a stop of the child says of the processes behind it: a fork of
 * one of them made another (gdb may keep it: it is reached through this
 * child), or one ended. True when the child itself ended. */
static bool learn_from_stop(struct gdbstub_process *process, const char *payload, size_t length)
{
    if (length == 0)
        return false;
    if (payload[0] == 'T') {
        int64_t born = pid_after(payload, length, "fork:p");
        if (born > 0 && descendant_index(process, born) < 0)
            g_array_append_val(process->descendants, born);
        return false;
    }
    if (payload[0] != 'W' && payload[0] != 'X')
        return false;
    int64_t ended = pid_after(payload, length, ";process:");
    int index = descendant_index(process, ended);
    if (ended > 0 && index >= 0) {
        g_array_remove_index(process->descendants, (guint)index);
        return false;
    }
    /* Its stub handed its end of the pair to a child it keeps: the pair
     * goes on reaching those. */
    if (process->descendants->len > 0) {
        process->leaving = true;
        return false;
    }
    return true;
}

/* The kept child "pPID..." at text names (*pid), if any. */
static struct gdbstub_process *named_process(const struct gdbstub *stub, const char *text,
                                             const char *end, int64_t *pid)
{
    if (text >= end || *text != 'p')
        return NULL;
    char *after;
    *pid = g_ascii_strtoll(text + 1, &after, 16);
    return after > text + 1 && after <= end ? find_process(stub, *pid) : NULL;
}

/* ---- talking to a child ---------------------------------------------------- */

/* The first whole packet in input ("$...#XX"), bytes before it dropped
 * (acks); its length with the frame, 0 if none is whole yet. */
static size_t whole_packet(GString *input)
{
    const char *start = memchr(input->str, '$', input->len);
    if (!start) {
        g_string_truncate(input, 0);
        return 0;
    }
    g_string_erase(input, 0, start - input->str);
    const char *hash = memchr(input->str, '#', input->len);
    if (!hash || (size_t)(hash - input->str) + 3 > input->len)
        return 0;
    return (size_t)(hash - input->str) + 3;
}

/* Blocking: all of it, unless the peer is gone. */
static void send_all(int fd, const char *next, size_t left)
{
    while (left > 0) {
        ssize_t sent = send(fd, next, left, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            break; /* gone: its end says so */
        next += sent;
        left -= (size_t)sent;
    }
}

static void send_to_child(struct gdbstub_process *process, const char *payload, size_t length)
{
    GString *frame = gdbstub_frame(payload, length);
    send_all(process->fd, frame->str, frame->len);
    g_string_free(frame, TRUE);
}

/* The packet with an fd of this process's (SCM_RIGHTS), blocking. */
static void send_to_child_with_fd(struct gdbstub_process *process, const char *payload, int passed)
{
    GString *frame = gdbstub_frame(payload, strlen(payload));
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control = {0};
    struct iovec data = {.iov_base = frame->str, .iov_len = frame->len};
    struct msghdr message = {.msg_iov = &data,
                             .msg_iovlen = 1,
                             .msg_control = control.buffer,
                             .msg_controllen = sizeof control.buffer};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &passed, sizeof passed);
    ssize_t sent;
    do
        sent = sendmsg(process->fd, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    /* The fd went with the first byte: the rest is plain. */
    if (sent > 0 && (size_t)sent < frame->len)
        send_all(process->fd, frame->str + sent, frame->len - (size_t)sent);
    g_string_free(frame, TRUE);
}

ssize_t gdbstub_receive_with_fds(struct gdbstub *stub, int fd, char *buffer, size_t size)
{
    union {
        char buffer[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec data = {.iov_base = buffer, .iov_len = size};
    struct msghdr message = {.msg_iov = &data,
                             .msg_iovlen = 1,
                             .msg_control = control.buffer,
                             .msg_controllen = sizeof control.buffer};
    ssize_t received = recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    if (received < 0)
        return received;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header;
         header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if (!stub->passed_fds)
            stub->passed_fds = g_array_new(FALSE, FALSE, sizeof(int));
        for (size_t i = 0; i < count; i++) {
            int passed;
            memcpy(&passed, CMSG_DATA(header) + i * sizeof(int), sizeof passed);
            g_array_append_val(stub->passed_fds, passed);
        }
    }
    return received;
}

int gdbstub_take_passed_fd(struct gdbstub *stub)
{
    if (!stub->passed_fds || stub->passed_fds->len == 0)
        return -1;
    int passed = g_array_index(stub->passed_fds, int, 0);
    g_array_remove_index(stub->passed_fds, 0);
    return passed;
}

void gdbstub_close_passed_fds(struct gdbstub *stub)
{
    int passed;
    while ((passed = gdbstub_take_passed_fd(stub)) >= 0)
        close(passed);
    if (stub->passed_fds)
        g_array_free(stub->passed_fds, TRUE);
    stub->passed_fds = NULL;
}

/* An O packet (qRcmd's output, hex), not the answer "OK". */
static bool is_console_output(const char *payload, size_t length)
{
    return length > 0 && payload[0] == 'O' && !(length == 2 && payload[1] == 'K');
}

/* Reads what the child sent; false at its end. */
static bool receive_from_child(struct gdbstub_process *process)
{
    char buffer[4096];
    ssize_t got;
    do
        got = recv(process->fd, buffer, sizeof buffer, MSG_DONTWAIT);
    while (got < 0 && errno == EINTR);
    if (got > 0)
        g_string_append_len(process->input, buffer, got);
    return got > 0 || (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* Until the child's pair has something (or hangs up), at most
 * ASK_TIMEOUT_MS: its poll revents, 0 if nothing came. The monitor's
 * signals (its children's SIGCHLD) interrupt the wait, not end it. */
static short wait_for_child(const struct gdbstub_process *process)
{
    gint64 deadline = g_get_monotonic_time() + ASK_TIMEOUT_MS * G_GINT64_CONSTANT(1000);
    for (;;) {
        struct pollfd wait = {.fd = process->fd, .events = POLLIN};
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        int polled = poll(&wait, 1, left > 0 ? (int)left : 0);
        if (polled > 0)
            return wait.revents;
        if (polled == 0 || errno != EINTR)
            return 0;
    }
}

/* A packet of the child's goes to gdb as it is (the child framed it). */
static void relay(struct gdbstub *stub, const char *frame, size_t length)
{
    g_string_assign(stub->last_packet, "");
    g_string_append_len(stub->last_packet, frame, length);
    gdbstub_send_raw(stub, frame, length);
}

/* ---- several processes resumed at once (schedule-multiple on) ---------------
 *
 * All-stop, as gdbserver: the first stop of any of them is gdb's; every
 * other one is stopped before gdb hears of it (a kept child gets
 * QHermituxHalt, this process an interrupt), and a stop that was an event
 * of its own (not the halt's) is kept for that process's next resume,
 * which then reports it at once and resumes nothing. */

static bool is_halt_stop(const GString *frame)
{
    return frame->len > 4 && (frame->str[1] == 'T' || frame->str[1] == 'S') &&
           strncmp(frame->str + 2, "02", 2) == 0;
}

static bool is_exit_stop(const GString *frame)
{
    return frame->len > 1 && (frame->str[1] == 'W' || frame->str[1] == 'X');
}

static void take_child_packet(struct gdbstub_process *process, GString *frame);

static bool has_pending(const struct gdbstub_process *process)
{
    return process->pending->len > 0;
}

static GString *pending_at(const struct gdbstub_process *process, guint index)
{
    return g_ptr_array_index(process->pending, index);
}

/* The index of pid's end among its pending stops (a W or X without a
 * process is its own), -1 if none. */
static int pending_exit_of(const struct gdbstub_process *process, int64_t pid)
{
    for (guint i = 0; i < process->pending->len; i++) {
        const GString *frame = pending_at(process, i);
        if (!is_exit_stop(frame))
            continue;
        int64_t ended = pid_after(frame->str, frame->len, ";process:");
        if (ended == pid || (ended <= 0 && pid == process->pid))
            return (int)i;
    }
    return -1;
}

static bool has_pending_exit(const struct gdbstub_process *process)
{
    for (guint i = 0; i < process->pending->len; i++) {
        if (is_exit_stop(pending_at(process, i)))
            return true;
    }
    return false;
}

/* Its pair still reaches it: it has not ended, as far as it told. */
static bool is_alive(const struct gdbstub_process *process)
{
    return process->fd >= 0 && pending_exit_of(process, process->pid) < 0;
}

/* This process resumed, its stop owed to gdb. */
static bool own_busy(const struct gdbstub *stub)
{
    return stub->running && stub->stop_reply_owed;
}

/* Some process of the resume other than except (NULL: this one) has not
 * stopped yet. */
static bool others_busy(const struct gdbstub *stub, const struct gdbstub_process *except)
{
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        const struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        if (process != except && (process->running || process->halting))
            return true;
    }
    return except && own_busy(stub);
}

static void stop_the_others(struct gdbstub *stub, struct gdbstub_process *first)
{
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        if (process != first && process->running && !process->halting) {
            process->halting = true;
            send_to_child(process, "QHermituxHalt", strlen("QHermituxHalt"));
        }
    }
    if (first && own_busy(stub) && !stub->absorb_own_stop) {
        stub->absorb_own_stop = true;
        if (!stub->interrupt_sent) {
            stub->interrupt_sent = true;
            stub->ops->interrupt(stub->opaque);
        }
    }
}

/* This process's stop to gdb; its end hands the connection on. */
static void send_own_stop(struct gdbstub *stub)
{
    gdbstub_send_stop_reply(stub);
    if (gdbstub_program_ended(stub) && !stub->closing)
        gdbstub_pass_connection_on(stub);
}

/* A stop of the child's reaches gdb: what it says of the processes behind
 * it is learnt, the thread that stopped is selected. */
static void deliver_stop(struct gdbstub_process *process, GString *frame)
{
    struct gdbstub *stub = process->stub;
    bool ended = learn_from_stop(process, frame->str + 1, frame->len - 4);
    relay(stub, frame->str, frame->len);
    stub->general_process = process;
    stub->general_pid = pid_after(frame->str, frame->len, "thread:p");
    if (stub->general_pid <= 0)
        stub->general_pid = pid_after(frame->str, frame->len, ";process:");
    if ((ended || process->fd < 0) && !has_pending(process))
        drop_process(stub, process);
}

static void deliver_pending(struct gdbstub_process *process)
{
    GString *frame = g_ptr_array_steal_index(process->pending, 0);
    deliver_stop(process, frame);
    g_string_free(frame, TRUE);
}

/* A stop of this process's own that its halt made (the interrupt's
 * SIGINT, as is_halt_stop reads a child's), not an event to tell. */
static bool is_own_halt(const struct gdb_stop *stop)
{
    return stop->kind == GDB_STOP_SIGNAL && stop->signal == 2;
}

/* Every process of the resume stopped: gdb gets the first stop. A kept
 * child's end goes before this process's event (on Linux the parent
 * cannot have seen its child end before the debugger did); a halt of its
 * own is no event and is not kept (it would be told as a SIGINT at the
 * next resume). */
static void finish_together(struct gdbstub *stub)
{
    if (!stub->together || stub->settling || others_busy(stub, NULL) || own_busy(stub))
        return;
    struct gdbstub_process *report = stub->held_process;
    bool own = stub->own_stop_held;
    for (guint i = 0; own && i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        if (has_pending_exit(process)) {
            report = process;
            own = false;
            stub->own_pending = !is_own_halt(&stub->last_stop);
        }
    }
    stub->together = stub->own_stop_held = false;
    stub->held_process = NULL;
    if (report)
        deliver_pending(report);
    else if (own)
        send_own_stop(stub);
}

/* Waits for the halted children's stops and OKs (the program ended: its
 * monitor ends once gdb has the exit, so nothing can wait for the loop). */
static void settle_now(struct gdbstub *stub)
{
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        while (process->fd >= 0 && (process->running || process->halting)) {
            size_t length = whole_packet(process->input);
            if (length == 0) {
                short revents = wait_for_child(process);
                if (!revents || !receive_from_child(process) ||
                    (revents & POLLHUP && whole_packet(process->input) == 0))
                    break;
                continue;
            }
            GString *frame = g_string_new_len(process->input->str, (gssize)length);
            g_string_erase(process->input, 0, length);
            take_child_packet(process, frame);
            g_string_free(frame, TRUE);
        }
        process->running = process->halting = false;
    }
}

bool gdbstub_hold_own_stop(struct gdbstub *stub, const struct gdb_stop *stop)
{
    if (stop->kind == GDB_STOP_EXITED || stop->kind == GDB_STOP_KILLED) {
        /* Told at once; the others' stops go with the connection. */
        if (!stub->together)
            return false;
        stub->absorb_own_stop = false;
        stub->held_process = NULL;
        stub->own_stop_held = true; /* their stops are not gdb's now */
        stub->settling = true;
        stop_the_others(stub, NULL);
        settle_now(stub);
        stub->together = stub->own_stop_held = stub->settling = false;
        return false;
    }
    if (stub->absorb_own_stop) {
        stub->absorb_own_stop = false;
        stub->stop_reply_owed = false;
        stub->own_pending = !is_own_halt(stop);
        finish_together(stub);
        return true;
    }
    if (!stub->together)
        return false;
    if (!others_busy(stub, NULL)) {
        stub->together = false;
        return false;
    }
    stub->stop_reply_owed = false;
    stub->own_stop_held = true;
    stop_the_others(stub, NULL);
    return true;
}

void gdbstub_handle_halt(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply_ok(stub);
    if (own_busy(stub)) {
        if (!stub->interrupt_sent) {
            stub->interrupt_sent = true;
            stub->ops->interrupt(stub->opaque);
        }
        return;
    }
    /* Resumed a child of its own alone: that one stops, its stop is this
     * process's answer. */
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        if (process->running && !process->halting) {
            process->halting = true;
            send_to_child(process, "QHermituxHalt", strlen("QHermituxHalt"));
        }
    }
}

/* The stop of a child's resume: gdb's now, or the first of several
 * (held), or one that came after the first (kept if an event). */
static void take_stop(struct gdbstub_process *process, GString *frame)
{
    struct gdbstub *stub = process->stub;
    process->running = process->forwarding = false;
    if (!stub->together) {
        deliver_stop(process, frame);
        return;
    }
    bool first = !stub->held_process && !stub->own_stop_held;
    if (first || !is_halt_stop(frame)) {
        g_ptr_array_add(process->pending, g_string_new_len(frame->str, (gssize)frame->len));
        if (first)
            stub->held_process = process;
        stop_the_others(stub, process);
    }
    finish_together(stub);
}

/* One whole packet from the child. */
static void take_child_packet(struct gdbstub_process *process, GString *frame)
{
    struct gdbstub *stub = process->stub;
    bool output = is_console_output(frame->str + 1, frame->len - 4);
    if (process->halting && !output && frame->len == 6 && memcmp(frame->str, "$OK", 3) == 0) {
        process->halting = false; /* QHermituxHalt's answer */
        finish_together(stub);
    } else if (output || !process->running) {
        if (process->forwarding)
            relay(stub, frame->str, frame->len);
        if (!output)
            process->forwarding = false;
    } else {
        take_stop(process, frame);
    }
}

/* The child's answers, and the stop of its resume: to gdb. A W or X is
 * its end; one kept for later keeps it listed until it is told. */
static gboolean on_child_readable(gint fd, GIOCondition condition, gpointer data)
{
    struct gdbstub_process *process = data;
    struct gdbstub *stub = process->stub;
    (void)fd, (void)condition;
    bool alive = receive_from_child(process);
    size_t length;
    while (process->fd >= 0 && (length = whole_packet(process->input)) > 0) {
        GString *frame = g_string_new_len(process->input->str, (gssize)length);
        g_string_erase(process->input, 0, length);
        bool was_running = process->running;
        take_child_packet(process, frame);
        bool stays = g_ptr_array_find(stub->processes, process, NULL);
        g_string_free(frame, TRUE);
        if (!stays)
            return G_SOURCE_REMOVE; /* delivered its end: dropped */
        /* Its end, the pair's too unless its children go on on it. */
        if (was_running && !process->running && process->descendants->len == 0 &&
            pending_exit_of(process, process->pid) >= 0)
            alive = false;
    }
    if (alive)
        return G_SOURCE_CONTINUE;
    process->halting = false;
    /* Gone while gdb waited for it: killed, as far as gdb can tell. */
    if (process->running) {
        GString *frame = g_string_new(NULL);
        g_string_printf(frame, "X09;process:%" PRIx64, process->pid);
        GString *framed = gdbstub_frame(frame->str, frame->len);
        g_string_free(frame, TRUE);
        process->source = 0; /* removed by returning G_SOURCE_REMOVE */
        take_stop(process, framed);
        g_string_free(framed, TRUE);
        if (!g_ptr_array_find(stub->processes, process, NULL))
            return G_SOURCE_REMOVE;
    } else if (process->forwarding) {
        gdbstub_reply(stub, "E03");
    }
    process->source = 0;
    if (has_pending(process)) {
        /* Its stop waits for the next resume: listed until then. */
        close(process->fd);
        process->fd = -1;
        finish_together(stub);
        return G_SOURCE_REMOVE;
    }
    drop_process(stub, process);
    finish_together(stub);
    return G_SOURCE_REMOVE;
}

/* Passes the packet on; the answer is relayed when it comes. */
static void forward(struct gdbstub *stub, struct gdbstub_process *process,
                    const struct gdbstub_cursor *packet, bool resumes)
{
    (void)stub;
    process->forwarding = true;
    process->running = resumes;
    send_to_child(process, packet->next, (size_t)(packet->end - packet->next));
}

/* Asks a stopped child and waits for its answer (NULL: none came). */
static char *ask(struct gdbstub_process *process, const char *packet)
{
    if (process->running || process->forwarding || process->fd < 0)
        return NULL;
    send_to_child(process, packet, strlen(packet));
    for (;;) {
        size_t length = whole_packet(process->input);
        if (length > 0) {
            char *payload = g_strndup(process->input->str + 1, length - 4);
            g_string_erase(process->input, 0, length);
            if (is_console_output(payload, length - 4)) {
                g_free(payload);
                continue;
            }
            return payload;
        }
        if (!wait_for_child(process) || !receive_from_child(process))
            return NULL;
    }
}

/* ---- keeping a child -------------------------------------------------------- */

/* QHermituxKeep's flags. */
#define KEEP_LEAVING 1 /* gdb detached or killed it: reached for its children */
#define KEEP_GONE    2 /* its pair closed: only its pending stop is left */

static struct gdbstub_process *add_process(struct gdbstub *stub, int64_t pid, int fd)
{
    struct gdbstub_process *process = g_new0(struct gdbstub_process, 1);
    process->stub = stub;
    process->pid = pid;
    process->fd = fd;
    process->input = g_string_new(NULL);
    process->descendants = g_array_new(FALSE, FALSE, sizeof(int64_t));
    process->pending = g_ptr_array_new_with_free_func(free_frame);
    if (fd >= 0)
        process->source = gdbstub_add_fd_source(stub, fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                                on_child_readable, process);
    g_ptr_array_add(processes(stub), process);
    return process;
}

bool gdbstub_keep_fork_child(struct gdbstub *stub)
{
    if (!stub->ops->fork_attach || !stub->fork_child)
        return false;
    char *session = gdbstub_handover_fork_session(stub, true);
    int child_end = -1;
    int fd = stub->ops->fork_attach(stub->opaque, stub->fork_child, session, &child_end);
    g_free(session);
    if (fd < 0)
        return false;
    struct gdbstub_process *process = add_process(stub, stub->fork_child, fd);
    if (stub->fork_child_selected)
        stub->general_process = process;
    stub->fork_child = 0;
    stub->fork_child_selected = false;
    return true;
}

/* ---- which packets are a child's ------------------------------------------- */

static bool starts_with(const struct gdbstub_cursor *packet, const char *prefix)
{
    size_t length = strlen(prefix);
    return (size_t)(packet->end - packet->next) >= length &&
           memcmp(packet->next, prefix, length) == 0;
}

/* The processes a vCont resumes: *own for this one, named[i] for the
 * kept child i (or the one through which it is reached). An action with no
 * thread, or pid -1, is for every one. */
static void resumed_processes(struct gdbstub *stub, const struct gdbstub_cursor *packet, bool *own,
                              bool *named)
{
    guint count = stub->processes ? stub->processes->len : 0;
    int64_t ours = gdbstub_process_id(stub);
    *own = false;
    for (const char *at = packet->next; at < packet->end; at++) {
        if (*at != ';')
            continue;
        const char *colon = memchr(at, ':', (size_t)(packet->end - at));
        const char *next = memchr(at + 1, ';', (size_t)(packet->end - at - 1));
        bool every = !colon || (next && colon > next);
        int64_t pid = every || colon[1] != 'p' ? ours : g_ascii_strtoll(colon + 2, NULL, 16);
        if (every || pid == -1) {
            *own = true;
            for (guint i = 0; i < count; i++)
                named[i] = true;
            continue;
        }
        if (pid == ours)
            *own = true;
        struct gdbstub_process *process = pid == ours ? NULL : find_process(stub, pid);
        for (guint i = 0; process && i < count; i++)
            named[i] = named[i] || g_ptr_array_index(stub->processes, i) == process;
    }
    *own = *own && !gdbstub_program_ended(stub);
}

/* A stop kept from the last resume of one the vCont resumes: reported now,
 * nothing resumed (as gdbserver with a pending status). */
static bool report_pending(struct gdbstub *stub, bool own, const bool *named)
{
    if (own && stub->own_pending) {
        stub->own_pending = false;
        send_own_stop(stub);
        return true;
    }
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        if (named[i] && has_pending(process)) {
            deliver_pending(process);
            return true;
        }
    }
    return false;
}

/* vCont: to each kept child it resumes; false when this process is one
 * of them (the caller resumes it). */
static bool route_resume(struct gdbstub *stub, const struct gdbstub_cursor *packet)
{
    guint count = stub->processes ? stub->processes->len : 0;
    bool own, *named = g_new0(bool, count + 1);
    resumed_processes(stub, packet, &own, named);
    if (report_pending(stub, own, named)) {
        g_free(named);
        return true;
    }
    guint children = 0;
    for (guint i = 0; i < count; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        named[i] = named[i] && process->fd >= 0 && (!process->leaving || process->descendants->len);
        children += named[i];
    }
    stub->together = children + own > 1;
    for (guint i = 0; i < count; i++) {
        if (named[i])
            forward(stub, g_ptr_array_index(stub->processes, i), packet, true);
    }
    g_free(named);
    return !own && children > 0;
}

/* Packets about the process Hg selected. */
static bool is_general_packet(const struct gdbstub_cursor *packet)
{
    static const char *const prefixes[] = {
        "qXfer:auxv:", "qXfer:siginfo:", "qXfer:libraries:", "qXfer:libraries-svr4:",
        "vFile:",      "qRcmd,",         "qGetTLSAddr:",
    };
    char letter = *packet->next;
    if (strchr("gGpPmMXZz", letter))
        return true;
    for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
        if (starts_with(packet, prefixes[i]))
            return true;
    }
    return false;
}

/* Settings of the whole session: every stopped child gets them too. */
static void share_setting(struct gdbstub *stub, const struct gdbstub_cursor *packet)
{
    char *text = g_strndup(packet->next, (size_t)(packet->end - packet->next));
    for (guint i = 0; i < stub->processes->len; i++)
        g_free(ask(g_ptr_array_index(stub->processes, i), text));
    g_free(text);
}

/* The kept child a packet names by pid: Hg/Hc, T, D;PID, vKill;PID,
 * qAttached:PID. */
static struct gdbstub_process *process_of(struct gdbstub *stub, const struct gdbstub_cursor *packet,
                                          int64_t *named)
{
    const char *text = packet->next, *end = packet->end;
    if (text[0] == 'H' && end - text > 2) {
        struct gdbstub_process *process = named_process(stub, text + 2, end, named);
        if (text[1] == 'g') {
            stub->general_process = process;
            stub->general_pid = *named;
        }
        return process;
    }
    if (text[0] == 'T')
        return named_process(stub, text + 1, end, named);
    /* D;PID, vKill;PID, qAttached:PID: the pid bare, in hex. */
    const char *pid = starts_with(packet, "D;")                      ? text + 2
                      : starts_with(packet, "vKill;")                ? text + 6
                      : starts_with(packet, "qAttached:")            ? text + 10
                      : starts_with(packet, "qXfer:exec-file:read:") ? text + 21
                                                                     : NULL;
    if (!pid)
        return NULL;
    char *after;
    *named = g_ascii_strtoll(pid, &after, 16);
    return after > pid && (after == end || *after == ':') ? find_process(stub, *named) : NULL;
}

/* D;PID or vKill;PID: that process is gdb's no more. */
static void note_leaving(struct gdbstub_process *process, const struct gdbstub_cursor *packet)
{
    const char *pid = starts_with(packet, "D;")       ? packet->next + 2
                      : starts_with(packet, "vKill;") ? packet->next + 6
                                                      : NULL;
    if (!pid)
        return;
    int64_t leaving = g_ascii_strtoll(pid, NULL, 16);
    int index = descendant_index(process, leaving);
    if (index >= 0)
        g_array_remove_index(process->descendants, (guint)index);
    else if (leaving == process->pid)
        process->leaving = true;
}

/* gdb killed or detached pid, which ended: its end is told no more. */
static void forget_ended(struct gdbstub *stub, struct gdbstub_process *process, int64_t pid)
{
    int exit = pending_exit_of(process, pid);
    if (exit >= 0)
        g_ptr_array_remove_index(process->pending, (guint)exit);
    int index = descendant_index(process, pid);
    if (index >= 0)
        g_array_remove_index(process->descendants, (guint)index);
    if (pid != process->pid)
        return;
    process->leaving = true;
    if (process->descendants->len == 0 && !has_pending(process))
        drop_process(stub, process);
}

/* A packet about pid, reached through process, that ended, gdb not told
 * yet (or whose pair is gone): nothing left to kill, detach or read; its
 * thread is selectable, its registers all unavailable (gdbserver's answers
 * for a dead process's leader). */
static void answer_for_ended(struct gdbstub *stub, struct gdbstub_process *process, int64_t pid,
                             const struct gdbstub_cursor *packet)
{
    char letter = *packet->next;
    bool untold = pending_exit_of(process, pid) >= 0;
    if (starts_with(packet, "vKill;") || starts_with(packet, "D;")) {
        forget_ended(stub, process, pid);
        gdbstub_reply_ok(stub);
    } else if (untold && (letter == 'H' || letter == 'T')) {
        gdbstub_reply_ok(stub);
    } else if (untold && (letter == 'g' || letter == 'p')) {
        struct gdbstub_cursor args = {packet->next + 1, packet->end};
        gdbstub_reply_unavailable_registers(stub, letter, &args);
    } else {
        gdbstub_reply(stub, "E03");
    }
}

bool gdbstub_route_packet(struct gdbstub *stub, const struct gdbstub_cursor *packet)
{
    if (packet->end == packet->next)
        return false;
    if (starts_with(packet, "vCont;"))
        return route_resume(stub, packet);
    if (!stub->processes || stub->processes->len == 0)
        return false;
    int64_t pid = 0;
    struct gdbstub_process *process = process_of(stub, packet, &pid);
    if (!process && is_general_packet(packet)) {
        process = stub->general_process;
        pid = stub->general_pid;
    }
    if (process && (process->fd < 0 || pending_exit_of(process, pid) >= 0)) {
        answer_for_ended(stub, process, pid, packet);
        return true;
    }
    if (process) {
        note_leaving(process, packet);
        forward(stub, process, packet, false);
        return true;
    }
    /* The hand-over's own packets are this stub's alone. */
    if (*packet->next == 'Q' && !starts_with(packet, "QHermitux"))
        share_setting(stub, packet);
    return false;
}

bool gdbstub_route_interrupt(struct gdbstub *stub)
{
    /* Resumed with children: this one stops first, then they do. */
    if (stub->together && own_busy(stub))
        return false;
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        if (process->running) {
            send(process->fd, "\x03", 1, MSG_NOSIGNAL);
            return true;
        }
    }
    return false;
}

/* ---- thread lists ----------------------------------------------------------- */

/* Ended processes whose ends gdb has not been told: gdbserver keeps such a
 * process's main thread listed, and answers for it without its registers
 * (all unavailable), until the exit is reported. Their pids, from the
 * pending exits of the ones reached through process. */
static GArray *ended_untold(const struct gdbstub_process *process)
{
    GArray *pids = g_array_new(FALSE, FALSE, sizeof(int64_t));
    for (guint i = 0; i < process->pending->len; i++) {
        const GString *frame = pending_at(process, i);
        int64_t pid = pid_after(frame->str, frame->len, ";process:");
        if (pid <= 0)
            pid = process->pid;
        if (is_exit_stop(frame))
            g_array_append_val(pids, pid);
    }
    return pids;
}

/* Still reached through its pair: itself, or children it keeps. */
static bool reaches_living(const struct gdbstub_process *process)
{
    return process->fd >= 0 && (is_alive(process) || process->descendants->len > 0);
}

void gdbstub_append_process_threads(const struct gdbstub *stub, GString *text)
{
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        GArray *ended = ended_untold(process);
        for (guint j = 0; j < ended->len; j++) {
            int64_t pid = g_array_index(ended, int64_t, j);
            g_string_append_printf(text, ",p%" PRIx64 ".%" PRIx64, pid, pid);
        }
        g_array_free(ended, TRUE);
        char *list = reaches_living(process) ? ask(process, "qfThreadInfo") : NULL;
        if (list && list[0] == 'm' && list[1])
            g_string_append_printf(text, ",%s", list + 1);
        g_free(list);
    }
}

/* Its threads' lines (the <threads> of its last answer), kept for the
 * names of those that end. */
static void remember_threads(struct gdbstub_process *process, const char *threads)
{
    g_free(process->threads_xml);
    process->threads_xml = g_strdup(threads);
}

/* pid's main thread as the last list named it. */
static void append_ended_leader_xml(const struct gdbstub_process *process, int64_t pid,
                                    GString *xml)
{
    char *id = g_strdup_printf("<thread id=\"p%" PRIx64 ".%" PRIx64 "\"", pid, pid);
    const char *line = process->threads_xml ? strstr(process->threads_xml, id) : NULL;
    const char *end = line ? strstr(line, "/>\n") : NULL;
    if (end)
        g_string_append_len(xml, line, end + 3 - line);
    else
        g_string_append_printf(xml, "%s/>\n", id);
    g_free(id);
}

void gdbstub_append_process_threads_xml(const struct gdbstub *stub, GString *xml)
{
    static const char open[] = "<threads>\n", close[] = "</threads>";
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        GArray *ended = ended_untold(process);
        for (guint j = 0; j < ended->len; j++)
            append_ended_leader_xml(process, g_array_index(ended, int64_t, j), xml);
        g_array_free(ended, TRUE);
        if (!reaches_living(process))
            continue;
        char *reply = ask(process, "qXfer:threads:read::0,ffff");
        size_t length = reply ? strlen(reply) : 0;
        char *start = NULL;
        if (length > 0 && gdbstub_unescape_binary(reply, &length)) {
            reply[length] = '\0';
            start = strstr(reply, open);
        }
        char *end = start ? strstr(start, close) : NULL;
        if (end) {
            *end = '\0';
            remember_threads(process, start);
            g_string_append(xml, start + sizeof open - 1);
        }
        g_free(reply);
    }
}

/* The socket, blocking, takes what is still pending (the parent's exit):
 * it must reach gdb before the child answers anything. */
static void flush_blocking(struct gdbstub *stub)
{
    fcntl(stub->connection_fd, F_SETFL, fcntl(stub->connection_fd, F_GETFL) & ~O_NONBLOCK);
    send_all(stub->connection_fd, stub->pending_output->str, stub->pending_output->len);
    g_string_truncate(stub->pending_output, 0);
}

/* Its untold stops: hex of each frame, oldest first, comma-separated. */
static void append_pending_hex(GString *text, const struct gdbstub_process *process)
{
    for (guint i = 0; i < process->pending->len; i++) {
        const GString *frame = pending_at(process, i);
        if (i > 0)
            g_string_append_c(text, ',');
        gdbstub_append_hex(text, frame->str, frame->len);
    }
}

/* Another kept child goes to the heir with its pair (QHermituxKeep), as
 * gdbserver keeps every process of the session: the heir's stub serves it
 * from then on. */
static void hand_over_process(struct gdbstub_process *heir, struct gdbstub_process *process)
{
    GString *text = g_string_new(NULL);
    unsigned flags = (process->leaving ? KEEP_LEAVING : 0) | (process->fd < 0 ? KEEP_GONE : 0);
    g_string_printf(text, "QHermituxKeep:%" PRIx64 ";%x;", process->pid, flags);
    append_pending_hex(text, process);
    for (guint i = 0; i < process->descendants->len; i++)
        g_string_append_printf(text, "%c%" PRIx64, i ? ',' : ';',
                               g_array_index(process->descendants, int64_t, i));
    /* Its pair goes with it while it reaches anyone, itself ended or not. */
    if (process->fd >= 0)
        send_to_child_with_fd(heir, text->str, process->fd);
    else
        send_to_child(heir, text->str, text->len);
    g_string_free(text, TRUE);
}

/* Stops not told gdb yet (append_pending_hex's), up to a ';', decoded. */
static GPtrArray *take_frames(struct gdbstub_cursor *args)
{
    GPtrArray *frames = g_ptr_array_new_with_free_func(free_frame);
    const char *end = memchr(args->next, ';', (size_t)(args->end - args->next));
    if (!end)
        end = args->end;
    while (args->next < end) {
        const char *comma = memchr(args->next, ',', (size_t)(end - args->next));
        size_t length = (size_t)((comma ? comma : end) - args->next);
        if (length > 0 && length % 2 == 0) {
            GString *frame = g_string_sized_new(length / 2);
            g_string_set_size(frame, length / 2);
            if (gdbstub_decode_hex(args->next, length, (uint8_t *)frame->str))
                g_ptr_array_add(frames, frame);
            else
                g_string_free(frame, TRUE);
        }
        args->next += length + (comma ? 1 : 0);
    }
    return frames;
}

/* The process a stop frame is about: its thread's, or the one that ended. */
static int64_t frame_pid(const GString *frame)
{
    return pid_after(frame->str, frame->len, is_exit_stop(frame) ? ";process:" : "thread:p");
}

void gdbstub_adopt_untold(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    GPtrArray *frames = take_frames(args);
    int64_t own = gdbstub_process_id(stub);
    while (frames->len > 0) {
        GString *frame = g_ptr_array_steal_index(frames, 0);
        int64_t pid = frame_pid(frame);
        if (pid <= 0 || pid == own) {
            /* Its own event: its last stop, told at the next resume. */
            stub->own_pending = true;
            g_string_free(frame, TRUE);
            continue;
        }
        struct gdbstub_process *process = find_process(stub, pid);
        /* Ended and dropped here once its stop was sent: listed till told. */
        if (!process)
            process = add_process(stub, pid, -1);
        g_ptr_array_add(process->pending, frame);
    }
    g_ptr_array_free(frames, TRUE);
}

void gdbstub_handle_keep(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t pid, flags;
    if (!gdbstub_take_char(args, ':') || !gdbstub_take_hex(args, &pid) ||
        !gdbstub_take_char(args, ';') || !gdbstub_take_hex(args, &flags) ||
        !gdbstub_take_char(args, ';'))
        return;
    int fd = flags & KEEP_GONE ? -1 : gdbstub_take_passed_fd(stub);
    if (fd < 0 && !(flags & KEEP_GONE))
        return;
    struct gdbstub_process *process = add_process(stub, (int64_t)pid, fd);
    process->leaving = flags & KEEP_LEAVING;
    g_ptr_array_extend_and_steal(process->pending, take_frames(args));
    uint64_t descendant;
    while ((gdbstub_take_char(args, ';') || gdbstub_take_char(args, ',')) &&
           gdbstub_take_hex(args, &descendant)) {
        int64_t pid_of_descendant = (int64_t)descendant;
        g_array_append_val(process->descendants, pid_of_descendant);
    }
}

bool gdbstub_owes_stops(const struct gdbstub *stub)
{
    if (!gdbstub_program_ended(stub) || !gdbstub_debugger_present(stub))
        return false;
    /* The end's own reply may wait behind output gdb has not read yet
     * (dprintf's O packets): it goes out before the connection closes. */
    if (stub->pending_output && stub->pending_output->len > 0)
        return true;
    /* Non-stop: gdb takes the end with a vStopped, as every stop. */
    if (gdbstub_non_stop_owes(stub))
        return true;
    for (guint i = 0; stub->processes && i < stub->processes->len; i++) {
        const struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        /* An end to tell, or ones reached through it (no heir took them). */
        if (has_pending(process) || reaches_living(process))
            return true;
    }
    return false;
}

bool gdbstub_pass_connection_on(struct gdbstub *stub)
{
    struct gdbstub_process *heir = NULL;
    for (guint i = 0; stub->processes && i < stub->processes->len && !heir; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        if (!process->leaving && is_alive(process))
            heir = process;
    }
    if (!heir || stub->connection_fd < 0)
        return false;
    flush_blocking(stub);
    for (guint i = 0; i < stub->processes->len; i++) {
        struct gdbstub_process *process = g_ptr_array_index(stub->processes, i);
        if (process != heir && (!process->leaving || process->descendants->len > 0))
            hand_over_process(heir, process);
    }
    /* With the stops it sent that gdb has not heard yet. */
    GString *text = g_string_new(NULL);
    g_string_printf(text, "QHermituxAdopt:%d;", stub->no_ack_mode ? 1 : 0);
    append_pending_hex(text, heir);
    send_to_child_with_fd(heir, text->str, stub->connection_fd);
    g_string_free(text, TRUE);
    /* This stub reads no more of it; its copy closes (the child has one). */
    gdbstub_close_connection(stub);
    return true;
}
