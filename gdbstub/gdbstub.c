/*
 * The stub's lifecycle and execution state: creation, sessions, thread ids
 * as the debugger writes them, and stop replies. The stub is all-stop: a
 * resume owes the debugger exactly one stop reply, sent when the monitor
 * calls gdbstub_notify_stop. Thread ids are in threads.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "gdbstub/internal.h"

/* ---- stop replies ------------------------------------------------------ */

/* The registers gdb needs at every stop to know where the thread is and
 * to unwind (rbp, rsp, rip: amd64's 6, 7 and 16), sent with the stop as
 * gdbserver expedites them: without them gdb asks for all registers (a `g`,
 * with the FPU state) after each stop and each step. Nothing when they
 * cannot be read; gdb then asks. */
static void append_expedited_registers(const struct gdbstub *stub, GString *text, int64_t thread)
{
    struct cpu_state state;
    if (!stub->ops->read_registers ||
        stub->ops->read_registers(stub->opaque, thread, &state, NULL) != 0)
        return;
    const struct {
        int number;
        uint64_t value;
    } expedited[] = {{6, state.rbp}, {7, state.rsp}, {16, state.rip}};
    for (size_t i = 0; i < G_N_ELEMENTS(expedited); i++) {
        g_string_append_printf(text, "%02x:", expedited[i].number);
        gdbstub_append_hex(text, &expedited[i].value, sizeof(expedited[i].value));
        g_string_append_c(text, ';');
    }
}

GString *gdbstub_format_stop(const struct gdbstub *stub, const struct gdb_stop *stop)
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
    case GDB_STOP_THREAD_EXITED:
        /* gdbserver's form: the status in plain hex, then the thread. */
        g_string_append_printf(text, "w%x;", stop->exit_status & 0xff);
        gdbstub_append_thread_id(stub, text, stop->thread);
        return text;
    case GDB_STOP_NO_RESUMED:
        g_string_append(text, stub->debugger_no_resumed ? "N" : "E.No unwaited-for children left.");
        return text;
    case GDB_STOP_SIGNAL:
        break;
    }
    int64_t thread = gdbstub_stop_thread(stub, stop);
    g_string_append_printf(text, "T%02xthread:", stop->signal & 0xff);
    gdbstub_append_thread_id(stub, text, thread);
    g_string_append_c(text, ';');
    append_expedited_registers(stub, text, thread);
    if (stub->list_threads_in_stop_reply) {
        g_string_append(text, "threads:");
        gdbstub_append_thread_list(stub, text);
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
    case GDB_STOP_REASON_FORK:
    case GDB_STOP_REASON_VFORK:
    case GDB_STOP_REASON_VFORK_DONE:
        gdbstub_append_process_event(stub, text, stop);
        break;
    case GDB_STOP_REASON_EXEC:
        gdbstub_append_exec_event(stub, text);
        break;
    case GDB_STOP_REASON_CREATE:
        g_string_append(text, "create:;");
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
                         gdbstub_format_stop(stub, stub->have_stop ? &stub->last_stop : &initial));
}

bool gdbstub_program_ended(const struct gdbstub *stub)
{
    return stub->have_stop &&
           (stub->last_stop.kind == GDB_STOP_EXITED || stub->last_stop.kind == GDB_STOP_KILLED);
}

void gdbstub_notify_stop(struct gdbstub *stub, const struct gdb_stop *stop)
{
    gdbstub_start_accepting(stub);
    if (stop->reason == GDB_STOP_REASON_FORK || stop->reason == GDB_STOP_REASON_VFORK)
        stub->fork_child = stop->child_pid;
    if (stub->non_stop) {
        gdbstub_non_stop_notify(stub, stop);
        return;
    }
    /* Every thread is stopped again, each with its last stop for `?`. */
    if (stop->kind != GDB_STOP_NO_RESUMED) {
        stub->last_stop = *stop;
        stub->have_stop = true;
    }
    stub->running = false;
    stub->interrupt_sent = false;
    /* As gdbserver: the thread that stopped is the one selected now. */
    stub->general_thread = 0;
    stub->continue_thread = 0;
    stub->general_process = NULL;
    if (stub->stop_reply_owed && gdbstub_debugger_present(stub)) {
        if (stop->kind != GDB_STOP_NO_RESUMED && gdbstub_hold_own_stop(stub, stop))
            return; /* sent, with the exit's hand-over, once the others stopped */
        stub->stop_reply_owed = false;
        gdbstub_reply_string(stub, gdbstub_format_stop(stub, stop));
    }
    /* Children gdb keeps outlive the program: one of them serves gdb on. */
    if (gdbstub_program_ended(stub) && !stub->closing)
        gdbstub_pass_connection_on(stub);
}

