/*
 * The GDB remote serial protocol ("Remote Protocol" appendix of the GDB
 * manual): packet framing, the command handlers, stop replies, and the
 * sockets a debugger connects to. The register layout lives in
 * gdbstub/registers.c.
 *
 * One vCPU, so one thread: id 1, process id 1. The stub is all-stop: a
 * resume owes the debugger exactly one stop reply, sent when the monitor
 * calls gdbstub_notify_stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>

#include "gdbstub/gdbstub.h"

#define GUEST_PAGE_SIZE_BYTES 4096ULL
/* Longest m/qXfer answer in data bytes: hex or escaping at most doubles it,
 * and gdb never asks for more than fits its own PacketSize-sized buffer. */
#define MAX_REPLY_DATA (GDB_PACKET_SIZE / 2)
/* Monitor command output goes out in O packets of this many bytes. */
#define CONSOLE_CHUNK 1024
#define THREAD_ID     1

enum receive_state {
    RECEIVE_IDLE,      /* between packets: acks, Ctrl-C, garbage */
    RECEIVE_PAYLOAD,   /* after '$' */
    RECEIVE_CHECKSUM1, /* after '#' */
    RECEIVE_CHECKSUM2,
};

struct gdbstub {
    const struct gdb_target_ops *ops;
    void *opaque;

    /* Sockets. */
    int listen_fd;
    guint listen_source;
    int connection_fd;
    guint connection_source;
    guint output_source; /* waiting for room to send pending_output */
    GString *pending_output;
    /* The connection ends once the current packet is done: the debugger
     * said goodbye (D, k, vKill) or a send failed. */
    bool closing;
    bool said_goodbye;
    guint closing_source;
    char *address;
    char *unix_path; /* to unlink at the end */

    void (*capture)(void *opaque, const char *bytes, size_t length);
    void *capture_opaque;

    /* Framing. */
    enum receive_state receive_state;
    char payload[GDB_PACKET_SIZE + 1];
    size_t payload_length;
    char command[GDB_PACKET_SIZE + 1]; /* the payload with run lengths expanded */
    bool payload_overflow;
    uint8_t payload_checksum;
    uint8_t received_checksum;
    bool no_ack_mode;
    GString *last_packet; /* for retransmission on '-' */

    /* What the debugger said it understands (qSupported). */
    bool debugger_swbreak;
    bool debugger_hwbreak;
    bool list_threads_in_stop_reply;
    bool multiprocess; /* pPID.TID thread ids (qSupported multiprocess+) */
    GArray *files;     /* host fds opened by vFile:open in this session */
    /* QPassSignals, QProgramSignals: the debugger's latest sets. */
    bool pass_signals[GDB_SIGNAL_LIMIT];
    bool program_signals[GDB_SIGNAL_LIMIT];

    /* Execution. */
    bool running;         /* resumed; its stop has not come yet */
    bool stop_reply_owed; /* a debugger waits for that stop */
    bool interrupt_sent;  /* Ctrl-C already passed on for this run */
    /* Ctrl-C that came while the guest was stopped: as a SIGINT queued
     * under gdbserver, it stops the next resume at once. */
    bool interrupt_queued;
    bool have_stop; /* last_stop holds the latest stop */
    struct gdb_stop last_stop;
};

/* ---- output ------------------------------------------------------------ */

static bool debugger_present(const struct gdbstub *stub)
{
    return stub->connection_fd >= 0 || stub->capture != NULL;
}

static gboolean on_closing_idle(gpointer data);

/* Ends the connection from the main loop, not from under whatever packet
 * handler or monitor callback noticed it should end. */
static void close_soon(struct gdbstub *stub, bool goodbye)
{
    stub->closing = true;
    stub->said_goodbye |= goodbye;
    if (!stub->capture && stub->connection_fd >= 0 && !stub->closing_source)
        stub->closing_source = g_idle_add(on_closing_idle, stub);
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
        close_soon(stub, false);
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
static void send_raw(struct gdbstub *stub, const char *bytes, size_t length)
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
        close_soon(stub, false);
        return;
    }
    if (stub->pending_output->len > 0 && !stub->output_source)
        stub->output_source =
            g_unix_fd_add(stub->connection_fd, G_IO_OUT, on_connection_writable, stub);
}

static uint8_t checksum_of(const char *data, size_t length)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < length; i++)
        sum += (uint8_t)data[i];
    return sum;
}

/* Run-length encodes a payload: "X*N" stands for X and N - 29 more. N
 * stays printable and is never '#' or '$' (runs of 6 or 7 extra). */
/* Written in place: memory replies are 128 KiB of hex, and a call per
 * character was most of the stub's time for them. The encoding never makes
 * the payload longer. */
static void append_run_length_encoded(GString *out, const char *payload, size_t length)
{
    size_t start = out->len;
    g_string_set_size(out, start + length);
    char *write = out->str + start;
    size_t i = 0;
    while (i < length) {
        size_t run = 1;
        while (i + run < length && payload[i + run] == payload[i])
            run++;
        *write++ = payload[i];
        size_t extra = run - 1;
        while (extra >= 3) {
            size_t chunk = extra < 97 ? extra : 97;
            if (chunk == 6 || chunk == 7)
                chunk = 5;
            *write++ = '*';
            *write++ = (char)(chunk + 29);
            extra -= chunk;
        }
        memcpy(write, payload + i, extra);
        write += extra;
        i += run;
    }
    g_string_truncate(out, (gsize)(write - out->str));
}

/* Frames an already escaped payload. */
static void send_packet(struct gdbstub *stub, const char *payload, size_t length)
{
    GString *packet = stub->last_packet;
    g_string_truncate(packet, 0);
    g_string_append_c(packet, '$');
    append_run_length_encoded(packet, payload, length);
    g_string_append_printf(packet, "#%02x", checksum_of(packet->str + 1, packet->len - 1));
    send_raw(stub, packet->str, packet->len);
}

static void reply(struct gdbstub *stub, const char *text)
{
    send_packet(stub, text, strlen(text));
}

static void reply_ok(struct gdbstub *stub)
{
    reply(stub, "OK");
}

static void reply_empty(struct gdbstub *stub)
{
    reply(stub, "");
}

/* Errors are "E" and two digits; like QEMU and gdbserver we put the errno
 * there (E14 EFAULT, E22 EINVAL), which gdb only displays. */
static void reply_error(struct gdbstub *stub, int error)
{
    char text[8];
    snprintf(text, sizeof text, "E%02d", error > 0 && error < 100 ? error : EINVAL);
    reply(stub, text);
}

static bool needs_escape(uint8_t byte)
{
    return byte == '#' || byte == '$' || byte == '}' || byte == '*';
}

static void append_escaped(GString *out, const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        if (needs_escape(data[i])) {
            g_string_append_c(out, '}');
            g_string_append_c(out, (char)(data[i] ^ 0x20));
        } else {
            g_string_append_c(out, (char)data[i]);
        }
    }
}

static void append_hex(GString *out, const void *data, size_t length)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *bytes = data;
    size_t start = out->len;
    g_string_set_size(out, start + 2 * length);
    char *write = out->str + start;
    for (size_t i = 0; i < length; i++) {
        *write++ = digits[bytes[i] >> 4];
        *write++ = digits[bytes[i] & 15];
    }
}

static void reply_string(struct gdbstub *stub, GString *text)
{
    send_packet(stub, text->str, text->len);
    g_string_free(text, TRUE);
}

/* ---- parsing ----------------------------------------------------------- */

/* A view of the unparsed rest of a packet. Packets may hold NULs, so
 * parsing never relies on a terminator. */
struct cursor {
    const char *next;
    const char *end;
};

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool at_end(const struct cursor *cursor)
{
    return cursor->next == cursor->end;
}

static bool take_char(struct cursor *cursor, char expected)
{
    if (at_end(cursor) || *cursor->next != expected)
        return false;
    cursor->next++;
    return true;
}

