/*
 * accel/tcg.c — the software accelerator: the vCPU is a Unicorn 2 engine.
 *
 * Unicorn 2.0.1 cannot be used as a plain x86 machine (see the Unicorn
 * section of docs/platform-notes), so this backend presents the contract of
 * accel.h without ever letting Unicorn page or deliver exceptions:
 *   - Unicorn's paging stays off. Guest-virtual ranges are mapped lazily, on
 *     the first access, with uc_mem_map_ptr onto the host memory of their
 *     guest-physical frames, as found by walking the monitor's page tables.
 *     A walk that fails (or denies the access) becomes a #PF reported here,
 *     with the error code computed from the walk. The architectural CR0,
 *     CR3 and CR4 live in this file and are only reported.
 *   - Unicorn has no user/supervisor bit, so the mappings are made for one
 *     privilege level at a time: while the guest kernel runs (CPL0, only at
 *     boot) any present page is mapped; once the program runs (CPL3) only
 *     user pages are, and the kernel's are dropped on the first CPL3 access.
 *   - `syscall` is caught by an instruction hook and ends the run with the
 *     registers `syscall` would have set (rcx, r11); the guest kernel's entry
 *     never runs. Other exceptions come from the interrupt hook.
 *   - Debugging uses hooks only: code hooks bounded to one address for
 *     breakpoints, an instruction count of one for single steps, memory
 *     hooks for watchpoints (reported at the next instruction boundary by a
 *     code hook on every instruction, armed only while watchpoints are).
 *   - No hook runs on the fast path of loads and stores. A refused access
 *     still ends the run with rip (and the flags) at the faulting
 *     instruction: the state is restored from the host return address of
 *     the access, as QEMU does for its own faults, by wrappers around
 *     Unicorn 2.0.1's slow-path memory helpers; stores are kept off that
 *     slow path on data pages (see "Unicorn 2.0.1's internals" below: both
 *     were 40x on ordinary -O0 code).
 *   - Code the program rewrites runs as rewritten, on every thread (JITs,
 *     Valgrind): a store to writable code, and a write of the monitor to an
 *     executable page (memory.h's code-write hook: a read() into the code),
 *     log the frame, and every engine drops its translations of the logged
 *     frames when it next takes its turn (drop_rewritten_code_locked); one
 *     engine's own stores are Unicorn's to detect, which needs the lookups
 *     in "Unicorn 2.0.1's internals" below to agree on a frame's ram_addr.
 *   - A full translation flush costs a memset of Unicorn's 1 GiB code buffer
 *     (about a second), so code is invalidated by range wherever possible;
 *     full flushes happen only when single-stepping starts or ends and when
 *     watchpoints are armed or disarmed.
 *   - Threads: one engine per guest thread (each vCPU is a Unicorn engine of
 *     its own over the same guest RAM), but only one engine executes guest
 *     code at a time (struct tcg_vm's execution lock), in time slices.
 *     Engines in parallel were measured out: Unicorn 2.0.1 never sets
 *     QEMU's CF_PARALLEL (its parallel_cpus is compiled out), so it
 *     translates `lock cmpxchg`, `lock xadd` and the rest as plain
 *     load-op-store sequences: two engines running at once would break every
 *     mutex and atomic counter of the program. The monitor's own writes to a word
 *     the program may be changing atomically (a thread's clear_child_tid at
 *     its exit, robust locks, FUTEX_WAKE_OP) take the lock as well
 *     (exclusive_begin): made while an engine was between the load and the
 *     store of a failing `lock cmpxchg`, such a store was lost (musl's
 *     thread-list lock stayed held by an exited thread, about 1 run in 50). One engine switching
 * between threads was the other alternative; engines per thread keep each thread's registers,
 * mappings and translated code where they are (no save/restore of the whole CPU at every switch),
 * and blocked threads (host calls, futex waits) hold nothing. The lock is released at every exit
 * (syscall, exception) and taken in arrival order; an engine that keeps it for a whole slice
 * (TCG_TIME_SLICE_US) while another waits is stopped at its next block boundary and queues again,
 * so a thread that spins without system calls does not starve the others. (Such stops used to
 * resume at the wrong instruction: see check_exit_request.) tcg uses one host core. A single step
 * of one thread while the others are resumed (gdb's default, `vCont;s:TID;c`) lets each of them
 * take a short turn first (TCG_COURTESY_US), as Linux's other cores would run them: the stepped
 * thread, stopped first, is woken first and used to step and report before the others asked for the
 * lock, and the stop then kicked them (in CI none ran in 300 steps). The step waits only for
 * engines that asked for the lock during the step before (bounded by TCG_ARRIVAL_US), never for one
 * the debugger keeps stopped (scheduler locking) or one blocked in a host call (a futex wait):
 *     there is no fixed delay per step. See "stepping one thread" at
 *     exec_acquire_for_step.
 * Known gap: Unicorn 2.0.1 (QEMU 5) does not check the alignment of movaps
 * and friends, so a misaligned SSE access does not fault under tcg.
 * Known gap: code already translated from a file's page keeps running after
 * another process cuts the file short under it (natively the next fetch is
 * SIGBUS; here only an access to the page's memory is, see on_host_sigbus).
 */
#include "config.h"
#include "accel/accel.h"
#include "accel/cpu_x86_64.h"
#include "accel/insn_length.h"
#include "kernel/abi.h"
#include "memory/memory.h"

#include <cpuid.h>
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <malloc.h>
#include <ucontext.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <capstone/capstone.h>
#include <unicorn/unicorn.h>
#include <unistd.h>

#define VECTOR_DIVIDE_ERROR       0
#define VECTOR_DEBUG              1
#define VECTOR_INVALID_OPCODE     6
#define VECTOR_DOUBLE_FAULT       8
#define VECTOR_GENERAL_PROTECTION 13
#define VECTOR_PAGE_FAULT         14

/* x86 #PF error code bits. */
#define PF_PRESENT  (1u << 0)
#define PF_WRITE    (1u << 1)
#define PF_USER     (1u << 2)
#define PF_RESERVED (1u << 3)
#define PF_FETCH    (1u << 4)

/* Runs of pages are mapped into Unicorn up to this size at once: fewer
 * regions make Unicorn's region lookups and map calls cheaper. */
#define MAP_WINDOW (2ULL << 20)

/* Non-canonical, so no access ever reaches it. */
#define PC_SYNC_HOOK_ADDRESS 0xfff0000000000000ULL

/* What ended the last uc_emu_start, as the hooks saw it. */
enum tcg_event {
    EVENT_NONE,
    EVENT_SYSCALL,
    EVENT_INTERRUPT,  /* interrupt hook: vector in event_vector */
    EVENT_FAULT,      /* a memory hook refused an access: a #PF or #GP */
    EVENT_REMAP,      /* mappings must be rebuilt before retrying */
    EVENT_BREAKPOINT, /* a code hook of a hardware breakpoint */
    EVENT_WATCHPOINT, /* a watched access finished */
    EVENT_PANIC,      /* the guest kernel's panic port */
    EVENT_HOST_BUS,   /* a host SIGBUS on guest RAM: a file cut short (on_host_sigbus) */
    EVENT_ERROR,      /* message in event_message */
};

/* A guest-virtual range currently mapped in Unicorn. */
struct tcg_range {
    uint64_t start, end;
    uint32_t prot; /* UC_PROT_* */
    uint64_t gpa;  /* guest-physical address of start (the run is contiguous) */
    /* A scattered range (data pages whose frames are not contiguous): Unicorn
     * maps this host reservation, never accessed, and every TLB fill in the
     * range is pointed at the page's own frame through RAM_ALIAS (see
     * tlb_set_page_with_attrs_x86_64). NULL for a contiguous range. */
    void *reserve;
};

/* All guest RAM, mapped once into each engine at this address (inside
 * QEMU's 52-bit physical space, and non-canonical, so no guest address
 * means it; a guest access there is refused as #GP): the frames that
 * scattered ranges are pointed at. */
#define RAM_ALIAS (1ULL << 51)

struct tcg_accel;

#define TCG_CODE_LOG 256

/* What the engines (vCPUs) of one VM share: the execution lock (see the
 * comment at the top). */
struct tcg_vm {
    GMutex lock;
    GCond changed;
    struct tcg_accel *owner; /* the engine executing, or NULL */
    gint64 owner_since;      /* when it took the lock, then began executing (monotonic) */
    GQueue queue;            /* engines waiting, in arrival order */
    int engines;             /* the VM goes with the last */
    GQueue members;          /* every engine of the VM */
    GQueue spares;           /* engines of ended threads, for the next ones (see retire) */
    /* See "stepping one thread" at the execution lock: the rounds (each
     * single step begins one, and so does the engine of the last step when
     * it runs freely again, a free round), the engine of the last step, and
     * the single-stepping engines waiting for the lock (while there are,
     * slices are TCG_COURTESY_US). */
    uint64_t step_round;
    bool free_round;
    struct tcg_accel *stepper;
    int steppers;
    pid_t creator; /* the process that made it (a fork's child has a copy) */
    /* Code written by the program (code_written): the guest-physical pages,
     * a ring of TCG_CODE_LOG, and how many were ever logged. Each engine
     * drops its translations of them when it next takes its turn. */
    uint64_t code_log[TCG_CODE_LOG];
    uint64_t code_logged;
    uint64_t code_log_read; /* code_logged at the last turn any engine took */
};

/* How long an engine may execute while others wait for the lock, in
 * microseconds: a thread that spins without a system call must not hold the
 * others off (a spin lock in the program, a flag it waits on). Linux's own
 * slices are a few milliseconds; a switch here costs an exit from Unicorn
 * and a lock hand-over (a few microseconds), so 5 ms keeps it under 0.1 %. */
#define TCG_TIME_SLICE_US 5000

/* The slice of each engine that takes its turn before a single step of
 * another (see "stepping one thread" at the execution lock), and how long a
 * step waits at most for the engines it expects to ask for the lock. */
#define TCG_COURTESY_US 200
#define TCG_ARRIVAL_US  20000

/* The user data of one breakpoint hook. */
struct tcg_breakpoint {
    struct tcg_accel *tcg;
    struct accel_breakpoint breakpoint;
    int slot;
    uc_hook hook;
    bool armed;
};

/* QEMU's CPUTLBDescFast: (entries - 1) << 5, and the entries. */
struct qemu_tlb_fast {
    uintptr_t mask;
    void *table;
};
#define QEMU_MMU_MODES 3 /* NB_MMU_MODES of QEMU's x86 */

struct tcg_accel {
    struct accel base;
    struct guest_memory *memory;
    uc_engine *uc;
    /* A debugger's step under way, from counted_run_rip (tb_gen_code). */
    bool counted_run;
    uint64_t counted_run_rip;
    uint64_t code_log_seen; /* vm->code_logged when its translations were last brought up to date */

    /* Architectural state Unicorn does not keep (paging is off there), and
     * the hidden parts of the segment registers. uc_selector says which
     * Unicorn selector each cached segment belongs to: a different one
     * there means the guest loaded it, and the cache is rebuilt from the
     * GDT. */
    uint64_t cr0, cr2, cr3, cr4, cr8;
    struct cpu_segment segments[6]; /* cs, ds, es, fs, gs, ss */
    uint16_t uc_selector[6];
    struct cpu_segment tr, ldt;

    /* The ranges mapped in Unicorn (sorted, disjoint), the privilege level
     * they were mapped for (-1: none yet), and the memory generation they
     * were made at. */
    GArray *mapped;
    int mapped_cpl;
    uint64_t generation;
    bool stepping_translations; /* the code was translated for single steps */
    void *code_context;         /* the engine's TCGContext, once it translated (NULL: unknown) */
    /* Drop the translations of every executable range before the next run:
     * hooks that apply to every instruction were added or removed, the
     * engine goes from stepping to running or back, or the monitor may have
     * written guest code since the last run (a debugger's int3, while the
     * vCPU was stopped: Unicorn sees only the guest's own writes). */
    bool drop_translations;

    /* Filled by the hooks during a run. */
    enum tcg_event event;
    unsigned event_vector;
    uint64_t event_error_code;
    uint64_t event_address;
    int event_slot;
    int remap_cpl;
    uint64_t syscall_rip;
    char event_message[160];

    /* Debugging. */
    bool single_step;
    bool step_after_syscall; /* a step ended in a syscall: report it next */
    bool trap_after_syscall; /* TF's #DB came with a syscall: due after it */
    struct tcg_breakpoint breakpoints[ACCEL_MAX_HW_BREAKPOINTS];
    bool have_watchpoints;
    uc_hook boundary_hook; /* all code, only while watchpoints are armed */
    /* Unicorn 2.0.1 frees the hooks deleted between runs (uc_hook_del, and
     * the instruction-count hook of a step, deleted by the next uncounted
     * uc_emu_start) only when the next run ends, and until then counts a
     * code hook as present: leaving a block at its start for a stop from
     * another thread kept whatever rip was last written, with the registers
     * of the block's start. A spinning thread resumed there after a
     * watchpoint was deleted stored a stale register (gdb's `delete` then
     * `continue`: a counter went back to 0). Set from the deletion to the
     * end of the next run, which is made unchained. */
    bool hooks_linger;
    bool watch_hit;
    int watch_slot;
    /* A breakpoint just reported at this rip must not fire again before
     * the instruction there has run. */
    bool skip_breakpoint;
    uint64_t skip_breakpoint_rip;

    /* Unicorn keeps an exception "in flight" forever once one was raised
     * (the next contributory one becomes #DF): after such an exception the
     * engine is rebuilt before it runs again. */
    bool engine_tainted;

    /* Capstone, opened when a block first looks like it holds a far branch
     * on a register (far_branch_in_block). */
    csh decoder;
    bool decoder_open;
    /* The engine's CPU was looked at for refused instructions (before its
     * first block), and decodes them (see enable_refused_features). */
    bool features_checked, refused_decoded;
    /* QEMU's fast TLB of each MMU mode in the engine's CPU (found by
     * find_tlb_sizes; NULL if not found) and the live entries a fill
     * replaced in each since the last flush this file asked for. */
    struct qemu_tlb_fast *tlb_fast;
    uint64_t tlb_evictions[QEMU_MMU_MODES];
    size_t tlb_reached[QEMU_MMU_MODES]; /* the size evictions made it grow to (0: none) */
    /* The block at short_block_pc is translated again with this many
     * instructions (0: none is), the next starting with such a branch. */
    uint64_t short_block_pc;
    unsigned short_block_count;

    struct tcg_vm *vm;
    /* Inside uc_emu_start. Written under vm->lock, so that another thread
     * holding it may call uc_emu_stop on this engine (which cannot be closed
     * or rebuilt meanwhile: that happens only outside uc_emu_start). */
    bool in_emulation;
    /* Another engine waited a whole time slice: this one leaves Unicorn at
     * the next block boundary and queues again (under vm->lock). */
    bool yield_requested;
    /* Under vm->lock: in vm->queue, and vm->step_round when this engine last
     * asked for the lock or stopped asking. */
    bool queued;
    uint64_t round;

    struct accel_capabilities capabilities;
};

static struct tcg_accel *tcg_of(struct accel *accel)
{
    return (struct tcg_accel *)accel;
}

static bool tcg_probe(char *why, size_t why_size)
{
    uc_engine *uc;
    uc_err err = uc_open(UC_ARCH_X86, UC_MODE_64, &uc);
    if (err != UC_ERR_OK) {
        snprintf(why, why_size, "Unicorn cannot emulate x86-64: %s", uc_strerror(err));
        return false;
    }
    uc_close(uc);
    return true;
}

/* ---- mappings ------------------------------------------------------------ */

static int current_cpl(struct tcg_accel *tcg)
{
    uint64_t cs = 0;
    uc_reg_read(tcg->uc, UC_X86_REG_CS, &cs);
    return (int)(cs & 3);
}

