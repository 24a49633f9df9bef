/*
 * The packets the stub understands: the dispatch tables (add a packet with
 * one line there) and the handlers for registers, memory, execution,
 * breakpoints, threads and the session.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "gdbstub/internal.h"

/* ---- registers --------------------------------------------------------- */

/* The thread a register packet is for: lldb's suffix, else the current. */
static int64_t register_thread(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    int64_t thread = gdbstub_take_thread_suffix(stub, args);
    return thread > 0 ? thread : gdbstub_current_thread(stub);
}

static bool read_all_registers(struct gdbstub *stub, int64_t thread, struct cpu_state *state,
                               struct cpu_fpu_state *fpu)
{
    memset(state, 0, sizeof *state);
    memset(fpu, 0, sizeof *fpu);
    return stub->ops->read_registers(stub->opaque, thread, state, fpu) == 0;
}

bool gdbstub_avx512(struct gdbstub *stub)
{
    if (!stub->avx512_asked) {
        stub->avx512 =
            stub->ops->has_avx512 && stub->ops->avx512 && stub->ops->has_avx512(stub->opaque);
        stub->avx512_asked = true;
    }
    return stub->avx512;
}

static int register_count(struct gdbstub *stub)
{
    return gdbstub_avx512(stub) ? GDB_AVX512_REGISTER_COUNT : GDB_REGISTER_COUNT;
}

static size_t registers_size(struct gdbstub *stub)
{
    return gdbstub_avx512(stub) ? GDB_AVX512_REGISTERS_SIZE : GDB_REGISTERS_SIZE;
}

static bool read_avx512(struct gdbstub *stub, int64_t thread, struct gdb_avx512_state *avx512)
{
    memset(avx512, 0, sizeof *avx512);
    return stub->ops->avx512(stub->opaque, thread, avx512, false) == 0;
}

/* The AVX-512 registers' part of a g layout (regnum GDB_REGISTER_COUNT on,
 * from byte GDB_REGISTERS_SIZE): into bytes, or from its first length. */
static void avx512_to_bytes(const struct gdb_avx512_state *avx512, uint8_t *bytes)
{
    for (int regnum = GDB_REGISTER_COUNT; regnum < GDB_AVX512_REGISTER_COUNT; regnum++)
        gdb_avx512_register_get(regnum, avx512, bytes + gdb_register_offset(regnum, NULL));
}

static void avx512_from_bytes(const uint8_t *bytes, size_t length, struct gdb_avx512_state *avx512)
{
    for (int regnum = GDB_REGISTER_COUNT; regnum < GDB_AVX512_REGISTER_COUNT; regnum++) {
        size_t size;
        int offset = gdb_register_offset(regnum, &size);
        if ((size_t)offset + size > length)
            break;
        gdb_avx512_register_set(regnum, bytes + offset, avx512);
    }
}

/* orig_rax is the target's own (Linux's syscall bookkeeping, not a CPU
 * register): read into, or written from, its place in a register layout. */
static void read_orig_rax(struct gdbstub *stub, int64_t thread, uint8_t *out)
{
    uint64_t value = UINT64_MAX;
    if (stub->ops->orig_rax && stub->ops->orig_rax(stub->opaque, thread, &value, false) < 0)
        value = UINT64_MAX;
    for (size_t i = 0; i < sizeof value; i++)
        out[i] = (uint8_t)(value >> (8 * i));
}

static int write_orig_rax(struct gdbstub *stub, int64_t thread, const uint8_t *in)
{
    uint64_t value = 0;
    for (size_t i = 0; i < sizeof value; i++)
        value |= (uint64_t)in[i] << (8 * i);
    return stub->ops->orig_rax ? stub->ops->orig_rax(stub->opaque, thread, &value, true) : 0;
}

static void handle_read_registers(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    struct gdb_avx512_state avx512;
    uint8_t bytes[GDB_AVX512_REGISTERS_SIZE];
    int64_t thread = register_thread(stub, args);
    if (!read_all_registers(stub, thread, &state, &fpu) ||
        (gdbstub_avx512(stub) && !read_avx512(stub, thread, &avx512))) {
        gdbstub_reply_error(stub, EIO);
        return;
    }
    gdb_registers_to_bytes(&state, &fpu, bytes);
    if (gdbstub_avx512(stub))
        avx512_to_bytes(&avx512, bytes);
    size_t size;
    read_orig_rax(stub, thread, bytes + gdb_register_offset(GDB_REGISTER_ORIG_RAX, &size));
    GString *text = g_string_sized_new(2 * registers_size(stub));
    gdbstub_append_hex(text, bytes, registers_size(stub));
    gdbstub_reply_string(stub, text);
}