/* One to sixteen hex digits; more would overflow. */
static bool take_hex(struct cursor *cursor, uint64_t *value)
{
    uint64_t result = 0;
    int digits = 0;
    while (!at_end(cursor) && hex_digit(*cursor->next) >= 0) {
        if (++digits > 16)
            return false;
        result = result << 4 | (uint64_t)hex_digit(*cursor->next);
        cursor->next++;
    }
    *value = result;
    return digits > 0;
}

/* Hex pairs to bytes; false on an odd count or a non-hex character. */
static bool decode_hex(const char *hex, size_t hex_length, uint8_t *out)
{
    if (hex_length % 2)
        return false;
    for (size_t i = 0; i < hex_length / 2; i++) {
        int high = hex_digit(hex[2 * i]), low = hex_digit(hex[2 * i + 1]);
        if (high < 0 || low < 0)
            return false;
        out[i] = (uint8_t)(high << 4 | low);
    }
    return true;
}

/* Undoes '}' escapes in place; false on a dangling '}'. */
static bool unescape_binary(char *data, size_t *length)
{
    size_t out = 0;
    for (size_t in = 0; in < *length; in++) {
        if (data[in] == '}') {
            if (++in == *length)
                return false;
            data[out++] = (char)(data[in] ^ 0x20);
        } else {
            data[out++] = data[in];
        }
    }
    *length = out;
    return true;
}

/* A thread id as gdb writes them: -1 (all), 0 (any) or a hex id. */
static int64_t process_id(const struct gdbstub *stub)
{
    return stub->ops->process_id ? stub->ops->process_id(stub->opaque) : 0;
}

/* The one thread's id as the debugger writes it: "1", or "pPID.PID". */
static void append_thread(const struct gdbstub *stub, GString *text)
{
    if (stub->multiprocess)
        g_string_append_printf(text, "p%" PRIx64 ".%" PRIx64, process_id(stub), process_id(stub));
    else
        g_string_append_printf(text, "%x", THREAD_ID);
}

static bool take_plain_thread_id(struct cursor *cursor, int64_t *thread);

/* pPID, pPID.TID (each part -1 for all, 0 for any): our process and its
 * main thread become THREAD_ID (or -1/0 for all/any), anything else an id
 * that is not ours. */
static bool take_multiprocess_id(const struct gdbstub *stub, struct cursor *cursor, int64_t *thread)
{
    int64_t pid, tid = -1;
    if (!take_plain_thread_id(cursor, &pid) ||
        (take_char(cursor, '.') && !take_plain_thread_id(cursor, &tid)))
        return false;
    int64_t ours = process_id(stub);
    if (pid > 0 && pid != ours)
        *thread = INT32_MAX; /* another process: no such thread */
    else if (tid > 0)
        *thread = tid == ours ? THREAD_ID : INT32_MAX;
    else
        *thread = tid;
    return true;
}

static bool take_thread_id_of(const struct gdbstub *stub, struct cursor *cursor, int64_t *thread)
{
    if (take_char(cursor, 'p'))
        return take_multiprocess_id(stub, cursor, thread);
    return take_plain_thread_id(cursor, thread);
}

static bool take_plain_thread_id(struct cursor *cursor, int64_t *thread)
{
    uint64_t value;
    if (take_char(cursor, '-')) {
        if (!take_char(cursor, '1'))
            return false;
        *thread = -1;
        return true;
    }
    if (!take_hex(cursor, &value) || value > INT32_MAX)
        return false;
    *thread = (int64_t)value;
    return true;
}

static bool is_our_thread(int64_t thread)
{
    return thread == -1 || thread == 0 || thread == THREAD_ID;
}