/* Index of the first mapped range ending after address. */
static guint mapped_search(const struct tcg_accel *tcg, uint64_t address)
{
    guint low = 0, high = tcg->mapped->len;
    while (low < high) {
        guint middle = (low + high) / 2;
        if (g_array_index(tcg->mapped, struct tcg_range, middle).end <= address)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

/*
 * Whether blocks must not be chained for stops from another thread to be
 * exact: with a code hook bounded to one address (an execute breakpoint),
 * Unicorn 2.0.1 no longer restores rip when a block is left at its start, so
 * rip is right there only if the block was entered from Unicorn's loop (or
 * through an indirect jump), never by a direct jump from the block before.
 * Without code hooks, or with one on every instruction (watchpoints, single
 * steps), rip is exact anyway. A code hook deleted between runs counts as
 * one bounded to nothing (see hooks_linger).
 */
static bool unchained(const struct tcg_accel *tcg)
{
    if (tcg->hooks_linger)
        return true;
    if (tcg->have_watchpoints || tcg->single_step)
        return false;
    for (int i = 0; i < ACCEL_MAX_HW_BREAKPOINTS; i++) {
        if (tcg->breakpoints[i].armed && tcg->breakpoints[i].breakpoint.kind == ACCEL_BREAK_EXECUTE)
            return true;
    }
    return false;
}

static bool is_mapped(const struct tcg_accel *tcg, uint64_t page)
{
    guint index = mapped_search(tcg, page);
    return index < tcg->mapped->len &&
           g_array_index(tcg->mapped, struct tcg_range, index).start <= page;
}

/* Code may have been translated from page: it lies in an executable range
 * of contiguous frames (scattered ranges are data only). */
static bool is_code_page(const struct tcg_accel *tcg, uint64_t page)
{
    guint index = mapped_search(tcg, page);
    if (index >= tcg->mapped->len)
        return false;
    const struct tcg_range *range = &g_array_index(tcg->mapped, struct tcg_range, index);
    return range->start <= page && (range->prot & UC_PROT_EXEC) && !range->reserve;
}

/* ---- Unicorn 2.0.1's internals ------------------------------------------- */

/*
 * Unicorn 2.0.1 (Debian 12's) has two costs that its API cannot avoid, and
 * this plugin works around both by interposing a few of its internal
 * functions: libunicorn exports every QEMU function and calls them through
 * its PLT, so a definition here (the plugin is ahead of libunicorn in the
 * lookup scope of the dlopen() that loads both) replaces libunicorn's own,
 * and forwards to it.
 *
 * 1. Every store takes the slow path: 2.0.1 stubs QEMU's dirty-page
 *    tracking out, so every writable TLB entry keeps TLB_NOTDIRTY and every
 *    store allocates and frees a GTree looking for code to invalidate
 *    (fixed upstream in 2.1.0). The TLB fill below clears the flag, through
 *    QEMU's own tlb_set_dirty, for pages mapped writable and not executable:
 *    no code can be translated from them, so there is nothing to
 *    invalidate. Writable executable pages keep the slow path, and with it
 *    the detection of self-modifying code.
 * 2. A refused access (the invalid-memory hook returning false) leaves rip
 *    at the start of the translated block: Unicorn exits without QEMU's
 *    cpu_restore_state. A read or write hook would make it store rip before
 *    every access, but also sends every load and store through the slow
 *    path (measured: 40x on -O0 code). Instead the slow-path memory helpers
 *    are wrapped to remember the host return address of the access in
 *    progress, and a refusal first restores the CPU state from it, as QEMU
 *    does for its own page faults: rip (and the lazy flags state) of the
 *    exact instruction, with no cost on the fast path.
 */
#if UC_VERSION_MAJOR == 2 && UC_VERSION_MINOR == 0
#define TCG_INTERPOSE 1
#else
#define TCG_INTERPOSE 0
#endif

/* The features of instructions Unicorn 2.0.1 decodes only once
 * enable_refused_features made it. */
#define CPUID_1_ECX_REFUSED                                                                        \
    (0x00000002u /* PCLMULQDQ */ | 0x00400000u /* MOVBE */ | 0x00800000u /* POPCNT */ |            \
     0x40000000u /* RDRAND */)
#define CPUID_7_EBX_REFUSED 0x00040000u /* RDSEED */
/* And those it runs wrongly, which it then refuses as a CPU without them
 * does (#UD): BMI2's PEXT and PDEP take their operands in the wrong order
 * (pext of 0xf0f0f00000ff00ff under mask 0x8000000000000003 gives
 * 0x8000003, not 7: measured; QEMU fixed it in 7.1) and ADCX after ADOX
 * gets its carry wrong (fixed in 8.0). A program that uses them without
 * asking cpuid (built for x86-64-v3) dies of SIGILL where it computed
 * wrong results. BMI1 goes with them (cpuid offers none of the three;
 * TZCNT is then BSF, as on such a CPU). Bits 3, 8 and 19: BMI1, BMI2, ADX. */
#define CPUID_7_EBX_WRONG (0x00000008u | 0x00000100u | 0x00080000u)
/* Some engine of the process decodes them (enable_refused_features). */
static bool tcg_refused_decoded;

/* What the wrappers below need to know about the run of this thread. */
struct tcg_thread {
    struct tcg_accel *tcg; /* the engine running here, NULL outside uc_emu_start */
    void *cpu;             /* its QEMU CPUState, seen when cpu_exec starts */
    uint64_t access_address;
    bool access_write;
    uintptr_t access_retaddr; /* host return address of the access, 0 if unknown */
    bool in_cpu_exec;         /* inside QEMU's execution loop */
};
static __thread struct tcg_thread tcg_thread;

#if TCG_INTERPOSE

/* QEMU's MemTxAttrs: 32 bits of bit-fields, passed by value in a register. */
struct qemu_memtx_attrs {
    uint32_t bits;
};
#define QEMU_PAGE_WRITE 2 /* PAGE_WRITE in QEMU's prot */
/* tb_gen_code's cflags: the most instructions in the block (0: no limit
 * but TCG's). */
#define QEMU_CF_COUNT_MASK 0x7fffu

bool cpu_restore_state_x86_64(void *cpu, uintptr_t host_pc, bool will_exit);
void check_exit_request_x86_64(void *tcg_ctx);
void tlb_set_dirty_x86_64(void *cpu, uint64_t vaddr);
void tlb_flush_by_mmuidx_x86_64(void *cpu, uint16_t idxmap);
__attribute__((noreturn)) void cpu_loop_exit_x86_64(void *cpu);

#define QEMU_MMU_USER_IDX 1  /* MMU_USER_IDX: the program's own accesses */
#define QEMU_MMU_IDX_MASK 15 /* the mmu index in a TCGMemOpIdx */

/* The names of the functions replaced here; real[] holds libunicorn's. */
enum tcg_real {
    REAL_CPU_EXEC,
    REAL_TLB_SET_PAGE,
    REAL_LDUB,
    REAL_LE_LDUW,
    REAL_BE_LDUW,
    REAL_LE_LDUL,
    REAL_BE_LDUL,
    REAL_LE_LDQ,
    REAL_BE_LDQ,
    REAL_STB,
    REAL_LE_STW,
    REAL_BE_STW,
    REAL_LE_STL,
    REAL_BE_STL,
    REAL_LE_STQ,
    REAL_BE_STQ,
    REAL_LDUB_IDX,
    REAL_LDSB_IDX,
    REAL_LDUW_IDX,
    REAL_LDSW_IDX,
    REAL_LDL_IDX,
    REAL_LDQ_IDX,
    REAL_STB_IDX,
    REAL_STW_IDX,
    REAL_STL_IDX,
    REAL_STQ_IDX,
    REAL_OUTB,
    REAL_OUTW,
    REAL_OUTL,
    REAL_INB,
    REAL_INW,
    REAL_INL,
    REAL_CHECK_EXIT,
    REAL_SET_JMP_TARGET,
    REAL_RAM_ADDR_FROM_HOST,
    REAL_INVALIDATE_PAGE_FAST,
    REAL_PAGE_ADDR_CODE,
    REAL_TB_GEN_CODE,
    REAL_TCG_GEN_CODE,
    REAL_TB_FLUSH,
    REAL_QHT_INIT,
    REAL_MEMORY_MAPPING,   /* called, not replaced */
    REAL_REGION_RAM_ADDR,  /* called, not replaced */
    REAL_INVALIDATE_RANGE, /* called, not replaced */
    REAL_CPUID,            /* called, not replaced */
    REAL_COUNT,
};
static const char *const real_names[REAL_COUNT] = {
    "cpu_exec_x86_64",
    "tlb_set_page_with_attrs_x86_64",
    "helper_ret_ldub_mmu_x86_64",
    "helper_le_lduw_mmu_x86_64",
    "helper_be_lduw_mmu_x86_64",
    "helper_le_ldul_mmu_x86_64",
    "helper_be_ldul_mmu_x86_64",
    "helper_le_ldq_mmu_x86_64",
    "helper_be_ldq_mmu_x86_64",
    "helper_ret_stb_mmu_x86_64",
    "helper_le_stw_mmu_x86_64",
    "helper_be_stw_mmu_x86_64",
    "helper_le_stl_mmu_x86_64",
    "helper_be_stl_mmu_x86_64",
    "helper_le_stq_mmu_x86_64",
    "helper_be_stq_mmu_x86_64",
    "cpu_ldub_mmuidx_ra_x86_64",
    "cpu_ldsb_mmuidx_ra_x86_64",
    "cpu_lduw_mmuidx_ra_x86_64",
    "cpu_ldsw_mmuidx_ra_x86_64",
    "cpu_ldl_mmuidx_ra_x86_64",
    "cpu_ldq_mmuidx_ra_x86_64",
    "cpu_stb_mmuidx_ra_x86_64",
    "cpu_stw_mmuidx_ra_x86_64",
    "cpu_stl_mmuidx_ra_x86_64",
    "cpu_stq_mmuidx_ra_x86_64",
    "helper_outb_x86_64",
    "helper_outw_x86_64",
    "helper_outl_x86_64",
    "helper_inb_x86_64",
    "helper_inw_x86_64",
    "helper_inl_x86_64",
    "check_exit_request_x86_64",
    "tb_set_jmp_target_x86_64",
    "qemu_ram_addr_from_host_x86_64",
    "tb_invalidate_phys_page_fast_x86_64",
    "get_page_addr_code_hostp_x86_64",
    "tb_gen_code_x86_64",
    "tcg_gen_code_x86_64",
    "tb_flush_x86_64",
    "qht_init",
    "memory_mapping",
    "memory_region_get_ram_addr_x86_64",
    "tb_invalidate_phys_range_x86_64",
    "cpu_x86_cpuid_x86_64",
};
/* The code of libunicorn's cpu_exec, where blocks are chained. */
static uintptr_t cpu_exec_code;
static size_t cpu_exec_size;
static void *real[REAL_COUNT];

/* Finds libunicorn's definitions of everything replaced here. */
static int resolve_real_functions(char **error)
{
    for (int i = 0; i < REAL_COUNT; i++) {
        if (!real[i])
            real[i] = dlsym(RTLD_NEXT, real_names[i]);
        if (!real[i]) {
            *error = g_strdup_printf("Unicorn %d.%d.%d has no %s (this build expects 2.0)",
                                     UC_VERSION_MAJOR, UC_VERSION_MINOR, UC_VERSION_PATCH,
                                     real_names[i]);
            return -EIO;
        }
    }
    Dl_info info;
    const ElfW(Sym) *symbol = NULL;
    if (!cpu_exec_size && dladdr1(real[REAL_CPU_EXEC], &info, (void **)&symbol, RTLD_DL_SYMENT) &&
        symbol) {
        cpu_exec_code = (uintptr_t)real[REAL_CPU_EXEC];
        cpu_exec_size = symbol->st_size;
    }
    return 0;
}

/* Chains a block to the next (called from cpu_exec), or resets a jump:
 * chaining is left out while unchained() says so. */
void tb_set_jmp_target_x86_64(void *tb, int n, uintptr_t address);
void tb_set_jmp_target_x86_64(void *tb, int n, uintptr_t address)
{
    struct tcg_accel *tcg = tcg_thread.tcg;
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    if (tcg && caller - cpu_exec_code < cpu_exec_size && unchained(tcg))
        return;
    ((void (*)(void *, int, uintptr_t))real[REAL_SET_JMP_TARGET])(tb, n, address);
}

/*
 * Instructions Unicorn 2.0.1 refuses. Its CPU models set family and model
 * but not their feature words (qemu64, Haswell and EPYC-Rome give the same
 * words: measured), and its translator decodes an instruction only when
 * the words have its feature: POPCNT, MOVBE, PCLMULQDQ, RDRAND and RDSEED,
 * which QEMU 5.0's TCG implements, were #UD, and a program built for
 * x86-64-v2 (POPCNT) died of SIGILL. No API reaches the words. They are
 * found in the CPU's state by the values cpu_x86_cpuid reports from them
 * (QEMU's FeatureWordArray of 64-bit words: leaf 1 edx and ecx, leaf 7's
 * ebx, ecx and edx, leaf 7.1's eax, leaf 0x80000001's edx and ecx), before
 * the engine's first block is translated; the bits are added and read back
 * through cpu_x86_cpuid. With any other layout nothing is written, and the
 * program's cpuid does not offer them (refused_decoded stays false).
 */
#define QEMU_FEAT_1_EDX         0
#define QEMU_FEAT_1_ECX         1
#define QEMU_FEAT_7_0_EBX       2
#define QEMU_FEAT_8000_0001_EDX 6
#define QEMU_FEAT_WORDS         8
/* Bytes of the state searched at most: the words are at 5,600 in Debian's
 * 2.0.1 (see env_bytes for the end of the object). */
#define QEMU_ENV_SEARCH 8192

typedef void qemu_cpuid_fn(void *env, uint32_t leaf, uint32_t subleaf, uint32_t *eax, uint32_t *ebx,
                           uint32_t *ecx, uint32_t *edx);

/* The feature words as cpu_x86_cpuid reports them (7.1's eax left 0: it
 * is not compared). */
static void reported_feature_words(void *env, uint64_t words[QEMU_FEAT_WORDS])
{
    qemu_cpuid_fn *cpuid = (qemu_cpuid_fn *)real[REAL_CPUID];
    uint32_t r[4];
    memset(words, 0, QEMU_FEAT_WORDS * sizeof(words[0]));
    cpuid(env, 1, 0, &r[0], &r[1], &r[2], &r[3]);
    words[QEMU_FEAT_1_EDX] = r[3], words[QEMU_FEAT_1_ECX] = r[2];
    cpuid(env, 7, 0, &r[0], &r[1], &r[2], &r[3]);
    words[2] = r[1], words[3] = r[2], words[4] = r[3];
    cpuid(env, 0x80000001, 0, &r[0], &r[1], &r[2], &r[3]);
    words[QEMU_FEAT_8000_0001_EDX] = r[3], words[7] = r[2];
}

/* Where in env the words are: NULL when they are not found exactly once
 * in the size bytes searched. */
static uint64_t *find_feature_words(void *env, size_t size,
                                    const uint64_t reported[QEMU_FEAT_WORDS])
{
    uint64_t *found = NULL;
    uint64_t *word = env;
    for (size_t i = 0; i + QEMU_FEAT_WORDS <= size / sizeof(*word); i++) {
        bool same = true;
        for (int k = 0; k < QEMU_FEAT_WORDS && same; k++)
            same = k == 5 || word[i + k] == reported[k];
        if (same && found)
            return NULL;
        if (same)
            found = &word[i];
    }
    return found;
}

/* How many bytes from env may be read: env lies in the CPU object cpu
 * (QEMU's X86CPU, which begins with its CPUState), which Unicorn allocates
 * with calloc (42,176 bytes in 2.0.1, env at its end: a fixed-size search
 * read past it). 0 when env is not inside it. */
static size_t env_bytes(const void *cpu, const void *env)
{
    if (!cpu || (const char *)env < (const char *)cpu)
        return 0;
    size_t object = malloc_usable_size((void *)cpu);
    size_t offset = (size_t)((const char *)env - (const char *)cpu);
    return offset < object ? MIN(object - offset, (size_t)QEMU_ENV_SEARCH) : 0;
}

/*
 * The size of QEMU's TLB. Its software TLB is direct-mapped, 256 entries
 * (1 MiB of guest memory) per MMU mode at first, and QEMU resizes it only
 * when it is flushed: doubled when more than 70 % of it was in use, shrunk
 * when less than 30 % was for 100 ms. A guest kernel flushes it at every
 * context switch; this one never does (the program runs alone, its page
 * tables are written from the monitor), so it stayed small. A program
 * whose data spans more than a few MiB (zstd -12's tables, xz's
 * dictionary, sort's buffers) missed it on many accesses, and each miss
 * looks the page up in Unicorn's mapped regions and fills an entry (xz -6
 * on 3 MB: 1.8 million fills in 3.7 s). Use alone does not tell either:
 * xz's two buffers 64 MiB apart took turns in the same entries of a table
 * a third full, which QEMU's rule then kept shrinking.
 *
 * So the fills that evict a live entry of another page are counted; after
 * twice the table's size of them, the mode's TLB is flushed with its use
 * recorded as full, which makes QEMU double it, up to TCG_TLB_MAX_ENTRIES
 * (128 MiB of guest memory; 1 MiB of entries and 512 KiB of QEMU's iotlb
 * per engine, that is per thread: xz needed 32 Ki entries, zstd 16 Ki).
 * The size so reached is kept from QEMU's shrinking (the use recorded is
 * kept at 40 % of it) until the engine goes.
 */
#define TCG_TLB_DEFAULT_MASK ((uintptr_t)255 << 5) /* 256 entries of 32 bytes */
#define TCG_TLB_ENTRY_SHIFT  5
#define TCG_TLB_MAX_ENTRIES  ((uintptr_t)1 << 15)
#define TCG_TLB_SEARCH       4096 /* bytes before env searched */

/* QEMU 5.0's CPUTLBDesc (cpu-defs.h): the head, the victim TLB (8
 * entries of 32 bytes, 8 iotlb entries of 16), the iotlb. The three of
 * them come before the three fast descriptors, after 8 bytes of padding
 * (CPUTLB: 32 bytes of CPUTLBCommon, d[3] at 32, f[3] aligned at 1360). */
struct qemu_tlb_desc {
    uint64_t large_page_addr, large_page_mask;
    int64_t window_begin_ns;
    size_t window_max_entries, n_used_entries, vindex;
    uint8_t vtable[8 * 32];
    uint8_t viotlb[8 * 16];
    void *iotlb;
};
#define QEMU_TLB_DESC_PAD 8

static struct qemu_tlb_desc *tlb_desc(struct qemu_tlb_fast *fast, int mmu_idx)
{
    char *first = (char *)fast - QEMU_TLB_DESC_PAD - QEMU_MMU_MODES * sizeof(struct qemu_tlb_desc);
    return (struct qemu_tlb_desc *)first + mmu_idx;
}

/* What a new CPU's descriptor holds (tlb_mmu_init): no large page, nothing
 * used, the victim TLB all ones, an iotlb. */
static bool new_tlb_desc(const struct qemu_tlb_desc *desc)
{
    if (desc->large_page_addr != UINT64_MAX || desc->large_page_mask != UINT64_MAX ||
        desc->n_used_entries || desc->window_max_entries || desc->vindex || !desc->iotlb)
        return false;
    for (size_t i = 0; i < sizeof(desc->vtable); i++)
        if (desc->vtable[i] != 0xff)
            return false;
    return true;
}

/* QEMU keeps the TLBs just before env (CPUNegativeOffsetState, which the
 * translated code reaches at negative offsets from env): the three fast
 * descriptors are found there by their values in a new CPU (each mask
 * 255 << 5, distinct tables), exactly once, and the slow ones before them
 * must look new too; else NULL, and the TLB is left to QEMU. */
static struct qemu_tlb_fast *find_tlb_sizes(void *env)
{
    struct qemu_tlb_fast *found = NULL;
    if (!env_bytes(tcg_thread.cpu, env))
        return NULL;
    size_t before = (size_t)((char *)env - (char *)tcg_thread.cpu);
    size_t limit = MIN(before, (size_t)TCG_TLB_SEARCH);
    size_t descs = QEMU_TLB_DESC_PAD + QEMU_MMU_MODES * sizeof(struct qemu_tlb_desc);
    for (size_t back = sizeof(struct qemu_tlb_fast) * QEMU_MMU_MODES; back + descs <= limit;
         back += sizeof(uintptr_t)) {
        struct qemu_tlb_fast *fast = (struct qemu_tlb_fast *)((char *)env - back);
        bool match = true;
        for (int k = 0; k < QEMU_MMU_MODES && match; k++)
            match = fast[k].mask == TCG_TLB_DEFAULT_MASK && fast[k].table &&
                    (k == 0 || fast[k].table != fast[k - 1].table);
        if (match && found)
            return NULL;
        if (match)
            found = fast;
    }
    for (int k = 0; found && k < QEMU_MMU_MODES; k++)
        if (!new_tlb_desc(tlb_desc(found, k)))
            return NULL;
    return found;
}

/* A fill of mode mmu_idx's TLB for the page of vaddr, before QEMU's own:
 * keeps the size reached, counts an eviction, and grows the TLB after
 * enough of them. */
static void tlb_before_fill(struct tcg_accel *tcg, void *cpu, uint64_t vaddr, int mmu_idx)
{
    if (!tcg->tlb_fast || mmu_idx < 0 || mmu_idx >= QEMU_MMU_MODES)
        return;
    const struct qemu_tlb_fast *fast = &tcg->tlb_fast[mmu_idx];
    struct qemu_tlb_desc *desc = tlb_desc(tcg->tlb_fast, mmu_idx);
    size_t keep = tcg->tlb_reached[mmu_idx] * 2 / 5;
    if (desc->window_max_entries < keep)
        desc->window_max_entries = keep;
    uintptr_t entries = (fast->mask >> TCG_TLB_ENTRY_SHIFT) + 1;
    const uint64_t *entry =
        (const uint64_t *)((char *)fast->table +
                           (((vaddr >> 12) & (entries - 1)) << TCG_TLB_ENTRY_SHIFT));
    uint64_t page = vaddr & GUEST_PAGE_MASK;
    bool empty = entry[0] == UINT64_MAX && entry[1] == UINT64_MAX && entry[2] == UINT64_MAX;
    bool same = (entry[0] & GUEST_PAGE_MASK) == page || (entry[1] & GUEST_PAGE_MASK) == page ||
                (entry[2] & GUEST_PAGE_MASK) == page;
    if (empty || same || entries >= TCG_TLB_MAX_ENTRIES)
        return;
    if (++tcg->tlb_evictions[mmu_idx] < 2 * entries)
        return;
    tcg->tlb_evictions[mmu_idx] = 0;
    tcg->tlb_reached[mmu_idx] = entries * 2;
    desc->window_max_entries = entries; /* 100 % in use: QEMU doubles it */
    tlb_flush_by_mmuidx_x86_64(cpu, (uint16_t)(1u << mmu_idx));
}

/* Before tcg's first block: finds the new CPU's TLB descriptors and
 * starts counting evictions afresh. */
static void watch_tlb_sizes(struct tcg_accel *tcg, void *env)
{
    tcg->tlb_fast = find_tlb_sizes(env);
    memset(tcg->tlb_evictions, 0, sizeof(tcg->tlb_evictions));
    memset(tcg->tlb_reached, 0, sizeof(tcg->tlb_reached));
}

/* Before tcg's first block: makes it decode the refused instructions and
 * refuse the wrong ones; tcg->refused_decoded says whether it does. */
static void enable_refused_features(struct tcg_accel *tcg, void *env)
{
    tcg->features_checked = true;
    uint64_t before[QEMU_FEAT_WORDS], after[QEMU_FEAT_WORDS];
    reported_feature_words(env, before);
    uint64_t *words = find_feature_words(env, env_bytes(tcg_thread.cpu, env), before);
    if (!words)
        return;
    words[QEMU_FEAT_1_ECX] |= CPUID_1_ECX_REFUSED;
    words[QEMU_FEAT_7_0_EBX] =
        (words[QEMU_FEAT_7_0_EBX] | CPUID_7_EBX_REFUSED) & ~CPUID_7_EBX_WRONG;
    reported_feature_words(env, after);
    tcg->refused_decoded = (after[QEMU_FEAT_1_ECX] & CPUID_1_ECX_REFUSED) == CPUID_1_ECX_REFUSED &&
                           (after[QEMU_FEAT_7_0_EBX] & (CPUID_7_EBX_REFUSED | CPUID_7_EBX_WRONG)) ==
                               CPUID_7_EBX_REFUSED;
    if (tcg->refused_decoded)
        __atomic_store_n(&tcg_refused_decoded, true, __ATOMIC_RELAXED);
    else { /* not what they seemed: put back */
        words[QEMU_FEAT_1_ECX] = before[QEMU_FEAT_1_ECX];
        words[QEMU_FEAT_7_0_EBX] = before[QEMU_FEAT_7_0_EBX];
    }
}

/* Guest RAM in this process, as every engine maps it at RAM_ALIAS. */
static struct {
    const uint8_t *host;
    uint64_t size;
} tcg_ram;

/*
 * Self-modifying code. QEMU finds the code a store overwrites by the
 * store's ram_addr (its RAM block's offset plus the offset in the block),
 * and files each translated block under the ram_addr of its code, which
 * Unicorn computes from the host address (this function). Guest RAM is in
 * several RAM blocks at once here (RAM_ALIAS and every contiguous range's
 * own region), and the lookup of a host address picks one of them (the
 * most recently used, or the biggest): a store through a range's own
 * region looked for code under another block's ram_addr than the one its
 * blocks were filed under, and found none. A program that rewrote code it
 * had run (a JIT patching a call, Valgrind's chaining, the JVM) ran the old
 * translation for ever. Every host address in guest RAM is given its
 * RAM_ALIAS ram_addr here, and stores to writable code are made through
 * RAM_ALIAS (frame_for_fill), so both sides use the same numbers.
 */
/* The ram_addr of guest-physical 0 in uc's RAM_ALIAS block; false if uc
 * has none. */
static bool alias_ram_addr(void *uc, uint64_t *ram_addr)
{
    void *alias = ((void *(*)(void *, uint64_t))real[REAL_MEMORY_MAPPING])(uc, RAM_ALIAS);
    if (!alias)
        return false;
    *ram_addr = ((uint64_t(*)(void *))real[REAL_REGION_RAM_ADDR])(alias);
    return true;
}

uint64_t qemu_ram_addr_from_host_x86_64(void *uc, void *host);
uint64_t qemu_ram_addr_from_host_x86_64(void *uc, void *host)
{
    const uint8_t *ram = __atomic_load_n(&tcg_ram.host, __ATOMIC_RELAXED);
    uint64_t offset = (uint64_t)((const uint8_t *)host - ram), alias;
    if (ram && offset < __atomic_load_n(&tcg_ram.size, __ATOMIC_RELAXED) &&
        alias_ram_addr(uc, &alias))
        return alias + offset;
    return ((uint64_t(*)(void *, void *))real[REAL_RAM_ADDR_FROM_HOST])(uc, host);
}

/* A store to writable code (a page with TLB_NOTDIRTY: frame_for_fill
 * leaves the flag only on executable pages) at ram_addr start: logged for
 * the other engines (drop_rewritten_code_locked), before Unicorn drops this
 * engine's own translations there (which may leave the block at once). The
 * executing engine owns the execution lock. */
static void code_written(void *uc, uint64_t start)
{
    struct tcg_accel *tcg = tcg_thread.tcg;
    uint64_t alias;
    if (!tcg || !alias_ram_addr(uc, &alias) || start - alias >= guest_memory_ram_size(tcg->memory))
        return;
    uint64_t page = (start - alias) & GUEST_PAGE_MASK;
    struct tcg_vm *vm = tcg->vm;
    g_mutex_lock(&vm->lock);
    uint64_t logged = vm->code_logged;
    /* Once per page until an engine takes a turn. */
    if (vm->code_log_read == logged || vm->code_log[(logged - 1) % TCG_CODE_LOG] != page) {
        vm->code_log[logged % TCG_CODE_LOG] = page;
        vm->code_logged = logged + 1;
        if (tcg->code_log_seen == logged)
            tcg->code_log_seen = logged + 1; /* its own: Unicorn drops them */
    }
    g_mutex_unlock(&vm->lock);
}

void tb_invalidate_phys_page_fast_x86_64(void *uc, void *pages, uint64_t start, int len,
                                         uintptr_t retaddr);
void tb_invalidate_phys_page_fast_x86_64(void *uc, void *pages, uint64_t start, int len,
                                         uintptr_t retaddr)
{
    code_written(uc, start);
    ((void (*)(void *, void *, uint64_t, int, uintptr_t))real[REAL_INVALIDATE_PAGE_FAST])(
        uc, pages, start, len, retaddr);
}

static bool map_for_access(struct tcg_accel *tcg, uc_mem_type type, uint64_t address);

/*
 * Where code to translate lies. On a page not mapped in Unicorn yet (code
 * run before anything read or wrote its page) Unicorn 2.0.1 answers -1 and
 * translates a block that belongs to no page, but still keeps it for that
 * pc (tb_find's jump cache): no store ever dropped it, so code rewritten
 * there ran stale for ever (the first call of a JIT's new code on another
 * thread). The page is mapped here first, as the fetch would map it.
 * Should that fail (a fault), Unicorn goes on as before, and its fetch
 * meets the fault itself.
 */
uint64_t get_page_addr_code_hostp_x86_64(void *env, uint64_t address, void **hostp);
uint64_t get_page_addr_code_hostp_x86_64(void *env, uint64_t address, void **hostp)
{
    typedef uint64_t lookup_fn(void *, uint64_t, void **);
    if (tcg_thread.tcg && __builtin_expect(!tcg_thread.tcg->features_checked, 0)) {
        enable_refused_features(tcg_thread.tcg, env);
        watch_tlb_sizes(tcg_thread.tcg, env);
    }
    uint64_t ram_addr = ((lookup_fn *)real[REAL_PAGE_ADDR_CODE])(env, address, hostp);
    struct tcg_accel *tcg = tcg_thread.tcg;
    if (ram_addr != (uint64_t)-1 || !tcg || is_mapped(tcg, address & GUEST_PAGE_MASK))
        return ram_addr;
    enum tcg_event event = tcg->event;
    unsigned vector = tcg->event_vector;
    uint64_t error_code = tcg->event_error_code, event_address = tcg->event_address;
    int remap_cpl = tcg->remap_cpl;
    if (map_for_access(tcg, UC_MEM_FETCH_UNMAPPED, address))
        return ((lookup_fn *)real[REAL_PAGE_ADDR_CODE])(env, address, hostp);
    tcg->event = event, tcg->event_vector = vector, tcg->event_error_code = error_code;
    tcg->event_address = event_address, tcg->remap_cpl = remap_cpl;
    return ram_addr;
}

/* Whether FF with this ModRM is lcall or ljmp with a register operand
 * (FF /3, FF /5 with mod 3). */
static bool far_branch_modrm(uint8_t modrm)
{
    unsigned reg = (modrm >> 3) & 7;
    return (modrm & 0xc0) == 0xc0 && (reg == 3 || reg == 5);
}

/* Such an instruction, after any prefixes: #UD on the CPU. */
static bool far_branch_on_register(const uint8_t *code, size_t size)
{
    size_t at = 0;
    while (at < size &&
           (code[at] == 0x66 || code[at] == 0x67 || code[at] == 0xf0 || code[at] == 0xf2 ||
            code[at] == 0xf3 || code[at] == 0x2e || code[at] == 0x36 || code[at] == 0x3e ||
            code[at] == 0x26 || code[at] == 0x64 || code[at] == 0x65 || (code[at] & 0xf0) == 0x40))
        at++;
    return at + 1 < size && code[at] == 0xff && far_branch_modrm(code[at + 1]);
}

/* Whether code (size bytes) has an FF byte whose ModRM could make it such
 * an instruction: a cheap look before anything is decoded. */
static bool may_hold_far_branch_on_register(const uint8_t *code, size_t size)
{
    for (const uint8_t *at = memchr(code, 0xff, size); at && at + 1 < code + size;
         at = memchr(at + 1, 0xff, (size_t)(code + size - at - 1))) {
        if (far_branch_modrm(at[1]))
            return true;
    }
    return false;
}

/* Which instruction of a translated block (size bytes from pc) is a far
 * branch on a register: its index, or -1 for none (or code capstone does
 * not decode, left to Unicorn). Only blocks whose bytes hold one's at all
 * are decoded (about 1 block in 100 when a program starts), by
 * accel_insn_length as far as it knows the instructions, and from the
 * first one it does not by capstone: the monitor's, loaded when first used
 * (report/capstone_lazy.c), which costs a start about 6 ms. */
static int far_branch_in_block(struct tcg_accel *tcg, uint64_t pc, size_t size)
{
    uint8_t code[2 * GUEST_PAGE_SIZE];
    size = MIN(size, sizeof(code));
    if (guest_read(tcg->memory, pc, code, size, GUEST_ACCESS_DEBUG) < 0 ||
        !may_hold_far_branch_on_register(code, size))
        return -1;
    const uint8_t *at = code;
    size_t left = size;
    int index = 0;
    for (size_t length; left > 0; at += length, left -= length, index++) {
        if (far_branch_on_register(at, left))
            return index;
        if ((length = accel_insn_length(at, left)) == 0)
            break;
    }
    if (left == 0)
        return -1;
    if (!tcg->decoder_open) {
        if (cs_open(CS_ARCH_X86, CS_MODE_64, &tcg->decoder) != CS_ERR_OK)
            return -1;
        tcg->decoder_open = true;
    }
    cs_insn *insn = cs_malloc(tcg->decoder);
    uint64_t address = pc + (uint64_t)(at - code);
    int found = -1;
    while (left > 0) {
        if (far_branch_on_register(at, left)) {
            found = index;
            break;
        }
        if (!cs_disasm_iter(tcg->decoder, &at, &left, &address, insn))
            break;
        index++;
    }
    cs_free(insn, 1);
    return found;
}

/* Leaves the run before the block at the current pc is translated. */
__attribute__((noreturn)) static void leave_before_block(struct tcg_accel *tcg, void *cpu)
{
    uc_emu_stop(tcg->uc);
    cpu_loop_exit_x86_64(cpu);
}

/*
 * Translation, where Unicorn 2.0.1 goes wrong twice before a block runs.
 * 1. lcall and ljmp with a register operand are #UD, but its translator
 *    loads their far pointer through an address it never computed: when
 *    that is the block's first use of the temporary, tcg_abort() ends the
 *    whole monitor (two bytes of guest code did it), else the program
 *    jumps somewhere. Each block is screened once its instructions are
 *    known, before its code is generated (tcg_gen_code): one that starts
 *    with such an instruction raises #UD; one with such an instruction
 *    further in is translated again, ending before it (cflags' count), and
 *    the next block starts with it. A shortened block is not found in the
 *    cache again (this QEMU hashes the count), only translated anew: each
 *    run of it ends in the #UD, so it does not run often.
 * 2. A counted run (a debugger's single step) stops at the count hook of
 *    the next instruction, so the block there is translated before the
 *    step ends: the target of a stepped call or jump is decoded, though
 *    the CPU's trap comes before it. gdb's displaced stepping runs a call
 *    relocated to a scratch pad whose target is not code at all (which did
 *    hit 1). The step ends here, before anything past it is translated.
 */
void *tb_gen_code_x86_64(void *cpu, uint64_t pc, uint64_t cs_base, uint32_t flags, int cflags);
void *tb_gen_code_x86_64(void *cpu, uint64_t pc, uint64_t cs_base, uint32_t flags, int cflags)
{
    struct tcg_accel *tcg = tcg_thread.tcg;
    if (tcg) {
        if (tcg->counted_run && pc != tcg->counted_run_rip)
            leave_before_block(tcg, cpu);
        unsigned count = (unsigned)cflags & QEMU_CF_COUNT_MASK;
        if (tcg->short_block_count && pc == tcg->short_block_pc &&
            (count == 0 || count > tcg->short_block_count))
            cflags = (int)(((unsigned)cflags & ~QEMU_CF_COUNT_MASK) | tcg->short_block_count);
        tcg->short_block_count = 0;
    }
    typedef void *gen_fn(void *, uint64_t, uint64_t, uint32_t, int);
    return ((gen_fn *)real[REAL_TB_GEN_CODE])(cpu, pc, cs_base, flags, cflags);
}

/* The head of QEMU's TranslationBlock: where the block is, and (once its
 * instructions are decoded) how many bytes they take. */
struct qemu_tb_head {
    uint64_t pc, cs_base;
    uint32_t flags;
    uint16_t size, icount;
    uint32_t cflags;
};

/* Called by tb_gen_code once the block's instructions are decoded (see
 * "Translation" above, 1): leaving here is what a fault fetching the
 * block's code does too. */
int tcg_gen_code_x86_64(void *context, void *block);
int tcg_gen_code_x86_64(void *context, void *block)
{
    struct tcg_accel *tcg = tcg_thread.tcg;
    if (tcg)
        tcg->code_context = context;
    if (tcg && tcg_thread.cpu) {
        const struct qemu_tb_head *head = block;
        int index = far_branch_in_block(tcg, head->pc, head->size);
        if (index == 0) {
            tcg->event = EVENT_INTERRUPT;
            tcg->event_vector = VECTOR_INVALID_OPCODE;
            leave_before_block(tcg, tcg_thread.cpu);
        }
        if (index > 0) {
            tcg->short_block_pc = head->pc;
            tcg->short_block_count = (unsigned)index;
            cpu_loop_exit_x86_64(tcg_thread.cpu);
        }
    }
    return ((int (*)(void *, void *))real[REAL_TCG_GEN_CODE])(context, block);
}

/* This engine's translations of the code in one guest frame. */
static void drop_code_of_frame(struct tcg_accel *tcg, uint64_t gpa)
{
    uint64_t alias;
    if (alias_ram_addr(tcg->uc, &alias))
        ((void (*)(void *, uint64_t, uint64_t))real[REAL_INVALIDATE_RANGE])(
            tcg->uc, alias + gpa, alias + gpa + GUEST_PAGE_SIZE);
}

int cpu_exec_x86_64(void *uc, void *cpu);
int cpu_exec_x86_64(void *uc, void *cpu)
{
    tcg_thread.cpu = cpu;
    tcg_thread.in_cpu_exec = true;
    int result = ((int (*)(void *, void *))real[REAL_CPU_EXEC])(uc, cpu);
    tcg_thread.in_cpu_exec = false;
    return result;
}

static void drop_all_translations(struct tcg_accel *tcg);

size_t tcg_code_size_x86_64(void *context);
size_t tcg_code_capacity_x86_64(void *context);

/* Dropped blocks keep their place in the code buffer until a flush resets
 * it: once half of it is used, a flush instead (rare, each one after
 * hundreds of megabytes of translation), so that QEMU's own flush of a full
 * buffer stays as rare as it was. */
static bool code_buffer_half_full(const struct tcg_accel *tcg)
{
    return tcg->code_context && tcg_code_size_x86_64(tcg->code_context) >
                                    tcg_code_capacity_x86_64(tcg->code_context) / 2;
}

/*
 * Unicorn flushes all translated code itself when an uncounted run follows
 * a counted one (uc_emu_start drops the count hook of a single step). A
 * flush memsets the whole code buffer, QEMU's 1 GiB: the first one of an
 * engine had the host allocate all of it, 5 s (and 1 GiB more of the
 * monitor's memory) for every thread gdb stepped, each time gdb stepped
 * over a breakpoint in a new thread. Outside the execution loop, on an
 * engine of ours, the same blocks are dropped range by range instead. A
 * flush from inside the loop (the buffer is full) stays QEMU's own.
 */
void tb_flush_x86_64(void *cpu);
void tb_flush_x86_64(void *cpu)
{
    struct tcg_accel *tcg = tcg_thread.tcg;
    if (tcg && !tcg_thread.in_cpu_exec && !code_buffer_half_full(tcg)) {
        drop_all_translations(tcg);
        return;
    }
    ((void (*)(void *))real[REAL_TB_FLUSH])(cpu);
}

/*
 * QEMU sizes the hash table of translated blocks for 32,768 of them (512 KiB
 * of buckets, each zeroed) in every engine it creates: 128 first touches of
 * a page, about 1.5 ms here (a fault costs 11 to 15 us on this PVM host),
 * at every start and for every thread, when a small program translates a
 * few hundred blocks. The table grows by itself (QHT_MODE_AUTO_RESIZE,
 * doubling once chains pass an eighth of its buckets), so it starts at
 * 4,096 here (64 KiB); a table that cannot grow keeps its size.
 */
#define QEMU_QHT_MODE_AUTO_RESIZE 0x1
#define TCG_BLOCK_TABLE_START     4096

void qht_init(void *table, void *compare, size_t elements, unsigned int mode);
void qht_init(void *table, void *compare, size_t elements, unsigned int mode)
{
    if (mode & QEMU_QHT_MODE_AUTO_RESIZE)
        elements = MIN(elements, TCG_BLOCK_TABLE_START);
    ((void (*)(void *, void *, size_t, unsigned int))real[REAL_QHT_INIT])(table, compare, elements,
                                                                          mode);
}

static bool writable_data_page(const struct tcg_accel *tcg, uint64_t page);
static uint64_t frame_for_fill(struct tcg_accel *tcg, uint64_t page, uint64_t paddr, int *prot);

void tlb_set_page_with_attrs_x86_64(void *cpu, uint64_t vaddr, uint64_t paddr,
                                    struct qemu_memtx_attrs attrs, int prot, int mmu_idx,
                                    uint64_t size);
void tlb_set_page_with_attrs_x86_64(void *cpu, uint64_t vaddr, uint64_t paddr,
                                    struct qemu_memtx_attrs attrs, int prot, int mmu_idx,
                                    uint64_t size)
{
    typedef void fill_fn(void *, uint64_t, uint64_t, struct qemu_memtx_attrs, int, int, uint64_t);
    struct tcg_accel *tcg = tcg_thread.tcg;
    if (tcg) {
        paddr = frame_for_fill(tcg, vaddr & GUEST_PAGE_MASK, paddr, &prot);
        tlb_before_fill(tcg, cpu, vaddr, mmu_idx);
    }
    ((fill_fn *)real[REAL_TLB_SET_PAGE])(cpu, vaddr, paddr, attrs, prot, mmu_idx, size);
    if (tcg && (prot & QEMU_PAGE_WRITE) && writable_data_page(tcg, vaddr & GUEST_PAGE_MASK))
        tlb_set_dirty_x86_64(cpu, vaddr);
}

/* An access through one of the wrapped helpers: remembered while it lasts
 * (a refusal leaves it set, and the next run clears it). */
static inline void access_begin(uint64_t address, bool write, uintptr_t retaddr)
{
    tcg_thread.access_address = address;
    tcg_thread.access_write = write;
    tcg_thread.access_retaddr = retaddr;
}

static inline void access_end(void)
{
    tcg_thread.access_retaddr = 0;
}

static bool supervisor_access(uint64_t address, int mmu_idx, void *buf, size_t size, bool write);

/*
 * Two families are wrapped: the slow-path helpers called from translated
 * code, (env, addr, [value,] oi, retaddr), and the accessors QEMU's own
 * helpers use (segment loads, iretq, lar, fxsave...), (env, addr, [value,]
 * mmu_idx, ra). `middle` is the type of oi or mmu_idx; `implicit` says the
 * family makes the CPU's implicit supervisor accesses (of raw_type's size).
 */
#define WRAP_LOAD(name, type, middle, index, implicit, raw_type)                                   \
    type name(void *env, uint64_t address, middle how, uintptr_t retaddr);                         \
    type name(void *env, uint64_t address, middle how, uintptr_t retaddr)                          \
    {                                                                                              \
        raw_type raw;                                                                              \
        if (implicit && supervisor_access(address, (int)how, &raw, sizeof(raw), false))            \
            return (type)raw;                                                                      \
        access_begin(address, false, retaddr);                                                     \
        type value = ((type(*)(void *, uint64_t, middle, uintptr_t))real[index])(env, address,     \
                                                                                 how, retaddr);    \
        access_end();                                                                              \
        return value;                                                                              \
    }
#define WRAP_STORE(name, type, middle, index, implicit, raw_type)                                  \
    void name(void *env, uint64_t address, type value, middle how, uintptr_t retaddr);             \
    void name(void *env, uint64_t address, type value, middle how, uintptr_t retaddr)              \
    {                                                                                              \
        raw_type raw = (raw_type)value;                                                            \
        if (implicit && supervisor_access(address, (int)how, &raw, sizeof(raw), true))             \
            return;                                                                                \
        access_begin(address, true, retaddr);                                                      \
        ((void (*)(void *, uint64_t, type, middle, uintptr_t))real[index])(env, address, value,    \
                                                                           how, retaddr);          \
        access_end();                                                                              \
    }

WRAP_LOAD(helper_ret_ldub_mmu_x86_64, uint64_t, uint32_t, REAL_LDUB, false, uint64_t)
WRAP_LOAD(helper_le_lduw_mmu_x86_64, uint64_t, uint32_t, REAL_LE_LDUW, false, uint64_t)
WRAP_LOAD(helper_be_lduw_mmu_x86_64, uint64_t, uint32_t, REAL_BE_LDUW, false, uint64_t)
WRAP_LOAD(helper_le_ldul_mmu_x86_64, uint64_t, uint32_t, REAL_LE_LDUL, false, uint64_t)
WRAP_LOAD(helper_be_ldul_mmu_x86_64, uint64_t, uint32_t, REAL_BE_LDUL, false, uint64_t)
WRAP_LOAD(helper_le_ldq_mmu_x86_64, uint64_t, uint32_t, REAL_LE_LDQ, false, uint64_t)
WRAP_LOAD(helper_be_ldq_mmu_x86_64, uint64_t, uint32_t, REAL_BE_LDQ, false, uint64_t)
WRAP_STORE(helper_ret_stb_mmu_x86_64, uint8_t, uint32_t, REAL_STB, false, uint64_t)
WRAP_STORE(helper_le_stw_mmu_x86_64, uint16_t, uint32_t, REAL_LE_STW, false, uint64_t)
WRAP_STORE(helper_be_stw_mmu_x86_64, uint16_t, uint32_t, REAL_BE_STW, false, uint64_t)
WRAP_STORE(helper_le_stl_mmu_x86_64, uint32_t, uint32_t, REAL_LE_STL, false, uint64_t)
WRAP_STORE(helper_be_stl_mmu_x86_64, uint32_t, uint32_t, REAL_BE_STL, false, uint64_t)
WRAP_STORE(helper_le_stq_mmu_x86_64, uint64_t, uint32_t, REAL_LE_STQ, false, uint64_t)
WRAP_STORE(helper_be_stq_mmu_x86_64, uint64_t, uint32_t, REAL_BE_STQ, false, uint64_t)
WRAP_LOAD(cpu_ldub_mmuidx_ra_x86_64, uint32_t, int, REAL_LDUB_IDX, true, uint8_t)
WRAP_LOAD(cpu_ldsb_mmuidx_ra_x86_64, int, int, REAL_LDSB_IDX, true, int8_t)
WRAP_LOAD(cpu_lduw_mmuidx_ra_x86_64, uint32_t, int, REAL_LDUW_IDX, true, uint16_t)
WRAP_LOAD(cpu_ldsw_mmuidx_ra_x86_64, int, int, REAL_LDSW_IDX, true, int16_t)
WRAP_LOAD(cpu_ldl_mmuidx_ra_x86_64, uint32_t, int, REAL_LDL_IDX, true, uint32_t)
WRAP_LOAD(cpu_ldq_mmuidx_ra_x86_64, uint64_t, int, REAL_LDQ_IDX, true, uint64_t)
WRAP_STORE(cpu_stb_mmuidx_ra_x86_64, uint32_t, int, REAL_STB_IDX, true, uint8_t)
WRAP_STORE(cpu_stw_mmuidx_ra_x86_64, uint32_t, int, REAL_STW_IDX, true, uint16_t)
WRAP_STORE(cpu_stl_mmuidx_ra_x86_64, uint32_t, int, REAL_STL_IDX, true, uint32_t)
WRAP_STORE(cpu_stq_mmuidx_ra_x86_64, uint64_t, int, REAL_STQ_IDX, true, uint64_t)

/*
 * The CPU's implicit supervisor accesses (the GDT for a segment load, iretq
 * or lar; the TSS) made while the program runs. Unicorn has no user/
 * supervisor bit, so pages only the kernel may use are not mapped at CPL3
 * (the program's own accesses there must fault); these accesses are done
 * here through the monitor's page walk instead, as the CPU would: any
 * present page, writes where the tables allow them.
 */
static bool supervisor_access(uint64_t address, int mmu_idx, void *buf, size_t size, bool write)
{
    struct tcg_accel *tcg = tcg_thread.tcg;
    uint64_t page = address & GUEST_PAGE_MASK;
    if (!tcg || (mmu_idx & QEMU_MMU_IDX_MASK) == QEMU_MMU_USER_IDX || is_mapped(tcg, page) ||
        current_cpl(tcg) != 3)
        return false;
    struct guest_walk walk;
    if (!guest_walk(tcg->memory, guest_memory_cr3(tcg->memory), page, &walk) || walk.user ||
        (write && !walk.writable))
        return false;
    if (write)
        return guest_write(tcg->memory, address, buf, size, GUEST_ACCESS_DEBUG) == 0;
    return guest_read(tcg->memory, address, buf, size, GUEST_ACCESS_DEBUG) == 0;
}

/*
 * `in` and `out`: Unicorn 2.0.1 compiles the CPU's I/O permission check out
 * and performs every port access. At CPL3 (IOPL 0, no I/O bitmap in the
 * guest kernel's TSS) the CPU raises #GP(0) at the instruction instead, so
 * the port helpers are wrapped to do that: the state is restored from the
 * helper's return address in the translated code, and the run ends.
 */
static void refuse_port_access_from_user(uintptr_t host_pc)
{
    struct tcg_accel *tcg = tcg_thread.tcg;
    if (!tcg || !tcg_thread.cpu || current_cpl(tcg) != 3)
        return;
    cpu_restore_state_x86_64(tcg_thread.cpu, host_pc, true);
    tcg->event = EVENT_FAULT;
    tcg->event_vector = VECTOR_GENERAL_PROTECTION;
    tcg->event_error_code = 0;
    tcg->event_address = 0;
    uc_emu_stop(tcg->uc);
    cpu_loop_exit_x86_64(tcg_thread.cpu);
}

#define WRAP_OUT(name, index)                                                                      \
    void name(void *env, uint32_t port, uint32_t data);                                            \
    void name(void *env, uint32_t port, uint32_t data)                                             \
    {                                                                                              \
        refuse_port_access_from_user((uintptr_t)__builtin_return_address(0));                      \
        ((void (*)(void *, uint32_t, uint32_t))real[index])(env, port, data);                      \
    }
#define WRAP_IN(name, index)                                                                       \
    uint64_t name(void *env, uint32_t port);                                                       \
    uint64_t name(void *env, uint32_t port)                                                        \
    {                                                                                              \
        refuse_port_access_from_user((uintptr_t)__builtin_return_address(0));                      \
        return ((uint64_t(*)(void *, uint32_t))real[index])(env, port);                            \
    }
WRAP_OUT(helper_outb_x86_64, REAL_OUTB)
WRAP_OUT(helper_outw_x86_64, REAL_OUTW)
WRAP_OUT(helper_outl_x86_64, REAL_OUTL)
WRAP_IN(helper_inb_x86_64, REAL_INB)
WRAP_IN(helper_inw_x86_64, REAL_INW)
WRAP_IN(helper_inl_x86_64, REAL_INL)

/*
 * Stops at instruction boundaries. Unicorn 2.0.1 emits a check of QEMU's
 * exit request after every guest load and store (tcg_gen_qemu_ld/st end
 * with a tail call to check_exit_request), so that a refused store ends the
 * block at once. A stop requested from another thread (uc_emu_stop: a kick,
 * a time slice) then takes that exit in the middle of a block, and Unicorn
 * puts rip back at the block's start: the instructions already run there
 * ran twice when the engine resumed (measured: a SIGALRM during a loop broke
 * its invariants, and resumed threads jumped to stack addresses). Only the
 * check at the start of a block is needed for those stops (rip is the
 * block's start, exactly), and refused stores leave the block by themselves
 * (on_invalid_access): the checks after memory accesses are not emitted.
 * The one Unicorn emits after a code hook (breakpoints, single steps) stays:
 * that call site calls check_exit_request directly, through its PLT slot,
 * where the memory accessors jump to it.
 */
static bool called_directly(const uint8_t *return_address)
{
    if (return_address[-5] != 0xe8) /* call rel32 */
        return false;
    int32_t relative;
    memcpy(&relative, return_address - 4, sizeof(relative));
    const uint8_t *target = return_address + relative;
    if (target[0] != 0xff || target[1] != 0x25) /* a PLT slot: jmp *got(%rip) */
        return false;
    memcpy(&relative, target + 2, sizeof(relative));
    void *const *got = (void *const *)(target + 6 + relative);
    return *got == (void *)check_exit_request_x86_64;
}

void check_exit_request_x86_64(void *tcg_ctx)
{
    if (called_directly(__builtin_return_address(0)))
        ((void (*)(void *))real[REAL_CHECK_EXIT])(tcg_ctx);
}

/* A refused access leaves the block at once (Unicorn would continue a
 * refused store to the end of the block now, see above), with the run's
 * event already set. */
static void leave_block(struct tcg_accel *tcg)
{
    if (!tcg_thread.cpu)
        return;
    uc_emu_stop(tcg->uc);
    cpu_loop_exit_x86_64(tcg_thread.cpu);
}

/*
 * Before refusing the access to address: puts rip (and the flags state) at
 * the instruction that made it, from the access's host return address. Only
 * the access in progress counts (an access never spans more than 16 bytes).
 * Without one (an instruction fetch, done before the block runs) the block's
 * start is already right.
 */
static void restore_faulting_instruction(uint64_t address)
{
    if (tcg_thread.cpu && tcg_thread.access_retaddr && address - tcg_thread.access_address < 16)
        cpu_restore_state_x86_64(tcg_thread.cpu, tcg_thread.access_retaddr, true);
}

/* How far QEMU's cpu_restore_state steps back from the return address it
 * is given (GETPC_ADJ): a faulting host instruction's own address is one
 * past that, as QEMU's user mode does for its signals. */
#define QEMU_GETPC_ADJ 2

/*
 * A host SIGBUS while an engine runs guest code: the guest touched a
 * file's page that the host no longer has (another process cut the file
 * short under the mapping). The access is abandoned as QEMU abandons its
 * own faults: the state is put back at the instruction (from the host pc
 * in translated code, else from the wrapped helper's return address; in
 * the translator the block's start is right), and the run ends with
 * EVENT_HOST_BUS, from which run_engine makes those pages past-EOF pages
 * and retries: the retried access is the program's fault (SIGBUS). Any
 * other SIGBUS stays what it was: fatal, at the retried access.
 */
static void on_host_sigbus(siginfo_t *info, void *context)
{
    struct tcg_accel *tcg = tcg_thread.tcg;
    uintptr_t ram = tcg ? (uintptr_t)guest_phys_to_host(tcg->memory, 0, 1) : 0;
    if (!ram || !tcg_thread.cpu ||
        (uintptr_t)info->si_addr - ram >= guest_memory_ram_size(tcg->memory))
        return; /* fatal, as before */
    const ucontext_t *host = context;
    uintptr_t host_pc = (uintptr_t)host->uc_mcontext.gregs[REG_RIP];
    if (!cpu_restore_state_x86_64(tcg_thread.cpu, host_pc + QEMU_GETPC_ADJ, true) &&
        tcg_thread.access_retaddr)
        cpu_restore_state_x86_64(tcg_thread.cpu, tcg_thread.access_retaddr, true);
    tcg->event = EVENT_HOST_BUS;
    tcg->event_address = (uintptr_t)info->si_addr - ram;
    leave_block(tcg);
}

/* The handler of this thread's host SIGBUS (memory/ catches it). */
static void catch_host_sigbus(void)
{
    guest_memory_set_bus_handler(on_host_sigbus);
}

#else /* !TCG_INTERPOSE */

static void catch_host_sigbus(void)
{
}

static int resolve_real_functions(char **error)
{
    (void)error;
    return 0;
}

static void restore_faulting_instruction(uint64_t address)
{
    (void)address;
}

static void leave_block(struct tcg_accel *tcg)
{
    (void)tcg;
}

/* Without the interposition only Unicorn's own detection is left, within
 * one engine: code one thread rewrites for another is not dropped there. */
static void drop_code_of_frame(struct tcg_accel *tcg, uint64_t gpa)
{
    (void)tcg, (void)gpa;
}

#endif

/* The range mapped at page allows writes and no instruction fetches. */
static bool writable_data_page(const struct tcg_accel *tcg, uint64_t page)
{
    guint index = mapped_search(tcg, page);
    if (index >= tcg->mapped->len)
        return false;
    const struct tcg_range *range = &g_array_index(tcg->mapped, struct tcg_range, index);
    return range->start <= page && (range->prot & UC_PROT_WRITE) && !(range->prot & UC_PROT_EXEC);
}

/* Runs the engine from rip with this thread's wrappers pointed at it. */
static uc_err emulate(struct tcg_accel *tcg, uint64_t rip, size_t count)
{
    tcg_thread.tcg = tcg;
    tcg_thread.access_retaddr = 0;
    catch_host_sigbus();
    uc_err err = uc_emu_start(tcg->uc, rip, 0, 0, count);
    tcg_thread.tcg = NULL;
    tcg_thread.access_retaddr = 0;
    return err;
}

/* Empties the list of mapped ranges, without telling Unicorn (whose engine
 * has unmapped them, or is gone). */
static void forget_ranges(struct tcg_accel *tcg)
{
    for (guint i = 0; i < tcg->mapped->len; i++) {
        struct tcg_range *range = &g_array_index(tcg->mapped, struct tcg_range, i);
        if (range->reserve)
            munmap(range->reserve, range->end - range->start);
    }
    g_array_set_size(tcg->mapped, 0);
    tcg->mapped_cpl = -1;
}

static void unmap_all(struct tcg_accel *tcg)
{
    for (guint i = 0; i < tcg->mapped->len; i++) {
        struct tcg_range *range = &g_array_index(tcg->mapped, struct tcg_range, i);
        /* Code translated from the range must go with it. A full flush
         * (UC_CTL_TB_FLUSH) would cost a memset of Unicorn's 1 GiB code
         * buffer, about a second; dropping the range's blocks is cheap. */
        if (!range->reserve)
            uc_ctl_remove_cache(tcg->uc, range->start, range->end);
        uc_mem_unmap(tcg->uc, range->start, range->end - range->start);
    }
    forget_ranges(tcg);
}

/* Drops every block translated from the executable ranges, which is all
 * of them: range by range, never with a flush of the whole engine (that
 * memsets Unicorn's 1 GiB code buffer, see tb_flush_x86_64). */
static void drop_all_translations(struct tcg_accel *tcg)
{
    for (guint i = 0; i < tcg->mapped->len; i++) {
        struct tcg_range *range = &g_array_index(tcg->mapped, struct tcg_range, i);
        if (range->prot & UC_PROT_EXEC)
            uc_ctl_remove_cache(tcg->uc, range->start, range->end);
    }
}

static bool range_unchanged(const struct tcg_accel *tcg, const struct tcg_range *range);

/*
 * After a change that narrowed some mapping: drops the ranges that may no
 * longer be right. Data ranges go whole (mapping them again on the next
 * touch is cheap); an executable range stays when every page of it still
 * maps the same frame with the same rights, and with it its translated
 * code: a program that unmaps a lot (malloc's large blocks) would otherwise
 * have all its code translated again after every munmap.
 */
static void unmap_changed(struct tcg_accel *tcg)
{
    guint kept = 0;
    for (guint i = 0; i < tcg->mapped->len; i++) {
        struct tcg_range range = g_array_index(tcg->mapped, struct tcg_range, i);
        if ((range.prot & UC_PROT_EXEC) && !range.reserve && range_unchanged(tcg, &range)) {
            g_array_index(tcg->mapped, struct tcg_range, kept++) = range;
            continue;
        }
        if (!range.reserve)
            uc_ctl_remove_cache(tcg->uc, range.start, range.end);
        uc_mem_unmap(tcg->uc, range.start, range.end - range.start);
        if (range.reserve)
            munmap(range.reserve, range.end - range.start);
    }
    g_array_set_size(tcg->mapped, kept);
    if (kept == 0)
        tcg->mapped_cpl = -1;
}

/* How a page may be mapped into Unicorn for cpl: the walk's verdict. */
struct page_mapping {
    bool ok;
    uint64_t gpa;
    uint32_t prot; /* UC_PROT_* */
};

static struct page_mapping page_mapping_for(const struct tcg_accel *tcg, uint64_t page, int cpl,
                                            struct guest_walk *walk)
{
    struct page_mapping mapping = {0};
    if (!guest_walk(tcg->memory, guest_memory_cr3(tcg->memory), page, walk))
        return mapping;
    if (cpl == 3 && !walk->user)
        return mapping;
    mapping.ok = true;
    mapping.gpa = walk->gpa;
    mapping.prot =
        UC_PROT_READ | (walk->writable ? UC_PROT_WRITE : 0) | (walk->executable ? UC_PROT_EXEC : 0);
    return mapping;
}

static bool range_unchanged(const struct tcg_accel *tcg, const struct tcg_range *range)
{
    for (uint64_t page = range->start; page < range->end; page += GUEST_PAGE_SIZE) {
        struct guest_walk walk;
        struct page_mapping mapping = page_mapping_for(tcg, page, tcg->mapped_cpl, &walk);
        if (!mapping.ok || mapping.prot != range->prot ||
            mapping.gpa != range->gpa + (page - range->start))
            return false;
    }
    return true;
}

static bool same_run(const struct tcg_accel *tcg, uint64_t page, int cpl,
                     const struct page_mapping *first, uint64_t first_page)
{
    struct guest_walk walk;
    if (is_mapped(tcg, page))
        return false;
    struct page_mapping mapping = page_mapping_for(tcg, page, cpl, &walk);
    return mapping.ok && mapping.prot == first->prot &&
           mapping.gpa - first->gpa == page - first_page &&
           guest_phys_to_host(tcg->memory, mapping.gpa, GUEST_PAGE_SIZE);
}

/*
 * Data pages (writable, not executable) are mapped into Unicorn as scattered
 * ranges: one Unicorn region over the whole MAP_WINDOW around the access,
 * for every page there that has these rights or is not mapped at all yet,
 * whatever frames back them. Each TLB fill in the range is pointed at the
 * page's own frame (frame_for_fill), and refused as a #PF for a page that is
 * not mapped (yet). A heap that grows (brk, one page at a time) then costs
 * no Unicorn region at all until it leaves the window. Before, each run of
 * contiguous frames was a region of its own, and a heap grown with brk has
 * no contiguous frames (the frame allocator goes top-down): adding a region
 * costs Unicorn 2.0.1 a scan of all of them, twice nested, so 1,600 brk
 * steps took 8 s and 3,200 58 s. Executable ranges stay contiguous ones:
 * translated code is found by the physical address of its region.
 */
enum scatter_result {
    SCATTER_NO,     /* not applicable: map the contiguous run */
    SCATTER_MAPPED, /* mapped */
    SCATTER_ERROR,  /* event set */
};

static bool is_data_prot(uint32_t prot)
{
    return (prot & UC_PROT_WRITE) && !(prot & UC_PROT_EXEC);
}

/* Whether page may join a scattered range of rights prot: not mapped in
 * Unicorn, and either with these rights or not usable at all (yet). */
static bool joins_scattered(const struct tcg_accel *tcg, uint64_t page, int cpl, uint32_t prot)
{
    struct guest_walk walk;
    if (is_mapped(tcg, page))
        return false;
    struct page_mapping mapping = page_mapping_for(tcg, page, cpl, &walk);
    if (!mapping.ok)
        return walk.status != GUEST_WALK_NON_CANONICAL;
    return mapping.prot == prot && guest_phys_to_host(tcg->memory, mapping.gpa, GUEST_PAGE_SIZE);
}

static enum scatter_result map_scattered(struct tcg_accel *tcg, int cpl, uint32_t prot,
                                         uint64_t page)
{
    if (!TCG_INTERPOSE || !is_data_prot(prot))
        return SCATTER_NO;
    uint64_t window = page & ~(MAP_WINDOW - 1), low = page, high = page + GUEST_PAGE_SIZE;
    while (low > window && joins_scattered(tcg, low - GUEST_PAGE_SIZE, cpl, prot))
        low -= GUEST_PAGE_SIZE;
    while (high < window + MAP_WINDOW && joins_scattered(tcg, high, cpl, prot))
        high += GUEST_PAGE_SIZE;
    void *reserve =
        mmap(NULL, high - low, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserve == MAP_FAILED)
        return SCATTER_NO;
    uc_err err = uc_mem_map_ptr(tcg->uc, low, high - low, prot, reserve);
    if (err != UC_ERR_OK) {
        munmap(reserve, high - low);
        tcg->event = EVENT_ERROR;
        snprintf(tcg->event_message, sizeof(tcg->event_message),
                 "cannot map guest-virtual %#llx..%#llx into Unicorn: %s", (unsigned long long)low,
                 (unsigned long long)high, uc_strerror(err));
        return SCATTER_ERROR;
    }
    struct tcg_range range = {low, high, prot, 0, reserve};
    g_array_insert_val(tcg->mapped, mapped_search(tcg, low), range);
    return SCATTER_MAPPED;
}

static void set_fault(struct tcg_accel *tcg, uint64_t address, uc_mem_type type, int cpl,
                      const struct guest_walk *walk, bool present);

#if TCG_INTERPOSE
/* A TLB fill that must not happen: a #PF for page (or a #GP without a walk,
 * for the RAM alias), at the instruction making the access. */
static void refuse_fill(struct tcg_accel *tcg, uint64_t page, int cpl,
                        const struct guest_walk *walk)
{
    bool current = (tcg_thread.access_address & GUEST_PAGE_MASK) == page;
    uint64_t address = current ? tcg_thread.access_address : page;
    uc_mem_type type =
        current && tcg_thread.access_write ? UC_MEM_WRITE_UNMAPPED : UC_MEM_READ_UNMAPPED;
    if (walk) {
        set_fault(tcg, address, type, cpl, walk, walk->status == GUEST_WALK_OK);
    } else {
        tcg->event = EVENT_FAULT;
        tcg->event_vector = VECTOR_GENERAL_PROTECTION;
        tcg->event_error_code = 0;
        tcg->event_address = address;
    }
    restore_faulting_instruction(address);
    leave_block(tcg);
}

/* The physical address a TLB fill of page points at: in a scattered range,
 * the page's own frame in RAM_ALIAS, writable only if the page is; elsewhere
 * paddr, the page in its own region. */
static uint64_t frame_for_fill(struct tcg_accel *tcg, uint64_t page, uint64_t paddr, int *prot)
{
    if (page - RAM_ALIAS < guest_memory_ram_size(tcg->memory))
        refuse_fill(tcg, page, 0, NULL);
    guint index = mapped_search(tcg, page);
    if (index >= tcg->mapped->len)
        return paddr;
    const struct tcg_range *range = &g_array_index(tcg->mapped, struct tcg_range, index);
    if (range->start > page)
        return paddr;
    /* Writable code: its stores must find the code they overwrite under
     * RAM_ALIAS's numbers (qemu_ram_addr_from_host_x86_64). */
    if (!range->reserve && (range->prot & UC_PROT_EXEC) && (range->prot & UC_PROT_WRITE))
        return RAM_ALIAS + range->gpa + (page - range->start) + (paddr & ~GUEST_PAGE_MASK);
    if (!range->reserve)
        return paddr;
    int cpl = current_cpl(tcg);
    struct guest_walk walk;
    struct page_mapping mapping = page_mapping_for(tcg, page, cpl, &walk);
    if (!mapping.ok || !guest_phys_to_host(tcg->memory, mapping.gpa, GUEST_PAGE_SIZE))
        refuse_fill(tcg, page, cpl, &walk);
    if (!(mapping.prot & UC_PROT_WRITE)) {
        if (tcg_thread.access_write && (tcg_thread.access_address & GUEST_PAGE_MASK) == page)
            refuse_fill(tcg, page, cpl, &walk);
        *prot &= ~QEMU_PAGE_WRITE;
    }
    return RAM_ALIAS + mapping.gpa + (paddr & ~GUEST_PAGE_MASK);
}
#endif

/* Records a #PF (or a #GP for a non-canonical address) for the access. */
static void set_fault(struct tcg_accel *tcg, uint64_t address, uc_mem_type type, int cpl,
                      const struct guest_walk *walk, bool present)
{
    tcg->event = EVENT_FAULT;
    tcg->event_address = address;
    if (walk->status == GUEST_WALK_NON_CANONICAL) {
        tcg->event_vector = VECTOR_GENERAL_PROTECTION;
        tcg->event_error_code = 0;
        return;
    }
    uint32_t code = 0;
    if (present || walk->status == GUEST_WALK_RESERVED_BIT)
        code |= PF_PRESENT;
    if (walk->status == GUEST_WALK_RESERVED_BIT)
        code |= PF_RESERVED;
    if (type == UC_MEM_WRITE_UNMAPPED || type == UC_MEM_WRITE_PROT)
        code |= PF_WRITE;
    if (type == UC_MEM_FETCH_UNMAPPED || type == UC_MEM_FETCH_PROT)
        code |= PF_FETCH;
    if (cpl == 3)
        code |= PF_USER;
    tcg->event_vector = VECTOR_PAGE_FAULT;
    tcg->event_error_code = code;
}

/*
 * For an access Unicorn could not do: maps the page (and the contiguous run
 * around it) and returns true to retry, or records why not and returns false.
 */
static bool map_for_access(struct tcg_accel *tcg, uc_mem_type type, uint64_t address)
{
    int cpl = current_cpl(tcg);
    uint64_t page = address & GUEST_PAGE_MASK;
    bool write = type == UC_MEM_WRITE_UNMAPPED || type == UC_MEM_WRITE_PROT;
    bool fetch = type == UC_MEM_FETCH_UNMAPPED || type == UC_MEM_FETCH_PROT;

    if (tcg->mapped_cpl >= 0 && tcg->mapped_cpl != cpl) {
        /* The guest changed privilege level (the kernel's iretq to the
         * program): the mappings were made for the other one. */
        tcg->event = EVENT_REMAP;
        tcg->remap_cpl = cpl;
        return false;
    }

    struct guest_walk walk;
    struct page_mapping mapping = page_mapping_for(tcg, page, cpl, &walk);
    if (!mapping.ok) {
        set_fault(tcg, address, type, cpl, &walk, walk.status == GUEST_WALK_OK);
        return false;
    }
    if ((write && !(mapping.prot & UC_PROT_WRITE)) || (fetch && !(mapping.prot & UC_PROT_EXEC))) {
        set_fault(tcg, address, type, cpl, &walk, true);
        return false;
    }
    if (is_mapped(tcg, page)) {
        /* Mapped with narrower rights than the tables now give (mprotect
         * widened them): map it again. */
        tcg->event = EVENT_REMAP;
        tcg->remap_cpl = cpl;
        return false;
    }
    if (!guest_phys_to_host(tcg->memory, mapping.gpa, GUEST_PAGE_SIZE)) {
        tcg->event = EVENT_ERROR;
        snprintf(tcg->event_message, sizeof(tcg->event_message),
                 "guest %s at %#llx (guest-physical %#llx), outside RAM",
                 write   ? "write"
                 : fetch ? "instruction fetch"
                         : "read",
                 (unsigned long long)address, (unsigned long long)mapping.gpa);
        return false;
    }

    uint64_t window = page & ~(MAP_WINDOW - 1);
    uint64_t start = page, end = page + GUEST_PAGE_SIZE;
    while (start > window && same_run(tcg, start - GUEST_PAGE_SIZE, cpl, &mapping, page))
        start -= GUEST_PAGE_SIZE;
    while (end < window + MAP_WINDOW && same_run(tcg, end, cpl, &mapping, page))
        end += GUEST_PAGE_SIZE;
    enum scatter_result scattered = map_scattered(tcg, cpl, mapping.prot, page);
    if (scattered != SCATTER_NO) {
        if (scattered == SCATTER_MAPPED)
            tcg->mapped_cpl = cpl;
        return scattered == SCATTER_MAPPED;
    }
    void *host = guest_phys_to_host(tcg->memory, mapping.gpa - (page - start), end - start);
    uc_err err =
        host ? uc_mem_map_ptr(tcg->uc, start, end - start, mapping.prot, host) : UC_ERR_NOMEM;
    if (err != UC_ERR_OK) {
        tcg->event = EVENT_ERROR;
        snprintf(tcg->event_message, sizeof(tcg->event_message),
                 "cannot map guest-virtual %#llx..%#llx into Unicorn: %s",
                 (unsigned long long)start, (unsigned long long)end, uc_strerror(err));
        return false;
    }
    struct tcg_range range = {start, end, mapping.prot, mapping.gpa - (page - start), NULL};
    g_array_insert_val(tcg->mapped, mapped_search(tcg, start), range);
    tcg->mapped_cpl = cpl;
    return true;
}

/* The memory hook for accesses Unicorn could not do. A refusal ends
 * uc_emu_start with rip at the instruction that made the access. */
static bool on_invalid_access(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
                              int64_t value, void *opaque)
{
    (void)uc, (void)size, (void)value;
    if (map_for_access(opaque, type, address))
        return true;
    restore_faulting_instruction(address);
    leave_block(opaque);
    return false;
}

/* ---- hooks --------------------------------------------------------------- */

static void on_syscall(uc_engine *uc, void *opaque)
{
    struct tcg_accel *tcg = opaque;
    uc_reg_read(uc, UC_X86_REG_RIP, &tcg->syscall_rip);
    tcg->event = EVENT_SYSCALL;
    uc_emu_stop(uc);
}

static void on_interrupt(uc_engine *uc, uint32_t vector, void *opaque)
{
    struct tcg_accel *tcg = opaque;
    /* With TF set, Unicorn raises the single-step #DB at the end of the
     * syscall's block, after the syscall hook and before the stop: it
     * replaced the syscall, which then never happened (the debugger's step
     * over a breakpoint on a syscall instruction skipped clone and fork).
     * The CPU's trap comes after the instruction, so after the call. */
    if (vector == VECTOR_DEBUG && tcg->event == EVENT_SYSCALL) {
        tcg->trap_after_syscall = true;
        return;
    }
    tcg->event = EVENT_INTERRUPT;
    tcg->event_vector = vector;
    uc_emu_stop(uc);
}

/* `out` from the guest kernel: only the panic port means something under
 * tcg (exceptions never reach the kernel's stubs). */
static void on_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *opaque)
{
    (void)size, (void)value;
    struct tcg_accel *tcg = opaque;
    if (port == HX_PORT_PANIC) {
        tcg->event = EVENT_PANIC;
    } else {
        tcg->event = EVENT_ERROR;
        snprintf(tcg->event_message, sizeof(tcg->event_message), "guest out on unknown port %#x",
                 port);
    }
    uc_emu_stop(uc);
}

static uint32_t on_in(uc_engine *uc, uint32_t port, int size, void *opaque)
{
    (void)size;
    struct tcg_accel *tcg = opaque;
    tcg->event = EVENT_ERROR;
    snprintf(tcg->event_message, sizeof(tcg->event_message), "guest in on unknown port %#x", port);
    uc_emu_stop(uc);
    return 0;
}

static void on_breakpoint(uc_engine *uc, uint64_t address, uint32_t size, void *opaque)
{
    (void)size;
    struct tcg_breakpoint *breakpoint = opaque;
    struct tcg_accel *tcg = breakpoint->tcg;
    if (tcg->skip_breakpoint && address == tcg->skip_breakpoint_rip) {
        tcg->skip_breakpoint = false;
        return;
    }
    tcg->skip_breakpoint = false;
    tcg->event = EVENT_BREAKPOINT;
    tcg->event_slot = breakpoint->slot;
    uc_emu_stop(uc);
}

static void on_watched_access(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
                              int64_t value, void *opaque)
{
    (void)uc, (void)value;
    struct tcg_breakpoint *breakpoint = opaque;
    struct tcg_accel *tcg = breakpoint->tcg;
    const struct accel_breakpoint *watch = &breakpoint->breakpoint;
    if (breakpoint->breakpoint.kind == ACCEL_BREAK_WRITE && type != UC_MEM_WRITE)
        return;
    /* The hook's range is widened so that accesses starting below the
     * watched bytes are seen; only real overlaps count. */
    if (address + (uint64_t)size <= watch->address || address >= watch->address + watch->length)
        return;
    if (!tcg->watch_hit) {
        tcg->watch_hit = true;
        tcg->watch_slot = breakpoint->slot;
    }
}

/* On every instruction while watchpoints are armed: a watched access done
 * by the previous instruction ends the run here, at the boundary after it. */
static void on_instruction_boundary(uc_engine *uc, uint64_t address, uint32_t size, void *opaque)
{
    (void)address, (void)size;
    struct tcg_accel *tcg = opaque;
    if (tcg->watch_hit && tcg->event == EVENT_NONE) {
        tcg->watch_hit = false;
        tcg->event = EVENT_WATCHPOINT;
        tcg->event_slot = tcg->watch_slot;
        uc_emu_stop(uc);
    }
}

/* ---- the engine ---------------------------------------------------------- */

static void on_never_accessed(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
                              int64_t value, void *opaque)
{
    (void)uc, (void)type, (void)address, (void)size, (void)value, (void)opaque;
}

/* ---- cpuid ------------------------------------------------------------------ */

/*
 * Unicorn 2.0's CPU models report a cpuid without FPU, MMX or SYSCALL, which
 * glibc's ld.so refuses ("CPU ISA level is lower than required"). The
 * program sees the host's cpuid instead, narrowed to features QEMU's TCG
 * emulates (no AVX, no XSAVE: glibc then saves registers with fxsave) and
 * with every leaf that only describes features outside that set zeroed.
 * POPCNT, MOVBE, PCLMULQDQ, RDRAND and RDSEED only when the engine decodes
 * them (enable_refused_features): Go's runtime and liblzma use them when
 * cpuid says so, and died of SIGILL while Unicorn refused them.
 *
 * No XSAVE state either, so get_xsave/set_xsave are NULL: Unicorn 2.0.1 is
 * QEMU 5.0's TCG, which decodes no VEX-encoded SSE/AVX instruction (a
 * `vpcmpeqb %ymm0,...` ends in #UD, measured) and has no XSAVE/XGETBV.
 * Unicorn's UC_X86_REG_YMM0..15 read the low halves of its 512-bit
 * register file, whose upper parts no instruction it runs ever writes.
 * The program therefore runs as on a CPU without AVX or XSAVE, and its
 * signal frames are the FXSAVE-sized ones Linux builds on such a CPU.
 */
#define TCG_CPUID_1_EDX                                                                            \
    (0x00000001u /* FPU */ | 0x00000010u /* TSC */ | 0x00000100u /* CX8 */ |                       \
     0x00008000u /* CMOV */ | 0x00080000u /* CLFSH */ | 0x00800000u /* MMX */ |                    \
     0x01000000u /* FXSR */ | 0x02000000u /* SSE */ | 0x04000000u /* SSE2 */)
#define TCG_CPUID_1_ECX                                                                            \
    (0x00000001u /* SSE3 */ | 0x00000200u /* SSSE3 */ | 0x00002000u /* CX16 */ |                   \
     0x00080000u /* SSE4.1 */ | 0x00100000u /* SSE4.2 */ | 0x02000000u /* AES */ |                 \
     0x80000000u /* running under a hypervisor */)
#define TCG_CPUID_EXT_EDX                                                                          \
    (0x00000800u /* SYSCALL */ | 0x00100000u /* NX */ | 0x08000000u /* RDTSCP */ |                 \
     0x20000000u /* LM */)
#define TCG_CPUID_EXT_ECX (0x00000001u /* LAHF_LM */ | 0x00000020u /* LZCNT */)
/* What the program's cpuid gives for leaf and subleaf on an engine that
 * decodes the refused instructions or not: regs is eax, ebx, ecx, edx. */
static void guest_cpuid(bool refused_decoded, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    uint32_t ecx_1 = TCG_CPUID_1_ECX | (refused_decoded ? CPUID_1_ECX_REFUSED : 0);
    /* Leaf 7's ebx: RDSEED alone (CPUID_7_EBX_WRONG says why not BMI1, BMI2
     * and ADX). */
    uint32_t ebx_7 = refused_decoded ? CPUID_7_EBX_REFUSED : 0;
    switch (leaf) {
    case 0:
        __cpuid(0, regs[0], regs[1], regs[2], regs[3]);
        regs[0] = MIN(regs[0], 0xbu); /* up to the topology leaf */
        break;
    case 1:
        __cpuid(1, regs[0], regs[1], regs[2], regs[3]);
        regs[2] = (regs[2] & ecx_1) | 0x80000000u;
        regs[3] &= TCG_CPUID_1_EDX;
        break;
    case 7:
        /* Subleaf 0 only (eax 0: no other), its ebx narrowed. */
        if (subleaf == 0) {
            __cpuid_count(7, 0, regs[0], regs[1], regs[2], regs[3]);
            regs[0] = regs[2] = regs[3] = 0;
            regs[1] &= ebx_7;
        }
        break;
    case 2:
    case 4:
    case 0xb:
    case 0x80000000:
    case 0x80000002:
    case 0x80000003:
    case 0x80000004:
    case 0x80000005:
    case 0x80000006:
    case 0x80000008:
        /* Cache, topology, brand and address sizes: as the host says. */
        __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
        if (leaf == 0x80000000)
            regs[0] = MIN(regs[0], 0x80000008u);
        break;
    case 0x80000001:
        __cpuid(0x80000001, regs[0], regs[1], regs[2], regs[3]);
        regs[2] &= TCG_CPUID_EXT_ECX;
        regs[3] &= TCG_CPUID_EXT_EDX;
        break;
    default:
        break; /* features TCG lacks, or nothing: zero */
    }
}

/* For the personality: any engine of the process answers as the others
 * (the same library), so the first to find its features speaks for all. */
static void tcg_guest_cpuid(struct accel *accel, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    (void)accel;
    guest_cpuid(__atomic_load_n(&tcg_refused_decoded, __ATOMIC_RELAXED), leaf, subleaf, regs);
}

static int on_cpuid(uc_engine *uc, void *opaque)
{
    uint64_t leaf = 0, subleaf = 0;
    uc_reg_read(uc, UC_X86_REG_EAX, &leaf);
    uc_reg_read(uc, UC_X86_REG_ECX, &subleaf);
    uint32_t regs[4];
    const struct tcg_accel *tcg = opaque;
    guest_cpuid(tcg->refused_decoded, (uint32_t)leaf, (uint32_t)subleaf, regs);
    uint64_t values[4] = {regs[0], regs[1], regs[2], regs[3]};
    uc_reg_write(uc, UC_X86_REG_RAX, &values[0]);
    uc_reg_write(uc, UC_X86_REG_RBX, &values[1]);
    uc_reg_write(uc, UC_X86_REG_RCX, &values[2]);
    uc_reg_write(uc, UC_X86_REG_RDX, &values[3]);
    return 1; /* handled: Unicorn's own cpuid does not run */
}

static int add_base_hooks(struct tcg_accel *tcg, char **error)
{
    uc_hook hook;
    uc_err err = uc_hook_add(tcg->uc, &hook, UC_HOOK_MEM_INVALID, on_invalid_access, tcg, 1, 0);
    /* Without the interposed helpers, a read or write hook makes Unicorn
     * store rip before every load and store (and sends them all through its
     * slow path), so that a refused access ends the run with rip at the
     * instruction that made it. Bounded to an address nothing uses, these
     * two never run. */
    if (err == UC_ERR_OK && !TCG_INTERPOSE)
        err = uc_hook_add(tcg->uc, &hook, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, on_never_accessed,
                          tcg, PC_SYNC_HOOK_ADDRESS, PC_SYNC_HOOK_ADDRESS);
    if (err == UC_ERR_OK)
        err = uc_hook_add(tcg->uc, &hook, UC_HOOK_INSN, on_syscall, tcg, 1, 0, UC_X86_INS_SYSCALL);
    if (err == UC_ERR_OK)
        err = uc_hook_add(tcg->uc, &hook, UC_HOOK_INTR, on_interrupt, tcg, 1, 0);
    if (err == UC_ERR_OK)
        err = uc_hook_add(tcg->uc, &hook, UC_HOOK_INSN, on_out, tcg, 1, 0, UC_X86_INS_OUT);
    if (err == UC_ERR_OK)
        err = uc_hook_add(tcg->uc, &hook, UC_HOOK_INSN, on_in, tcg, 1, 0, UC_X86_INS_IN);
    if (err == UC_ERR_OK)
        err = uc_hook_add(tcg->uc, &hook, UC_HOOK_INSN, on_cpuid, tcg, 1, 0, UC_X86_INS_CPUID);
    if (err != UC_ERR_OK) {
        *error = g_strdup_printf("cannot add Unicorn hooks: %s", uc_strerror(err));
        return -EIO;
    }
    return 0;
}

static int open_engine(struct tcg_accel *tcg, char **error)
{
    if (resolve_real_functions(error) < 0)
        return -EIO;
    uc_err err = uc_open(UC_ARCH_X86, UC_MODE_64, &tcg->uc);
    if (err != UC_ERR_OK) {
        tcg->uc = NULL;
        *error = g_strdup_printf("Unicorn cannot emulate x86-64: %s", uc_strerror(err));
        return -EIO;
    }
    tcg->features_checked = tcg->refused_decoded = false; /* a new CPU */
    /* Exits enabled with none set: uc_emu_start's `until` is ignored, so no
     * address (not even 0) silently ends a run. */
    uc_ctl_exits_enable(tcg->uc);
    uint64_t ram_size = guest_memory_ram_size(tcg->memory);
    void *ram = guest_phys_to_host(tcg->memory, 0, ram_size);
    if (TCG_INTERPOSE && (!ram || uc_mem_map_ptr(tcg->uc, RAM_ALIAS, ram_size,
                                                 UC_PROT_READ | UC_PROT_WRITE, ram) != UC_ERR_OK)) {
        *error = g_strdup("cannot map guest RAM into Unicorn");
        return -EIO;
    }
#if TCG_INTERPOSE
    /* The same for every engine of the process (one VM per process); set
     * again while other engines run. */
    __atomic_store_n(&tcg_ram.size, ram_size, __ATOMIC_RELAXED);
    __atomic_store_n(&tcg_ram.host, (const uint8_t *)ram, __ATOMIC_RELAXED);
#endif
    return add_base_hooks(tcg, error);
}

/*
 * Engines of ended threads are kept, a few, for the threads started next
 * (tcg_create_vcpu). A new engine costs its set-up in Unicorn, the first
 * touches of its code buffer (huge pages the host zeroes) and its unmapping
 * at the end, and every block of the thread's code translated again: 5 ms
 * for a thread created and joined, against 1.2 ms under qemu-x86_64. A kept
 * engine keeps its mappings and translations, brought up to date as any
 * engine that did not run for a while is when it takes its turn (the memory
 * generation, the log of rewritten code); what was the ended thread's alone
 * (its debug hooks, a step under way) goes.
 */
#define TCG_SPARE_ENGINES 8

static void disarm_debug_hooks(struct tcg_accel *tcg);
static struct cpu_segment *state_segment(struct cpu_state *state, int index);

/* tcg is no longer one of vm's engines (a step looks at the members);
 * true when it was the last. vm->lock held (or a fork's child, see
 * tcg_destroy). */
static bool leave_vm_locked(struct tcg_vm *vm, struct tcg_accel *tcg)
{
    g_queue_remove(&vm->members, tcg);
    if (vm->stepper == tcg)
        vm->stepper = NULL;
    return --vm->engines == 0;
}

/* Puts tcg among vm's spares, if it can serve again; false: close it. A
 * fork's child keeps none (the parent's VM is a copy there, whose lock
 * another thread of the parent may have held at the fork). Never the last
 * engine: the VM goes with that one, spares included. */
static bool retire(struct tcg_accel *tcg)
{
    struct tcg_vm *vm = tcg->vm;
    if (!tcg->uc || tcg->engine_tainted || vm->creator != getpid() || current_cpl(tcg) != 3)
        return false;
    /* What was the ended thread's alone; harmless on an engine then closed. */
    disarm_debug_hooks(tcg);
    tcg->single_step = tcg->step_after_syscall = tcg->trap_after_syscall = false;
    tcg->skip_breakpoint = tcg->counted_run = false;
    g_mutex_lock(&vm->lock);
    bool kept = vm->engines > 1 && g_queue_get_length(&vm->spares) < TCG_SPARE_ENGINES;
    if (kept) {
        leave_vm_locked(vm, tcg);
        g_queue_push_tail(&vm->spares, tcg);
    }
    g_mutex_unlock(&vm->lock);
    return kept;
}

/* A spare at the privilege level and with the segments of state (loading
 * others needs the GDT, read through guest memory in a run: see
 * tcg_set_state), back among vm's engines; NULL if there is none. */
static struct tcg_accel *take_spare(struct tcg_vm *vm, const struct cpu_state *state)
{
    struct tcg_accel *found = NULL;
    g_mutex_lock(&vm->lock);
    for (GList *link = vm->spares.head; link; link = link->next) {
        struct tcg_accel *spare = link->data;
        bool same = current_cpl(spare) == (int)(state->cs.selector & 3);
        for (int i = 0; i < 6 && same; i++)
            same = spare->segments[i].selector ==
                   state_segment((struct cpu_state *)state, i)->selector;
        if (same) {
            found = spare;
            g_queue_delete_link(&vm->spares, link); /* frees link: the loop ends here */
            break;
        }
    }
    if (found) {
        vm->engines++;
        g_queue_push_tail(&vm->members, found);
    }
    g_mutex_unlock(&vm->lock);
    if (found)
        found->base = (struct accel){.ops = found->base.ops};
    return found;
}

/* The engine's own resources, and tcg itself. */
static void free_engine(struct tcg_accel *tcg)
{
    if (tcg->uc)
        uc_close(tcg->uc);
    if (tcg->decoder_open)
        cs_close(&tcg->decoder);
    if (tcg->mapped) {
        forget_ranges(tcg);
        g_array_free(tcg->mapped, TRUE);
    }
    g_free(tcg);
}

/* Closes tcg, and the VM with its spares after the last engine. */
static void close_engine(struct tcg_accel *tcg)
{
    struct tcg_vm *vm = tcg->vm;
    /* A fork's child drops the parent's engine of the forking thread: the
     * VM's lock may have been held by another of the parent's threads at
     * the fork, and stays so here; nothing else runs in the child. */
    bool forked = vm->creator != getpid();
    if (!forked)
        g_mutex_lock(&vm->lock);
    bool last = leave_vm_locked(vm, tcg);
    if (!forked)
        g_mutex_unlock(&vm->lock);
    struct guest_memory *memory = tcg->memory;
    /* A fork's child leaves the parent's engine unfreed too: it is a
     * copy-on-write copy the child never runs, and freeing it writes to
     * thousands of its pages (Unicorn's tables, each chunk's header), each
     * write a page copied: 4.7 ms of every fork here (20 subshells of bash,
     * 713 -> 619 ms). The child's exit or execve returns it all. */
    if (!forked)
        free_engine(tcg);
    if (last) {
        /* (A fork's child leaves the spares of the parent's VM: see above.) */
        struct tcg_accel *spare;
        while (!forked && (spare = g_queue_pop_head(&vm->spares)))
            free_engine(spare);
        if (memory)
            guest_memory_clear_code_write_hook(memory, vm);
        g_mutex_clear(&vm->lock);
        g_cond_clear(&vm->changed);
        g_free(vm);
    }
}

static void tcg_destroy(struct accel *accel)
{
    struct tcg_accel *tcg = tcg_of(accel);
    if (tcg && !retire(tcg))
        close_engine(tcg);
}

static void code_written_by_monitor(void *opaque, uint64_t gpa);

/* One engine (vCPU) of vm. */
static struct tcg_accel *tcg_new_engine(struct guest_memory *memory, struct tcg_vm *vm,
                                        char **error)
{
    extern const struct accel_ops tcg_accel_ops;
    struct tcg_accel *tcg = g_new0(struct tcg_accel, 1);
    tcg->base.ops = &tcg_accel_ops;
    tcg->vm = vm;
    g_mutex_lock(&vm->lock);
    vm->engines++;
    g_queue_push_tail(&vm->members, tcg);
    tcg->code_log_seen = vm->code_logged; /* nothing translated yet */
    g_mutex_unlock(&vm->lock);
    tcg->memory = memory;
    tcg->mapped = g_array_new(FALSE, FALSE, sizeof(struct tcg_range));
    tcg->mapped_cpl = -1;
    tcg->generation = guest_memory_generation(memory);
    for (int i = 0; i < ACCEL_MAX_HW_BREAKPOINTS; i++) {
        tcg->breakpoints[i].tcg = tcg;
        tcg->breakpoints[i].slot = i;
    }
    if (open_engine(tcg, error) < 0) {
        tcg_destroy(&tcg->base);
        return NULL;
    }
    struct accel_capabilities *caps = &tcg->capabilities;
    caps->translate = false;
    caps->kernel_single_step = caps->user_single_step = true;
    caps->kernel_hw_breakpoints = caps->user_hw_breakpoints = true;
    caps->watchpoints = true;
    /* Unicorn's rdtsc is the host's counter with no offset (measured). */
    caps->host_tsc = true;
    /* Unicorn enters CPL3 only through an iretq from CPL0 (load_engine_state
     * does it for new engines): the guest kernel's boot does it here, at
     * Unicorn's speed. */
    caps->user_entry = false;
    snprintf(caps->description, sizeof(caps->description),
             "tcg: Unicorn %s; paging off in Unicorn, guest-virtual pages mapped "
             "lazily from the monitor's tables; syscalls and exceptions through hooks; "
             "hbreak and kernel breakpoints as code hooks, watchpoints as memory hooks; threads "
             "take turns "
             "in time slices",
             UC_VERSION_MAJOR == 2 ? "2" : "?");
    return tcg;
}

/* A VM of this process, with no engine yet. */
static struct tcg_vm *new_vm(void)
{
    struct tcg_vm *vm = g_new0(struct tcg_vm, 1);
    vm->creator = getpid();
    g_mutex_init(&vm->lock);
    g_cond_init(&vm->changed);
    g_queue_init(&vm->queue);
    g_queue_init(&vm->members);
    g_queue_init(&vm->spares);
    vm->free_round = true;
    return vm;
}

static struct accel *tcg_create(struct guest_memory *memory, char **error)
{
    struct tcg_vm *vm = new_vm();
    struct tcg_accel *tcg = tcg_new_engine(memory, vm, error);
    if (tcg)
        guest_memory_set_code_write_hook(memory, code_written_by_monitor, vm);
    return tcg ? &tcg->base : NULL;
}

static int tcg_set_debug(struct accel *accel, bool single_step,
                         const struct accel_breakpoint *breakpoints, int count);

/*
 * A fork's child goes on with the forking thread's engine, in a VM of its
 * own: the engine is the child's copy, with every block the parent
 * translated (what the child runs next, say bash between fork and execve, is
 * not translated again) and no Unicorn state outside the process. A new
 * engine cost each fork a Unicorn start and those translations. The
 * parent's VM lock may be held by another of its threads at the fork, so
 * the parent's code-write log is not read: if it holds entries this engine
 * has not seen, the engine drops all its translations instead.
 */
static struct accel *tcg_adopt_after_fork(struct accel *vcpu)
{
    struct tcg_accel *tcg = tcg_of(vcpu);
    struct tcg_vm *parent = tcg->vm;
    if (!tcg->uc || tcg->engine_tainted)
        return NULL;
    struct tcg_vm *vm = new_vm();
    vm->code_logged = vm->code_log_read = __atomic_load_n(&parent->code_logged, __ATOMIC_RELAXED);
    if (tcg->code_log_seen != vm->code_logged)
        drop_all_translations(tcg);
    tcg->code_log_seen = vm->code_logged;
    vm->engines = 1;
    g_queue_push_tail(&vm->members, tcg);
    tcg->vm = vm;
    tcg_set_debug(vcpu, false, NULL, 0);
    tcg->skip_breakpoint = tcg->counted_run = tcg->trap_after_syscall = false;
    vcpu->kicked = vcpu->in_host_call = vcpu->thread_known = false;
    guest_memory_set_code_write_hook(tcg->memory, code_written_by_monitor, vm);
    return vcpu;
}

static const struct accel_capabilities *tcg_capabilities(struct accel *accel)
{
    return &tcg_of(accel)->capabilities;
}

/* ---- state --------------------------------------------------------------- */

static const int gpr_ids[] = {
    UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX,    UC_X86_REG_RDX, UC_X86_REG_RSI,
    UC_X86_REG_RDI, UC_X86_REG_RBP, UC_X86_REG_RSP,    UC_X86_REG_R8,  UC_X86_REG_R9,
    UC_X86_REG_R10, UC_X86_REG_R11, UC_X86_REG_R12,    UC_X86_REG_R13, UC_X86_REG_R14,
    UC_X86_REG_R15, UC_X86_REG_RIP, UC_X86_REG_RFLAGS,
};
#define GPR_COUNT (int)(sizeof(gpr_ids) / sizeof(gpr_ids[0]))

static void gpr_pointers(struct cpu_state *state, void *pointers[GPR_COUNT])
{
    uint64_t *fields[GPR_COUNT] = {
        &state->rax, &state->rbx, &state->rcx, &state->rdx, &state->rsi, &state->rdi,
        &state->rbp, &state->rsp, &state->r8,  &state->r9,  &state->r10, &state->r11,
        &state->r12, &state->r13, &state->r14, &state->r15, &state->rip, &state->rflags,
    };
    for (int i = 0; i < GPR_COUNT; i++)
        pointers[i] = fields[i];
}

static const int segment_ids[6] = {UC_X86_REG_CS, UC_X86_REG_DS, UC_X86_REG_ES,
                                   UC_X86_REG_FS, UC_X86_REG_GS, UC_X86_REG_SS};

static struct cpu_segment *state_segment(struct cpu_state *state, int index)
{
    struct cpu_segment *segments[6] = {&state->cs, &state->ds, &state->es,
                                       &state->fs, &state->gs, &state->ss};
    return segments[index];
}

/* The hidden part of a segment register loaded with selector, decoded from
 * the GDT as the CPU did when the guest loaded it. */
static void segment_from_gdt(struct tcg_accel *tcg, uint16_t selector, struct cpu_segment *out)
{
    *out = (struct cpu_segment){.selector = selector, .unusable = 1};
    uc_x86_mmr gdtr = {0};
    uc_reg_read(tcg->uc, UC_X86_REG_GDTR, &gdtr);
    uint64_t offset = selector & ~7u;
    uint64_t descriptor;
    if (selector < 4 || (selector & 4) || offset + 7 > gdtr.limit ||
        guest_read(tcg->memory, gdtr.base + offset, &descriptor, sizeof(descriptor),
                   GUEST_ACCESS_DEBUG) < 0)
        return;
    uint32_t limit = (uint32_t)(descriptor & 0xffff) | (uint32_t)((descriptor >> 32) & 0xf0000);
    out->g = (descriptor >> 55) & 1;
    out->limit = out->g ? (limit << 12) | 0xfff : limit;
    out->base = ((descriptor >> 16) & 0xffffff) | (((descriptor >> 56) & 0xff) << 24);
    out->type = (descriptor >> 40) & 0xf;
    out->s = (descriptor >> 44) & 1;
    out->dpl = (descriptor >> 45) & 3;
    out->present = (descriptor >> 47) & 1;
    out->avl = (descriptor >> 52) & 1;
    out->l = (descriptor >> 53) & 1;
    out->db = (descriptor >> 54) & 1;
    out->unusable = !out->present;
}

static int tcg_get_state(struct accel *accel, struct cpu_state *state, unsigned parts)
{
    struct tcg_accel *tcg = tcg_of(accel);
    uc_engine *uc = tcg->uc;
    if (parts & CPU_STATE_GPRS) {
        void *pointers[GPR_COUNT];
        gpr_pointers(state, pointers);
        if (uc_reg_read_batch(uc, (int *)gpr_ids, pointers, GPR_COUNT) != UC_ERR_OK)
            return -EIO;
    }
    if (parts & CPU_STATE_SEGMENTS) {
        for (int i = 0; i < 6; i++) {
            uint64_t selector = 0;
            uc_reg_read(uc, segment_ids[i], &selector);
            if ((uint16_t)selector != tcg->uc_selector[i]) {
                segment_from_gdt(tcg, (uint16_t)selector, &tcg->segments[i]);
                tcg->uc_selector[i] = (uint16_t)selector;
            }
            *state_segment(state, i) = tcg->segments[i];
        }
        uc_reg_read(uc, UC_X86_REG_FS_BASE, &state->fs.base);
        uc_reg_read(uc, UC_X86_REG_GS_BASE, &state->gs.base);
        uc_x86_mmr mmr = {0};
        uc_reg_read(uc, UC_X86_REG_TR, &mmr);
        if (mmr.selector != tcg->tr.selector || mmr.base != tcg->tr.base)
            tcg->tr = (struct cpu_segment){.selector = mmr.selector,
                                           .base = mmr.base,
                                           .limit = mmr.limit,
                                           .type = 11,
                                           .present = 1};
        state->tr = tcg->tr;
        state->ldt = tcg->ldt;
        uc_reg_read(uc, UC_X86_REG_GDTR, &mmr);
        state->gdt = (struct cpu_descriptor_table){mmr.base, (uint16_t)mmr.limit};
        uc_reg_read(uc, UC_X86_REG_IDTR, &mmr);
        state->idt = (struct cpu_descriptor_table){mmr.base, (uint16_t)mmr.limit};
    }
    if (parts & CPU_STATE_CONTROL) {
        state->cr0 = tcg->cr0, state->cr2 = tcg->cr2, state->cr3 = tcg->cr3;
        state->cr4 = tcg->cr4, state->cr8 = tcg->cr8;
        uc_x86_msr efer = {.rid = MSR_EFER};
        uc_reg_read(uc, UC_X86_REG_MSR, &efer);
        state->efer = efer.value;
    }
    if (parts & CPU_STATE_MSRS) {
        uint32_t ids[5] = {MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK};
        uint64_t *values[5] = {&state->kernel_gs_base, &state->star, &state->lstar, &state->cstar,
                               &state->fmask};
        for (int i = 0; i < 5; i++) {
            uc_x86_msr msr = {.rid = ids[i]};
            if (uc_reg_read(uc, UC_X86_REG_MSR, &msr) != UC_ERR_OK)
                return -EIO;
            *values[i] = msr.value;
        }
    }
    return 0;
}

static int tcg_set_state(struct accel *accel, const struct cpu_state *state, unsigned parts)
{
    struct tcg_accel *tcg = tcg_of(accel);
    uc_engine *uc = tcg->uc;
    if (parts & CPU_STATE_GPRS) {
        struct cpu_state copy = *state;
        void *pointers[GPR_COUNT];
        gpr_pointers(&copy, pointers);
        if (uc_reg_write_batch(uc, (int *)gpr_ids, pointers, GPR_COUNT) != UC_ERR_OK)
            return -EIO;
    }
    if (parts & CPU_STATE_SEGMENTS) {
        for (int i = 0; i < 6; i++) {
            const struct cpu_segment *segment = state_segment((struct cpu_state *)state, i);
            /* Loading a selector makes Unicorn read the GDT through its own
             * memory, which is not there outside a run: selectors cannot be
             * changed here once the guest kernel has loaded its GDT. Before
             * that, Unicorn's flat 64-bit segments behave as the ones asked
             * for, so only the cached view changes. */
            if (segment->selector != tcg->segments[i].selector) {
                uc_x86_mmr gdtr = {0};
                uc_reg_read(uc, UC_X86_REG_GDTR, &gdtr);
                if (gdtr.limit != 0)
                    return -EINVAL;
            }
            uint64_t selector = 0;
            uc_reg_read(uc, segment_ids[i], &selector);
            tcg->segments[i] = *segment;
            tcg->uc_selector[i] = (uint16_t)selector;
        }
        uc_reg_write(uc, UC_X86_REG_FS_BASE, &state->fs.base);
        uc_reg_write(uc, UC_X86_REG_GS_BASE, &state->gs.base);
        tcg->tr = state->tr;
        tcg->ldt = state->ldt;
        uc_x86_mmr mmr = {.base = state->gdt.base, .limit = state->gdt.limit};
        uc_reg_write(uc, UC_X86_REG_GDTR, &mmr);
        mmr = (uc_x86_mmr){.base = state->idt.base, .limit = state->idt.limit};
        uc_reg_write(uc, UC_X86_REG_IDTR, &mmr);
    }
    if (parts & CPU_STATE_CONTROL) {
        tcg->cr0 = state->cr0, tcg->cr2 = state->cr2, tcg->cr3 = state->cr3;
        tcg->cr4 = state->cr4, tcg->cr8 = state->cr8;
        /* Unicorn runs long mode with paging off; turning PG on there would
         * walk CR3, which 2.0.1 gets wrong. OSXSAVE stays off so the program
         * sees no XSAVE state it would have to manage. */
        uint64_t cr0 = state->cr0 & ~CR0_PG;
        uint64_t cr4 = state->cr4 & ~CR4_OSXSAVE;
        uc_reg_write(uc, UC_X86_REG_CR0, &cr0);
        uc_reg_write(uc, UC_X86_REG_CR4, &cr4);
        uc_x86_msr efer = {.rid = MSR_EFER, .value = state->efer};
        uc_reg_write(uc, UC_X86_REG_MSR, &efer);
    }
    if (parts & CPU_STATE_MSRS) {
        uint32_t ids[5] = {MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK};
        uint64_t values[5] = {state->kernel_gs_base, state->star, state->lstar, state->cstar,
                              state->fmask};
        for (int i = 0; i < 5; i++) {
            uc_x86_msr msr = {.rid = ids[i], .value = values[i]};
            if (uc_reg_write(uc, UC_X86_REG_MSR, &msr) != UC_ERR_OK)
                return -EIO;
        }
    }
    return 0;
}

static int tcg_get_fpu(struct accel *accel, struct cpu_fpu_state *fpu)
{
    uc_engine *uc = tcg_of(accel)->uc;
    memset(fpu, 0, sizeof(*fpu));
    for (int i = 0; i < 8; i++) {
        /* 64-bit mantissa then 16-bit sign and exponent, as FXSAVE. */
        uc_reg_read(uc, UC_X86_REG_ST0 + i, fpu->st[i]);
    }
    uint64_t fcw = 0, fsw = 0, ftw = 0;
    uc_reg_read(uc, UC_X86_REG_FPCW, &fcw);
    uc_reg_read(uc, UC_X86_REG_FPSW, &fsw);
    uc_reg_read(uc, UC_X86_REG_FPTAG, &ftw);
    fpu->fcw = (uint16_t)fcw, fpu->fsw = (uint16_t)fsw;
    /* Unicorn gives the full tag word (2 bits per register, 3 = empty);
     * FXSAVE keeps one bit per register, set when it is not empty. */
    for (int i = 0; i < 8; i++) {
        if (((ftw >> (2 * i)) & 3) != 3)
            fpu->ftw |= 1u << i;
    }
    for (int i = 0; i < 16; i++)
        uc_reg_read(uc, UC_X86_REG_XMM0 + i, fpu->xmm[i]);
    uint64_t mxcsr = 0;
    uc_reg_read(uc, UC_X86_REG_MXCSR, &mxcsr);
    fpu->mxcsr = (uint32_t)mxcsr;
    return 0;
}

static int tcg_set_fpu(struct accel *accel, const struct cpu_fpu_state *fpu)
{
    uc_engine *uc = tcg_of(accel)->uc;
    for (int i = 0; i < 8; i++) {
        uint8_t value[16];
        memcpy(value, fpu->st[i], sizeof(value));
        uc_reg_write(uc, UC_X86_REG_ST0 + i, value);
    }
    uint64_t fcw = fpu->fcw, fsw = fpu->fsw, ftw = 0;
    for (int i = 0; i < 8; i++) {
        if (!(fpu->ftw & (1u << i)))
            ftw |= 3ULL << (2 * i);
    }
    uc_reg_write(uc, UC_X86_REG_FPCW, &fcw);
    uc_reg_write(uc, UC_X86_REG_FPSW, &fsw);
    uc_reg_write(uc, UC_X86_REG_FPTAG, &ftw);
    for (int i = 0; i < 16; i++)
        uc_reg_write(uc, UC_X86_REG_XMM0 + i, fpu->xmm[i]);
    uint64_t mxcsr = fpu->mxcsr;
    uc_reg_write(uc, UC_X86_REG_MXCSR, &mxcsr);
    return 0;
}

/* ---- debugging ----------------------------------------------------------- */

/* A code hook applies only to code translated after it was added or
 * removed: drop the blocks holding the breakpoint's instruction. */
static void invalidate_breakpoint_code(struct tcg_accel *tcg, const struct accel_breakpoint *bp)
{
    /* Unicorn translates the address first, with a TLB fill outside a run:
     * on an unmapped page it would call the mapping hook, and on a page of a
     * scattered range the fill is not pointed at the page's frame (see
     * frame_for_fill), so a later load of the page used the range's
     * PROT_NONE reserve and the monitor died of SIGSEGV (gdb's breakpoint
     * for an inferior call's return can lie on the stack). No code is
     * translated from either. */
    if (bp->kind == ACCEL_BREAK_EXECUTE && is_code_page(tcg, bp->address & GUEST_PAGE_MASK))
        uc_ctl_remove_cache(tcg->uc, bp->address, bp->address + 1);
}

static void disarm_debug_hooks(struct tcg_accel *tcg)
{
    for (int i = 0; i < ACCEL_MAX_HW_BREAKPOINTS; i++) {
        struct tcg_breakpoint *breakpoint = &tcg->breakpoints[i];
        if (breakpoint->armed) {
            uc_hook_del(tcg->uc, breakpoint->hook);
            invalidate_breakpoint_code(tcg, &breakpoint->breakpoint);
            tcg->hooks_linger = true;
        }
        breakpoint->armed = false;
    }
    if (tcg->have_watchpoints) {
        uc_hook_del(tcg->uc, tcg->boundary_hook);
        tcg->drop_translations = true;
        tcg->hooks_linger = true;
    }
    tcg->have_watchpoints = false;
    tcg->watch_hit = false;
}

static int arm_debug_hooks(struct tcg_accel *tcg)
{
    for (int i = 0; i < ACCEL_MAX_HW_BREAKPOINTS; i++) {
        struct tcg_breakpoint *breakpoint = &tcg->breakpoints[i];
        if (!breakpoint->armed)
            continue;
        const struct accel_breakpoint *bp = &breakpoint->breakpoint;
        uc_err err;
        if (bp->kind == ACCEL_BREAK_EXECUTE) {
            err = uc_hook_add(tcg->uc, &breakpoint->hook, UC_HOOK_CODE, on_breakpoint, breakpoint,
                              bp->address, bp->address);
        } else {
            int type = bp->kind == ACCEL_BREAK_WRITE ? UC_HOOK_MEM_WRITE
                                                     : UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE;
            uint64_t low = bp->address >= 7 ? bp->address - 7 : 0;
            err = uc_hook_add(tcg->uc, &breakpoint->hook, type, on_watched_access, breakpoint, low,
                              bp->address + bp->length - 1);
            tcg->have_watchpoints = true;
        }
        if (err != UC_ERR_OK) {
            breakpoint->armed = false;
            return -EIO;
        }
        invalidate_breakpoint_code(tcg, bp);
    }
    if (tcg->have_watchpoints)
        tcg->drop_translations = true;
    if (tcg->have_watchpoints && uc_hook_add(tcg->uc, &tcg->boundary_hook, UC_HOOK_CODE,
                                             on_instruction_boundary, tcg, 1, 0) != UC_ERR_OK) {
        tcg->have_watchpoints = false;
        return -EIO;
    }
    return 0;
}

static int tcg_set_debug(struct accel *accel, bool single_step,
                         const struct accel_breakpoint *breakpoints, int count)
{
    struct tcg_accel *tcg = tcg_of(accel);
    if (count < 0 || count > ACCEL_MAX_HW_BREAKPOINTS)
        return -EINVAL;
    for (int i = 0; i < count; i++) {
        unsigned length = breakpoints[i].length;
        if (breakpoints[i].kind != ACCEL_BREAK_EXECUTE &&
            (length == 0 || length > 8 || (length & (length - 1))))
            return -EINVAL;
    }
    disarm_debug_hooks(tcg);
    for (int i = 0; i < count; i++) {
        tcg->breakpoints[i].breakpoint = breakpoints[i];
        tcg->breakpoints[i].armed = true;
    }
    tcg->single_step = single_step;
    /* The monitor ends a step at the syscall it stepped (it performs the
     * call and reports the stop): a resume arms again, and that step must
     * run its instruction. Kept, the pending end made the next stepi a
     * no-op (gdb stepping out of a signal handler through rt_sigreturn
     * found the pc unchanged and reported the breakpoint there again). */
    tcg->step_after_syscall = false;
    /* Blocks chained before must go (see unchained): translated again. */
    if (unchained(tcg))
        tcg->drop_translations = true;
    return arm_debug_hooks(tcg);
}

/* ---- the execution lock -------------------------------------------------- */

/* How long the engine executing may keep the lock while others wait
 * (vm->lock held): a courtesy slice while a single step waits. */
static gint64 slice_us(const struct tcg_vm *vm)
{
    return vm->steppers > 0 ? TCG_COURTESY_US : TCG_TIME_SLICE_US;
}

/* A time slice of the engine executing is over while tcg waits: asks it to
 * leave Unicorn at the next block boundary (vm->lock held). Asked again at
 * every wake-up until it does: in_emulation is set before uc_emu_start
 * begins, and a uc_emu_stop before that is lost (with 200 us slices, a
 * step once waited for ever behind a spinning thread). */
static void preempt_owner(struct tcg_vm *vm)
{
    struct tcg_accel *owner = vm->owner;
    if (!owner || !owner->in_emulation || g_get_monotonic_time() < vm->owner_since + slice_us(vm))
        return;
    owner->yield_requested = true;
    uc_emu_stop(owner->uc);
}

/* Waits for a change of the lock's state, at most until `until`, and wakes
 * in time to end the slice of the engine executing (vm->lock held). */
static void wait_for_turn_locked(struct tcg_vm *vm, gint64 until)
{
    preempt_owner(vm);
    gint64 now = g_get_monotonic_time(), slice = slice_us(vm);
    gint64 wake = vm->owner ? MAX(vm->owner_since + slice, now + MAX(slice / 10, 100))
                            : now + TCG_TIME_SLICE_US / 10;
    g_cond_wait_until(&vm->changed, &vm->lock, MIN(until, wake));
}

/*
 * Code another engine's program wrote since this engine last ran (see
 * code_written): its own translations of those pages go before it runs
 * again. Only one engine executes at a time, so none can run a stale
 * translation: a JIT compiling on one thread for code that others run (the
 * JVM's compiler threads, its patched call sites) crashed them before.
 * After more pages than the log keeps, every writable executable range is
 * dropped. (vm->lock held, on the engine's own thread.)
 */
static void drop_rewritten_code_locked(struct tcg_accel *tcg)
{
    struct tcg_vm *vm = tcg->vm;
    uint64_t logged = vm->code_logged, seen = tcg->code_log_seen;
    tcg->code_log_seen = logged;
    vm->code_log_read = logged;
    if (logged == seen)
        return;
    if (logged - seen > TCG_CODE_LOG) {
        for (guint i = 0; i < tcg->mapped->len; i++) {
            const struct tcg_range *range = &g_array_index(tcg->mapped, struct tcg_range, i);
            if ((range->prot & UC_PROT_EXEC) && (range->prot & UC_PROT_WRITE))
                uc_ctl_remove_cache(tcg->uc, range->start, range->end);
        }
        return;
    }
    for (uint64_t entry = seen; entry < logged; entry++)
        drop_code_of_frame(tcg, vm->code_log[entry % TCG_CODE_LOG]);
}

/* The monitor writes to code (memory.h's code-write hook: a read() into a
 * buffer the program runs, a debugger's int3): every engine drops its
 * translations of the frame at its next turn, the writing thread's own too
 * (no dedup: its engine may have translated the page since its last
 * logged store). */
static void code_written_by_monitor(void *opaque, uint64_t gpa)
{
    struct tcg_vm *vm = opaque;
    g_mutex_lock(&vm->lock);
    vm->code_log[vm->code_logged % TCG_CODE_LOG] = gpa;
    vm->code_logged++;
    g_mutex_unlock(&vm->lock);
}

/* exec_acquire with vm->lock held. */
static bool take_turn_locked(struct tcg_accel *tcg, bool give_up_on_kick)
{
    struct tcg_vm *vm = tcg->vm;
    g_queue_push_tail(&vm->queue, tcg);
    tcg->queued = true;
    tcg->round = vm->step_round;
    if (vm->steppers > 0)
        g_cond_broadcast(&vm->changed); /* a step may be waiting for this engine */
    while (vm->owner || g_queue_peek_head(&vm->queue) != tcg) {
        if (give_up_on_kick && accel_kick_pending(&tcg->base)) {
            g_queue_remove(&vm->queue, tcg);
            tcg->queued = false;
            tcg->round = vm->step_round;
            g_cond_broadcast(&vm->changed);
            return false;
        }
        wait_for_turn_locked(vm, G_MAXINT64);
    }
    g_queue_pop_head(&vm->queue);
    tcg->queued = false;
    tcg->round = vm->step_round;
    vm->owner = tcg;
    vm->owner_since = g_get_monotonic_time();
    tcg->yield_requested = false;
    drop_rewritten_code_locked(tcg);
    g_cond_broadcast(&vm->changed);
    return true;
}

/* Takes the VM's execution lock for tcg, first come first served (an
 * engine that just released it must not take it back before those
 * waiting). With give_up_on_kick, a kick of tcg ends the wait (false). */
static bool exec_acquire(struct tcg_accel *tcg, bool give_up_on_kick)
{
    struct tcg_vm *vm = tcg->vm;
    g_mutex_lock(&vm->lock);
    /* The stepped engine runs freely again (a continue): see below. */
    if (give_up_on_kick && vm->stepper == tcg && !vm->free_round) {
        vm->step_round++;
        vm->free_round = true;
    }
    bool taken = take_turn_locked(tcg, give_up_on_kick);
    g_mutex_unlock(&vm->lock);
    return taken;
}

/*
 * Stepping one thread. A step with the other threads resumed (gdb's
 * `vCont;s:TID;c`) must let them run, as the other cores of Linux do, but
 * the stepped engine often asks for the lock first (it was stopped first,
 * so its thread is woken first), runs its one instruction and reports; the
 * stop that follows kicks the others before they ever ran. So a step first
 * waits for the other engines it expects, and queues behind them; while it
 * waits, slices are TCG_COURTESY_US: each engine ahead runs a short turn,
 * then the step runs. Expected: the engines that asked for the lock during
 * the round of the step before (resumed with it), unless they are queued
 * or executing already, or blocked in a host call (a futex wait: not
 * runnable). None after a free round: the step that follows a continue
 * (gdb stepping over a breakpoint, with the others stopped) waits for
 * nobody. An engine the debugger keeps stopped (scheduler locking) never
 * asks, so it is waited for in one round at most, for TCG_ARRIVAL_US; one
 * resumed but not expected (the first step after a continue or a locked
 * step) that comes late is expected from the next step on. (vm->lock held.)
 */
static bool step_awaits_locked(const struct tcg_vm *vm, const struct tcg_accel *self)
{
    for (const GList *link = vm->members.head; link; link = link->next) {
        const struct tcg_accel *other = link->data;
        if (other != self && other->round + 1 == vm->step_round && !other->queued &&
            vm->owner != other && !__atomic_load_n(&other->base.in_host_call, __ATOMIC_ACQUIRE))
            return true;
    }
    return false;
}

/* exec_acquire(tcg, true) for a single step: see above. */
static bool exec_acquire_for_step(struct tcg_accel *tcg)
{
    struct tcg_vm *vm = tcg->vm;
    g_mutex_lock(&vm->lock);
    bool learned = !vm->free_round;
    vm->step_round++;
    vm->free_round = false;
    vm->stepper = tcg;
    vm->steppers++;
    gint64 until = g_get_monotonic_time() + TCG_ARRIVAL_US;
    /* A host call does not signal vm->changed: looked at again every 200 us. */
    while (learned && step_awaits_locked(vm, tcg) && !accel_kick_pending(&tcg->base) &&
           g_get_monotonic_time() < until)
        wait_for_turn_locked(vm, MIN(until, g_get_monotonic_time() + 200));
    bool taken = take_turn_locked(tcg, true);
    vm->steppers--;
    g_mutex_unlock(&vm->lock);
    return taken;
}

static void exec_release(struct tcg_accel *tcg)
{
    struct tcg_vm *vm = tcg->vm;
    g_mutex_lock(&vm->lock);
    vm->owner = NULL;
    g_cond_broadcast(&vm->changed);
    g_mutex_unlock(&vm->lock);
}

/* in_emulation changes under the lock that preempt_owner and tcg_stop hold
 * when they call uc_emu_stop. */
static void set_in_emulation(struct tcg_accel *tcg, bool in_emulation)
{
    g_mutex_lock(&tcg->vm->lock);
    tcg->in_emulation = in_emulation;
    /* The slice counts guest execution, not the remapping before it (a
     * turn of TCG_COURTESY_US could otherwise end after one block). */
    if (in_emulation)
        tcg->vm->owner_since = g_get_monotonic_time();
    g_mutex_unlock(&tcg->vm->lock);
}

static void tcg_stop(struct accel *accel)
{
    struct tcg_accel *tcg = tcg_of(accel);
    accel_kick(accel);
    /* A vCPU waiting for the execution lock sees the kick. */
    g_mutex_lock(&tcg->vm->lock);
    g_cond_broadcast(&tcg->vm->changed);
    g_mutex_unlock(&tcg->vm->lock);
    /* uc_emu_stop does nothing unless the engine is running, and a run that
     * is just starting clears it: keep asking until the vCPU leaves the
     * engine (the flag is checked between runs). A vCPU thread the host does
     * not schedule may take long to begin its run: 10 s, not 1. */
    for (int attempt = 0; attempt < 10000 && accel_kick_pending(accel); attempt++) {
        g_mutex_lock(&tcg->vm->lock);
        bool running = tcg->in_emulation;
        if (running)
            uc_emu_stop(tcg->uc);
        g_mutex_unlock(&tcg->vm->lock);
        if (!running)
            break;
        usleep(1000);
    }
}

/* Every engine remaps before it runs again: they check the generation with
 * the execution lock held, so holding it once (the running engine stopped)
 * is enough. */
static void tcg_memory_changed(struct accel *accel)
{
    struct tcg_accel *tcg = tcg_of(accel);
    exec_acquire(tcg, false);
    exec_release(tcg);
}

/* The execution lock is what keeps engines apart: holding it, the caller
 * is the only one executing (see accel.h). */
static void tcg_exclusive_begin(struct accel *accel)
{
    exec_acquire(tcg_of(accel), false);
}

static void tcg_exclusive_end(struct accel *accel)
{
    exec_release(tcg_of(accel));
}

/* ---- running ------------------------------------------------------------- */

static bool vector_has_error_code(unsigned vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 ||
           vector == 29 || vector == 30;
}

/* An exception for the monitor; raised says Unicorn raised it itself (an
 * access this file refused, EVENT_FAULT, never reaches Unicorn's exception
 * machinery). */
static void report_exception(struct tcg_accel *tcg, struct accel_exit *exit, unsigned vector,
                             uint64_t error_code, uint64_t address, bool raised)
{
    exit->reason = ACCEL_EXIT_EXCEPTION;
    exit->vector = vector;
    exit->has_error_code = vector_has_error_code(vector);
    exit->error_code = exit->has_error_code ? error_code : 0;
    exit->fault_address = vector == VECTOR_PAGE_FAULT ? address : 0;
    exit->in_kernel = current_cpl(tcg) == 0;
    if (vector == VECTOR_PAGE_FAULT)
        tcg->cr2 = address;
    /* A watched access that faulted did not happen (it is retried). */
    if (vector == VECTOR_PAGE_FAULT)
        tcg->watch_hit = false;
    /* Contributory exceptions leave Unicorn's engine unusable for the next
     * one (it would become #DF); traps such as int3 do not. A refused
     * access leaves it as it was: rebuilding the engine there threw away
     * its translations and its grown TLB at every page the guest kernel
     * had to map (11 times in a run of zstd -12 on 10 MB). */
    if (raised && (vector == 0 || vector == VECTOR_DOUBLE_FAULT || (vector >= 10 && vector <= 14)))
        tcg->engine_tainted = true;
}

static int load_engine_state(struct tcg_accel *tcg, const struct cpu_state *saved,
                             const struct cpu_fpu_state *fpu, char *message, size_t message_size);

/* Rebuilds the engine with the same state, to clear Unicorn's exception in
 * flight. */
static int rebuild_engine(struct tcg_accel *tcg, char *message, size_t message_size)
{
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    int result = tcg_get_state(&tcg->base, &state, CPU_STATE_ALL);
    if (result == 0)
        result = tcg_get_fpu(&tcg->base, &fpu);
    if (result < 0) {
        snprintf(message, message_size, "cannot save the vCPU state to rebuild the engine");
        return result;
    }
    uc_engine *old = tcg->uc;
    char *error = NULL;
    if (open_engine(tcg, &error) < 0) {
        snprintf(message, message_size, "%s", error);
        g_free(error);
        tcg->uc = old;
        return -EIO;
    }
    uc_close(old);
    return load_engine_state(tcg, &state, &fpu, message, message_size);
}

/* Loads state into tcg's fresh engine, at the privilege level of its CS.
 * The privilege level is set by an iretq run in a scratch page, as Unicorn
 * loads CS and SS only from the GDT at CPL0. */
static int load_engine_state(struct tcg_accel *tcg, const struct cpu_state *saved,
                             const struct cpu_fpu_state *fpu, char *message, size_t message_size)
{
    struct cpu_state state = *saved;
    forget_ranges(tcg);
    for (int i = 0; i < 6; i++)
        tcg->uc_selector[i] = 0;
    bool armed[ACCEL_MAX_HW_BREAKPOINTS];
    for (int i = 0; i < ACCEL_MAX_HW_BREAKPOINTS; i++)
        armed[i] = tcg->breakpoints[i].armed;
    tcg->have_watchpoints = false;
    for (int i = 0; i < ACCEL_MAX_HW_BREAKPOINTS; i++)
        tcg->breakpoints[i].armed = armed[i];
    arm_debug_hooks(tcg);

    /* A fresh engine: flat 64-bit CPL0. Set everything but the segments'
     * selectors, then let an iretq load CS and SS from the guest's GDT. */
    struct cpu_state flat = state;
    for (int i = 0; i < 6; i++) {
        state_segment(&flat, i)->selector = 0;
    }
    struct cpu_state gdt_unset = flat;
    gdt_unset.gdt.limit = 0;
    tcg_set_state(&tcg->base, &gdt_unset, CPU_STATE_ALL);
    uc_x86_mmr gdtr = {.base = state.gdt.base, .limit = state.gdt.limit};
    uc_reg_write(tcg->uc, UC_X86_REG_GDTR, &gdtr);
    tcg_set_fpu(&tcg->base, fpu);
    tcg->engine_tainted = false;
    if ((state.cs.selector & 3) == 0 || state.gdt.limit == 0)
        goto done;

    static const uint64_t scratch_address = 0xffffff8000000000ULL;
    uint64_t *scratch = g_malloc0(GUEST_PAGE_SIZE);
    uint8_t iretq[] = {0x48, 0xcf};
    memcpy(scratch, iretq, sizeof(iretq));
    uint64_t frame[5] = {state.rip, state.cs.selector, state.rflags, state.rsp, state.ss.selector};
    memcpy(&scratch[256], frame, sizeof(frame));
    uc_err err = uc_mem_map_ptr(tcg->uc, scratch_address, GUEST_PAGE_SIZE, UC_PROT_ALL, scratch);
    if (err == UC_ERR_OK) {
        uint64_t rsp = scratch_address + 256 * 8;
        uc_reg_write(tcg->uc, UC_X86_REG_RSP, &rsp);
        tcg->event = EVENT_NONE;
        /* The iretq runs alone: the fetch at its target, at CPL3 through
         * mappings made for CPL0, asks for a remap (EVENT_REMAP), which
         * ends the run. Not an exit at the target (uc_emu_start's until):
         * Unicorn caches the exit block it makes there, and every later
         * run of the engine stopped at once at that address, for ever (a
         * hang, seen 3 runs in 6 of signal_targets). Nor an instruction
         * count, which would make the next uncounted run drop every
         * translation (a memset of the 1 GiB code buffer). */
        err = emulate(tcg, scratch_address, 0);
        if (err != UC_ERR_OK && tcg->event == EVENT_REMAP)
            err = UC_ERR_OK;
        uc_mem_unmap(tcg->uc, scratch_address, GUEST_PAGE_SIZE);
    }
    g_free(scratch);
    unmap_all(tcg);
    /* The iretq read the GDT at CPL0, so the fetch that follows at CPL3 asks
     * for a remap: it is not run, and the mappings go anyway. */
    if (err == UC_ERR_FETCH_UNMAPPED && tcg->event == EVENT_REMAP)
        err = UC_ERR_OK;
    if (err != UC_ERR_OK || current_cpl(tcg) != (int)(state.cs.selector & 3)) {
        snprintf(message, message_size, "cannot return to CPL3 in the rebuilt engine: %s",
                 uc_strerror(err));
        return -EIO;
    }
done:
    for (int i = 0; i < 6; i++)
        tcg->segments[i] = *state_segment(&state, i);
    for (int i = 0; i < 6; i++) {
        uint64_t selector = 0;
        uc_reg_read(tcg->uc, segment_ids[i], &selector);
        tcg->uc_selector[i] = (uint16_t)selector;
    }
    /* The iretq used rsp; everything else is as saved. */
    tcg_set_state(&tcg->base, &state, CPU_STATE_GPRS);
    return 0;
}

/*
 * `int n` from the program: Unicorn calls the interrupt hook with rip past
 * the instruction and without the CPU's checks of the IDT gate. A gate
 * beyond the IDT's limit, not present, or of a lower privilege than the
 * program gives #GP with the IDT error code (n * 8 + 2), at the instruction:
 * what kvm gives for `int $0x80` with the guest kernel's IDT, where only the
 * int3 and into gates admit CPL3. Other vectors are exceptions the CPU
 * raised itself (the bytes before rip are not `int n`).
 */
static bool int_gate_refused(struct tcg_accel *tcg, unsigned vector, uint64_t *error_code)
{
    uint64_t rip = 0;
    uint8_t insn[2];
    uc_reg_read(tcg->uc, UC_X86_REG_RIP, &rip);
    if (current_cpl(tcg) != 3 || rip < 2 ||
        guest_read(tcg->memory, rip - 2, insn, sizeof(insn), GUEST_ACCESS_DEBUG) < 0 ||
        insn[0] != 0xcd || insn[1] != vector)
        return false;
    uc_x86_mmr idtr = {0};
    uc_reg_read(tcg->uc, UC_X86_REG_IDTR, &idtr);
    uint64_t gate = (uint64_t)vector * 16;
    uint8_t attributes = 0;
    bool admitted =
        gate + 15 <= idtr.limit &&
        guest_read(tcg->memory, idtr.base + gate + 5, &attributes, 1, GUEST_ACCESS_DEBUG) == 0 &&
        (attributes & 0x80) && ((attributes >> 5) & 3) == 3;
    if (admitted)
        return false;
    *error_code = (uint64_t)vector * 8 + 2;
    rip -= 2;
    uc_reg_write(tcg->uc, UC_X86_REG_RIP, &rip);
    return true;
}

static void describe_error(struct tcg_accel *tcg, struct accel_exit *exit, uc_err err)
{
    uint64_t rip = 0;
    uc_reg_read(tcg->uc, UC_X86_REG_RIP, &rip);
    exit->reason = ACCEL_EXIT_ERROR;
    snprintf(exit->message, sizeof(exit->message), "Unicorn stopped at rip %#llx: %s",
             (unsigned long long)rip, uc_strerror(err));
}

static bool trap_flag_set(struct tcg_accel *tcg)
{
    uint64_t rflags = 0;
    uc_reg_read(tcg->uc, UC_X86_REG_RFLAGS, &rflags);
    return (rflags & RFLAGS_TF) != 0;
}

/* HERMITUX_TEST_TCG_ENTRY_DELAY_US: a pause before each run of the engine,
 * for the test of a kick that comes just before (gdb/threads-step-kicks). */
static gulong test_entry_delay_us(void)
{
    static gulong delay = G_MAXULONG;
    if (__atomic_load_n(&delay, __ATOMIC_RELAXED) == G_MAXULONG) {
        const char *text = getenv("HERMITUX_TEST_TCG_ENTRY_DELAY_US");
        __atomic_store_n(&delay, text ? (gulong)strtoul(text, NULL, 10) : 0, __ATOMIC_RELAXED);
    }
    return __atomic_load_n(&delay, __ATOMIC_RELAXED);
}

static int run_engine(struct accel *accel, struct accel_exit *exit)
{
    struct tcg_accel *tcg = tcg_of(accel);
    uc_engine *uc;
    memset(exit, 0, sizeof(*exit));
    exit->debug_slot = -1;

    bool trap_after_syscall = tcg->trap_after_syscall;
    tcg->trap_after_syscall = false;
    if (tcg->step_after_syscall) {
        /* The stepped instruction was a syscall, already performed. */
        tcg->step_after_syscall = false;
        exit->reason = ACCEL_EXIT_DEBUG;
        return 0;
    }
    if (trap_after_syscall && trap_flag_set(tcg)) {
        /* The syscall is done: its single-step trap, unless the debugger
         * that set TF for its own step took it away meanwhile. */
        report_exception(tcg, exit, VECTOR_DEBUG, 0, 0, true);
        return 0;
    }
    if (tcg->engine_tainted) {
        /* It runs an instruction: engines never execute at once. */
        exec_acquire(tcg, false);
        int result = rebuild_engine(tcg, exit->message, sizeof(exit->message));
        exec_release(tcg);
        if (result < 0)
            return result;
    }
    uc = tcg->uc;

    int host_bus_retries = 0;
    bool step_begins = tcg->single_step;
    for (;;) {
        bool taken = step_begins ? exec_acquire_for_step(tcg) : exec_acquire(tcg, true);
        step_begins = false;
        if (!taken) {
            accel_take_kick(accel);
            exit->reason = ACCEL_EXIT_STOPPED;
            return 0;
        }
        uint64_t generation = guest_memory_generation(tcg->memory);
        if (generation != tcg->generation) {
            unmap_changed(tcg);
            tcg->generation = generation;
        }
        bool step = tcg->single_step;
        /* Unicorn counts instructions with a hook in every translated
         * block: code translated for stepping must not be run normally
         * (too slow), nor code translated without it stepped. */
        if (step != tcg->stepping_translations) {
            tcg->drop_translations = true;
            tcg->stepping_translations = step;
        }
        if (tcg->drop_translations) {
#if TCG_INTERPOSE
            if (code_buffer_half_full(tcg))
                uc_ctl_flush_tlb(uc); /* UC_CTL_TB_FLUSH: see tb_flush_x86_64 */
            else
#endif
                drop_all_translations(tcg);
            tcg->drop_translations = false;
        }
        /* in_emulation before the last look at the kick: a tcg_stop that
         * finds it clear knows this look is still to come; one that finds
         * it set stops the engine. The other order lost a kick that came
         * between the two (the vCPU then ran on, the debugger's all-stop
         * waiting for it for ever: 1 session in 20 of gdb/threads-step). */
        set_in_emulation(tcg, true);
        if (accel_take_kick(accel)) {
            set_in_emulation(tcg, false);
            exec_release(tcg);
            exit->reason = ACCEL_EXIT_STOPPED;
            return 0;
        }
        /* A test hook: widens the window between that look and the run. */
        if (test_entry_delay_us())
            g_usleep(test_entry_delay_us());
        uint64_t rip = 0, rcx = 0;
        uc_reg_read(uc, UC_X86_REG_RIP, &rip);
        if (step) /* to tell a step that ran from one a kick stopped (below) */
            uc_reg_read(uc, UC_X86_REG_RCX, &rcx);
        /* The reported breakpoint is skipped once only when resuming right
         * at it; a step or a change of rip has already moved past it. */
        if (tcg->skip_breakpoint && (rip != tcg->skip_breakpoint_rip || step))
            tcg->skip_breakpoint = false;
        tcg->event = EVENT_NONE;
        tcg->watch_hit = false;
        tcg->counted_run = step;
        tcg->counted_run_rip = rip;
        uc_err err = emulate(tcg, rip, step ? 1 : 0);
        tcg->counted_run = false;
        /* A counted run leaves its count hook to the next uncounted one. */
        tcg->hooks_linger = step;
        set_in_emulation(tcg, false);
        exec_release(tcg);

        switch (tcg->event) {
        case EVENT_SYSCALL: {
            /* Unicorn's syscall only calls the hook: do what the CPU does
             * to rcx and r11, and resume past the instruction. */
            uint64_t next = tcg->syscall_rip + 2, rflags = 0;
            uc_reg_read(uc, UC_X86_REG_RFLAGS, &rflags);
            rflags &= ~RFLAGS_RF;
            uc_reg_write(uc, UC_X86_REG_RIP, &next);
            uc_reg_write(uc, UC_X86_REG_RCX, &next);
            uc_reg_write(uc, UC_X86_REG_R11, &rflags);
            exit->reason = ACCEL_EXIT_SYSCALL;
            tcg->step_after_syscall = step;
            return 0;
        }
        case EVENT_INTERRUPT: {
            uint64_t error_code = 0;
            if (int_gate_refused(tcg, tcg->event_vector, &error_code))
                report_exception(tcg, exit, VECTOR_GENERAL_PROTECTION, error_code, 0, true);
            else
                report_exception(tcg, exit, tcg->event_vector, 0, 0, true);
            return 0;
        }
        case EVENT_FAULT:
            /* A file's page past its end that the file covers again (it
             * grew since, through whatever process): retried. */
            if (tcg->event_vector == VECTOR_PAGE_FAULT &&
                (tcg->event_error_code & (PF_USER | PF_PRESENT)) == PF_USER &&
                guest_file_page_revive(tcg->memory, tcg->event_address))
                continue;
            report_exception(tcg, exit, tcg->event_vector, tcg->event_error_code,
                             tcg->event_address, false);
            return 0;
        case EVENT_HOST_BUS:
            /* None found: the file grew back meanwhile, or the cause is
             * another, which a few retries tell. */
            if (host_bus_retries++ < 3) {
                guest_file_pages_lost(tcg->memory);
                continue;
            }
            exit->reason = ACCEL_EXIT_ERROR;
            snprintf(exit->message, sizeof(exit->message),
                     "host SIGBUS on guest-physical %#llx, not a file cut short",
                     (unsigned long long)tcg->event_address);
            return 0;
        case EVENT_REMAP:
            unmap_all(tcg);
            continue;
        case EVENT_BREAKPOINT:
        case EVENT_WATCHPOINT:
            exit->reason = ACCEL_EXIT_DEBUG;
            exit->debug_slot = tcg->event_slot;
            if (tcg->event == EVENT_BREAKPOINT) {
                tcg->skip_breakpoint = true;
                uc_reg_read(uc, UC_X86_REG_RIP, &tcg->skip_breakpoint_rip);
            }
            return 0;
        case EVENT_PANIC: {
            uint64_t reason = 0;
            uc_reg_read(uc, UC_X86_REG_RDI, &reason);
            exit->reason = ACCEL_EXIT_HALT;
            snprintf(exit->message, sizeof(exit->message), "guest kernel panic: %s",
                     reason == HX_PANIC_BAD_BOOT_INFO ? "bad boot information" : "unknown reason");
            return 0;
        }
        case EVENT_ERROR:
            exit->reason = ACCEL_EXIT_ERROR;
            snprintf(exit->message, sizeof(exit->message), "%s", tcg->event_message);
            return 0;
        case EVENT_NONE:
            break;
        }

        if (err == UC_ERR_INSN_INVALID) {
            report_exception(tcg, exit, VECTOR_INVALID_OPCODE, 0, 0, true);
            return 0;
        }
        if (err != UC_ERR_OK) {
            describe_error(tcg, exit, err);
            return 0;
        }
        if (tcg->have_watchpoints && tcg->watch_hit) {
            exit->reason = ACCEL_EXIT_DEBUG;
            exit->debug_slot = tcg->watch_slot;
            return 0;
        }
        if (step) {
            /* A kick that stopped the engine before the stepped instruction
             * ran (a signal for the program arriving, another thread's
             * stop) ends no step: reported as one, gdb saw the unmoved pc of
             * its breakpoint and told it as hit again (detach-on-fork-off,
             * when the child's SIGCHLD came during the step). The kick's
             * stop then delivers the signal before any instruction, as
             * Linux does. An instruction that leaves rip as it was (a jump
             * to itself, a turn of a rep loop, which moves rcx) may look
             * the same: with a kick pending it is told as that kick's stop,
             * which changes nothing it did. */
            uint64_t rip_after = 0, rcx_after = 0;
            uc_reg_read(uc, UC_X86_REG_RIP, &rip_after);
            uc_reg_read(uc, UC_X86_REG_RCX, &rcx_after);
            if (rip_after == rip && rcx_after == rcx && accel_take_kick(accel)) {
                exit->reason = ACCEL_EXIT_STOPPED;
                return 0;
            }
            exit->reason = ACCEL_EXIT_DEBUG;
            return 0;
        }
        if (accel_take_kick(accel)) {
            exit->reason = ACCEL_EXIT_STOPPED;
            return 0;
        }
        if (tcg->yield_requested)
            continue; /* its time slice is over: queue again */
        /* A stop meant for the run before (tcg_stop saw that kick still
         * pending, and the vCPU had taken it and started this run when its
         * uc_emu_stop came): `hlt` is the guest kernel's only, so a run that
         * ended in user mode goes on (taken for a halt, it ended a program
         * under a timer's signals, 1 run in 8 of trap_storm). */
        if (current_cpl(tcg) == 3)
            continue;
        /* The run ended by itself: `hlt` in the guest kernel. */
        exit->reason = ACCEL_EXIT_HALT;
        snprintf(exit->message, sizeof(exit->message), "guest kernel halted");
        return 0;
    }
}

static int tcg_run(struct accel *accel, struct accel_exit *exit)
{
    struct tcg_accel *tcg = tcg_of(accel);
    if (!accel->thread_known)
        accel_bind_thread(accel);
    int result = run_engine(accel, exit);
    /* Only a stop for a syscall is sure to leave the program's code alone. */
    if (result < 0 || exit->reason != ACCEL_EXIT_SYSCALL)
        tcg->drop_translations = true;
    return result;
}

/* A new engine over the same guest RAM, loaded with parent's whole state. */
static struct accel *tcg_create_vcpu(struct accel *parent_accel, char **error)
{
    struct tcg_accel *parent = tcg_of(parent_accel);
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    if (tcg_get_state(parent_accel, &state, CPU_STATE_ALL) < 0 ||
        tcg_get_fpu(parent_accel, &fpu) < 0) {
        *error = g_strdup("cannot read the parent vCPU's state");
        return NULL;
    }
    struct tcg_accel *tcg = take_spare(parent->vm, &state);
    if (tcg) {
        /* At the parent's privilege level with its segments already: no
         * iretq to get there (load_engine_state). One that refuses the
         * state is closed, not kept. */
        if (tcg_set_state(&tcg->base, &state, CPU_STATE_ALL) == 0 &&
            tcg_set_fpu(&tcg->base, &fpu) == 0)
            return &tcg->base;
        close_engine(tcg);
    }
    tcg = tcg_new_engine(parent->memory, parent->vm, error);
    if (!tcg)
        return NULL;
    char message[200];
    exec_acquire(tcg, false);
    int result = load_engine_state(tcg, &state, &fpu, message, sizeof(message));
    exec_release(tcg);
    if (result < 0) {
        *error = g_strdup(message);
        tcg_destroy(&tcg->base);
        return NULL;
    }
    return &tcg->base;
}

const struct accel_ops tcg_accel_ops = {
    .name = "tcg",
    .probe = tcg_probe,
    .create = tcg_create,
    .create_vcpu = tcg_create_vcpu,
    .destroy = tcg_destroy,
    .adopt_after_fork = tcg_adopt_after_fork,
    .memory_changed = tcg_memory_changed,
    .exclusive_begin = tcg_exclusive_begin,
    .exclusive_end = tcg_exclusive_end,
    .capabilities = tcg_capabilities,
    .run = tcg_run,
    .stop = tcg_stop,
    .get_state = tcg_get_state,
    .set_state = tcg_set_state,
    .get_fpu = tcg_get_fpu,
    .set_fpu = tcg_set_fpu,
    .get_xsave = NULL, /* no AVX or XSAVE in Unicorn 2.0.1's TCG: see "cpuid" */
    .set_xsave = NULL,
    .cpuid = tcg_guest_cpuid,
    .translate = NULL,
    .set_debug = tcg_set_debug,
};
