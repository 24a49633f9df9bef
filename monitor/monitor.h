/*
 * monitor/ — the command line, the VM that runs one program, and the vCPU
 * thread. The main thread runs a GMainLoop that owns I/O and events; the
 * vCPU thread runs the guest and performs its syscalls, and hands the main
 * loop what needs it (exit, fault, stop).
 */
#ifndef HERMITUX_MONITOR_H
#define HERMITUX_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>
#include <stdint.h>

#include "accel/accel.h"
#include "loader/loader.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default guest memory is the host's RAM up to this: guest RAM is
 * reserved, not committed, and used only where the program touches it. The
 * cap keeps KVM's memory-slot bookkeeping (re-built at every TLB flush of a
 * shadow-paging host, about 0.35 ms per GiB) small. */
#define MONITOR_DEFAULT_MEMORY_CAP (4ULL << 30)
#define MONITOR_MIN_MEMORY         (4ULL << 20)
#define MONITOR_MAX_MEMORY         (64ULL << 30)

#define MONITOR_DEFAULT_MAX_THREADS 4096

struct monitor_options {
    char *accel; /* "kvm", "tcg" or "auto" */
    uint64_t memory_size;
    bool verbose;
    char *kernel_path;   /* NULL: the kernel built or installed with the binary */
    char **environment;  /* what the program receives: NULL-terminated */
    char *gdb;           /* --gdb SPEC (tcp::PORT, tcp:HOST:PORT, unix:PATH), NULL if none */
    bool halt_at_start;  /* -S: wait for a debugger before the first instruction */
    char *core_path;     /* --core FILE: write an ELF core file on a fault */
    double timeout;      /* --timeout SECONDS: stop a runaway guest (0: none) */
    int max_threads;     /* --max-threads N: clone fails with EAGAIN beyond */
    bool strace;         /* --strace[=FILE]: trace the program's syscalls */
    char *strace_path;   /* FILE of --strace=FILE, NULL for stderr */
    int strace_fd;       /* after an execve: the trace FILE, open (-1 or 0: none) */
    bool net_none;       /* --net=none: no AF_INET/AF_INET6 sockets for the program */
    char *program;       /* PROGRAM as given, or as found along PATH (then with a slash) */
    char **program_argv; /* PROGRAM ARGS..., NULL-terminated */
    /* Why PROGRAM (a `#!` script) cannot run, reported when the guest is
     * built, as a missing program is; NULL: nothing known against it. */
    char *program_error;
    /* Hidden: set by a guest execve (monitor/fork.c), the personality's
     * carried state; the program then dies by its signal, not 128 + N. */
    bool has_exec_state;
    int exec_state_fd;
    /* Hidden: what the accelerator of the monitor an execve replaced
     * learnt from the host (accel.h's carry_save), or NULL. */
    GBytes *accel_carry;
    /* Hidden: the debugger session an execve under gdb handed over
     * (gdbstub_handover_save); the program then starts halted for it. */
    char *exec_gdb;
    int standard_fds[3]; /* host fds that become the program's 0-2; -1: started without it */
    /* The other fds the monitor was started with (a shell's `3<file`, the
     * /dev/fd/63 of a process substitution, make's jobserver pipe), in
     * ascending order: each becomes the program's fd of the same number. */
    int *inherited_fds;
    size_t inherited_count;
    bool no_sandbox;     /* --no-sandbox: no seccomp filter (monitor/sandbox.c) */
    bool sandbox_strict; /* --sandbox=strict: the allow-list filter instead */
    char *root_path;     /* --root DIR, absolute: the directory the program sees as / */
    /* --syscall-ring: how long (us) the thread answering a vCPU's syscall
     * ring spins for the next call before it sleeps (monitor/ring.h); 0: off */
    unsigned syscall_ring_us;
    bool syscall_ring_always; /* --syscall-ring=always: even when no CPU is free */
};

#define MONITOR_DEFAULT_RING_US 200