/* lldb's QThreadSuffixSupported appends ";thread:ID;" to register packets. */
static void drop_thread_suffix(struct cursor *cursor)
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
            g_string_append_printf(text, ";process:%" PRIx64, process_id(stub));
        return text;
    case GDB_STOP_KILLED:
        g_string_append_printf(text, "X%02x", stop->signal & 0xff);
        if (stub->multiprocess)
            g_string_append_printf(text, ";process:%" PRIx64, process_id(stub));
        return text;
    case GDB_STOP_SIGNAL:
        break;
    }
    g_string_append_printf(text, "T%02xthread:", stop->signal & 0xff);
    append_thread(stub, text);
    g_string_append_c(text, ';');
    if (stub->list_threads_in_stop_reply) {
        g_string_append(text, "threads:");
        append_thread(stub, text);
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

static void send_stop_reply(struct gdbstub *stub)
{
    /* Before the first stop the guest sits at its entry point, halted as if
     * by a breakpoint trap. */
    struct gdb_stop initial = {.kind = GDB_STOP_SIGNAL, .signal = 5};
    reply_string(stub, format_stop_reply(stub, stub->have_stop ? &stub->last_stop : &initial));
}

static bool program_ended(const struct gdbstub *stub)
{
    return stub->have_stop && stub->last_stop.kind != GDB_STOP_SIGNAL;
}

static void start_accepting(struct gdbstub *stub);

void gdbstub_notify_stop(struct gdbstub *stub, const struct gdb_stop *stop)
{
    start_accepting(stub);
    stub->last_stop = *stop;
    stub->have_stop = true;
    stub->running = false;
    stub->interrupt_sent = false;
    if (stub->stop_reply_owed && debugger_present(stub)) {
        stub->stop_reply_owed = false;
        send_stop_reply(stub);
    }
}

/* ---- registers --------------------------------------------------------- */

static bool read_all_registers(struct gdbstub *stub, struct cpu_state *state,
                               struct cpu_fpu_state *fpu)
{
    memset(state, 0, sizeof *state);
    memset(fpu, 0, sizeof *fpu);
    return stub->ops->read_registers(stub->opaque, state, fpu) == 0;
}

static void handle_read_registers(struct gdbstub *stub, struct cursor *args)
{
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    uint8_t bytes[GDB_REGISTERS_SIZE];
    (void)args;
    if (!read_all_registers(stub, &state, &fpu)) {
        reply_error(stub, EIO);
        return;
    }
    gdb_registers_to_bytes(&state, &fpu, bytes);
    GString *text = g_string_sized_new(2 * GDB_REGISTERS_SIZE);
    append_hex(text, bytes, sizeof bytes);
    reply_string(stub, text);
}

static void write_registers_back(struct gdbstub *stub, const struct cpu_state *state,
                                 const struct cpu_fpu_state *fpu)
{
    int result = stub->ops->write_registers(stub->opaque, state, fpu);
    if (result < 0)
        reply_error(stub, -result);
    else
        reply_ok(stub);
}

static void handle_write_registers(struct gdbstub *stub, struct cursor *args)
{
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    uint8_t bytes[GDB_REGISTERS_SIZE];
    drop_thread_suffix(args);
    size_t hex_length = (size_t)(args->end - args->next);
    /* A shorter G (a debugger that knows fewer registers) sets a prefix. */
    if (hex_length > 2 * sizeof bytes || !decode_hex(args->next, hex_length, bytes)) {
        reply_error(stub, EINVAL);
        return;
    }
    if (!read_all_registers(stub, &state, &fpu)) {
        reply_error(stub, EIO);
        return;
    }
    gdb_registers_from_bytes(bytes, hex_length / 2, &state, &fpu);
    write_registers_back(stub, &state, &fpu);
}

static bool take_regnum(struct cursor *args, int *regnum)
{
    uint64_t value;
    if (!take_hex(args, &value) || value >= GDB_REGISTER_COUNT)
        return false;
    *regnum = (int)value;
    return true;
}

static void handle_read_register(struct gdbstub *stub, struct cursor *args)
{
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    uint8_t bytes[16];
    size_t size;
    int regnum;
    drop_thread_suffix(args);
    if (!take_regnum(args, &regnum) || !at_end(args)) {
        reply_error(stub, EINVAL);
        return;
    }
    if (!read_all_registers(stub, &state, &fpu)) {
        reply_error(stub, EIO);
        return;
    }
    gdb_register_offset(regnum, &size);
    gdb_register_get(regnum, &state, &fpu, bytes);
    GString *text = g_string_new(NULL);
    append_hex(text, bytes, size);
    reply_string(stub, text);
}

static void handle_write_register(struct gdbstub *stub, struct cursor *args)
{
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    uint8_t bytes[16];
    size_t size;
    int regnum;
    drop_thread_suffix(args);
    if (!take_regnum(args, &regnum) || !take_char(args, '=')) {
        reply_error(stub, EINVAL);
        return;
    }
    gdb_register_offset(regnum, &size);
    if ((size_t)(args->end - args->next) != 2 * size || !decode_hex(args->next, 2 * size, bytes)) {
        reply_error(stub, EINVAL);
        return;
    }
    if (!read_all_registers(stub, &state, &fpu)) {
        reply_error(stub, EIO);
        return;
    }
    gdb_register_set(regnum, bytes, &state, &fpu);
    write_registers_back(stub, &state, &fpu);
}

/* ---- memory ------------------------------------------------------------ */

/* "ADDR,LENGTH" with the range inside the 64-bit address space. */
static bool take_address_range(struct cursor *args, uint64_t *address, uint64_t *length)
{
    if (!take_hex(args, address) || !take_char(args, ',') || !take_hex(args, length))
        return false;
    return *length == 0 || *length - 1 <= UINT64_MAX - *address;
}

static size_t bytes_to_page_end(uint64_t address, size_t length)
{
    uint64_t room = GUEST_PAGE_SIZE_BYTES - (address & (GUEST_PAGE_SIZE_BYTES - 1));
    return length < room ? length : (size_t)room;
}

/* Page by page, so one unmapped page ends the read rather than failing it:
 * returns how many bytes were read. */
static size_t read_guest(struct gdbstub *stub, uint64_t address, uint8_t *buffer, size_t length)
{
    size_t done = 0;
    while (done < length) {
        size_t chunk = bytes_to_page_end(address + done, length - done);
        if (stub->ops->read_memory(stub->opaque, address + done, buffer + done, chunk) < 0)
            break;
        done += chunk;
    }
    return done;
}

static int write_guest(struct gdbstub *stub, uint64_t address, const uint8_t *buffer, size_t length)
{
    size_t done = 0;
    while (done < length) {
        size_t chunk = bytes_to_page_end(address + done, length - done);
        int result = stub->ops->write_memory(stub->opaque, address + done, buffer + done, chunk);
        if (result < 0)
            return result;
        done += chunk;
    }
    return 0;
}

static void handle_read_memory(struct gdbstub *stub, struct cursor *args)
{
    uint64_t address, length;
    if (!take_address_range(args, &address, &length) || !at_end(args)) {
        reply_error(stub, EINVAL);
        return;
    }
    /* A short answer is allowed; gdb asks again for the rest. */
    if (length > MAX_REPLY_DATA)
        length = MAX_REPLY_DATA;
    uint8_t *buffer = g_malloc(length ? length : 1);
    size_t done = read_guest(stub, address, buffer, length);
    if (done == 0 && length > 0) {
        reply_error(stub, EFAULT);
    } else {
        GString *text = g_string_sized_new(2 * done);
        append_hex(text, buffer, done);
        reply_string(stub, text);
    }
    g_free(buffer);
}

static void finish_memory_write(struct gdbstub *stub, uint64_t address, const uint8_t *data,
                                size_t length)
{
    int result = write_guest(stub, address, data, length);
    if (result < 0)
        reply_error(stub, -result);
    else
        reply_ok(stub);
}

static void handle_write_memory_hex(struct gdbstub *stub, struct cursor *args)
{
    uint64_t address, length;
    if (!take_address_range(args, &address, &length) || !take_char(args, ':')) {
        reply_error(stub, EINVAL);
        return;
    }
    /* Compared as data bytes: 2 * length could wrap around. */
    size_t hex_length = (size_t)(args->end - args->next);
    if (hex_length % 2 || length != hex_length / 2) {
        reply_error(stub, EINVAL);
        return;
    }
    uint8_t *data = g_malloc(hex_length / 2 + 1);
    if (decode_hex(args->next, hex_length, data))
        finish_memory_write(stub, address, data, hex_length / 2);
    else
        reply_error(stub, EINVAL);
    g_free(data);
}

static void handle_write_memory_binary(struct gdbstub *stub, struct cursor *args)
{
    uint64_t address, length;
    if (!take_address_range(args, &address, &length) || !take_char(args, ':')) {
        reply_error(stub, EINVAL);
        return;
    }
    /* The payload buffer is ours: unescape in place. */
    char *data = (char *)args->next;
    size_t data_length = (size_t)(args->end - args->next);
    if (!unescape_binary(data, &data_length) || data_length != length) {
        reply_error(stub, EINVAL);
        return;
    }
    finish_memory_write(stub, address, (const uint8_t *)data, data_length);
}

/* ---- execution --------------------------------------------------------- */

/* Starts the guest; the reply comes with the stop. The flags are set
 * first because a target may report the stop from inside resume(). */
static void resume(struct gdbstub *stub, enum gdb_resume_mode mode, uint64_t range_start,
                   uint64_t range_end, int signal)
{
    if (program_ended(stub)) {
        reply_error(stub, ESRCH);
        return;
    }
    stub->running = true;
    stub->stop_reply_owed = true;
    stub->interrupt_sent = false;
    int result = stub->ops->resume(stub->opaque, mode, range_start, range_end, signal);
    if (result < 0 && stub->running) {
        stub->running = false;
        stub->stop_reply_owed = false;
        reply_error(stub, -result);
        return;
    }
    if (stub->interrupt_queued && stub->running) {
        stub->interrupt_queued = false;
        stub->interrupt_sent = true;
        stub->ops->interrupt(stub->opaque);
    }
}

/* c/s [ADDR]: an address moves rip first. */
static bool move_pc(struct gdbstub *stub, struct cursor *args)
{
    uint64_t address;
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    if (at_end(args))
        return true;
    if (!take_hex(args, &address) || !at_end(args) || !read_all_registers(stub, &state, &fpu))
        return false;
    state.rip = address;
    return stub->ops->write_registers(stub->opaque, &state, &fpu) == 0;
}

static void resume_at(struct gdbstub *stub, struct cursor *args, enum gdb_resume_mode mode,
                      int signal)
{
    if (!move_pc(stub, args)) {
        reply_error(stub, EINVAL);
        return;
    }
    resume(stub, mode, 0, 0, signal);
}

static void handle_continue(struct gdbstub *stub, struct cursor *args)
{
    resume_at(stub, args, GDB_RESUME_CONTINUE, 0);
}

static void handle_step(struct gdbstub *stub, struct cursor *args)
{
    resume_at(stub, args, GDB_RESUME_STEP, 0);
}

/* C/S SIG[;ADDR] */
static void resume_with_signal(struct gdbstub *stub, struct cursor *args, enum gdb_resume_mode mode)
{
    uint64_t signal;
    if (!take_hex(args, &signal) || signal > 255 || !(at_end(args) || take_char(args, ';'))) {
        reply_error(stub, EINVAL);
        return;
    }
    resume_at(stub, args, mode, (int)signal);
}

static void handle_continue_signal(struct gdbstub *stub, struct cursor *args)
{
    resume_with_signal(stub, args, GDB_RESUME_CONTINUE);
}

static void handle_step_signal(struct gdbstub *stub, struct cursor *args)
{
    resume_with_signal(stub, args, GDB_RESUME_STEP);
}

struct vcont_action {
    enum gdb_resume_mode mode;
    int signal;
    uint64_t range_start, range_end;
};

/* One action of vCont: c, Csig, s, Ssig, rSTART,END, then [:thread]. */
static bool take_vcont_action(const struct gdbstub *stub, struct cursor *args,
                              struct vcont_action *action, bool *ours)
{
    uint64_t signal = 0;
    int64_t thread = -1;
    if (at_end(args))
        return false;
    char kind = *args->next++;
    switch (kind) {
    case 'c':
    case 's':
        break;
    case 'C':
    case 'S':
        if (!take_hex(args, &signal) || signal > 255)
            return false;
        break;
    case 'r':
        if (!take_hex(args, &action->range_start) || !take_char(args, ',') ||
            !take_hex(args, &action->range_end))
            return false;
        break;
    default:
        return false;
    }
    if (take_char(args, ':') && !take_thread_id_of(stub, args, &thread))
        return false;
    action->mode = kind == 'r'                    ? GDB_RESUME_RANGE_STEP
                   : (kind == 's' || kind == 'S') ? GDB_RESUME_STEP
                                                  : GDB_RESUME_CONTINUE;
    action->signal = (int)signal;
    *ours = is_our_thread(thread);
    return true;
}

static void handle_vcont(struct gdbstub *stub, struct cursor *args)
{
    struct vcont_action chosen = {0}, action = {0};
    bool found = false;
    /* The leftmost action that applies to a thread wins; ours is the only
     * thread, so that is the first action naming it or every thread. */
    while (take_char(args, ';')) {
        bool ours;
        if (!take_vcont_action(stub, args, &action, &ours)) {
            reply_error(stub, EINVAL);
            return;
        }
        if (ours && !found) {
            chosen = action;
            found = true;
        }
    }
    if (!at_end(args) || !found) {
        reply_error(stub, EINVAL);
        return;
    }
    resume(stub, chosen.mode, chosen.range_start, chosen.range_end, chosen.signal);
}

static void handle_vcont_query(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply(stub, "vCont;c;C;s;S;r");
}

static void handle_stop_query(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    if (!stub->running) {
        send_stop_reply(stub);
        return;
    }
    /* A debugger arriving while the guest runs (detached, or left running
     * by a previous one) gets it stopped, as gdbserver does on attach. */
    stub->stop_reply_owed = true;
    if (!stub->interrupt_sent) {
        stub->interrupt_sent = true;
        stub->ops->interrupt(stub->opaque);
    }
}

static void handle_kill(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    /* k has no reply; gdb closes the connection. */
    close_soon(stub, true);
    stub->ops->kill(stub->opaque);
}

static void handle_vkill(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply_ok(stub);
    close_soon(stub, true);
    stub->ops->kill(stub->opaque);
}

static void handle_detach(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply_ok(stub);
    close_soon(stub, true);
    stub->stop_reply_owed = false;
    if (!program_ended(stub))
        stub->running = true; /* the program runs on undebugged */
    stub->ops->detach(stub->opaque);
}

/* ---- breakpoints ------------------------------------------------------- */

static void handle_breakpoint(struct gdbstub *stub, struct cursor *args, bool insert)
{
    uint64_t type, address, kind;
    if (!take_hex(args, &type) || !take_char(args, ',') || !take_hex(args, &address) ||
        !take_char(args, ',') || !take_hex(args, &kind)) {
        reply_error(stub, EINVAL);
        return;
    }
    /* Conditions and commands (";X...") are only sent to stubs that offer
     * them; ignore them rather than refuse the breakpoint. */
    if (!at_end(args) && *args->next != ';') {
        reply_error(stub, EINVAL);
        return;
    }
    if (type > GDB_WATCHPOINT_ACCESS) {
        reply_empty(stub);
        return;
    }
    int result = insert ? stub->ops->insert_breakpoint(stub->opaque, (enum gdb_breakpoint_type)type,
                                                       address, kind)
                        : stub->ops->remove_breakpoint(stub->opaque, (enum gdb_breakpoint_type)type,
                                                       address, kind);
    if (result == 0)
        reply_ok(stub);
    else if (result == -ENOTSUP || result == -ENOSYS)
        reply_empty(stub); /* gdb: "not supported", and for Z0 it plants int3 itself */
    else
        reply_error(stub, -result);
}

static void handle_insert_breakpoint(struct gdbstub *stub, struct cursor *args)
{
    handle_breakpoint(stub, args, true);
}

static void handle_remove_breakpoint(struct gdbstub *stub, struct cursor *args)
{
    handle_breakpoint(stub, args, false);
}

/* ---- threads ----------------------------------------------------------- */

static void handle_set_thread(struct gdbstub *stub, struct cursor *args)
{
    int64_t thread;
    if (at_end(args) || (*args->next != 'g' && *args->next != 'c')) {
        reply_error(stub, EINVAL);
        return;
    }
    args->next++;
    if (!take_thread_id_of(stub, args, &thread) || !at_end(args))
        reply_error(stub, EINVAL);
    else if (!is_our_thread(thread))
        reply_error(stub, ESRCH);
    else
        reply_ok(stub);
}

static void handle_thread_alive(struct gdbstub *stub, struct cursor *args)
{
    int64_t thread;
    if (!take_thread_id_of(stub, args, &thread) || !at_end(args))
        reply_error(stub, EINVAL);
    else if (thread != THREAD_ID || program_ended(stub))
        reply_error(stub, ESRCH);
    else
        reply_ok(stub);
}

static void handle_current_thread(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    GString *text = g_string_new("QC");
    append_thread(stub, text);
    reply_string(stub, text);
}

static void handle_first_thread_info(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    GString *text = g_string_new("m");
    append_thread(stub, text);
    reply_string(stub, text);
}

static void handle_next_thread_info(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply(stub, "l");
}

static void handle_thread_extra_info(struct gdbstub *stub, struct cursor *args)
{
    int64_t thread;
    if (!take_char(args, ',') || !take_thread_id_of(stub, args, &thread) || !at_end(args)) {
        reply_error(stub, EINVAL);
        return;
    }
    GString *text = g_string_new(NULL);
    append_hex(text, "vCPU 0", 6);
    reply_string(stub, text);
}

/* ---- session ----------------------------------------------------------- */

/* Whether the debugger's feature list (qSupported:a+;b+;...) has feature+. */
static bool debugger_offers(const struct cursor *args, const char *feature)
{
    size_t length = strlen(feature);
    const char *item = args->next;
    while (item < args->end) {
        const char *item_end = memchr(item, ';', (size_t)(args->end - item));
        if (!item_end)
            item_end = args->end;
        if ((size_t)(item_end - item) == length + 1 && memcmp(item, feature, length) == 0 &&
            item[length] == '+')
            return true;
        if (item_end == args->end)
            break;
        item = item_end + 1;
    }
    return false;
}

static void handle_supported(struct gdbstub *stub, struct cursor *args)
{
    take_char(args, ':');
    stub->debugger_swbreak = debugger_offers(args, "swbreak");
    stub->debugger_hwbreak = debugger_offers(args, "hwbreak");
    /* lldb 14 offers multiprocess+ too but cannot take pPID.TID stop
     * replies; gdb alone sends qRelocInsn+ (as for the library list). */
    stub->multiprocess = process_id(stub) > 0 && debugger_offers(args, "multiprocess") &&
                         debugger_offers(args, "qRelocInsn");
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "PacketSize=%x;qXfer:features:read+", GDB_PACKET_SIZE);
    if (stub->ops->exec_file)
        g_string_append(text, ";qXfer:exec-file:read+");
    /* Only gdb reads the generic library list as meant (the kernel's
     * .text address); lldb 14 takes it for a load base and drops the
     * program's own symbols. gdb alone sends qRelocInsn+. */
    if (stub->ops->kernel_file && debugger_offers(args, "qRelocInsn"))
        g_string_append(text, ";qXfer:libraries:read+;qXfer:libraries-svr4:read+");
    if (stub->ops->auxv)
        g_string_append(text, ";qXfer:auxv:read+");
    if (stub->ops->catch_syscalls)
        g_string_append(text, ";QCatchSyscalls+");
    if (stub->ops->signal_filters)
        g_string_append(text, ";QPassSignals+;QProgramSignals+");
    if (stub->multiprocess)
        g_string_append(text, ";multiprocess+");
    g_string_append(text, ";QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+");
    reply_string(stub, text);
}

