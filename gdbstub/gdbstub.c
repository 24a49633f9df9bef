/*
 * The stub's lifecycle and execution state: creation, sessions, thread ids
 * as the debugger writes them, and stop replies. The stub is all-stop: a
 * resume owes the debugger exactly one stop reply, sent when the monitor
 * calls gdbstub_notify_stop.
 *
 * One vCPU, so one thread: id 1, process id 1.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "gdbstub/internal.h"

/* A thread id as gdb writes them: -1 (all), 0 (any) or a hex id. */
int64_t gdbstub_process_id(const struct gdbstub *stub)
{
    return stub->ops->process_id ? stub->ops->process_id(stub->opaque) : 0;
}

/* The one thread's id as the debugger writes it: "1", or "pPID.PID". */
void gdbstub_append_thread(const struct gdbstub *stub, GString *text)
{
    if (stub->multiprocess)
        g_string_append_printf(text, "p%" PRIx64 ".%" PRIx64, gdbstub_process_id(stub),
                               gdbstub_process_id(stub));
    else
        g_string_append_printf(text, "%x", THREAD_ID);
}

static bool take_plain_thread_id(struct gdbstub_cursor *cursor, int64_t *thread);

/* pPID, pPID.TID (each part -1 for all, 0 for any): our process and its
 * main thread become THREAD_ID (or -1/0 for all/any), anything else an id
 * that is not ours. */
static bool take_multiprocess_id(const struct gdbstub *stub, struct gdbstub_cursor *cursor,
                                 int64_t *thread)
{
    int64_t pid, tid = -1;
    if (!take_plain_thread_id(cursor, &pid) ||
        (gdbstub_take_char(cursor, '.') && !take_plain_thread_id(cursor, &tid)))
        return false;
    int64_t ours = gdbstub_process_id(stub);
    if (pid > 0 && pid != ours)
        *thread = INT32_MAX; /* another process: no such thread */
    else if (tid > 0)
        *thread = tid == ours ? THREAD_ID : INT32_MAX;
    else
        *thread = tid;
    return true;
}

bool gdbstub_take_thread_id_of(const struct gdbstub *stub, struct gdbstub_cursor *cursor,
                               int64_t *thread)
{
    if (gdbstub_take_char(cursor, 'p'))
        return take_multiprocess_id(stub, cursor, thread);
    return take_plain_thread_id(cursor, thread);
}

static bool take_plain_thread_id(struct gdbstub_cursor *cursor, int64_t *thread)
{
    uint64_t value;
    if (gdbstub_take_char(cursor, '-')) {
        if (!gdbstub_take_char(cursor, '1'))
            return false;
        *thread = -1;
        return true;
    }
    if (!gdbstub_take_hex(cursor, &value) || value > INT32_MAX)
        return false;
    *thread = (int64_t)value;
    return true;
}

bool gdbstub_is_our_thread(int64_t thread)
{
    return thread == -1 || thread == 0 || thread == THREAD_ID;
}

/* lldb's QThreadSuffixSupported appends ";thread:ID;" to register packets. */
void gdbstub_drop_thread_suffix(struct gdbstub_cursor *cursor)
{
    const char *suffix = memmem(cursor->next, (size_t)(cursor->end - cursor->next), ";thread:", 8);
    if (suffix)
        cursor->end = suffix;
}

/* ---- stop replies ------------------------------------------------------ */

