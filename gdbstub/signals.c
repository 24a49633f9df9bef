/*
 * gdbstub/signals.c — the packets for the program's signals and processes:
 * qXfer:siginfo:read/write ($_siginfo), and the features qSupported
 * announces for them.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "gdbstub/internal.h"

#define SIGINFO_SIZE 128

/* Whether the debugger's qSupported list has "feature+". */
static bool offered(const struct gdbstub_cursor *list, const char *feature)
{
    size_t length = strlen(feature);
    for (const char *item = list->next; item + length < list->end;) {
        const char *next = memchr(item, ';', (size_t)(list->end - item));
        if (memcmp(item, feature, length) == 0 && item[length] == '+' &&
            (item + length + 1 == list->end || item + length + 1 == next))
            return true;
        if (!next)
            break;
        item = next + 1;
    }
    return false;
}

void gdbstub_append_signal_features(struct gdbstub *stub, const struct gdbstub_cursor *list,
                                    GString *text)
{
    if (stub->ops->siginfo)
        g_string_append(text, ";qXfer:siginfo:read+;qXfer:siginfo:write+");
    /* Process events need pPID.TID ids to name the child. */
    if (!stub->ops->process_events)
        return;
    bool fork = stub->multiprocess && offered(list, "fork-events");
    bool vfork = stub->multiprocess && offered(list, "vfork-events");
    stub->ops->process_events(stub->opaque, fork, vfork);
    stub->fork_events = fork;
    stub->vfork_events = vfork;
    if (fork)
        g_string_append(text, ";fork-events+");
    if (vfork)
        g_string_append(text, ";vfork-events+");
    /* An execve keeps the debugger (handover.c); with exec-events gdb is
     * told so and reloads the program, else it sees a SIGTRAP stop. */
    stub->exec_events = stub->multiprocess && stub->ops->exec_file && offered(list, "exec-events");
    if (stub->exec_events)
        g_string_append(text, ";exec-events+");
}

void gdbstub_append_exec_event(const struct gdbstub *stub, GString *text)
{
    const char *path = stub->ops->exec_file ? stub->ops->exec_file(stub->opaque) : NULL;
    if (!stub->exec_events || !path)
        return;
    g_string_append(text, "exec:");
    for (const char *at = path; *at; at++)
        g_string_append_printf(text, "%02x", (unsigned char)*at);
    g_string_append_c(text, ';');
}

/* ---- fork and vfork ---------------------------------------------------- */

void gdbstub_append_process_event(const struct gdbstub *stub, GString *text,
                                  const struct gdb_stop *stop)
{
    (void)stub;
    if (stop->reason == GDB_STOP_REASON_VFORK_DONE) {
        g_string_append(text, "vforkdone:;");
        return;
    }
    g_string_append_printf(text, "%s:p%" G_GINT64_MODIFIER "x.%" G_GINT64_MODIFIER "x;",
                           stop->reason == GDB_STOP_REASON_FORK ? "fork" : "vfork", stop->child_pid,
                           stop->child_pid);
}

/* "pPID" or "pPID.TID" naming the fork's child at the cursor. */
static bool names_child(const struct gdbstub *stub, const char *text, const char *end)
{
    if (text >= end || *text != 'p' || !stub->fork_child)
        return false;
    char *after;
    gint64 pid = g_ascii_strtoll(text + 1, &after, 16);
    return after > text + 1 && after <= end && pid == stub->fork_child;
}

/* D;PID: PID in hex, the whole rest of the packet; -1 if not so. */
static gint64 detached_pid(const char *text, const char *end)
{
    if (end - text < 3 || text[0] != 'D' || text[1] != ';')
        return -1;
    char *after;
    gint64 pid = g_ascii_strtoll(text + 2, &after, 16);
    return after == end && after > text + 2 ? pid : -1;
}

/* The fork's child is gdb's no more: false when the target says no. */
static bool let_child_go(struct gdbstub *stub)
{
    if (stub->ops->fork_release && stub->ops->fork_release(stub->opaque, stub->fork_child) < 0)
        return false;
    stub->fork_child = 0;
    stub->fork_child_selected = false;
    return true;
}

/* D;PARENT with the child waiting: gdb goes on with the child alone
 * (follow-fork-mode child), which takes this connection over. The D itself
 * is then answered as any detach: the parent runs on undebugged. */
static void hand_connection_to_child(struct gdbstub *stub)
{
    char *session = gdbstub_handover_fork_session(stub, false);
    if (stub->ops->fork_follow(stub->opaque, stub->fork_child, session) == 0) {
        stub->fork_child = 0;
        stub->fork_child_selected = false;
    }
    g_free(session);
}