/* QCatchSyscalls:0, QCatchSyscalls:1, QCatchSyscalls:1;NR;NR... (hex). */
static void handle_catch_syscalls(struct gdbstub *stub, struct cursor *args)
{
    uint64_t enable;
    if (!stub->ops->catch_syscalls) {
        reply_empty(stub);
        return;
    }
    if (!take_char(args, ':') || !take_hex(args, &enable) || enable > 1) {
        reply_error(stub, EINVAL);
        return;
    }
    GArray *numbers = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t number;
    while (enable && take_char(args, ';')) {
        if (!take_hex(args, &number))
            break;
        g_array_append_val(numbers, number);
    }
    int result = at_end(args)
                     ? stub->ops->catch_syscalls(stub->opaque, enable == 1,
                                                 (const uint64_t *)numbers->data, numbers->len)
                     : -EINVAL;
    g_array_free(numbers, TRUE);
    if (result < 0)
        reply_error(stub, -result);
    else
        reply_ok(stub);
}

/* QPassSignals:SIG;SIG... and QProgramSignals:... (hex GDB signal numbers):
 * each packet replaces its whole set. */
static bool take_signal_set(struct cursor *args, bool set[GDB_SIGNAL_LIMIT])
{
    memset(set, 0, GDB_SIGNAL_LIMIT * sizeof(bool));
    if (!take_char(args, ':'))
        return at_end(args);
    uint64_t signal;
    do {
        if (at_end(args))
            return true; /* an empty list, or a trailing ';' */
        if (!take_hex(args, &signal) || signal >= GDB_SIGNAL_LIMIT)
            return false;
        set[signal] = true;
    } while (take_char(args, ';'));
    return at_end(args);
}

