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

void gdbstub_append_signal_features(struct gdbstub *stub, GString *text)
{
    if (stub->ops->siginfo)
        g_string_append(text, ";qXfer:siginfo:read+;qXfer:siginfo:write+");
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
    if (stub->ops->siginfo(stub->opaque, info, false) < 0) {
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
    if (stub->ops->siginfo(stub->opaque, info, false) < 0) {
        g_free(data);
        gdbstub_reply(stub, "E01");
        return;
    }
    size_t count = length < SIGINFO_SIZE - offset ? length : SIGINFO_SIZE - (size_t)offset;
    memcpy(info + offset, data, count);
    g_free(data);
    stub->ops->siginfo(stub->opaque, info, true);
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