bool gdbstub_handle_fork_child(struct gdbstub *stub, const struct gdbstub_cursor *packet)
{
    const char *text = packet->next, *end = packet->end;
    size_t length = (size_t)(end - text);
    if (!stub->fork_child || length == 0)
        return false;
    /* Hg/Hc: the child, or back to the program. */
    if (length >= 2 && text[0] == 'H' && (text[1] == 'g' || text[1] == 'c')) {
        stub->fork_child_selected = names_child(stub, text + 2, end);
        if (!stub->fork_child_selected)
            return false;
        gdbstub_reply_ok(stub);
        return true;
    }
    gint64 detached = detached_pid(text, end);
    /* D;CHILD: gdb lets the child go (follow-fork-mode parent). */
    if (detached == stub->fork_child) {
        if (let_child_go(stub))
            gdbstub_reply_ok(stub);
        else
            gdbstub_reply_error(stub, ESRCH);
        return true;
    }
    if (detached == gdbstub_process_id(stub) && stub->ops->fork_follow) {
        hand_connection_to_child(stub);
        return false;
    }
    /* vKill;CHILD: its own stub ends it. */
    if (length > 6 && !memcmp(text, "vKill;", 6)) {
        char *after;
        if (g_ascii_strtoll(text + 6, &after, 16) == stub->fork_child && after == end)
            gdbstub_keep_fork_child(stub);
        return false;
    }
    /* gdb resumes without having let the child go: it keeps it
     * (detach-on-fork off), stopped. */
    if (text[0] == 'v' || text[0] == 'c' || text[0] == 's' || text[0] == 'C' || text[0] == 'S') {
        if (length >= 5 && !memcmp(text, "vCont", 5) && (length == 5 || text[5] != '?'))
            gdbstub_keep_fork_child(stub);
        else if (text[0] != 'v')
            gdbstub_keep_fork_child(stub);
        return false;
    }
    if (!stub->fork_child_selected)
        return false;
    /* gdb takes its breakpoints out of the child before it decides: they
     * were taken out when it was made. Reads see the parent's copy, which
     * the child's memory was at the fork. */
    if (text[0] == 'z' || text[0] == 'Z' || text[0] == 'M' || text[0] == 'X') {
        gdbstub_reply_ok(stub);
        return true;
    }
    /* Anything else about it (its registers): gdb keeps it, and asks it. */
    gdbstub_keep_fork_child(stub);
    return false;
}

/* qXfer:siginfo:read::OFFSET,LENGTH */
static void read_siginfo(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t offset, length;
    uint8_t info[SIGINFO_SIZE];
    if (!gdbstub_take_hex(args, &offset) || !gdbstub_take_char(args, ',') ||
        !gdbstub_take_hex(args, &length) || !gdbstub_at_end(args)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    if (stub->ops->siginfo(stub->opaque, gdbstub_current_thread(stub), info, false) < 0) {
        gdbstub_reply(stub, "E01"); /* gdbserver's answer when there is none */
        return;
    }
    size_t start = offset < SIGINFO_SIZE ? (size_t)offset : SIGINFO_SIZE;
    size_t chunk = SIGINFO_SIZE - start < length ? SIGINFO_SIZE - start : (size_t)length;
    GString *text = g_string_new(start + chunk < SIGINFO_SIZE ? "m" : "l");
    gdbstub_append_escaped(text, info + start, chunk);
    gdbstub_reply_string(stub, text);
}

/* qXfer:siginfo:write::OFFSET:DATA (binary); the reply is the count written. */
static void write_siginfo(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t offset;
    uint8_t info[SIGINFO_SIZE];
    if (!gdbstub_take_hex(args, &offset) || !gdbstub_take_char(args, ':')) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    size_t length = (size_t)(args->end - args->next);
    char *data = g_memdup2(args->next, length + 1);
    if (!gdbstub_unescape_binary(data, &length) || offset > SIGINFO_SIZE) {
        g_free(data);
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    if (stub->ops->siginfo(stub->opaque, gdbstub_current_thread(stub), info, false) < 0) {
        g_free(data);
        gdbstub_reply(stub, "E01");
        return;
    }
    size_t count = length < SIGINFO_SIZE - offset ? length : SIGINFO_SIZE - (size_t)offset;
    memcpy(info + offset, data, count);
    g_free(data);
    stub->ops->siginfo(stub->opaque, gdbstub_current_thread(stub), info, true);
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "%zx", count);
    gdbstub_reply_string(stub, text);
}

/* qXfer:siginfo:OPERATION::... (the annex is empty). */
void gdbstub_handle_siginfo(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    if (!stub->ops->siginfo) {
        gdbstub_reply_empty(stub);
        return;
    }
    static const char read[] = ":read::", write[] = ":write::";
    size_t left = (size_t)(args->end - args->next);
    if (left >= sizeof(read) - 1 && memcmp(args->next, read, sizeof(read) - 1) == 0) {
        args->next += sizeof(read) - 1;
        read_siginfo(stub, args);
    } else if (left >= sizeof(write) - 1 && memcmp(args->next, write, sizeof(write) - 1) == 0) {
        args->next += sizeof(write) - 1;
        write_siginfo(stub, args);
    } else {
        gdbstub_reply(stub, "E00");
    }
}