static void handle_signal_set(struct gdbstub *stub, struct cursor *args, bool *set)
{
    if (!stub->ops->signal_filters) {
        reply_empty(stub);
        return;
    }
    bool parsed[GDB_SIGNAL_LIMIT];
    if (!take_signal_set(args, parsed)) {
        reply_error(stub, EINVAL);
        return;
    }
    memcpy(set, parsed, sizeof parsed);
    stub->ops->signal_filters(stub->opaque, stub->pass_signals, stub->program_signals);
    reply_ok(stub);
}

static void handle_pass_signals(struct gdbstub *stub, struct cursor *args)
{
    handle_signal_set(stub, args, stub->pass_signals);
}

static void handle_program_signals(struct gdbstub *stub, struct cursor *args)
{
    handle_signal_set(stub, args, stub->program_signals);
}

/* ---- vFile: the program's files, in GDB's File-I/O terms ----------------- */

/* GDB's errno values (File-I/O protocol) for a host errno. */
static int fileio_errno(int error)
{
    switch (error) {
    case EPERM:
    case ENOENT:
    case EINTR:
    case EBADF:
    case EACCES:
    case EFAULT:
    case EBUSY:
    case EEXIST:
    case ENODEV:
    case ENOTDIR:
    case EISDIR:
    case EINVAL:
    case ENFILE:
    case EMFILE:
    case EFBIG:
    case ENOSPC:
    case ESPIPE:
    case EROFS:
        return error;
    case ENAMETOOLONG:
        return 91;
    default:
        return 9999; /* EUNKNOWN */
    }
}

static void reply_fileio_error(struct gdbstub *stub, int error)
{
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "F-1,%x", fileio_errno(error));
    reply_string(stub, text);
}

/* GDB's open flags (File-I/O protocol) as the host's. */
static int host_open_flags(uint64_t flags)
{
    int host = (int)(flags & 3); /* O_RDONLY, O_WRONLY, O_RDWR */
    if (flags & 0x8)
        host |= O_APPEND;
    if (flags & 0x200)
        host |= O_CREAT;
    if (flags & 0x400)
        host |= O_TRUNC;
    if (flags & 0x800)
        host |= O_EXCL;
    return host;
}

static bool take_hex_string(struct cursor *args, char *out, size_t size)
{
    const char *end = memchr(args->next, ',', (size_t)(args->end - args->next));
    size_t hex_length = (size_t)((end ? end : args->end) - args->next);
    if (hex_length % 2 || hex_length / 2 >= size ||
        !decode_hex(args->next, hex_length, (uint8_t *)out))
        return false;
    out[hex_length / 2] = '\0';
    args->next += hex_length;
    return memchr(out, '\0', hex_length / 2) == NULL;
}

static bool session_file(const struct gdbstub *stub, uint64_t fd, guint *index)
{
    for (guint i = 0; i < stub->files->len; i++) {
        if ((uint64_t)g_array_index(stub->files, int, i) == fd) {
            *index = i;
            return true;
        }
    }
    return false;
}

static void close_session_files(struct gdbstub *stub)
{
    for (guint i = 0; i < stub->files->len; i++)
        close(g_array_index(stub->files, int, i));
    g_array_set_size(stub->files, 0);
}

/* vFile:setfs:PID — one filesystem, the program's, whatever PID. */
static void file_setfs(struct gdbstub *stub, struct cursor *args)
{
    uint64_t pid;
    if (!take_hex(args, &pid) || !at_end(args))
        reply_fileio_error(stub, EINVAL);
    else
        reply(stub, "F0");
}

static void file_open(struct gdbstub *stub, struct cursor *args)
{
    char path[4096];
    uint64_t flags, mode;
    if (!take_hex_string(args, path, sizeof path) || !take_char(args, ',') ||
        !take_hex(args, &flags) || !take_char(args, ',') || !take_hex(args, &mode) ||
        !at_end(args)) {
        reply_fileio_error(stub, EINVAL);
        return;
    }
    int fd = stub->ops->file_open(stub->opaque, path, host_open_flags(flags), (unsigned)mode);
    if (fd < 0) {
        reply_fileio_error(stub, -fd);
        return;
    }
    g_array_append_val(stub->files, fd);
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "F%x", fd);
    reply_string(stub, text);
}

static void file_pread(struct gdbstub *stub, struct cursor *args)
{
    uint64_t fd, count, offset;
    guint index;
    if (!take_hex(args, &fd) || !take_char(args, ',') || !take_hex(args, &count) ||
        !take_char(args, ',') || !take_hex(args, &offset) || !at_end(args)) {
        reply_fileio_error(stub, EINVAL);
        return;
    }
    if (!session_file(stub, fd, &index)) {
        reply_fileio_error(stub, EBADF);
        return;
    }
    /* Escaping may double every byte: half a packet is always safe. */
    count = MIN(count, (uint64_t)GDB_PACKET_SIZE / 2 - 32);
    uint8_t *buffer = g_malloc(count ? count : 1);
    ssize_t got = pread((int)fd, buffer, count, (off_t)offset);
    if (got < 0) {
        reply_fileio_error(stub, errno);
    } else {
        GString *text = g_string_new(NULL);
        g_string_append_printf(text, "F%zx;", (size_t)got);
        append_escaped(text, buffer, (size_t)got);
        reply_string(stub, text);
    }
    g_free(buffer);
}

static void file_close(struct gdbstub *stub, struct cursor *args)
{
    uint64_t fd;
    guint index;
    if (!take_hex(args, &fd) || !at_end(args)) {
        reply_fileio_error(stub, EINVAL);
    } else if (!session_file(stub, fd, &index)) {
        reply_fileio_error(stub, EBADF);
    } else {
        close((int)fd);
        g_array_remove_index_fast(stub->files, index);
        reply(stub, "F0");
    }
}

static void put_be(uint8_t *out, uint64_t value, size_t size)
{
    for (size_t i = 0; i < size; i++)
        out[i] = (uint8_t)(value >> (8 * (size - 1 - i)));
}

/* struct stat in GDB's File-I/O form: big-endian, 32-bit fields but for
 * size, blksize and blocks. */
static void file_fstat(struct gdbstub *stub, struct cursor *args)
{
    uint64_t fd;
    guint index;
    struct stat st;
    if (!take_hex(args, &fd) || !at_end(args)) {
        reply_fileio_error(stub, EINVAL);
        return;
    }
    if (!session_file(stub, fd, &index) || fstat((int)fd, &st) < 0) {
        reply_fileio_error(stub, EBADF);
        return;
    }
    uint8_t out[64];
    const uint64_t fields32a[] = {st.st_dev, st.st_ino, st.st_mode, st.st_nlink,
                                  st.st_uid, st.st_gid, st.st_rdev};
    for (size_t i = 0; i < G_N_ELEMENTS(fields32a); i++)
        put_be(out + 4 * i, fields32a[i], 4);
    put_be(out + 28, (uint64_t)st.st_size, 8);
    put_be(out + 36, (uint64_t)st.st_blksize, 8);
    put_be(out + 44, (uint64_t)st.st_blocks, 8);
    put_be(out + 52, (uint64_t)st.st_atime, 4);
    put_be(out + 56, (uint64_t)st.st_mtime, 4);
    put_be(out + 60, (uint64_t)st.st_ctime, 4);
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "F%zx;", sizeof out);
    append_escaped(text, out, sizeof out);
    reply_string(stub, text);
}

