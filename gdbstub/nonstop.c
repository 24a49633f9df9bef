/*
 * Non-stop mode (the GDB manual's "Remote Non-Stop"): gdb's `set non-stop
 * on`. QNonStop:1 turns it on; from then on a resume is answered OK at
 * once, and each thread's stop comes asynchronously: the first one queued
 * goes out as a %Stop notification, gdb answers it with vStopped, and each
 * vStopped takes the stop gdb has seen off the queue and is answered with
 * the next one, or OK when none is left (gdbserver's notif.cc works so).
 * `?` puts every stopped thread's last stop on the queue and answers with
 * the first. vCtrlC (and Ctrl-C) stops one running thread with SIGINT.
 * The target does the per-thread work (ops->non_stop, ops->resume with
 * GDB_RESUME_STOP, ops->stopped_threads).
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "gdbstub/internal.h"

static GQueue *queue(struct gdbstub *stub)
{
    if (!stub->notifications)
        stub->notifications = g_queue_new();
    return stub->notifications;
}

static void reply_stop(struct gdbstub *stub, const struct gdb_stop *stop)
{
    gdbstub_reply_string(stub, gdbstub_format_stop(stub, stop));
}

/* The queue's first stop as a reply, or OK when it is empty. */
static void reply_first(struct gdbstub *stub)
{
    const struct gdb_stop *first = g_queue_peek_head(queue(stub));
    if (first)
        reply_stop(stub, first);
    else
        gdbstub_reply_ok(stub);
}

void gdbstub_non_stop_forget(struct gdbstub *stub)
{
    if (stub->notifications)
        g_queue_free_full(stub->notifications, g_free);
    stub->notifications = NULL;
    /* The target lets every thread run on when a non-stop session ends. */
    if (stub->non_stop && !gdbstub_program_ended(stub))
        stub->running = true;
    stub->non_stop = false;
}

void gdbstub_non_stop_notify(struct gdbstub *stub, const struct gdb_stop *stop)
{
    /* A thread's end, or none left running, is not a stop `?` could report. */
    if (stop->kind != GDB_STOP_THREAD_EXITED && stop->kind != GDB_STOP_NO_RESUMED) {
        stub->last_stop = *stop;
        stub->have_stop = true;
    }
    /* As gdbserver: N only to a debugger that takes it. */
    if (!gdbstub_debugger_present(stub) ||
        (stop->kind == GDB_STOP_NO_RESUMED && !stub->debugger_no_resumed))
        return;
    g_queue_push_tail(queue(stub), g_memdup2(stop, sizeof *stop));
    /* Only the first of a burst is announced: gdb fetches the rest with vStopped. */
    if (g_queue_get_length(queue(stub)) > 1)
        return;
    GString *text = g_string_new("Stop:");
    GString *reply = gdbstub_format_stop(stub, stop);
    g_string_append_len(text, reply->str, (gssize)reply->len);
    g_string_free(reply, TRUE);
    gdbstub_send_notification(stub, text->str, text->len);
    g_string_free(text, TRUE);
}

bool gdbstub_stop_queued(const struct gdbstub *stub, int64_t thread)
{
    if (!stub->notifications)
        return false;
    for (const GList *link = stub->notifications->head; link; link = link->next) {
        const struct gdb_stop *stop = link->data;
        if (stop->thread == thread)
            return true;
    }
    return false;
}

bool gdbstub_non_stop_owes(const struct gdbstub *stub)
{
    return stub->non_stop && stub->notifications && !g_queue_is_empty(stub->notifications);
}

/* QNonStop:0 / QNonStop:1 */
void gdbstub_handle_non_stop(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    bool on;
    if (!stub->ops->non_stop) {
        gdbstub_reply_empty(stub);
        return;
    }
    if (!gdbstub_take_switch(args, &on)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    if (on == stub->non_stop) {
        gdbstub_reply_ok(stub);
        return;
    }
    int result = stub->ops->non_stop(stub->opaque, on);
    if (result < 0) {
        gdbstub_reply_error(stub, -result);
        return;
    }
    stub->non_stop = on;
    /* Running is each thread's own now; back in all-stop every one is stopped. */
    stub->running = stub->stop_reply_owed = stub->interrupt_sent = false;
    stub->interrupt_queued = false;
    if (!stub->non_stop && stub->notifications)
        g_queue_clear_full(stub->notifications, g_free);
    gdbstub_reply_ok(stub);
}

/* vStopped: gdb has seen the first stop of the queue. */
void gdbstub_handle_stopped(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    if (!gdbstub_at_end(args)) {
        gdbstub_reply_empty(stub);
        return;
    }
    g_free(g_queue_pop_head(queue(stub)));
    reply_first(stub);
}

/* vCtrlC: as gdbserver, the program is interrupted (one thread stops with
 * SIGINT); OK at once. */
void gdbstub_handle_ctrl_c(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    if (!stub->non_stop || !gdbstub_at_end(args)) {
        gdbstub_reply_empty(stub);
        return;
    }
    if (!gdbstub_program_ended(stub))
        stub->ops->interrupt(stub->opaque);
    gdbstub_reply_ok(stub);
}

void gdbstub_non_stop_status(struct gdbstub *stub)
{
    g_queue_clear_full(queue(stub), g_free);
    if (gdbstub_program_ended(stub)) {
        reply_stop(stub, &stub->last_stop);
        return;
    }
    size_t count = stub->ops->stopped_threads(stub->opaque, NULL, 0);
    struct gdb_stop *stops = g_new0(struct gdb_stop, count ? count : 1);
    count = MIN(stub->ops->stopped_threads(stub->opaque, stops, count), count);
    for (size_t i = 0; i < count; i++)
        g_queue_push_tail(queue(stub), g_memdup2(&stops[i], sizeof stops[i]));
    g_free(stops);
    reply_first(stub);
}

void gdbstub_non_stop_resume(struct gdbstub *stub, const struct gdb_resume_action *actions,
                             size_t count)
{
    int result = stub->ops->resume(stub->opaque, actions, count);
    if (result < 0)
        gdbstub_reply_error(stub, -result);
    else
        gdbstub_reply_ok(stub);
}