static GString *format_stop_reply(const struct gdbstub *stub, const struct gdb_stop *stop)
{
    GString *text = g_string_new(NULL);
    switch (stop->kind) {
    case GDB_STOP_EXITED:
        g_string_append_printf(text, "W%02x", stop->exit_status & 0xff);
        if (stub->multiprocess)
            g_string_append_printf(text, ";process:%" PRIx64, gdbstub_process_id(stub));
        return text;
    case GDB_STOP_KILLED:
        g_string_append_printf(text, "X%02x", stop->signal & 0xff);
        if (stub->multiprocess)
            g_string_append_printf(text, ";process:%" PRIx64, gdbstub_process_id(stub));
        return text;
    case GDB_STOP_SIGNAL:
        break;
    }
    g_string_append_printf(text, "T%02xthread:", stop->signal & 0xff);
    gdbstub_append_thread(stub, text);
    g_string_append_c(text, ';');
    if (stub->list_threads_in_stop_reply) {
        g_string_append(text, "threads:");
        gdbstub_append_thread(stub, text);
        g_string_append_c(text, ';');
    }
    /* swbreak/hwbreak only for a debugger that asked for them (qSupported). */
    switch (stop->reason) {
    case GDB_STOP_REASON_SWBREAK:
        if (stub->debugger_swbreak)
            g_string_append(text, "swbreak:;");
        break;
    case GDB_STOP_REASON_HWBREAK:
        if (stub->debugger_hwbreak)
            g_string_append(text, "hwbreak:;");
        break;
    case GDB_STOP_REASON_WATCH:
        g_string_append_printf(text, "watch:%" PRIx64 ";", stop->watch_address);
        break;
    case GDB_STOP_REASON_RWATCH:
        g_string_append_printf(text, "rwatch:%" PRIx64 ";", stop->watch_address);
        break;
    case GDB_STOP_REASON_AWATCH:
        g_string_append_printf(text, "awatch:%" PRIx64 ";", stop->watch_address);
        break;
    case GDB_STOP_REASON_SYSCALL_ENTRY:
        g_string_append_printf(text, "syscall_entry:%" PRIx64 ";", stop->syscall_number);
        break;
    case GDB_STOP_REASON_SYSCALL_RETURN:
        g_string_append_printf(text, "syscall_return:%" PRIx64 ";", stop->syscall_number);
        break;
    case GDB_STOP_REASON_NONE:
        break;
    }
    return text;
}

void gdbstub_send_stop_reply(struct gdbstub *stub)
{
    /* Before the first stop the guest sits at its entry point, halted as if
     * by a breakpoint trap. */
    struct gdb_stop initial = {.kind = GDB_STOP_SIGNAL, .signal = 5};
    gdbstub_reply_string(stub,
                         format_stop_reply(stub, stub->have_stop ? &stub->last_stop : &initial));
}

bool gdbstub_program_ended(const struct gdbstub *stub)
{
    return stub->have_stop && stub->last_stop.kind != GDB_STOP_SIGNAL;
}

void gdbstub_notify_stop(struct gdbstub *stub, const struct gdb_stop *stop)
{
    gdbstub_start_accepting(stub);
    stub->last_stop = *stop;
    stub->have_stop = true;
    stub->running = false;
    stub->interrupt_sent = false;
    if (stub->stop_reply_owed && gdbstub_debugger_present(stub)) {
        stub->stop_reply_owed = false;
        gdbstub_send_stop_reply(stub);
    }
}

/* A new debugger starts from a clean protocol state. */
void gdbstub_reset_session(struct gdbstub *stub)
{
    stub->receive_state = RECEIVE_IDLE;
    stub->no_ack_mode = false;
    stub->debugger_swbreak = false;
    stub->debugger_hwbreak = false;
    stub->list_threads_in_stop_reply = false;
    stub->multiprocess = false;
    gdbstub_close_session_files(stub);
    stub->stop_reply_owed = false;
    stub->interrupt_queued = false;
    memset(stub->pass_signals, 0, sizeof stub->pass_signals);
    memset(stub->program_signals, 0, sizeof stub->program_signals);
    stub->closing = false;
    stub->said_goodbye = false;
    g_string_truncate(stub->last_packet, 0);
}

bool gdbstub_connected(const struct gdbstub *stub)
{
    return gdbstub_debugger_present(stub);
}

struct gdbstub *gdbstub_new(const struct gdb_target_ops *ops, void *opaque)
{
    struct gdbstub *stub = g_new0(struct gdbstub, 1);
    stub->ops = ops;
    stub->opaque = opaque;
    stub->listen_fd = -1;
    stub->connection_fd = -1;
    stub->last_packet = g_string_new(NULL);
    stub->pending_output = g_string_new(NULL);
    stub->files = g_array_new(FALSE, FALSE, sizeof(int));
    return stub;
}

void gdbstub_notify_running(struct gdbstub *stub)
{
    stub->running = true;
    stub->interrupt_sent = false;
    gdbstub_start_accepting(stub);
}

void gdbstub_free(struct gdbstub *stub)
{
    if (!stub)
        return;
    gdbstub_close_connection(stub);
    if (stub->listen_source)
        g_source_remove(stub->listen_source);
    if (stub->listen_fd >= 0)
        close(stub->listen_fd);
    if (stub->unix_path)
        unlink(stub->unix_path);
    g_free(stub->unix_path);
    g_free(stub->address);
    g_string_free(stub->last_packet, TRUE);
    g_string_free(stub->pending_output, TRUE);
    gdbstub_close_session_files(stub);
    g_array_free(stub->files, TRUE);
    g_free(stub);
}