static void file_readlink(struct gdbstub *stub, struct cursor *args)
{
    char path[4096], target[4096];
    if (!take_hex_string(args, path, sizeof path) || !at_end(args)) {
        reply_fileio_error(stub, EINVAL);
        return;
    }
    long length = stub->ops->file_readlink(stub->opaque, path, target, sizeof target);
    if (length < 0) {
        reply_fileio_error(stub, (int)-length);
        return;
    }
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "F%lx;", length);
    append_escaped(text, (const uint8_t *)target, (size_t)length);
    reply_string(stub, text);
}

static void handle_file(struct gdbstub *stub, struct cursor *args)
{
    static const struct {
        const char *name;
        void (*handler)(struct gdbstub *stub, struct cursor *args);
    } operations[] = {
        {"setfs:", file_setfs}, {"open:", file_open},   {"pread:", file_pread},
        {"close:", file_close}, {"fstat:", file_fstat}, {"readlink:", file_readlink},
    };
    if (!stub->ops->file_open || !take_char(args, ':')) {
        reply_empty(stub);
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(operations); i++) {
        size_t length = strlen(operations[i].name);
        if ((size_t)(args->end - args->next) >= length &&
            memcmp(args->next, operations[i].name, length) == 0) {
            args->next += length;
            operations[i].handler(stub, args);
            return;
        }
    }
    reply_empty(stub); /* pwrite, unlink...: gdb falls back or says so */
}

static void handle_start_no_ack_mode(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply_ok(stub); /* still acknowledged: the debugger acks this OK */
    stub->no_ack_mode = true;
}

/* We start the program ourselves, as gdbserver does when given one to run,
 * so like gdbserver we answer 0: quitting gdb then kills the program
 * instead of leaving it running undebugged. (QEMU answers 1: its guest is
 * a whole machine that outlives the debugger.) "detach" still detaches. */
static void handle_attached(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply(stub, "0");
}

static void handle_symbol(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply_ok(stub);
}

static void handle_unsupported(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply_empty(stub);
}

static void handle_enable_ok(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply_ok(stub);
}

static void handle_list_threads_in_stop_reply(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    stub->list_threads_in_stop_reply = true;
    reply_ok(stub);
}

/* "x86_64-pc-linux-gnu", hex-encoded as lldb wants triples. */
#define TRIPLE_HEX "7838365f36342d70632d6c696e75782d676e75"

static void handle_host_info(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply(stub, "triple:" TRIPLE_HEX ";ptrsize:8;endian:little;");
}

static void handle_process_info(struct gdbstub *stub, struct cursor *args)
{
    (void)args;
    reply(stub, "pid:1;parent-pid:1;real-uid:0;real-gid:0;effective-uid:0;effective-gid:0;"
                "triple:" TRIPLE_HEX ";ostype:linux;endian:little;ptrsize:8;");
}

static void send_console_output(struct gdbstub *stub, const char *output, size_t length)
{
    for (size_t done = 0; done < length; done += CONSOLE_CHUNK) {
        size_t chunk = length - done < CONSOLE_CHUNK ? length - done : CONSOLE_CHUNK;
        GString *text = g_string_new("O");
        append_hex(text, output + done, chunk);
        reply_string(stub, text);
    }
}

static void handle_monitor_command(struct gdbstub *stub, struct cursor *args)
{
    if (!stub->ops->monitor_command) {
        reply_empty(stub);
        return;
    }
    size_t hex_length = (size_t)(args->end - args->next);
    if (!take_char(args, ',') || hex_length < 1) {
        reply_error(stub, EINVAL);
        return;
    }
    hex_length--;
    char *command = g_malloc0(hex_length / 2 + 1);
    if (!decode_hex(args->next, hex_length, (uint8_t *)command) ||
        strlen(command) != hex_length / 2) {
        reply_error(stub, EINVAL);
        g_free(command);
        return;
    }
    char *output = stub->ops->monitor_command(stub->opaque, command);
    if (output)
        send_console_output(stub, output, strlen(output));
    reply_ok(stub);
    g_free(output);
    g_free(command);
}

/* ---- qXfer ------------------------------------------------------------- */

/* One qXfer object: its bytes (owned or not) for an annex. */
struct transfer_object {
    const char *data;
    size_t length;
    char *owned;
};

static char *libraries_xml(struct gdbstub *stub)
{
    uint64_t text_address = 0;
    const char *path = stub->ops->kernel_file(stub->opaque, &text_address);
    GString *xml = g_string_new("<library-list>");
    if (path) {
        char *escaped = g_markup_escape_text(path, -1);
        g_string_append_printf(
            xml, "<library name=\"%s\"><section address=\"0x%" G_GINT64_MODIFIER "x\"/></library>",
            escaped, text_address);
        g_free(escaped);
    }
    g_string_append(xml, "</library-list>");
    return g_string_free(xml, FALSE);
}

/* "start=HEX;prev=HEX;lmid=HEX" (any of them): gdb's request for the part
 * of the link map from start on, after it stopped at a loader probe. */
static uint64_t annex_start(const char *annex)
{
    for (const char *field = annex; field && *field;) {
        if (strncmp(field, "start=", 6) == 0)
            return g_ascii_strtoull(field + 6, NULL, 16);
        field = strchr(field, ';');
        if (field)
            field++;
    }
    return 0;
}

static void append_svr4_library(GString *xml, const char *name, uint64_t lm, uint64_t l_addr,
                                uint64_t l_ld)
{
    char *escaped = g_markup_escape_text(name, -1);
    g_string_append_printf(xml,
                           "<library name=\"%s\" lm=\"0x%" G_GINT64_MODIFIER
                           "x\" l_addr=\"0x%" G_GINT64_MODIFIER "x\" l_ld=\"0x%" G_GINT64_MODIFIER
                           "x\" lmid=\"0x0\"/>",
                           escaped, lm, l_addr, l_ld);
    g_free(escaped);
}

/*
 * The SVR4 link map, as gdbserver serves it: gdb's GNU/Linux support
 * (chosen by the org.gnu.gdb.i386.linux feature) reads this list, not the
 * generic one. The dynamic loader's own list (the first entry is the
 * program: main-lm), then the guest kernel (l_addr 0: it runs where it is
 * linked; its lm is not an address in guest memory, gdb only uses it as an
 * identity). A request from `start` on gets just that part of ld.so's list.
 */
static char *libraries_svr4_xml(struct gdbstub *stub, const char *annex)
{
    uint64_t start = annex_start(annex);
    struct gdb_library *libraries = NULL;
    size_t count = stub->ops->link_map ? stub->ops->link_map(stub->opaque, start, &libraries) : 0;
    GString *xml = g_string_new("<library-list-svr4 version=\"1.0\"");
    size_t first = 0;
    if (!start && count > 0) {
        g_string_append_printf(xml, " main-lm=\"0x%" G_GINT64_MODIFIER "x\"", libraries[0].lm);
        first = 1;
    }
    g_string_append(xml, ">");
    for (size_t i = first; i < count; i++)
        if (libraries[i].name[0]) /* ld.so's entries without a file: nothing to load */
            append_svr4_library(xml, libraries[i].name, libraries[i].lm, libraries[i].l_addr,
                                libraries[i].l_ld);
    for (size_t i = 0; i < count; i++)
        g_free(libraries[i].name);
    g_free(libraries);
    uint64_t text_address = 0;
    const char *path = start ? NULL : stub->ops->kernel_file(stub->opaque, &text_address);
    if (path)
        append_svr4_library(xml, path, text_address, 0, 0);
    g_string_append(xml, "</library-list-svr4>");
    return g_string_free(xml, FALSE);
}

