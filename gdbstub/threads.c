/*
 * Threads as the debugger sees them: thread ids in packets (plain hex, or
 * pPID.TID under multiprocess+), the selected threads of Hg and Hc, the
 * thread list (qfThreadInfo/qsThreadInfo, qXfer:threads:read), names
 * (qThreadExtraInfo) and liveness (T).
 *
 * With ops->threads the ids are the target's own (the guest tids, the first
 * thread's being the pid). Without it the program is one thread, id 1, and
 * under multiprocess+ it is pPID.PID.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <glib.h>

#include "gdbstub/internal.h"

/* The one thread of a target without ops->threads. */
#define SINGLE_THREAD_ID 1

int64_t gdbstub_process_id(const struct gdbstub *stub)
{
    return stub->ops->process_id ? stub->ops->process_id(stub->opaque) : 0;
}

static int thread_id_order(const void *a, const void *b)
{
    int64_t left = *(const int64_t *)a, right = *(const int64_t *)b;
    return left < right ? -1 : left > right;
}

size_t gdbstub_thread_list(const struct gdbstub *stub, int64_t **ids)
{
    /* Ended (and told: an end is told at once): none left. A stub that
     * serves on for its kept children's untold ends lists only theirs. */
    if (gdbstub_program_ended(stub)) {
        *ids = g_new(int64_t, 1);
        return 0;
    }
    if (!stub->ops->threads) {
        *ids = g_new(int64_t, 1);
        (*ids)[0] = SINGLE_THREAD_ID;
        return 1;
    }
    /* Threads come and go only while the guest runs: two calls agree. */
    size_t count = stub->ops->threads(stub->opaque, NULL, 0);
    *ids = g_new(int64_t, count ? count : 1);
    size_t room = count;
    count = MIN(stub->ops->threads(stub->opaque, *ids, room), room);
    /* In the order the threads were made (tids grow), as gdbserver lists
     * /proc/PID/task: gdb numbers them so. The target's list is in the
     * order each vCPU thread first reached the debugger, which races. */
    qsort(*ids, count, sizeof(**ids), thread_id_order);
    return count;
}

bool gdbstub_thread_exists(const struct gdbstub *stub, int64_t thread)
{
    int64_t *ids;
    size_t count = gdbstub_thread_list(stub, &ids);
    bool found = false;
    for (size_t i = 0; i < count && !found; i++)
        found = ids[i] == thread;
    g_free(ids);
    return found;
}

static int64_t first_thread(const struct gdbstub *stub)
{
    int64_t *ids;
    size_t count = gdbstub_thread_list(stub, &ids);
    int64_t first = count ? ids[0] : SINGLE_THREAD_ID;
    g_free(ids);
    return first;
}

/* The thread a stop names: the target's, or the first one. */
int64_t gdbstub_stop_thread(const struct gdbstub *stub, const struct gdb_stop *stop)
{
    if (!stub->ops->threads)
        return SINGLE_THREAD_ID;
    return stop->thread > 0 ? stop->thread : first_thread(stub);
}

/* Whose registers g/G/p/P and c ADDR use: Hg's thread while it lives, else
 * the thread of the last stop, else the first. */
int64_t gdbstub_current_thread(const struct gdbstub *stub)
{
    if (stub->general_thread > 0 && gdbstub_thread_exists(stub, stub->general_thread))
        return stub->general_thread;
    if (stub->have_stop && stub->last_stop.kind == GDB_STOP_SIGNAL) {
        int64_t stopped = gdbstub_stop_thread(stub, &stub->last_stop);
        if (gdbstub_thread_exists(stub, stopped))
            return stopped;
    }
    return first_thread(stub);
}

/* A thread's id as the debugger writes it: "TID" in hex, or "pPID.TID". */
void gdbstub_append_thread_id(const struct gdbstub *stub, GString *text, int64_t thread)
{
    if (!stub->multiprocess) {
        g_string_append_printf(text, "%" PRIx64, thread);
        return;
    }
    int64_t pid = gdbstub_process_id(stub);
    int64_t tid = stub->ops->threads ? thread : pid;
    g_string_append_printf(text, "p%" PRIx64 ".%" PRIx64, pid, tid);
}

/* -1 (all), 0 (any) or a hex id. */
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

/* pPID, pPID.TID (each part -1 for all, 0 for any). Another process's
 * thread becomes an id no thread has. */
