/*
 * report/ — what the user reads when the program dies: the one-line summary,
 * and with --verbose HermiTux's kernel-log lines followed by what HermiTux
 * left to objdump and addr2line (where the fault is in the source, the
 * instructions around it, a backtrace, what the faulting address is); and
 * the ELF core file of --core.
 */
#ifndef HERMITUX_REPORT_H
#define HERMITUX_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "accel/accel.h"

#ifdef __cplusplus
extern "C" {
#endif

struct guest;
struct guest_memory;

/* The signal a native run would die of for an exception vector (SIGSEGV for
 * #PF and #GP, SIGFPE for #DE, ...). */
int report_signal_for_vector(unsigned vector);

/* The same for an exit, which may need the guest's map to tell: a page fault
 * on a file mapping's page past the end of its file is SIGBUS. memory may be
 * NULL (the vector decides then). */
int report_signal_for_exit(const struct guest_memory *memory, const struct accel_exit *exit);

/*
 * The bracketed part of HermiTux's page-fault line for an error code,
 * "user data write not present \b" (the words between "[ " and " ]"):
 * user/supervisor, instruction/data, write/fetch/read, protection/not
 * present, then "reserved bit" or, as HermiTux prints it, a backspace.
 */
void report_decode_page_fault_error(uint64_t error_code, char *buffer, size_t size);

/* What a faulting access ran into. */
enum report_cause {
    REPORT_CAUSE_UNKNOWN,
    REPORT_CAUSE_NULL_POINTER,    /* in the first page: a NULL dereference */
    REPORT_CAUSE_STACK_OVERFLOW,  /* the guard page below the stack, or just below it */
    REPORT_CAUSE_UNMAPPED,        /* nothing is mapped there */
    REPORT_CAUSE_HEAP,            /* inside the heap, not accessible (past the break...) */
    REPORT_CAUSE_READ_ONLY_WRITE, /* a write to read-only memory (text, rodata) */
    REPORT_CAUSE_KERNEL_MEMORY,   /* user mode touched the guest kernel's memory */
    REPORT_CAUSE_NOT_EXECUTABLE,  /* an instruction fetch from non-executable memory */
    REPORT_CAUSE_NO_ACCESS,       /* a PROT_NONE mapping, or a device page */
    REPORT_CAUSE_RESERVED_BIT,    /* the page tables are corrupt (monitor bug) */
    REPORT_CAUSE_NON_CANONICAL,   /* #GP/#SS: an address outside the canonical halves */
    REPORT_CAUSE_MISALIGNED,      /* #GP: an aligned SSE access to an unaligned address */
    REPORT_CAUSE_PRIVILEGED,      /* #GP: an instruction user mode may not execute */
    REPORT_CAUSE_PAST_EOF,        /* a file mapping's page wholly past the end of the file */
};

/* Where things are in the guest, for classifying an address. */
struct report_layout {
    uint64_t heap_start, heap_end; /* the brk range (empty if none) */
    uint64_t stack_low, stack_top; /* the mapped initial stack */
};

/*
 * Classifies the address of a page fault (CR2) from the error code, the
 * guest's map and page tables and the layout. rsp (the program's at the
 * fault) tells a stack overflow that jumped past the guard page from a
 * stray access.
 */
enum report_cause report_classify_page_fault(const struct guest_memory *memory,
                                             const struct report_layout *layout, uint64_t address,
                                             uint64_t error_code, uint64_t rsp);

/* A short phrase for a cause: "NULL pointer dereference", "stack overflow", ... */
const char *report_cause_string(enum report_cause cause);

/*
 * Reports a fatal exception of the program (or of the guest kernel) on out:
 * one line, or the full report when verbose. Returns the exit status to use:
 * 128 + the signal a native run would die of.
 */
int report_fault(FILE *out, struct guest *guest, const struct accel_exit *exit,
                 const struct cpu_state *state, bool verbose);

/* One thread of the program as it stood when the run ended. */
struct report_thread {
    int tid;
    char name[16];
    struct cpu_state state;
    bool has_fpu;
    struct cpu_fpu_state fpu;
    /* The whole XSAVE state (standard format, components xsave_features:
     * AVX-512 too where the vCPU has it), for the core's NT_X86_XSTATE;
     * NULL: fpu is all there is. Owned by whoever fills the array. */
    uint8_t *xsave;
    uint32_t xsave_size;
    uint64_t xsave_features;
};

/*
 * report_fault for a program with several threads: threads[0] faulted (the
 * summary names it: tid and name), the others follow it in the verbose
 * report with their registers and backtraces. count 1 is report_fault.
 */
int report_fault_threads(FILE *out, struct guest *guest, const struct accel_exit *exit,
                         const struct report_thread *threads, size_t count, bool verbose);

/* Reports an accelerator or guest-kernel failure (exit->message) on out:
 * one line, and the registers when verbose. */
void report_error(FILE *out, struct guest *guest, const struct accel_exit *exit,
                  const struct cpu_state *state, bool verbose);

/*
 * Reports that the program ran out of its --timeout: where it was (and a
 * backtrace when guest->verbose). state is the vCPU's after it was stopped.
 */
void report_timeout(FILE *out, struct guest *guest, const struct cpu_state *state, double seconds);

/*
 * Writes an ELF64 core file of the program at a fault to path: NT_PRSTATUS
 * (the signal, the registers), NT_PRPSINFO, NT_FPREGSET when fpu is not NULL,
 * NT_AUXV, and one PT_LOAD per user-accessible mapped region, so that
 * `gdb PROGRAM path` shows the registers, the backtrace and the memory.
 * Returns 0, or a negative errno with a one-line *error (g_free it).
 */
int report_write_core(const char *path, struct guest *guest, const struct accel_exit *exit,
                      const struct cpu_state *state, const struct cpu_fpu_state *fpu, char **error);

/* report_write_core with one NT_PRSTATUS (and NT_FPREGSET) per thread,
 * threads[0] (the faulting one) first, each with pr_pid its tid, as Linux
 * writes a multi-threaded core: gdb shows them with `info threads`. */
int report_write_core_threads(const char *path, struct guest *guest, const struct accel_exit *exit,
                              const struct report_thread *threads, size_t count, char **error);

/* report_write_core_threads into fd (path only names it in *error), with
 * the signal the program died of in every NT_PRSTATUS. */
int report_write_core_fd(int fd, const char *path, struct guest *guest, int signal,
                         const struct report_thread *threads, size_t count, char **error);

/* Writes the core file (report_write_core_fd) to path, then one line on
 * out: where the core went (and the gdb command to open it), or why it
 * could not be written. For the monitor when --core is given. */
void report_dump_core(FILE *out, const char *path, struct guest *guest, int signal,
                      const struct report_thread *threads, size_t count);

/* What the specifiers of kernel.core_pattern stand for, for the program. */
struct report_core_values {
    int pid, tid; /* %p %P, %i %I: the program's pid and the dying thread's tid */
    unsigned uid, gid;
    int signal;
    int64_t time;         /* %t, seconds since the epoch */
    const char *hostname; /* %h */
    const char *comm;     /* %e: the dying thread's name */
    const char *exe;      /* %E (and %f its last part): the program's path */
    uint64_t limit;       /* %c: RLIMIT_CORE */
};

/*
 * The core file's name for a core_pattern that is a path (not "|program"),
 * as Linux's format_corename expands it: %% %p %P %i %I %u %g %d %s %t %h
 * %e %f %E %c (the names with '/' made '!'), any other %X dropped, and
 * ".PID" appended when uses_pid (kernel.core_uses_pid) and there is no %p.
 * Relative names are the program's cwd's. g_free the result.
 */
char *report_core_name(const char *pattern, bool uses_pid, const struct report_core_values *values);

#ifdef __cplusplus
}
#endif

#endif