/* Fills *object for object:annex; false when there is no such thing. */
static bool find_transfer_object(struct gdbstub *stub, const char *object, const char *annex,
                                 struct transfer_object *found)
{
    const struct gdb_target_ops *ops = stub->ops;
    memset(found, 0, sizeof *found);
    if (strcmp(object, "features") == 0) {
        if (strcmp(annex, "target.xml") != 0)
            return false;
        found->data = gdb_target_xml();
    } else if (strcmp(object, "exec-file") == 0 && ops->exec_file) {
        found->data = ops->exec_file(stub->opaque);
    } else if (strcmp(object, "libraries") == 0 && ops->kernel_file && !*annex) {
        found->owned = libraries_xml(stub);
        found->data = found->owned;
    } else if (strcmp(object, "libraries-svr4") == 0 && ops->kernel_file) {
        found->owned = libraries_svr4_xml(stub, annex);
        found->data = found->owned;
    } else if (strcmp(object, "auxv") == 0 && ops->auxv && !*annex) {
        found->data = ops->auxv(stub->opaque, &found->length);
        return found->data != NULL;
    } else {
        return false;
    }
    if (!found->data)
        return false;
    found->length = strlen(found->data);
    return true;
}

/* "NAME:" with the name copied out; false without a ':' or with a NUL. */
static bool take_field(struct cursor *args, char *out, size_t out_size)
{
    const char *colon = memchr(args->next, ':', (size_t)(args->end - args->next));
    if (!colon || (size_t)(colon - args->next) >= out_size ||
        memchr(args->next, '\0', (size_t)(colon - args->next)))
        return false;
    memcpy(out, args->next, (size_t)(colon - args->next));
    out[colon - args->next] = '\0';
    args->next = colon + 1;
    return true;
}

/* qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH */
static void handle_transfer(struct gdbstub *stub, struct cursor *args)
{
    char object[32], operation[16], annex[64];
    uint64_t offset, length;
    struct transfer_object found;
    if (!take_char(args, ':') || !take_field(args, object, sizeof object) ||
        !take_field(args, operation, sizeof operation)) {
        reply_error(stub, EINVAL);
        return;
    }
    if (strcmp(operation, "read") != 0) {
        reply_empty(stub);
        return;
    }
    if (!take_field(args, annex, sizeof annex) || !take_hex(args, &offset) ||
        !take_char(args, ',') || !take_hex(args, &length) || !at_end(args)) {
        reply_error(stub, EINVAL);
        return;
    }
    if (!find_transfer_object(stub, object, annex, &found)) {
        reply(stub, "E00"); /* gdbserver's answer for an unknown object or annex */
        return;
    }
    if (length > MAX_REPLY_DATA)
        length = MAX_REPLY_DATA;
    size_t start = offset < found.length ? (size_t)offset : found.length;
    size_t chunk = found.length - start < length ? found.length - start : (size_t)length;
    /* 'm': there is more after this chunk; 'l': this is the last of it. */
    GString *text = g_string_new(start + chunk < found.length ? "m" : "l");
    append_escaped(text, (const uint8_t *)found.data + start, chunk);
    reply_string(stub, text);
    g_free(found.owned);
}

/* ---- dispatch ---------------------------------------------------------- */

typedef void (*command_handler)(struct gdbstub *stub, struct cursor *args);

/* Commands named by their first character. */
static const command_handler letter_commands[128] = {
    ['?'] = handle_stop_query,
    ['g'] = handle_read_registers,
    ['G'] = handle_write_registers,
    ['p'] = handle_read_register,
    ['P'] = handle_write_register,
    ['m'] = handle_read_memory,
    ['M'] = handle_write_memory_hex,
    ['X'] = handle_write_memory_binary,
    ['c'] = handle_continue,
    ['C'] = handle_continue_signal,
    ['s'] = handle_step,
    ['S'] = handle_step_signal,
    ['Z'] = handle_insert_breakpoint,
    ['z'] = handle_remove_breakpoint,
    ['H'] = handle_set_thread,
    ['T'] = handle_thread_alive,
    ['k'] = handle_kill,
    ['D'] = handle_detach,
};

/* q, Q and v commands, named by a word that ends at ':', ',', ';' or the
 * end of the packet. */
static const struct {
    const char *name;
    command_handler handler;
    bool needs_stopped_guest;
} named_commands[] = {
    {"qSupported", handle_supported, false},
    {"QStartNoAckMode", handle_start_no_ack_mode, false},
    {"QCatchSyscalls", handle_catch_syscalls, false},
    {"QPassSignals", handle_pass_signals, false},
    {"QProgramSignals", handle_program_signals, false},
    {"qXfer", handle_transfer, false},
    {"qC", handle_current_thread, false},
    {"qfThreadInfo", handle_first_thread_info, false},
    {"qsThreadInfo", handle_next_thread_info, false},
    {"qThreadExtraInfo", handle_thread_extra_info, false},
    {"qAttached", handle_attached, false},
    {"qSymbol", handle_symbol, false},
    {"qRcmd", handle_monitor_command, true},
    {"qHostInfo", handle_host_info, false},
    {"qProcessInfo", handle_process_info, false},
    {"QThreadSuffixSupported", handle_enable_ok, false},
    {"QListThreadsInStopReply", handle_list_threads_in_stop_reply, false},
    {"vCont?", handle_vcont_query, false},
    {"vCont", handle_vcont, true},
    {"vKill", handle_vkill, false},
    {"vFile", handle_file, true},
    /* Answered empty on purpose: the debugger then uses the fallbacks. */
    {"qOffsets", handle_unsupported, false},
    {"qTStatus", handle_unsupported, false},
    {"qRegisterInfo", handle_unsupported, false},
    {"vMustReplyEmpty", handle_unsupported, false},
};

static bool is_name_end(const struct cursor *cursor)
{
    return at_end(cursor) || *cursor->next == ':' || *cursor->next == ',' || *cursor->next == ';';
}

/* While the guest runs, only a few packets make sense (all-stop: gdb sends
 * none but Ctrl-C); registers and memory are not stable then. */
static bool allowed_while_running(char letter)
{
    return letter == '?' || letter == 'k' || letter == 'D' || letter == 'H' || letter == 'T';
}

static void dispatch_named(struct gdbstub *stub, struct cursor *packet)
{
    for (size_t i = 0; i < G_N_ELEMENTS(named_commands); i++) {
        size_t length = strlen(named_commands[i].name);
        if ((size_t)(packet->end - packet->next) < length ||
            memcmp(packet->next, named_commands[i].name, length) != 0)
            continue;
        struct cursor args = {packet->next + length, packet->end};
        if (!is_name_end(&args))
            continue;
        if (stub->running && named_commands[i].needs_stopped_guest)
            reply_error(stub, EBUSY);
        else
            named_commands[i].handler(stub, &args);
        return;
    }
    reply_empty(stub);
}

static void dispatch(struct gdbstub *stub, const char *payload, size_t length)
{
    struct cursor packet = {payload, payload + length};
    if (length == 0) {
        reply_empty(stub);
        return;
    }
    unsigned char letter = (unsigned char)payload[0];
    if (letter == 'q' || letter == 'Q' || letter == 'v') {
        dispatch_named(stub, &packet);
        return;
    }
    command_handler handler = letter < 128 ? letter_commands[letter] : NULL;
    if (!handler) {
        reply_empty(stub);
        return;
    }
    if (stub->running && !allowed_while_running((char)letter)) {
        reply_error(stub, EBUSY);
        return;
    }
    packet.next++;
    handler(stub, &packet);
}

/* ---- framing ----------------------------------------------------------- */

/* Expands run-length encoding ("X*N": N - 29 more copies of X) in place
 * into out; false when it does not fit or is malformed. */