static bool take_multiprocess_id(const struct gdbstub *stub, struct gdbstub_cursor *cursor,
                                 int64_t *thread)
{
    int64_t pid, tid = -1;
    if (!take_plain_thread_id(cursor, &pid) ||
        (gdbstub_take_char(cursor, '.') && !take_plain_thread_id(cursor, &tid)))
        return false;
    int64_t ours = gdbstub_process_id(stub);
    if (pid > 0 && pid != ours)
        *thread = INT32_MAX;
    else if (tid > 0 && !stub->ops->threads)
        *thread = tid == ours ? SINGLE_THREAD_ID : INT32_MAX;
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

/* lldb's QThreadSuffixSupported appends ";thread:ID;" to register packets:
 * cut off, and the thread it names returned (0 without one). */
int64_t gdbstub_take_thread_suffix(const struct gdbstub *stub, struct gdbstub_cursor *cursor)
{
    const char *suffix = memmem(cursor->next, (size_t)(cursor->end - cursor->next), ";thread:", 8);
    if (!suffix)
        return 0;
    struct gdbstub_cursor id = {suffix + 8, cursor->end};
    int64_t thread = 0;
    if (!gdbstub_take_thread_id_of(stub, &id, &thread) || thread < 0)
        thread = 0;
    cursor->end = suffix;
    return thread;
}

/* ---- packets ------------------------------------------------------------ */

/* Hg (registers and memory) and Hc (the legacy s): -1 or 0 go back to the
 * thread that stopped. */
void gdbstub_handle_set_thread(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    int64_t thread;
    if (gdbstub_at_end(args) || (*args->next != 'g' && *args->next != 'c')) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    bool general = *args->next++ == 'g';
    if (!gdbstub_take_thread_id_of(stub, args, &thread) || !gdbstub_at_end(args)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    if (thread > 0 && !gdbstub_thread_exists(stub, thread)) {
        gdbstub_reply_error(stub, ESRCH);
        return;
    }
    *(general ? &stub->general_thread : &stub->continue_thread) = thread > 0 ? thread : 0;
    gdbstub_reply_ok(stub);
}

void gdbstub_handle_thread_alive(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    int64_t thread;
    if (!gdbstub_take_thread_id_of(stub, args, &thread) || !gdbstub_at_end(args))
        gdbstub_reply_error(stub, EINVAL);
    else if (thread <= 0 || gdbstub_program_ended(stub) || !gdbstub_thread_exists(stub, thread))
        gdbstub_reply_error(stub, ESRCH);
    else
        gdbstub_reply_ok(stub);
}

void gdbstub_handle_current_thread(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    GString *text = g_string_new("QC");
    gdbstub_append_thread_id(stub, text, gdbstub_current_thread(stub));
    gdbstub_reply_string(stub, text);
}

/* Every id, comma-separated (the stop reply's threads: list too). */
void gdbstub_append_thread_list(const struct gdbstub *stub, GString *text)
{
    int64_t *ids;
    size_t count = gdbstub_thread_list(stub, &ids);
    for (size_t i = 0; i < count; i++) {
        if (i)
            g_string_append_c(text, ',');
        gdbstub_append_thread_id(stub, text, ids[i]);
    }
    g_free(ids);
}

/* The whole list at once: PacketSize leaves room for thousands of ids. */
void gdbstub_handle_first_thread_info(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    GString *text = g_string_new("m");
    gdbstub_append_thread_list(stub, text);
    gdbstub_append_process_threads(stub, text);
    /* None of this program's own (it ended): the kept children's alone. */
    if (text->len > 1 && text->str[1] == ',')
        g_string_erase(text, 1, 1);
    if (text->len == 1)
        g_string_assign(text, "l");
    gdbstub_reply_string(stub, text);
}

void gdbstub_handle_next_thread_info(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply(stub, "l");
}

static char *thread_name(const struct gdbstub *stub, int64_t thread)
{
    if (!stub->ops->thread_name)
        return NULL;
    return stub->ops->thread_name(stub->opaque, thread);
}

void gdbstub_handle_thread_extra_info(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    int64_t thread;
    if (!gdbstub_take_char(args, ',') || !gdbstub_take_thread_id_of(stub, args, &thread) ||
        !gdbstub_at_end(args)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    char *name = thread_name(stub, thread);
    GString *text = g_string_new(NULL);
    if (name)
        gdbstub_append_hex(text, name, strlen(name));
    else if (!stub->ops->threads)
        gdbstub_append_hex(text, "vCPU 0", 6);
    g_free(name);
    gdbstub_reply_string(stub, text);
}

/* qXfer:threads:read, as gdbserver writes it: gdb shows the names in
 * `info threads`. */
char *gdbstub_threads_xml(const struct gdbstub *stub)
{
    int64_t *ids;
    size_t count = gdbstub_thread_list(stub, &ids);
    GString *xml = g_string_new("<?xml version=\"1.0\"?>\n<threads>\n");
    for (size_t i = 0; i < count; i++) {
        GString *id = g_string_new(NULL);
        gdbstub_append_thread_id(stub, id, ids[i]);
        g_string_append_printf(xml, "<thread id=\"%s\"", id->str);
        g_string_free(id, TRUE);
        char *name = thread_name(stub, ids[i]);
        if (name) {
            char *escaped = g_markup_escape_text(name, -1);
            g_string_append_printf(xml, " name=\"%s\"", escaped);
            g_free(escaped);
        }
        g_free(name);
        g_string_append(xml, "/>\n");
    }
    g_free(ids);
    gdbstub_append_process_threads_xml(stub, xml);
    g_string_append(xml, "</threads>\n");
    return g_string_free(xml, FALSE);
}

/* qGetTLSAddr:THREAD,OFFSET,LM */
void gdbstub_handle_tls_address(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    int64_t thread;
    uint64_t offset, lm, address;
    if (!stub->ops->tls_address) {
        gdbstub_reply_empty(stub);
        return;
    }
    if (!gdbstub_take_char(args, ':') || !gdbstub_take_thread_id_of(stub, args, &thread) ||
        !gdbstub_take_char(args, ',') || !gdbstub_take_hex(args, &offset) ||
        !gdbstub_take_char(args, ',') || !gdbstub_take_hex(args, &lm) || !gdbstub_at_end(args)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    if (thread <= 0)
        thread = gdbstub_current_thread(stub);
    int result = stub->ops->tls_address(stub->opaque, thread, offset, lm, &address);
    if (result < 0) {
        gdbstub_reply_error(stub, -result);
        return;
    }
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "%" PRIx64, address);
    gdbstub_reply_string(stub, text);
}
