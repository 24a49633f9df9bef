/*
 * libFuzzer target: arbitrary bytes from a "debugger" into gdbstub_feed,
 * against a fake target with a little memory and a hole. Whatever arrives,
 * the stub must not crash, overflow or leak. Build with
 * clang -fsanitize=fuzzer,address (tests/fuzz/run-fuzz.sh does).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "gdbstub/gdbstub.h"

#define PAGE         4096
#define MAPPED_START 0x400000ULL
#define MAPPED_PAGES 2 /* 0x400000..0x401fff; 0x402000 up is unmapped */

struct fake_target {
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    uint8_t memory[MAPPED_PAGES * PAGE];
    uint8_t auxv[32];
    int resumes;
};

static bool in_memory(uint64_t address, size_t length)
{
    return address >= MAPPED_START && length <= MAPPED_PAGES * PAGE &&
           address - MAPPED_START <= MAPPED_PAGES * PAGE - length;
}

static int read_registers(void *opaque, int64_t thread, struct cpu_state *state,
                          struct cpu_fpu_state *fpu)
{
    struct fake_target *target = opaque;
    (void)thread;
    *state = target->state;
    if (fpu)
        *fpu = target->fpu;
    return 0;
}

static int write_registers(void *opaque, int64_t thread, const struct cpu_state *state,
                           const struct cpu_fpu_state *fpu)
{
    struct fake_target *target = opaque;
    (void)thread;
    target->state = *state;
    target->fpu = *fpu;
    return 0;
}

static int read_memory(void *opaque, uint64_t address, void *buffer, size_t length)
{
    struct fake_target *target = opaque;
    if (!in_memory(address, length))
        return -EFAULT;
    memcpy(buffer, target->memory + (address - MAPPED_START), length);
    return 0;
}

static int write_memory(void *opaque, uint64_t address, const void *buffer, size_t length)
{
    struct fake_target *target = opaque;
    if (!in_memory(address, length))
        return -EFAULT;
    memcpy(target->memory + (address - MAPPED_START), buffer, length);
    return 0;
}

static int resume(void *opaque, const struct gdb_resume_action *actions, size_t count)
{
    struct fake_target *target = opaque;
    (void)actions, (void)count;
    /* Every other resume fails, to reach the error paths too. */
    return ++target->resumes % 2 ? 0 : -EIO;
}

static void do_nothing(void *opaque)
{
    (void)opaque;
}

static int breakpoint(void *opaque, enum gdb_breakpoint_type type, uint64_t address, uint64_t kind)
{
    (void)opaque, (void)kind;
    if (type == GDB_WATCHPOINT_READ)
        return -ENOTSUP;
    return address & 1 ? -ENOSPC : 0;
}

/* The agent's view of the fake: its registers, its memory, output dropped. */
static int agent_register(void *opaque, int regnum, uint64_t *value)
{
    struct fake_target *target = opaque;
    if (regnum < 0 || regnum >= GDB_REGISTER_COUNT)
        return -EINVAL;
    uint8_t bytes[64] = {0};
    gdb_register_get(regnum, &target->state, &target->fpu, bytes);
    memcpy(value, bytes, sizeof *value);
    return 0;
}

/* Conditions and commands are run at once, as at a hit: the fuzzer feeds
 * the interpreter every bytecode it makes up. */
static int code_breakpoint(void *opaque, enum gdb_breakpoint_type type, uint64_t address,
                           uint64_t kind, const struct gdb_breakpoint_actions *actions)
{
    struct gdb_agent_target agent = {opaque, agent_register, read_memory, NULL};
    gdb_agent_conditions_hold(actions, &agent);
    gdb_agent_run_commands(actions, &agent);
    return breakpoint(opaque, type, address, kind);
}

static char *monitor_command(void *opaque, const char *command)
{
    (void)opaque;
    return g_strdup_printf("you said: %s\n", command);
}

static const char *exec_file(void *opaque)
{
    (void)opaque;
    return "/tmp/fuzzed program with }#$* in its name";
}

static const char *kernel_file(void *opaque, uint64_t *text_address)
{
    (void)opaque;
    *text_address = 0xffff800000100000ULL;
    return "/usr/lib/hermitux-run/<kernel>&";
}

static const void *auxv(void *opaque, size_t *length)
{
    struct fake_target *target = opaque;
    *length = sizeof target->auxv;
    return target->auxv;
}

static const struct gdb_target_ops fake_ops = {
    .read_registers = read_registers,
    .write_registers = write_registers,
    .read_memory = read_memory,
    .write_memory = write_memory,
    .resume = resume,
    .interrupt = do_nothing,
    .insert_breakpoint = breakpoint,
    .remove_breakpoint = breakpoint,
    .insert_code_breakpoint = code_breakpoint,
    .kill = do_nothing,
    .detach = do_nothing,
    .disconnected = do_nothing,
    .monitor_command = monitor_command,
    .exec_file = exec_file,
    .kernel_file = kernel_file,
    .auxv = auxv,
};

static void discard_output(void *opaque, const char *bytes, size_t length)
{
    (void)opaque;
    /* Touch every byte so ASan checks the whole reply. */
    volatile char sink = 0;
    for (size_t i = 0; i < length; i++)
        sink ^= bytes[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fake_target target;
    memset(&target, 0, sizeof target);
    memset(target.auxv, '#', sizeof target.auxv);
    struct gdbstub *stub = gdbstub_new(&fake_ops, &target);
    gdbstub_capture_output(stub, discard_output, NULL);

    /* The first byte is the harness's: its high bit skips acks, so inputs
     * reach the handlers without valid checksums, and the rest picks when
     * the monitor reports a stop, so stops between packets are covered. */
    size_t stop_at = size ? data[0] & 0x7f : 0;
    if (size && data[0] & 0x80) {
        static const char no_ack[] = "$QStartNoAckMode#b0";
        gdbstub_feed(stub, no_ack, sizeof no_ack - 1);
    }
    if (size) {
        data++;
        size--;
    }
    for (size_t at = 0; at < size;) {
        size_t chunk = size - at < 64 ? size - at : 64;
        gdbstub_feed(stub, (const char *)data + at, chunk);
        at += chunk;
        if (stop_at && at / 64 % (stop_at % 7 + 1) == 0) {
            struct gdb_stop stop = {
                .kind = (enum gdb_stop_kind)(stop_at % 3),
                .signal = stop_at,
                .exit_status = stop_at,
                .reason = (enum gdb_stop_reason)(stop_at % 6),
                .watch_address = stop_at * 0x1000ULL,
            };
            gdbstub_notify_stop(stub, &stop);
        }
    }
    gdbstub_free(stub);
    return 0;
}