static bool decode_run_length(const char *in, size_t length, char *out, size_t out_size,
                              size_t *out_length)
{
    size_t produced = 0;
    for (size_t i = 0; i < length; i++) {
        if (in[i] != '*') {
            if (produced == out_size)
                return false;
            out[produced++] = in[i];
            continue;
        }
        if (produced == 0 || i + 1 == length)
            return false;
        int repeat = (unsigned char)in[++i] - 29;
        if (repeat < 3 || repeat > 97 || produced + (size_t)repeat > out_size)
            return false;
        memset(out + produced, out[produced - 1], (size_t)repeat);
        produced += (size_t)repeat;
    }
    *out_length = produced;
    return true;
}

static void handle_packet(struct gdbstub *stub)
{
    bool checksum_ok = stub->payload_checksum == stub->received_checksum;
    /* Without acks the transport is trusted to be reliable, as gdbserver
     * assumes; with them a bad packet is asked for again. */
    if (!stub->no_ack_mode) {
        send_raw(stub, checksum_ok ? "+" : "-", 1);
        if (!checksum_ok)
            return;
    }
    if (stub->payload_overflow) {
        reply_error(stub, EINVAL);
        return;
    }
    size_t command_length;
    if (!decode_run_length(stub->payload, stub->payload_length, stub->command, GDB_PACKET_SIZE,
                           &command_length)) {
        reply_error(stub, EINVAL);
        return;
    }
    stub->command[command_length] = '\0';
    dispatch(stub, stub->command, command_length);
}

static void receive_idle_byte(struct gdbstub *stub, char byte)
{
    switch (byte) {
    case '$':
        stub->receive_state = RECEIVE_PAYLOAD;
        stub->payload_length = 0;
        stub->payload_overflow = false;
        stub->payload_checksum = 0;
        break;
    case '-':
        if (!stub->no_ack_mode && stub->last_packet->len > 0)
            send_raw(stub, stub->last_packet->str, stub->last_packet->len);
        break;
    case 0x03:
        if (stub->running && !stub->interrupt_sent) {
            stub->interrupt_sent = true;
            stub->ops->interrupt(stub->opaque);
        } else if (!stub->running && !program_ended(stub)) {
            stub->interrupt_queued = true;
        }
        break;
    default:
        break; /* '+', and noise between packets */
    }
}

static void receive_byte(struct gdbstub *stub, char byte)
{
    int digit;
    switch (stub->receive_state) {
    case RECEIVE_IDLE:
        receive_idle_byte(stub, byte);
        break;
    case RECEIVE_PAYLOAD:
        if (byte == '#') {
            stub->receive_state = RECEIVE_CHECKSUM1;
        } else if (byte == '$') {
            /* A '$' cannot be inside a packet: the last one was cut off. */
            receive_idle_byte(stub, byte);
        } else {
            /* Too long a packet is consumed to its end, then refused. */
            if (stub->payload_length < GDB_PACKET_SIZE)
                stub->payload[stub->payload_length++] = byte;
            else
                stub->payload_overflow = true;
            stub->payload_checksum += (uint8_t)byte;
        }
        break;
    case RECEIVE_CHECKSUM1:
    case RECEIVE_CHECKSUM2:
        digit = hex_digit(byte);
        if (digit < 0) {
            stub->receive_state = RECEIVE_IDLE;
            if (!stub->no_ack_mode)
                send_raw(stub, "-", 1);
            break;
        }
        if (stub->receive_state == RECEIVE_CHECKSUM1) {
            stub->received_checksum = (uint8_t)(digit << 4);
            stub->receive_state = RECEIVE_CHECKSUM2;
        } else {
            stub->received_checksum |= (uint8_t)digit;
            stub->receive_state = RECEIVE_IDLE;
            handle_packet(stub);
        }
        break;
    }
}

static void reset_session(struct gdbstub *stub);

void gdbstub_feed(struct gdbstub *stub, const char *bytes, size_t length)
{
    for (size_t i = 0; i < length && !stub->closing; i++)
        receive_byte(stub, bytes[i]);
    /* A captured "connection" ends at once; the next bytes are a new one. */
    if (stub->capture && stub->closing)
        reset_session(stub);
}

void gdbstub_capture_output(struct gdbstub *stub,
                            void (*write)(void *opaque, const char *bytes, size_t length),
                            void *opaque)
{
    stub->capture = write;
    stub->capture_opaque = opaque;
}

/* A new debugger starts from a clean protocol state. */
static void reset_session(struct gdbstub *stub)
{
    stub->receive_state = RECEIVE_IDLE;
    stub->no_ack_mode = false;
    stub->debugger_swbreak = false;
    stub->debugger_hwbreak = false;
    stub->list_threads_in_stop_reply = false;
    stub->multiprocess = false;
    close_session_files(stub);
    stub->stop_reply_owed = false;
    stub->interrupt_queued = false;
    memset(stub->pass_signals, 0, sizeof stub->pass_signals);
    memset(stub->program_signals, 0, sizeof stub->program_signals);
    stub->closing = false;
    stub->said_goodbye = false;
    g_string_truncate(stub->last_packet, 0);
}

/* ---- sockets ----------------------------------------------------------- */

static void remove_source(guint *source)
{
    if (*source)
        g_source_remove(*source);
    *source = 0;
}

static void close_connection(struct gdbstub *stub)
{
    remove_source(&stub->connection_source);
    remove_source(&stub->output_source);
    remove_source(&stub->closing_source);
    if (stub->connection_fd >= 0)
        close(stub->connection_fd);
    stub->connection_fd = -1;
    g_string_truncate(stub->pending_output, 0);
    reset_session(stub);
}

/* A debugger that left by D or k was dealt with by its packet; one that
 * just went away leaves the monitor to clean up after it. */
static void end_connection(struct gdbstub *stub)
{
    bool said_goodbye = stub->said_goodbye;
    if (said_goodbye)
        flush_output(stub); /* D's OK, if the socket takes it */
    close_connection(stub);
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
    ssize_t received = recv(fd, buffer, sizeof buffer, 0);
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
    reset_session(stub);
    stub->connection_fd = connection;
    stub->connection_source =
        g_unix_fd_add(connection, G_IO_IN | G_IO_HUP | G_IO_ERR, on_connection_readable, stub);
    return G_SOURCE_CONTINUE;
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

/* "tcp::PORT", "tcp:HOST:PORT" (the last ':' splits, so [v6]:PORT and
 * bare v6 addresses work), "unix:PATH". */
static int listen_on_spec(struct gdbstub *stub, const char *spec, char **error)
{
    if (g_str_has_prefix(spec, "unix:"))
        return listen_unix(stub, spec + 5, error);
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
    if (stub->listen_fd >= 0) {
        *error = g_strdup("gdb: already listening");
        return -1;
    }
    if (listen_on_spec(stub, spec, error) < 0)
        return -1;
    if (stub->have_stop || stub->running)
        start_accepting(stub);
    return 0;
}

/* Connections are taken only once the guest is known to be running or
 * stopped: before that (-S, the vCPU not yet parked) a debugger's first
 * resume could not be accepted. A debugger that connects earlier waits in
 * the listen backlog. */
static void start_accepting(struct gdbstub *stub)
{
    if (stub->listen_source || stub->listen_fd < 0)
        return;
    stub->listen_source = g_unix_fd_add(stub->listen_fd, G_IO_IN, on_listen_readable, stub);
}

bool gdbstub_accepting(const struct gdbstub *stub)
{
    return stub->listen_source != 0;
}

const char *gdbstub_address(const struct gdbstub *stub)
{
    return stub->address ? stub->address : "";
}

bool gdbstub_connected(const struct gdbstub *stub)
{
    return debugger_present(stub);
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
    start_accepting(stub);
}

void gdbstub_forget_after_fork(struct gdbstub *stub)
{
    if (!stub)
        return;
    if (stub->connection_fd >= 0)
        close(stub->connection_fd);
    if (stub->listen_fd >= 0)
        close(stub->listen_fd);
    stub->connection_fd = stub->listen_fd = -1;
}

void gdbstub_free(struct gdbstub *stub)
{
    if (!stub)
        return;
    close_connection(stub);
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
    close_session_files(stub);
    g_array_free(stub->files, TRUE);
    g_free(stub);
}