/* How monitor_parse_options ended. */
enum monitor_parse_result {
    MONITOR_PARSE_RUN,  /* options filled: run the program */
    MONITOR_PARSE_EXIT, /* --help or --version was printed: exit 0 */
    MONITOR_PARSE_ERROR /* *error says what was wrong (one line, g_free it) */
};

/*
 * Parses `hermitux-run [OPTIONS] PROGRAM [ARGS...]`: options stop at PROGRAM,
 * whatever follows belongs to the program. `environment` is the host
 * environment (HERMIT_MEM and HERMIT_VERBOSE are honoured from it; it is
 * passed to the program unless --clear-env, with -E NAME=VALUE applied).
 * Writes --help and --version text to stdout.
 */
enum monitor_parse_result monitor_parse_options(int argc, char **argv, char **environment,
                                                struct monitor_options *options, char **error);

void monitor_options_free(struct monitor_options *options);

/* The guest memory when neither -m nor HERMIT_MEM says: the host's physical
 * memory, at most MONITOR_DEFAULT_MEMORY_CAP. */
uint64_t monitor_default_memory(void);

/*
 * PROGRAM as a shell finds it: a name with a slash is a path; otherwise the
 * first regular, executable DIR/NAME along PATH (from environment; an empty
 * entry is the current directory). Returns a g_malloc'ed path, or NULL when
 * the name is not found.
 */
char *monitor_find_program(const char *name, char **environment);

/*
 * Called first in main. Fills any of fds 0-2 the monitor was started
 * without with /dev/null, so no fd the monitor opens later (/dev/kvm, the
 * VM) takes their number and becomes the program's stdin; remembers which
 * were closed (monitor_parse_options gives the program those closed), and
 * which others are open (without FD_CLOEXEC: inherited), for the program.
 * Raises the monitor's soft RLIMIT_NOFILE to its hard limit: the program's
 * fds are host fds too, and a program that fills its table must leave the
 * monitor room for its reports and core file.
 */
void monitor_reserve_fds(void);

/*
 * Confines the monitor process (every thread) with a seccomp filter that
 * kills it on any host syscall linux/host_syscalls.c refuses. Called once
 * the VM and the debugger are set up, before the program runs; inherited
 * by guest processes (fork, execve). 0, or -1 with a one-line *error.
 */
int monitor_sandbox_enter(bool verbose, char **error);
/* As monitor_sandbox_enter; strict: only the host syscalls
 * linux_host_syscalls_allowed lists pass, every other one kills the monitor
 * (--sandbox=strict). */
int monitor_sandbox_enter_mode(bool strict, bool verbose, char **error);
/* The seccomp filter it installs, *length instructions, for tests; g_free
 * it. */
struct sock_filter;
struct sock_filter *monitor_sandbox_filter(bool strict, size_t *length);

/*
 * Parses a memory size: digits with an optional K, M or G suffix (powers of
 * 1024); plain digits are MiB when plain_is_mib (QEMU's -m) else bytes
 * (HermiTux's HERMIT_MEM). Returns false on anything else or on overflow.
 */
bool monitor_parse_size(const char *text, bool plain_is_mib, uint64_t *bytes);

/* How the program ended, as the monitor's exit status shows it. */
struct monitor_outcome {
    int exit_status;     /* the program's status, or 128 + signal */
    int signal;          /* the signal a native run would die of, 0 if it exited */
    uint64_t core_limit; /* the program's RLIMIT_CORE at its end */
    /* The VM and guest RAM are still there, for monitor_exit_as_program's
     * teardown process (monitor_run with an outcome, in a build without
     * sanitizers); else everything was freed. */
    bool teardown_left;
};

/* Runs the program to its end as the options say: builds the VM, starts the
 * vCPU thread, runs the main loop. Prints one line on stderr for any error.
 * Returns the monitor's exit status, and fills outcome (NULL: not wanted):
 * main() then dies of the program's signal itself (monitor_exit_as_program),
 * so that whoever started hermitux-run sees what a native run gives it; the
 * unit tests, which call this in-process, take the status (and have every
 * resource freed). */
int monitor_run(const struct monitor_options *options, struct monitor_outcome *outcome);

#ifdef __cplusplus
}
#endif

#endif
