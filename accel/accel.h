/*
 * accel/ — the accelerator interface: what the monitor needs from a virtual
 * CPU, whatever runs it (KVM, or a software CPU).
 *
 * A `struct accel` is one vCPU of a VM. create() makes the VM with its first
 * vCPU; create_vcpu() adds more to the same VM (one per guest thread);
 * destroy() releases one vCPU, and the VM goes with the last of them.
 *
 * Each vCPU has one owner thread, the one that calls its run(). stop() may be
 * called from any thread. Every other per-vCPU operation is called from the
 * owner thread, or from another thread while the vCPU is not inside run()
 * (its owner parked, see monitor/run.c).
 *
 * Kicking is the contract's, the same on every backend: stop() makes a run()
 * in progress (or the next one) return ACCEL_EXIT_STOPPED, and also ends a
 * blocking host call the owner thread makes between accel_host_call_begin()
 * and accel_host_call_end(), whenever the kick lands (see those).
 *
 * The state an accelerator presents is always the program's view: when
 * run() returns for a syscall or an exception taken in user mode, the
 * registers are those of the program at that point (the guest kernel's
 * trampoline is not visible), and running again resumes the program there.
 */
#ifndef HERMITUX_ACCEL_H
#define HERMITUX_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <signal.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct guest_memory;

/* A segment register with its hidden part. */
struct cpu_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g, avl, unusable;
};

struct cpu_descriptor_table {
    uint64_t base;
    uint16_t limit;
};

/* Which parts of struct cpu_state a get/set touches. */
enum cpu_state_part {
    CPU_STATE_GPRS = 1 << 0,     /* rax..r15, rip, rflags */
    CPU_STATE_SEGMENTS = 1 << 1, /* cs..ss, tr, ldt, gdt, idt */
    CPU_STATE_CONTROL = 1 << 2,  /* cr0, cr2, cr3, cr4, cr8, efer */
    CPU_STATE_MSRS = 1 << 3,     /* kernel_gs_base, star, lstar, cstar, fmask */
    CPU_STATE_ALL = 0xf,
};

struct cpu_state {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
    /* fs.base and gs.base are FS_BASE and GS_BASE. */
    struct cpu_segment cs, ds, es, fs, gs, ss, tr, ldt;
    struct cpu_descriptor_table gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t kernel_gs_base, star, lstar, cstar, fmask;
};

/* The x87/SSE state, in FXSAVE's terms. */
struct cpu_fpu_state {
    uint8_t st[8][16]; /* 80-bit registers, each padded to 16 bytes */
    uint16_t fcw, fsw;
    uint8_t ftw; /* abridged tag word, as FXSAVE stores it */
    uint16_t fop;
    uint64_t fip, fdp;
    uint8_t xmm[16][16];
    uint32_t mxcsr;
    /* The upper halves of ymm0-15 (AVX), from the XSAVE state: get_fpu sets
     * ymmh_valid when the vCPU has AVX, and set_fpu writes them only when
     * it is set (a state built from scratch leaves them alone). */
    uint8_t ymmh[16][16];
    bool ymmh_valid;
};

enum accel_exit_reason {
    /* The program executed `syscall`. State: rip is past the instruction,
     * rcx/r11 hold rip/rflags as the CPU set them, rax the number. Set rax
     * to the result and run again to return to the program. */
    ACCEL_EXIT_SYSCALL,
    /* A CPU exception. State: as the exception frame saw it (rip at the
     * faulting instruction for faults, past it for traps such as int3).
     * Running again resumes there (after the monitor fixed something, or to
     * retry). */
    ACCEL_EXIT_EXCEPTION,
    /* stop() was called. State: where the vCPU was. */
    ACCEL_EXIT_STOPPED,
    /* The accelerator's own debug facility stopped the vCPU: a single step
     * finished, or a hardware breakpoint set with set_debug hit. */
    ACCEL_EXIT_DEBUG,
    /* The guest kernel gave up (panic): `message` says why. */
    ACCEL_EXIT_HALT,
    /* The accelerator cannot go on (emulation failure, internal error, a
     * guest access to nothing): `message` says what happened. */
    ACCEL_EXIT_ERROR,
};

struct accel_exit {
    enum accel_exit_reason reason;
    /* ACCEL_EXIT_EXCEPTION */
    unsigned vector;
    bool has_error_code;
    uint64_t error_code;
    uint64_t fault_address; /* CR2 for #PF */
    bool in_kernel;         /* taken at CPL0 (in the guest kernel) */
    /* ACCEL_EXIT_STOPPED: stopped where the program's registers are not the
     * vCPU's to give a signal frame (in guest kernel code, or with an
     * exception queued for injection); the exception's exit comes next. */
    bool mid_exception;
    /* ACCEL_EXIT_DEBUG: the hardware breakpoint slot that fired, or -1 for a
     * finished single step. */
    int debug_slot;
    char message[200];
};

