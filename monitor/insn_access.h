/*
 * monitor/insn_access.h — which bytes of memory one instruction reads and
 * writes, for judging page-trap watchpoints exactly: a page trap only says
 * that an access touched the page (CR2), not its size, and an access watch
 * on data[1] must not fire for a read of data[0].
 */
#ifndef HERMITUX_MONITOR_INSN_ACCESS_H
#define HERMITUX_MONITOR_INSN_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/accel.h"
#include "memory/memory.h"

struct debugger_access {
    uint64_t address;
    uint64_t size;
    bool read, write;
};

/* The data accesses of the instruction at state->rip, as the state before
 * it runs determines them: explicit memory operands (with segment bases and
 * rip-relative displacements), string instructions' one iteration, and the
 * stack accesses of push, pop, call, ret and leave. Fills at most max entries
 * and returns how many, or -1 when the instruction cannot be decoded (its
 * bytes unreadable, or libcapstone missing). */
int debugger_instruction_accesses(const struct guest_memory *memory, const struct cpu_state *state,
                                  struct debugger_access *accesses, int max);

#endif
