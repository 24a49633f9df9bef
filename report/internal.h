/*
 * report/internal.h — shared between the files of report/ only.
 */
#ifndef HERMITUX_REPORT_INTERNAL_H
#define HERMITUX_REPORT_INTERNAL_H

#include "report/report.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct guest;
struct elf_image;

/* ---- source-level information (debuginfo.c, libdw) ---------------------- */

/* Debug information of the program and the kernel, opened once per report. */
struct report_debuginfo;

struct report_debuginfo *report_debuginfo_open(struct guest *guest);
void report_debuginfo_close(struct report_debuginfo *debuginfo);

/* Where an address is: every field may be missing (NULL / 0). */
struct report_location {
    bool in_kernel;     /* in the guest kernel's image rather than the program */
    const char *image;  /* the ELF file's path */
    bool shared_object; /* image is a library (or ld.so) the dynamic loader mapped */
    uint64_t bias;      /* its load bias, for a shared object */
    const char *symbol; /* the symbol-table function containing it */
    uint64_t offset;    /* address - symbol */
    char function[128]; /* the innermost function per DWARF (an inlined one), or "" */
    char caller[128];   /* the function it is inlined into, or "" */
    char file[256];     /* source file, as the line table names it, or "" */
    int line;           /* 0 if unknown */
};

/* Fills *location for address (lookup is the address to look the line up at:
 * a return address minus one, so the call's line is found). */
void report_locate(struct report_debuginfo *debuginfo, uint64_t address, uint64_t lookup,
                   struct report_location *location);

/* "func (file.c:12)", "func+0x1a", "??": the short form for one line. */
void report_location_short(const struct report_location *location, char *buffer, size_t size);

/* One frame of a backtrace. */
struct report_frame {
    uint64_t pc;
    bool is_return_address; /* pc is after a call: look the line up at pc - 1 */
    bool from_scan;         /* found by scanning the stack, not unwound: probable */
};

/*
 * Unwinds the program's stack from state (CFI through libdw, the frame
 * pointer where there is no CFI, a stack scan as the last resort). Fills at
 * most max_frames, returns how many frames there are in all (bounded). Reads guest memory only
 * through guest_read; never loops.
 */
size_t report_backtrace(struct report_debuginfo *debuginfo, struct guest *guest,
                        const struct cpu_state *state, bool fault_is_trap,
                        struct report_frame *frames, size_t max_frames);

/* Prints a backtrace, indented, each frame with function and file:line. */
void report_print_backtrace(FILE *out, struct report_debuginfo *debuginfo, struct guest *guest,
                            const struct cpu_state *state, bool fault_is_trap);

/* ---- instructions (code.c, capstone) ------------------------------------ */

/* Prints the instructions around address, the one at address marked "=>";
 * says so when they cannot be read. */
void report_print_code(FILE *out, struct report_debuginfo *debuginfo, struct guest *guest,
                       uint64_t address);

/* What the instruction at rip says about a #GP, #SS or #DE. */
struct report_instruction_cause {
    enum report_cause cause; /* REPORT_CAUSE_UNKNOWN when nothing was found */
    uint64_t address;        /* the memory operand's address for NON_CANONICAL/MISALIGNED */
    char text[256];          /* the instruction, "movaps (%rdi), %xmm0" */
    bool divisor_known;      /* #DE: the divisor could be read */
    uint64_t divisor;
};

void report_analyse_instruction(struct guest *guest, const struct cpu_state *state,
                                struct report_instruction_cause *result);

/* Whether the bytes just before address end in a call instruction (so
 * address is a plausible return address). */
bool report_follows_call(struct guest *guest, uint64_t address);

/* ---- the layout of this guest (cause.c) ---------------------------------- */

void report_guest_layout(struct guest *guest, struct report_layout *layout);

#endif