/* A new debugger starts from a clean protocol state. */
void gdbstub_reset_session(struct gdbstub *stub)
{
    stub->receive_state = RECEIVE_IDLE;
    stub->no_ack_mode = false;
    stub->debugger_swbreak = false;
    stub->debugger_hwbreak = false;
    stub->debugger_no_resumed = false;
    stub->list_threads_in_stop_reply = false;
    stub->multiprocess = false;
    stub->general_thread = 0;
    stub->continue_thread = 0;
    stub->fork_child = 0;
    stub->fork_child_selected = false;
    gdbstub_close_session_files(stub);
    stub->stop_reply_owed = false;
    stub->interrupt_queued = false;
    gdbstub_non_stop_forget(stub);
    memset(stub->pass_signals, 0, sizeof stub->pass_signals);
    memset(stub->program_signals, 0, sizeof stub->program_signals);
    g_clear_pointer(&stub->catch_syscalls, g_free);
    stub->closing = false;
    stub->said_goodbye = false;
    g_string_truncate(stub->last_packet, 0);
}

bool gdbstub_connected(const struct gdbstub *stub)
{
    return __atomic_load_n(&stub->connected, __ATOMIC_ACQUIRE) || stub->capture != NULL;
}

struct gdbstub *gdbstub_new(const struct gdb_target_ops *ops, void *opaque)
{
    struct gdbstub *stub = g_new0(struct gdbstub, 1);
    stub->ops = ops;
    stub->opaque = opaque;
    stub->context = g_main_context_ref_thread_default();
    stub->listen_fd = -1;
    stub->stdio_fd = -1;
    stub->connection_fd = -1;
    stub->spare_connection_fd = -1;
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

/* O packets waiting for a slow debugger beyond this go to stdout instead:
 * a dprintf in a tight loop must not fill the stub's buffer (the
 * connection would be dropped). */
#define CONSOLE_PENDING_LIMIT (256 * 1024)

void gdbstub_console_output(struct gdbstub *stub, const char *text, size_t length)
{
    if (gdbstub_debugger_present(stub) && stub->running && stub->stop_reply_owed &&
        stub->pending_output->len < CONSOLE_PENDING_LIMIT) {
        gdbstub_send_console_output(stub, text, length);
        return;
    }
    fwrite(text, 1, length, stdout);
    fflush(stdout);
}

void gdbstub_free(struct gdbstub *stub)
{
    if (!stub)
        return;
    gdbstub_close_connection(stub);
    if (stub->spare_connection_fd >= 0)
        close(stub->spare_connection_fd);
    if (stub->processes)
        g_ptr_array_free(stub->processes, TRUE);
    gdbstub_close_passed_fds(stub);
    gdbstub_remove_source(stub, &stub->listen_source);
    if (stub->listen_fd >= 0)
        close(stub->listen_fd);
    if (stub->stdio_fd >= 0)
        close(stub->stdio_fd);
    if (stub->unix_path)
        unlink(stub->unix_path);
    g_free(stub->unix_path);
    g_free(stub->catch_syscalls);
    g_free(stub->address);
    g_string_free(stub->last_packet, TRUE);
    g_string_free(stub->pending_output, TRUE);
    gdbstub_non_stop_forget(stub);
    gdbstub_close_session_files(stub);
    g_array_free(stub->files, TRUE);
    g_main_context_unref(stub->context);
    g_free(stub);
}