/* A hardware breakpoint or watchpoint, as x86 debug registers have them. */
enum accel_breakpoint_kind {
    ACCEL_BREAK_EXECUTE,
    ACCEL_BREAK_WRITE,
    ACCEL_BREAK_ACCESS, /* read or write */
};

struct accel_breakpoint {
    enum accel_breakpoint_kind kind;
    uint64_t address;
    unsigned length; /* 1, 2, 4 or 8; 1 for execute */
};

#define ACCEL_MAX_HW_BREAKPOINTS 4

/*
 * stop() interrupts a vCPU thread with this signal. The vCPU thread keeps it
 * blocked except inside run() and around blocking host calls, and the
 * monitor installs a handler that does nothing (without SA_RESTART), so the
 * signal only ends what the thread is waiting in. A real-time signal: the
 * standard ones sent to the monitor are forwarded to the program.
 */
#define ACCEL_KICK_SIGNAL (SIGRTMIN + 1)

/*
 * That number is also a signal another process may send (a guest's SIGRTMIN
 * under musl, sigqueue'd by another guest): such a signal is not a kick. A
 * kick is a tkill from this process (accel_kick_is_own); any other goes to
 * the sink thread (the monitor's signal forwarder, which passes it to the
 * program) with its siginfo. accel_kick_pass_on is async-signal-safe; with
 * no sink it holds the signal until one takes it (accel_signal_take_held).
 */
void accel_set_kick_sink(pid_t tid);
bool accel_kick_is_own(const siginfo_t *info);
void accel_kick_pass_on(const siginfo_t *info);

/*
 * Signals held for the sink: one passed on while no sink could take it
 * (tid 0, as in a fork's child until its forwarder runs), and any the
 * monitor's own handlers catch on other threads. Each carries a target, an
 * int its holder chooses (ACCEL_SIGNAL_TO_PROCESS for a kick passed on).
 * accel_signal_hold (false: every slot full) and accel_wake_sink (a kick
 * to the sink, which then takes what is held) are async-signal-safe.
 */
#define ACCEL_SIGNAL_TO_PROCESS (-1)
bool accel_signal_hold(const siginfo_t *info, int target);
void accel_wake_sink(void);
bool accel_signal_take_held(siginfo_t *info, int *target);

/* What this accelerator can do on this host, found by probing at creation. */
struct accel_capabilities {
    bool translate;             /* translate() is backed by the accelerator */
    bool kernel_single_step;    /* set_debug single-steps CPL0 code */
    bool user_single_step;      /* set_debug single-steps CPL3 code */
    bool kernel_hw_breakpoints; /* debug registers fire for CPL0 code */
    bool user_hw_breakpoints;   /* debug registers fire for CPL3 code */
    bool watchpoints;           /* data breakpoints fire */
    bool host_tsc;              /* the guest's rdtsc reads the host's TSC (the vDSO's clock) */
    bool user_entry; /* set_state can start a vCPU at CPL3, so no guest kernel boot is needed */
    /* The XSAVE state components enabled in the guest's XCR0 (and advertised
     * in its CPUID leaf 0xd), and the size of their standard-format XSAVE
     * area; 0 and 0 when the vCPU has no XSAVE (get_xsave is then NULL or
     * fails: get_fpu is the whole state). */
    uint64_t xsave_features;
    uint32_t xsave_size;
    char description[384]; /* one line for --verbose: mechanisms in use */
};

/* Every backend's vCPU object starts with this. The kick fields are
 * accel.c's, zero-initialised by the backend's allocation, and read and
 * written only with __atomic builtins (this header is also C++'s). */
/*
 * One vCPU's syscall ring (kernel/abi.h), where the backend has one (kvm on
 * a host whose syscall entry runs at CPL3). The monitor allocates it and
 * runs the thread that answers the calls posted in page; the backend maps
 * the page, points the vCPU's syscall entry at it (ring_start) and settles
 * it: a stop, or a slow answer, inside the ring entry leaves the program's
 * registers as if the call had been made or had not started. The counters
 * carry the happens-before edges that the guest's own stores into page hide
 * from ThreadSanitizer. All fields are __atomic.
 */
struct hx_ring;
struct accel_ring {
    struct hx_ring *page; /* host view of the ring page, set by ring_start */
    uint32_t entered;     /* owner thread: +1 (release) before each entry to the guest */
    uint32_t served;      /* answering thread: +1 (release) after each answer */
    uint32_t busy;        /* answering thread: a call is taken and not answered yet */
    uint32_t waiting;     /* owner thread: waits on page->state for the answer */
};

