/*
 * Packet framing of the GDB remote serial protocol ("Remote Protocol"
 * appendix of the GDB manual): checksums and acks, run-length coding,
 * binary escaping, hex, and the byte-by-byte receive state machine that
 * hands complete packets to the command dispatcher.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "gdbstub/internal.h"

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

static void append_frame_led(GString *packet, char lead, const char *payload, size_t length)
{
    g_string_append_c(packet, lead);
    append_run_length_encoded(packet, payload, length);
    g_string_append_printf(packet, "#%02x", checksum_of(packet->str + 1, packet->len - 1));
}

static void append_frame(GString *packet, const char *payload, size_t length)
{
    append_frame_led(packet, '$', payload, length);
}

GString *gdbstub_frame(const char *payload, size_t length)
{
    GString *packet = g_string_sized_new(length + 4);
    append_frame(packet, payload, length);
    return packet;
}

/* Frames an already escaped payload. */
static void send_packet(struct gdbstub *stub, const char *payload, size_t length)
{
    GString *packet = stub->last_packet;
    g_string_truncate(packet, 0);
    append_frame(packet, payload, length);
    gdbstub_send_raw(stub, packet->str, packet->len);
}

/* A notification is never acknowledged, so never sent again on '-'. */
void gdbstub_send_notification(struct gdbstub *stub, const char *payload, size_t length)
{
    GString *packet = g_string_sized_new(length + 4);
    append_frame_led(packet, '%', payload, length);
    gdbstub_send_raw(stub, packet->str, packet->len);
    g_string_free(packet, TRUE);
}

void gdbstub_reply(struct gdbstub *stub, const char *text)
{
    send_packet(stub, text, strlen(text));
}

void gdbstub_reply_ok(struct gdbstub *stub)
{
    gdbstub_reply(stub, "OK");
}

void gdbstub_reply_empty(struct gdbstub *stub)
{
    gdbstub_reply(stub, "");
}

/* Errors are "E" and two digits; like QEMU and gdbserver we put the errno
 * there (E14 EFAULT, E22 EINVAL), which gdb only displays. */
void gdbstub_reply_error(struct gdbstub *stub, int error)
{
    char text[8];
    snprintf(text, sizeof text, "E%02d", error > 0 && error < 100 ? error : EINVAL);
    gdbstub_reply(stub, text);
}

static bool needs_escape(uint8_t byte)
{
    return byte == '#' || byte == '$' || byte == '}' || byte == '*';
}

void gdbstub_append_escaped(GString *out, const uint8_t *data, size_t length)
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

void gdbstub_append_hex(GString *out, const void *data, size_t length)
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

void gdbstub_reply_string(struct gdbstub *stub, GString *text)
{
    send_packet(stub, text->str, text->len);
    g_string_free(text, TRUE);
}

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

bool gdbstub_at_end(const struct gdbstub_cursor *cursor)
{
    return cursor->next == cursor->end;
}

bool gdbstub_take_char(struct gdbstub_cursor *cursor, char expected)
{
    if (gdbstub_at_end(cursor) || *cursor->next != expected)
        return false;
    cursor->next++;
    return true;
}

/* One to sixteen hex digits; more would overflow. */
bool gdbstub_take_hex(struct gdbstub_cursor *cursor, uint64_t *value)
{
    uint64_t result = 0;
    int digits = 0;
    while (!gdbstub_at_end(cursor) && hex_digit(*cursor->next) >= 0) {
        if (++digits > 16)
            return false;
        result = result << 4 | (uint64_t)hex_digit(*cursor->next);
        cursor->next++;
    }
    *value = result;
    return digits > 0;
}

bool gdbstub_take_switch(struct gdbstub_cursor *cursor, bool *on)
{
    uint64_t value;
    if (!gdbstub_take_char(cursor, ':') || !gdbstub_take_hex(cursor, &value) || value > 1 ||
        !gdbstub_at_end(cursor))
        return false;
    *on = value == 1;
    return true;
}

/* Hex pairs to bytes; false on an odd count or a non-hex character. */
bool gdbstub_decode_hex(const char *hex, size_t hex_length, uint8_t *out)
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
bool gdbstub_unescape_binary(char *data, size_t *length)
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
        gdbstub_send_raw(stub, checksum_ok ? "+" : "-", 1);
        if (!checksum_ok)
            return;
    }
    if (stub->payload_overflow) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    size_t command_length;
    if (!decode_run_length(stub->payload, stub->payload_length, stub->command, GDB_PACKET_SIZE,
                           &command_length)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    stub->command[command_length] = '\0';
    gdbstub_dispatch(stub, stub->command, command_length);
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
            gdbstub_send_raw(stub, stub->last_packet->str, stub->last_packet->len);
        break;
    case 0x03:
        if (gdbstub_route_interrupt(stub))
            break;
        if (stub->non_stop && !gdbstub_program_ended(stub)) {
            stub->ops->interrupt(stub->opaque); /* a running thread stops, as for vCtrlC */
        } else if (stub->running && !stub->interrupt_sent) {
            stub->interrupt_sent = true;
            stub->ops->interrupt(stub->opaque);
        } else if (!stub->running && !gdbstub_program_ended(stub)) {
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
                gdbstub_send_raw(stub, "-", 1);
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

void gdbstub_feed(struct gdbstub *stub, const char *bytes, size_t length)
{
    for (size_t i = 0; i < length && !stub->closing; i++)
        receive_byte(stub, bytes[i]);
    /* A captured "connection" ends at once; the next bytes are a new one. */
    if (stub->capture && stub->closing)
        gdbstub_reset_session(stub);
}

void gdbstub_capture_output(struct gdbstub *stub,
                            void (*write)(void *opaque, const char *bytes, size_t length),
                            void *opaque)
{
    stub->capture = write;
    stub->capture_opaque = opaque;
}