/* orig_rax_in: its new bytes, NULL when the write does not cover it;
 * avx512: the new AVX-512 state, NULL when unchanged. */
static void write_registers_back(struct gdbstub *stub, int64_t thread,
                                 const struct cpu_state *state, const struct cpu_fpu_state *fpu,
                                 const uint8_t *orig_rax_in, struct gdb_avx512_state *avx512)
{
    int result = stub->ops->write_registers(stub->opaque, thread, state, fpu);
    if (result == 0 && orig_rax_in)
        result = write_orig_rax(stub, thread, orig_rax_in);
    if (result == 0 && avx512)
        result = stub->ops->avx512(stub->opaque, thread, avx512, true);
    if (result < 0)
        gdbstub_reply_error(stub, -result);
    else
        gdbstub_reply_ok(stub);
}

static void handle_write_registers(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    struct gdb_avx512_state avx512;
    uint8_t bytes[GDB_AVX512_REGISTERS_SIZE];
    int64_t thread = register_thread(stub, args);
    size_t hex_length = (size_t)(args->end - args->next);
    size_t length = hex_length / 2;
    /* A shorter G (a debugger that knows fewer registers) sets a prefix. */
    if (hex_length > 2 * registers_size(stub) ||
        !gdbstub_decode_hex(args->next, hex_length, bytes)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    bool covers_avx512 = length > GDB_REGISTERS_SIZE;
    if (!read_all_registers(stub, thread, &state, &fpu) ||
        (covers_avx512 && !read_avx512(stub, thread, &avx512))) {
        gdbstub_reply_error(stub, EIO);
        return;
    }
    gdb_registers_from_bytes(bytes, length, &state, &fpu);
    if (covers_avx512)
        avx512_from_bytes(bytes, length, &avx512);
    size_t size;
    int offset = gdb_register_offset(GDB_REGISTER_ORIG_RAX, &size);
    write_registers_back(stub, thread, &state, &fpu,
                         length >= offset + size ? bytes + offset : NULL,
                         covers_avx512 ? &avx512 : NULL);
}

static bool take_regnum(struct gdbstub *stub, struct gdbstub_cursor *args, int *regnum)
{
    uint64_t value;
    if (!gdbstub_take_hex(args, &value) || value >= (uint64_t)register_count(stub))
        return false;
    *regnum = (int)value;
    return true;
}

static void handle_read_register(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    struct gdb_avx512_state avx512;
    uint8_t bytes[32];
    size_t size;
    int regnum;
    int64_t thread = register_thread(stub, args);
    if (!take_regnum(stub, args, &regnum) || !gdbstub_at_end(args)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    gdb_register_offset(regnum, &size);
    if (regnum >= GDB_REGISTER_COUNT) {
        if (!read_avx512(stub, thread, &avx512)) {
            gdbstub_reply_error(stub, EIO);
            return;
        }
        gdb_avx512_register_get(regnum, &avx512, bytes);
    } else if (!read_all_registers(stub, thread, &state, &fpu)) {
        gdbstub_reply_error(stub, EIO);
        return;
    } else {
        gdb_register_get(regnum, &state, &fpu, bytes);
    }
    if (regnum == GDB_REGISTER_ORIG_RAX)
        read_orig_rax(stub, thread, bytes);
    GString *text = g_string_new(NULL);
    gdbstub_append_hex(text, bytes, size);
    gdbstub_reply_string(stub, text);
}

void gdbstub_reply_unavailable_registers(struct gdbstub *stub, char letter,
                                         struct gdbstub_cursor *args)
{
    size_t size = registers_size(stub);
    int regnum;
    if (letter == 'p') {
        if (!take_regnum(stub, args, &regnum) || !gdbstub_at_end(args)) {
            gdbstub_reply_error(stub, EINVAL);
            return;
        }
        gdb_register_offset(regnum, &size);
    }
    GString *text = g_string_sized_new(2 * size);
    for (size_t i = 0; i < 2 * size; i++)
        g_string_append_c(text, 'x');
    gdbstub_reply_string(stub, text);
}

static void write_avx512_register(struct gdbstub *stub, int64_t thread, int regnum,
                                  const uint8_t *in)
{
    struct gdb_avx512_state avx512;
    if (!read_avx512(stub, thread, &avx512)) {
        gdbstub_reply_error(stub, EIO);
        return;
    }
    gdb_avx512_register_set(regnum, in, &avx512);
    int result = stub->ops->avx512(stub->opaque, thread, &avx512, true);
    if (result < 0)
        gdbstub_reply_error(stub, -result);
    else
        gdbstub_reply_ok(stub);
}

static void handle_write_register(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    uint8_t bytes[32];
    size_t size;
    int regnum;
    int64_t thread = register_thread(stub, args);
    if (!take_regnum(stub, args, &regnum) || !gdbstub_take_char(args, '=')) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    gdb_register_offset(regnum, &size);
    if ((size_t)(args->end - args->next) != 2 * size ||
        !gdbstub_decode_hex(args->next, 2 * size, bytes)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    if (regnum >= GDB_REGISTER_COUNT) {
        write_avx512_register(stub, thread, regnum, bytes);
        return;
    }
    if (!read_all_registers(stub, thread, &state, &fpu)) {
        gdbstub_reply_error(stub, EIO);
        return;
    }
    gdb_register_set(regnum, bytes, &state, &fpu);
    write_registers_back(stub, thread, &state, &fpu, regnum == GDB_REGISTER_ORIG_RAX ? bytes : NULL,
                         NULL);
}

/* ---- memory ------------------------------------------------------------ */

/* "ADDR,LENGTH" with the range inside the 64-bit address space. */
static bool take_address_range(struct gdbstub_cursor *args, uint64_t *address, uint64_t *length)
{
    if (!gdbstub_take_hex(args, address) || !gdbstub_take_char(args, ',') ||
        !gdbstub_take_hex(args, length))
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

static void handle_read_memory(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t address, length;
    if (!take_address_range(args, &address, &length) || !gdbstub_at_end(args)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    /* A short answer is allowed; gdb asks again for the rest. */
    if (length > MAX_REPLY_DATA)
        length = MAX_REPLY_DATA;
    uint8_t *buffer = g_malloc(length ? length : 1);
    size_t done = read_guest(stub, address, buffer, length);
    if (done == 0 && length > 0) {
        gdbstub_reply_error(stub, EFAULT);
    } else {
        GString *text = g_string_sized_new(2 * done);
        gdbstub_append_hex(text, buffer, done);
        gdbstub_reply_string(stub, text);
    }
    g_free(buffer);
}

static void finish_memory_write(struct gdbstub *stub, uint64_t address, const uint8_t *data,
                                size_t length)
{
    int result = write_guest(stub, address, data, length);
    if (result < 0)
        gdbstub_reply_error(stub, -result);
    else
        gdbstub_reply_ok(stub);
}

static void handle_write_memory_hex(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t address, length;
    if (!take_address_range(args, &address, &length) || !gdbstub_take_char(args, ':')) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    /* Compared as data bytes: 2 * length could wrap around. */
    size_t hex_length = (size_t)(args->end - args->next);
    if (hex_length % 2 || length != hex_length / 2) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    uint8_t *data = g_malloc(hex_length / 2 + 1);
    if (gdbstub_decode_hex(args->next, hex_length, data))
        finish_memory_write(stub, address, data, hex_length / 2);
    else
        gdbstub_reply_error(stub, EINVAL);
    g_free(data);
}

static void handle_write_memory_binary(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t address, length;
    if (!take_address_range(args, &address, &length) || !gdbstub_take_char(args, ':')) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    /* The payload buffer is ours: unescape in place. */
    char *data = (char *)args->next;
    size_t data_length = (size_t)(args->end - args->next);
    if (!gdbstub_unescape_binary(data, &data_length) || data_length != length) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    finish_memory_write(stub, address, (const uint8_t *)data, data_length);
}

/* ---- execution --------------------------------------------------------- */

/* Starts the guest; the reply comes with the stop. The flags are set
 * first because a target may report the stop from inside resume(). */
static void resume(struct gdbstub *stub, const struct gdb_resume_action *actions, size_t count)
{
    if (gdbstub_program_ended(stub)) {
        gdbstub_reply_error(stub, ESRCH);
        return;
    }
    if (stub->non_stop) {
        gdbstub_non_stop_resume(stub, actions, count);
        return;
    }
    stub->running = true;
    stub->stop_reply_owed = true;
    stub->interrupt_sent = false;
    if (stub->interrupt_queued && stub->ops->interrupt_at_resume) {
        stub->interrupt_queued = false;
        stub->interrupt_sent = true;
        stub->ops->interrupt_at_resume(stub->opaque);
    }
    int result = stub->ops->resume(stub->opaque, actions, count);
    if (result < 0 && stub->running) {
        stub->running = false;
        stub->stop_reply_owed = false;
        gdbstub_reply_error(stub, -result);
        return;
    }
    if (stub->interrupt_queued && stub->running) {
        stub->interrupt_queued = false;
        stub->interrupt_sent = true;
        stub->ops->interrupt(stub->opaque);
    }
}

/* c/s [ADDR]: an address moves the current thread's rip first. */
static bool move_pc(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t address;
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    if (gdbstub_at_end(args))
        return true;
    int64_t thread = gdbstub_current_thread(stub);
    if (!gdbstub_take_hex(args, &address) || !gdbstub_at_end(args) ||
        !read_all_registers(stub, thread, &state, &fpu))
        return false;
    state.rip = address;
    return stub->ops->write_registers(stub->opaque, thread, &state, &fpu) == 0;
}

/* The legacy packets: c and C resume every thread; s and S step Hc's
 * thread (or the current one) alone. */
static void resume_at(struct gdbstub *stub, struct gdbstub_cursor *args, enum gdb_resume_mode mode,
                      int signal)
{
    if (!move_pc(stub, args)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    struct gdb_resume_action action = {.thread = -1, .mode = mode, .signal = signal};
    if (mode != GDB_RESUME_CONTINUE && stub->ops->threads)
        action.thread =
            stub->continue_thread > 0 ? stub->continue_thread : gdbstub_current_thread(stub);
    resume(stub, &action, 1);
}

static void handle_continue(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    resume_at(stub, args, GDB_RESUME_CONTINUE, 0);
}

static void handle_step(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    resume_at(stub, args, GDB_RESUME_STEP, 0);
}

/* C/S SIG[;ADDR] */
static void resume_with_signal(struct gdbstub *stub, struct gdbstub_cursor *args,
                               enum gdb_resume_mode mode)
{
    uint64_t signal;
    if (!gdbstub_take_hex(args, &signal) || signal > 255 ||
        !(gdbstub_at_end(args) || gdbstub_take_char(args, ';'))) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    resume_at(stub, args, mode, (int)signal);
}

static void handle_continue_signal(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    resume_with_signal(stub, args, GDB_RESUME_CONTINUE);
}

static void handle_step_signal(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    resume_with_signal(stub, args, GDB_RESUME_STEP);
}

/* One action of vCont: c, Csig, s, Ssig, rSTART,END, then [:thread]
 * (none, or -1: every thread; 0: any, taken as the current one). */
static bool take_vcont_action(struct gdbstub *stub, struct gdbstub_cursor *args,
                              struct gdb_resume_action *action)
{
    uint64_t signal = 0;
    int64_t thread = -1;
    *action = (struct gdb_resume_action){0};
    if (gdbstub_at_end(args))
        return false;
    char kind = *args->next++;
    switch (kind) {
    case 'c':
    case 's':
    case 't':
        break;
    case 'C':
    case 'S':
        if (!gdbstub_take_hex(args, &signal) || signal > 255)
            return false;
        break;
    case 'r':
        if (!gdbstub_take_hex(args, &action->range_start) || !gdbstub_take_char(args, ',') ||
            !gdbstub_take_hex(args, &action->range_end))
            return false;
        break;
    default:
        return false;
    }
    if (gdbstub_take_char(args, ':') && !gdbstub_take_thread_id_of(stub, args, &thread))
        return false;
    action->mode = kind == 'r'                    ? GDB_RESUME_RANGE_STEP
                   : (kind == 's' || kind == 'S') ? GDB_RESUME_STEP
                   : kind == 't'                  ? GDB_RESUME_STOP
                                                  : GDB_RESUME_CONTINUE;
    action->signal = (int)signal;
    action->thread = thread == 0 ? gdbstub_current_thread(stub) : thread;
    return true;
}

/* All-stop: a thread a t action names stays stopped, as if unnamed (and
 * one it alone covers is no resume at all). */
static void drop_stop_actions(struct gdb_resume_action *actions, size_t *count)
{
    size_t kept = 0;
    for (size_t i = 0; i < *count; i++) {
        if (actions[i].mode != GDB_RESUME_STOP)
            actions[kept++] = actions[i];
    }
    *count = kept;
}

/* A target of one thread gets the first action that applies to it, as
 * for every thread. */
static bool single_thread_action(struct gdb_resume_action *actions, size_t *count)
{
    for (size_t i = 0; i < *count; i++) {
        if (actions[i].thread == -1 || actions[i].thread == 1) {
            actions[0] = actions[i];
            actions[0].thread = -1;
            *count = 1;
            return true;
        }
    }
    return false;
}

static void handle_vcont(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    struct gdb_resume_action actions[GDB_MAX_RESUME_ACTIONS];
    size_t count = 0;
    while (gdbstub_take_char(args, ';')) {
        if (count == GDB_MAX_RESUME_ACTIONS || !take_vcont_action(stub, args, &actions[count])) {
            gdbstub_reply_error(stub, EINVAL);
            return;
        }
        count++;
    }
    if (!stub->non_stop)
        drop_stop_actions(actions, &count);
    if (!gdbstub_at_end(args) || count == 0 ||
        (!stub->ops->threads && !single_thread_action(actions, &count))) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    resume(stub, actions, count);
}

static void handle_vcont_query(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply(stub, stub->ops->non_stop ? "vCont;c;C;s;S;r;t" : "vCont;c;C;s;S;r");
}

static void handle_stop_query(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    if (stub->non_stop) {
        gdbstub_non_stop_status(stub);
        return;
    }
    if (!stub->running) {
        gdbstub_send_stop_reply(stub);
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

static void handle_kill(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    /* k has no reply; gdb closes the connection. */
    gdbstub_close_soon(stub, true);
    stub->ops->kill(stub->opaque);
}

static void handle_vkill(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply_ok(stub);
    gdbstub_close_soon(stub, true);
    stub->ops->kill(stub->opaque);
}

static void handle_detach(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply_ok(stub);
    gdbstub_close_soon(stub, true);
    stub->stop_reply_owed = false;
    if (!gdbstub_program_ended(stub))
        stub->running = true; /* the program runs on undebugged */
    stub->ops->detach(stub->opaque);
}

/* ---- breakpoints ------------------------------------------------------- */

/* A Z0/Z1 and its ";X...;cmds:..." lists (ConditionalBreakpoints+,
 * BreakpointCommands+); a malformed list refuses the breakpoint. */
static int insert_code_breakpoint(struct gdbstub *stub, enum gdb_breakpoint_type type,
                                  uint64_t address, uint64_t kind, struct gdbstub_cursor *args)
{
    struct gdb_breakpoint_actions actions;
    if (!gdb_agent_parse_actions(args->next, (size_t)(args->end - args->next), &actions))
        return -EINVAL;
    int result = stub->ops->insert_code_breakpoint(stub->opaque, type, address, kind, &actions);
    gdb_agent_clear_actions(&actions);
    return result;
}

static void handle_breakpoint(struct gdbstub *stub, struct gdbstub_cursor *args, bool insert)
{
    uint64_t type, address, kind;
    if (!gdbstub_take_hex(args, &type) || !gdbstub_take_char(args, ',') ||
        !gdbstub_take_hex(args, &address) || !gdbstub_take_char(args, ',') ||
        !gdbstub_take_hex(args, &kind)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    if (!gdbstub_at_end(args) && *args->next != ';') {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    if (type > GDB_WATCHPOINT_ACCESS) {
        gdbstub_reply_empty(stub);
        return;
    }
    int result;
    if (insert && type <= GDB_BREAKPOINT_HARDWARE && stub->ops->insert_code_breakpoint)
        result = insert_code_breakpoint(stub, (enum gdb_breakpoint_type)type, address, kind, args);
    else if (insert) /* conditions sent anyway are ignored: gdb judges them */
        result = stub->ops->insert_breakpoint(stub->opaque, (enum gdb_breakpoint_type)type, address,
                                              kind);
    else
        result = stub->ops->remove_breakpoint(stub->opaque, (enum gdb_breakpoint_type)type, address,
                                              kind);
    if (result == 0)
        gdbstub_reply_ok(stub);
    else if (result == -ENOTSUP || result == -ENOSYS)
        gdbstub_reply_empty(stub); /* gdb: "not supported", and for Z0 it plants int3 itself */
    else
        gdbstub_reply_error(stub, -result);
}

static void handle_insert_breakpoint(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    handle_breakpoint(stub, args, true);
}

static void handle_remove_breakpoint(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    handle_breakpoint(stub, args, false);
}

/* ---- session ----------------------------------------------------------- */

/* Whether the debugger's feature list (qSupported:a+;b+;...) has feature+. */
static bool debugger_offers(const struct gdbstub_cursor *args, const char *feature)
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

static void handle_supported(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    gdbstub_take_char(args, ':');
    stub->debugger_swbreak = debugger_offers(args, "swbreak");
    stub->debugger_hwbreak = debugger_offers(args, "hwbreak");
    stub->debugger_no_resumed = debugger_offers(args, "no-resumed");
    /* lldb 14 offers multiprocess+ too but cannot take pPID.TID stop
     * replies; gdb alone sends qRelocInsn+ (as for the library list). */
    stub->multiprocess = gdbstub_process_id(stub) > 0 && debugger_offers(args, "multiprocess") &&
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
    if (stub->ops->threads)
        g_string_append(text, ";qXfer:threads:read+");
    if (stub->ops->catch_syscalls)
        g_string_append(text, ";QCatchSyscalls+");
    if (stub->ops->signal_filters)
        g_string_append(text, ";QPassSignals+;QProgramSignals+");
    if (stub->ops->insert_code_breakpoint)
        g_string_append(text, ";ConditionalBreakpoints+;BreakpointCommands+");
    if (stub->multiprocess)
        g_string_append(text, ";multiprocess+");
    if (stub->ops->non_stop)
        g_string_append(text, ";QNonStop+");
    if (stub->ops->thread_events)
        g_string_append(text, ";QThreadEvents+");
    gdbstub_append_signal_features(stub, args, text);
    g_string_append(text, ";QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+");
    gdbstub_reply_string(stub, text);
}

/* What a handover carries of QCatchSyscalls (gdbstub/handover.c). */
void gdbstub_remember_catch_syscalls(struct gdbstub *stub, bool enable, const GArray *numbers)
{
    GString *text = g_string_new(enable ? "1" : "0");
    for (guint i = 0; i < numbers->len; i++)
        g_string_append_printf(text, ".%" PRIx64, g_array_index(numbers, uint64_t, i));
    g_free(stub->catch_syscalls);
    stub->catch_syscalls = g_string_free(text, FALSE);
}

/* QCatchSyscalls:0, QCatchSyscalls:1, QCatchSyscalls:1;NR;NR... (hex). */
static void handle_catch_syscalls(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    uint64_t enable;
    if (!stub->ops->catch_syscalls) {
        gdbstub_reply_empty(stub);
        return;
    }
    if (!gdbstub_take_char(args, ':') || !gdbstub_take_hex(args, &enable) || enable > 1) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    GArray *numbers = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t number;
    while (enable && gdbstub_take_char(args, ';')) {
        if (!gdbstub_take_hex(args, &number))
            break;
        g_array_append_val(numbers, number);
    }
    int result = gdbstub_at_end(args)
                     ? stub->ops->catch_syscalls(stub->opaque, enable == 1,
                                                 (const uint64_t *)numbers->data, numbers->len)
                     : -EINVAL;
    if (result == 0)
        gdbstub_remember_catch_syscalls(stub, enable == 1, numbers);
    g_array_free(numbers, TRUE);
    if (result < 0)
        gdbstub_reply_error(stub, -result);
    else
        gdbstub_reply_ok(stub);
}

/* QPassSignals:SIG;SIG... and QProgramSignals:... (hex GDB signal numbers):
 * each packet replaces its whole set. */
static bool take_signal_set(struct gdbstub_cursor *args, bool set[GDB_SIGNAL_LIMIT])
{
    memset(set, 0, GDB_SIGNAL_LIMIT * sizeof(bool));
    if (!gdbstub_take_char(args, ':'))
        return gdbstub_at_end(args);
    uint64_t signal;
    do {
        if (gdbstub_at_end(args))
            return true; /* an empty list, or a trailing ';' */
        if (!gdbstub_take_hex(args, &signal) || signal >= GDB_SIGNAL_LIMIT)
            return false;
        set[signal] = true;
    } while (gdbstub_take_char(args, ';'));
    return gdbstub_at_end(args);
}

static void handle_signal_set(struct gdbstub *stub, struct gdbstub_cursor *args, bool *set)
{
    if (!stub->ops->signal_filters) {
        gdbstub_reply_empty(stub);
        return;
    }
    bool parsed[GDB_SIGNAL_LIMIT];
    if (!take_signal_set(args, parsed)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    memcpy(set, parsed, sizeof parsed);
    stub->ops->signal_filters(stub->opaque, stub->pass_signals, stub->program_signals);
    gdbstub_reply_ok(stub);
}

static void handle_pass_signals(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    handle_signal_set(stub, args, stub->pass_signals);
}

static void handle_program_signals(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    handle_signal_set(stub, args, stub->program_signals);
}

static void handle_start_no_ack_mode(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply_ok(stub); /* still acknowledged: the debugger acks this OK */
    stub->no_ack_mode = true;
}

/* We start the program ourselves, as gdbserver does when given one to run,
 * so like gdbserver we answer 0: quitting gdb then kills the program
 * instead of leaving it running undebugged. (QEMU answers 1: its guest is
 * a whole machine that outlives the debugger.) "detach" still detaches. */
static void handle_attached(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply(stub, "0");
}

static void handle_symbol(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply_ok(stub);
}

static void handle_unsupported(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply_empty(stub);
}

static void handle_enable_ok(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply_ok(stub);
}

static void handle_list_threads_in_stop_reply(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    stub->list_threads_in_stop_reply = true;
    gdbstub_reply_ok(stub);
}

/* QThreadEvents:0 / QThreadEvents:1 (ops->thread_events). */
static void handle_thread_events(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    bool on;
    if (!stub->ops->thread_events) {
        gdbstub_reply_empty(stub);
        return;
    }
    if (!gdbstub_take_switch(args, &on)) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    stub->ops->thread_events(stub->opaque, on);
    gdbstub_reply_ok(stub);
}

/* "x86_64-pc-linux-gnu", hex-encoded as lldb wants triples. */
#define TRIPLE_HEX "7838365f36342d70632d6c696e75782d676e75"

static void handle_host_info(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply(stub, "triple:" TRIPLE_HEX ";ptrsize:8;endian:little;");
}

static void handle_process_info(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    (void)args;
    gdbstub_reply(stub, "pid:1;parent-pid:1;real-uid:0;real-gid:0;effective-uid:0;effective-gid:0;"
                        "triple:" TRIPLE_HEX ";ostype:linux;endian:little;ptrsize:8;");
}

void gdbstub_send_console_output(struct gdbstub *stub, const char *output, size_t length)
{
    for (size_t done = 0; done < length; done += CONSOLE_CHUNK) {
        size_t chunk = length - done < CONSOLE_CHUNK ? length - done : CONSOLE_CHUNK;
        GString *text = g_string_new("O");
        gdbstub_append_hex(text, output + done, chunk);
        gdbstub_reply_string(stub, text);
    }
}

static void handle_monitor_command(struct gdbstub *stub, struct gdbstub_cursor *args)
{
    if (!stub->ops->monitor_command) {
        gdbstub_reply_empty(stub);
        return;
    }
    size_t hex_length = (size_t)(args->end - args->next);
    if (!gdbstub_take_char(args, ',') || hex_length < 1) {
        gdbstub_reply_error(stub, EINVAL);
        return;
    }
    hex_length--;
    char *command = g_malloc0(hex_length / 2 + 1);
    if (!gdbstub_decode_hex(args->next, hex_length, (uint8_t *)command) ||
        strlen(command) != hex_length / 2) {
        gdbstub_reply_error(stub, EINVAL);
        g_free(command);
        return;
    }
    char *output = stub->ops->monitor_command(stub->opaque, command);
    if (output)
        gdbstub_send_console_output(stub, output, strlen(output));
    gdbstub_reply_ok(stub);
    g_free(output);
    g_free(command);
}

/* ---- dispatch ---------------------------------------------------------- */

typedef void (*command_handler)(struct gdbstub *stub, struct gdbstub_cursor *args);

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
    ['H'] = gdbstub_handle_set_thread,
    ['T'] = gdbstub_handle_thread_alive,
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
    {"QHermituxAdopt", gdbstub_handle_adopt, false},
    {"QHermituxKeep", gdbstub_handle_keep, false},
    {"QHermituxHalt", gdbstub_handle_halt, false},
    {"QPassSignals", handle_pass_signals, false},
    {"QProgramSignals", handle_program_signals, false},
    {"qXfer:siginfo", gdbstub_handle_siginfo, true},
    {"qXfer", gdbstub_handle_transfer, false},
    {"qC", gdbstub_handle_current_thread, false},
    {"qfThreadInfo", gdbstub_handle_first_thread_info, false},
    {"qsThreadInfo", gdbstub_handle_next_thread_info, false},
    {"qThreadExtraInfo", gdbstub_handle_thread_extra_info, false},
    {"qGetTLSAddr", gdbstub_handle_tls_address, true},
    {"qAttached", handle_attached, false},
    {"qSymbol", handle_symbol, false},
    {"qRcmd", handle_monitor_command, true},
    {"qHostInfo", handle_host_info, false},
    {"qProcessInfo", handle_process_info, false},
    {"QThreadSuffixSupported", handle_enable_ok, false},
    {"QListThreadsInStopReply", handle_list_threads_in_stop_reply, false},
    {"QNonStop", gdbstub_handle_non_stop, false},
    {"QThreadEvents", handle_thread_events, false},
    {"vStopped", gdbstub_handle_stopped, false},
    {"vCtrlC", gdbstub_handle_ctrl_c, false},
    {"vCont?", handle_vcont_query, false},
    {"vCont", handle_vcont, true},
    {"vKill", handle_vkill, false},
    {"vFile", gdbstub_handle_file, true},
    /* Answered empty on purpose: the debugger then uses the fallbacks. */
    {"qOffsets", handle_unsupported, false},
    {"qTStatus", handle_unsupported, false},
    {"qRegisterInfo", handle_unsupported, false},
    {"vMustReplyEmpty", handle_unsupported, false},
};

static bool is_name_end(const struct gdbstub_cursor *cursor)
{
    return gdbstub_at_end(cursor) || *cursor->next == ':' || *cursor->next == ',' ||
           *cursor->next == ';';
}

/* While the guest runs, only a few packets make sense (all-stop: gdb sends
 * none but Ctrl-C); registers and memory are not stable then. */
static bool allowed_while_running(char letter)
{
    return letter == '?' || letter == 'k' || letter == 'D' || letter == 'H' || letter == 'T';
}

static void dispatch_named(struct gdbstub *stub, struct gdbstub_cursor *packet)
{
    for (size_t i = 0; i < G_N_ELEMENTS(named_commands); i++) {
        size_t length = strlen(named_commands[i].name);
        if ((size_t)(packet->end - packet->next) < length ||
            memcmp(packet->next, named_commands[i].name, length) != 0)
            continue;
        struct gdbstub_cursor args = {packet->next + length, packet->end};
        if (!is_name_end(&args))
            continue;
        if (stub->running && named_commands[i].needs_stopped_guest)
            gdbstub_reply_error(stub, EBUSY);
        else
            named_commands[i].handler(stub, &args);
        return;
    }
    gdbstub_reply_empty(stub);
}

void gdbstub_dispatch(struct gdbstub *stub, const char *payload, size_t length)
{
    struct gdbstub_cursor packet = {payload, payload + length};
    if (length == 0) {
        gdbstub_reply_empty(stub);
        return;
    }
    if (gdbstub_handle_fork_child(stub, &packet) || gdbstub_route_packet(stub, &packet))
        return;
    unsigned char letter = (unsigned char)payload[0];
    if (letter == 'q' || letter == 'Q' || letter == 'v') {
        dispatch_named(stub, &packet);
        return;
    }
    command_handler handler = letter < 128 ? letter_commands[letter] : NULL;
    if (!handler) {
        gdbstub_reply_empty(stub);
        return;
    }
    if (stub->running && !allowed_while_running((char)letter)) {
        gdbstub_reply_error(stub, EBUSY);
        return;
    }
    packet.next++;
    handler(stub, &packet);
}