struct accel {
    const struct accel_ops *ops;
    bool kicked;       /* a stop is pending: the next run() returns STOPPED */
    bool in_host_call; /* the owner is between host_call_begin and _end */
    bool thread_known; /* owner_thread is set (the first run() sets it) */
    pthread_t owner_thread;
    int owner_tid; /* its host tid: a kick names the thread by it (see accel.c) */
};

struct accel_ops {
    const char *name; /* "kvm", "tcg" */

    /* Whether this accelerator can run on this host. On false, writes a
     * one-line reason to why. Cheap; no VM is left behind. */
    bool (*probe)(char *why, size_t why_size);

    /* Optional: starts what probe and create would wait for (loading a
     * backend on demand) on a thread of its own, so that it overlaps the
     * guest's set-up; probe and create wait for it. Never fails by itself:
     * probe says what went wrong. Called once, before probe. */
    void (*prepare)(void);

    /* Creates a VM with its first vCPU over the guest RAM of memory (which
     * must outlive it; a forked child creates its own VM over the same
     * mapping). The vCPU is in an unspecified state until set_state.
     * Returns NULL with a one-line *error (g_free it) on failure. */
    struct accel *(*create)(struct guest_memory *memory, char **error);

    /* Adds a vCPU to the VM of vcpu, on vcpu's owner thread while vcpu is
     * not in run(). The new vCPU starts as a copy of vcpu's whole state
     * (registers, segments, control registers, MSRs, FPU) at the privilege
     * level vcpu was at, with its own copy of whatever must not be shared
     * (on KVM its TSS and exception stack); the caller then sets what
     * differs (rip, rsp, rax, the FS base) and hands it to its owner thread.
     * NULL with a one-line *error on failure. */
    struct accel *(*create_vcpu)(struct accel *vcpu, char **error);

    /* Optional. In a fork's child, on the thread that forked: the child's
     * VM, made of vcpu (the child's copy of the forking vCPU) where the
     * backend's state survives a host fork, else NULL and the child creates
     * one. Nothing the parent's other threads may have held at the fork is
     * waited for; the vCPU has no breakpoints, no stepping and no pending
     * kick, and binds to its owner thread at its next run. */
    struct accel *(*adopt_after_fork)(struct accel *vcpu);

    /* Releases one vCPU (the VM with the last one). Not while it runs. */
    void (*destroy)(struct accel *accel);

    /* Optional. What the backend asked the host once per process and the
     * monitor that replaces this one at a guest execve would ask again
     * (KVM: its supported CPUID, 0.27 ms on PVM). carry_save returns it as
     * bytes (g_free them; NULL: nothing learnt yet); carry_load, in the new
     * monitor before create, takes what its predecessor saved and ignores
     * bytes that are not such a record (the host is asked then). Any
     * thread; neither fails the run. */
    void *(*carry_save)(size_t *size);
    void (*carry_load)(const void *data, size_t size);

    /* The owner thread of a vCPU changed the guest's page tables in a way
     * that removes or narrows a mapping: returns once no vCPU of the VM can
     * use a translation the change removed (KVM: one flush for the VM; tcg:
     * the running engine leaves and remaps). Called with the map still
     * locked, so freed frames cannot be reused before. NULL: run() alone
     * takes care (one vCPU). */
    void (*memory_changed)(struct accel *vcpu);

    /* Between exclusive_begin and exclusive_end no vCPU of the VM executes
     * guest code, so the monitor can read, modify and write a guest word
     * (a futex word: a thread's clear_child_tid, a robust lock, WAKE_OP) as
     * one atomic step for the program. tcg needs it: its engines execute
     * `lock cmpxchg` and friends as a load and a store, and a store of the
     * monitor's between them is lost. On the owner thread of vcpu, while
     * vcpu is not running; nothing else of the VM may be waited for in
     * between. NULL: the guest's atomics are the host CPU's (KVM). */
    void (*exclusive_begin)(struct accel *vcpu);
    void (*exclusive_end)(struct accel *vcpu);

    const struct accel_capabilities *(*capabilities)(struct accel *accel);

    /* Runs the vCPU until something needs the monitor; fills *exit.
     * Returns 0, or a negative errno when the accelerator itself failed
     * (then exit->message says why). */
    int (*run)(struct accel *accel, struct accel_exit *exit);

    /* Makes a run() in progress (or the next one) return ACCEL_EXIT_STOPPED
     * promptly. Any thread; idempotent. */
    void (*stop)(struct accel *accel);

    /* Read or write the parts (enum cpu_state_part) of the state. Parts not
     * asked for are left untouched in *state. 0 or a negative errno. */
    int (*get_state)(struct accel *accel, struct cpu_state *state, unsigned parts);
    int (*set_state)(struct accel *accel, const struct cpu_state *state, unsigned parts);
    int (*get_fpu)(struct accel *accel, struct cpu_fpu_state *fpu);
    int (*set_fpu)(struct accel *accel, const struct cpu_fpu_state *fpu);
    /* The whole user state as XSAVE stores it in the standard (not
     * compacted) format: the FXSAVE image, the 64-byte header with
     * XSTATE_BV, then each component of capabilities().xsave_features at
     * the offset CPUID leaf 0xd gives. size is capabilities().xsave_size.
     * set_xsave restores what XSTATE_BV marks and puts the other enabled
     * components in their initial state, as XRSTOR does; a header XRSTOR
     * would refuse (XCOMP_BV or reserved bits set, a component not enabled)
     * gives -EINVAL with nothing changed. NULL when the backend has no XSAVE
     * state (get_fpu and set_fpu are then the whole FP state). */
    int (*get_xsave)(struct accel *accel, uint8_t *area, size_t size);
    int (*set_xsave)(struct accel *accel, const uint8_t *area, size_t size);
    /* What the program's cpuid instruction gives for leaf and subleaf:
     * regs is eax, ebx, ecx, edx (for /proc/cpuinfo, which lists what cpuid
     * offers). The same for every vCPU of the VM; any thread. */
    void (*cpuid)(struct accel *accel, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

    /* Translates a guest-virtual address with the accelerator's own page
     * walk (KVM_TRANSLATE). NULL when the accelerator offers none; the
     * memory module's walker stands in. Returns false if unmapped. */
    bool (*translate)(struct accel *accel, uint64_t gva, uint64_t *gpa);

    /* Arms the accelerator's debug facility: single-step (one instruction
     * per run, ending in ACCEL_EXIT_DEBUG) and up to
     * ACCEL_MAX_HW_BREAKPOINTS hardware breakpoints. What actually fires
     * where is in capabilities(). 0, or -ENOTSUP / -EINVAL. */
    int (*set_debug)(struct accel *accel, bool single_step,
                     const struct accel_breakpoint *breakpoints, int count);

    /* Gives the vCPU a syscall ring (struct accel_ring; it must outlive the
     * vCPU's use of it: until destroy, or the vCPU's next ring_start). On
     * the owner thread, after the vCPU made at least one syscall, with the
     * program's memory map locked (the ring's pages join it). 0, or
     * -ENOTSUP (no ring on this host: syscalls keep exiting), -ENOSPC
     * (no ring page left for this vCPU) or another negative errno. NULL:
     * the backend has none. */
    int (*ring_start)(struct accel *accel, struct accel_ring *ring);
};

/* ---- kicking (accel.c), for every backend ---- */

/* The owner thread of vcpu is the calling thread (the first run() calls it). */
void accel_bind_thread(struct accel *vcpu);

/* Marks vcpu kicked and interrupts its owner thread: out of KVM_RUN, or out of
 * a blocking host call made between accel_host_call_begin and _end. A kick
 * that lands after host_call_begin checked but before the call blocked is
 * sent again until the owner leaves the host call (bounded: ~20 ms). Any
 * thread. Backends' stop() call it and add their own (tcg: uc_emu_stop). */
void accel_kick(struct accel *vcpu);

/* Consumes a pending kick (run() does it when it returns STOPPED); true if
 * there was one. */
bool accel_take_kick(struct accel *vcpu);

/* Whether a kick is pending. */
bool accel_kick_pending(struct accel *vcpu);

/* Owner thread, around a host call that may block on the program's behalf:
 * begin lets the kick signal in; it returns false (and lets nothing in) when
 * a kick is already pending, and then the call must not be made (restart it
 * after the stop). end blocks the kick signal again. */
bool accel_host_call_begin(struct accel *vcpu);
void accel_host_call_end(struct accel *vcpu);

/* The accelerators built in, NULL-terminated, in `auto` preference order. */
extern const struct accel_ops *const accel_backends[];

/* The backend called name, or NULL. */
const struct accel_ops *accel_find(const char *name);

/* The first backend whose probe succeeds (for --accel=auto). why gets the
 * reasons of the backends passed over: all of them when it returns NULL. */
const struct accel_ops *accel_choose(char *why, size_t why_size);

/* Starts the background preparation (struct accel_ops' prepare) of the
 * backend that --accel=name would choose, if it has one: for "auto", of
 * the first backend in preference order whose probe does not fail first
 * (probing those before it). Call before the guest's set-up. */
void accel_prepare(const char *name);

#ifdef __cplusplus
}
#endif

#endif
