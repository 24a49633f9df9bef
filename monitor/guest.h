/*
 * monitor/guest.h — one VM set up to run one program: guest memory with the
 * kernel, the program, its stack and heap, the vCPU at the kernel's entry,
 * and the Linux process state. Internal to monitor/ (and the fault report
 * and GDB stub, which need to see the same guest).
 */
#ifndef HERMITUX_MONITOR_GUEST_H
#define HERMITUX_MONITOR_GUEST_H

#include "accel/accel.h"
#include "linux/linux.h"
#include "loader/loader.h"
#include "memory/memory.h"
#include "monitor/monitor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the program's dynamic memory goes. */
#define GUEST_STACK_TOP  GUEST_USER_TOP
#define GUEST_STACK_SIZE (8ULL << 20)
#define GUEST_MMAP_LOW   0x100000000ULL /* the heap may grow to here */
#define GUEST_VDSO_AREA  (64ULL << 10)  /* below the stack guard: vDSO, clock page, guard */
/* The break of a shared object run as the program (ld.so itself), which
 * lies high: Linux's ELF_ET_DYN_BASE. */
#define GUEST_SHARED_OBJECT_BRK 0x555555554000ULL

struct guest {
    struct guest_memory *memory;
    const struct accel_ops *accel_ops;
    struct accel *accel;
    struct elf_image kernel;
    struct elf_image program;
    struct elf_image interpreter; /* the program's PT_INTERP, path NULL if none */
    struct linux_process *process;
    uint64_t stack_low, stack_top;
    uint64_t initial_rsp; /* argc, as the program's entry sees it */
    /* The auxiliary vector as the loader built it (AT_NULL included), kept
     * for debuggers (qXfer:auxv) and core files (NT_AUXV). */
    uint8_t *auxv;
    size_t auxv_length;
    bool verbose;
    FILE *strace_file;                     /* --strace: stderr, or the FILE opened for it */
    const struct monitor_options *options; /* what it was built from */
    bool forked_child;                     /* a fork made this process: it has no main loop */
    uint64_t vdso_base;                    /* AT_SYSINFO_EHDR: the vDSO's ELF header in the guest */
    struct hx_vclock *vclock;              /* its clock page, as the host sees it */
    /* How the program's vCPU is kicked when a signal becomes pending for it
     * (set by the run; NULL: a plain accelerator stop). */
    void (*kick)(void *opaque);
    void *kick_opaque;
    /* Stops (hold) or restarts taking the signals sent to the monitor
     * (linux_host's hold_signals); set by the run, NULL: none taken. */
    void (*hold_signals)(void *opaque, bool hold);
    void *hold_signals_opaque;
    /* With a debugger: before the host execve of a guest execve, the session
     * to hand over (NULL: none); cancel after a failed execve. From the
     * calling vCPU thread. */
    char *(*exec_handover)(void *opaque, bool cancel);
    void *exec_handover_opaque;
    /* The run's debugger (NULL without --gdb): a fork's child may wait for
     * gdb's word (monitor/debug.h, debugger_fork_prepare). */
    struct debugger *debugger;
    /* monitor/tls.c's cache, on the debugger's thread: the libc file whose
     * `_thread_db_*` symbols were last looked up (the host's path), and
     * their values (0: absent). */
    char *tls_libc_path;
    uint64_t tls_libc_symbols[4];
};

/*
 * Builds everything from the options: guest RAM, the kernel and the program
 * loaded, the initial stack, the accelerator with its vCPU at the kernel's
 * first instruction. Returns NULL with a one-line *error (g_free it), having
 * released what it built.
 */
struct guest *guest_create(const struct monitor_options *options, char **error);

void guest_destroy(struct guest *guest);
/* What of guest_destroy others can see (the program's files, pipes and
 * sockets closed, its strace file written), leaving the VM and guest RAM to
 * the end of the process: for a monitor about to exit through
 * monitor_exit_as_program with teardown_left. */
void guest_release_for_exit(struct guest *guest);

/* A vCPU's registers and x87/SSE state (FXSAVE layout) in the personality's
 * terms (struct linux_cpu's accessors). 0 or a negative errno. */
int guest_cpu_get_regs(struct guest *guest, struct accel *vcpu, struct linux_regs *regs);
int guest_cpu_set_regs(struct guest *guest, struct accel *vcpu, const struct linux_regs *regs);
int guest_cpu_get_fpu(struct guest *guest, struct accel *vcpu, uint8_t fxsave[LINUX_FXSAVE_SIZE]);
int guest_cpu_set_fpu(struct guest *guest, struct accel *vcpu,
                      const uint8_t fxsave[LINUX_FXSAVE_SIZE]);
/* The XSAVE state (struct linux_cpu's xstate accessors, accel.h's
 * get_xsave): its size and components, 0 when the accelerator has none. */
size_t guest_cpu_xstate_size(struct guest *guest, struct accel *vcpu, uint64_t *features);
/* The address of a thread-local at offset in the TLS block of the module
 * whose link_map is at lm (gdb's qGetTLSAddr), for the thread whose thread
 * pointer (fs base) is given (monitor/tls.c). -ENOTSUP where it cannot be
 * known (musl's dynamic programs), -EAGAIN while the block is not
 * allocated, -EINVAL for a module without TLS. */
int guest_tls_address(struct guest *guest, uint64_t thread_pointer, uint64_t offset, uint64_t lm,
                      uint64_t *address);
int guest_cpu_get_xstate(struct guest *guest, struct accel *vcpu, uint8_t *area, size_t size);
int guest_cpu_set_xstate(struct guest *guest, struct accel *vcpu, const uint8_t *area, size_t size);

/* ---- processes (fork.c): struct linux_host for the personality ---- */
/* The vCPU of the thread making a fork, set by that thread before the
 * syscall (a thread's own, so two threads forking at once, and threads that
 * are not forking, never see each other's); in a fork's child, the child's
 * new vCPU. Not guest->accel: that is the main thread's, which a fork from
 * another thread must neither copy nor replace in the parent. */
extern __thread struct accel *guest_forking_accel;
/* Set in a fork's child on the forking thread (the accelerator may be the
 * same object there: adopt_after_fork); the syscall's caller takes it. */
extern __thread bool guest_forked_child;
long monitor_guest_fork(void *opaque, uint64_t child_stack);
long monitor_guest_exec(void *opaque, const char *path, char *const argv[], char *const envp[],
                        int state_fd);
void monitor_guest_hold_signals(void *opaque, bool hold);

/* Ends this monitor the way the program ended, so that a parent's wait sees
 * what it would natively: by the program's fatal signal (raised on itself),
 * else exit(status). The monitor never dumps a host core of its own
 * (monitor_dump_core wrote the program's): the wait status has no
 * WCOREDUMP. core_limit is unused. With teardown_left (the VM and guest RAM
 * still there: guest_release_for_exit), a process that shares the
 * monitor's memory and nothing else visible frees them after the monitor is
 * gone, so the parent's wait returns before that work, as natively (the
 * kernel's teardown of a VM: ~0.9 ms of a 6 ms hello on PVM). Does not
 * return. */
void monitor_exit_as_program(int status, int signal, uint64_t core_limit, bool teardown_left)
    __attribute__((noreturn));

/* Whether monitor_exit_as_program may leave the teardown to another process:
 * not under a sanitizer, whose checks at exit need the monitor's own, and
 * not when the program's memory is shared with the world outside (a System
 * V segment, whose attachment count and IPC_RMID others see, or a file
 * mapped MAP_SHARED): those are let go by the monitor's exit, as natively. */
bool monitor_teardown_may_be_left(const struct guest *guest);

/* ---- core_file.c ---- */
struct report_thread;

/* The program died of signal with threads (the dying one first): when
 * signal dumps core, writes the program's core file to --core FILE, else
 * where kernel.core_pattern says when it is a path and the program's
 * RLIMIT_CORE allows (nothing for a "|program" pattern; -v says why). */
void monitor_dump_core(const struct monitor_options *options, struct guest *guest, int signal,
                       const struct report_thread *threads, size_t count);

/* ---- vdso.c ---- */
struct hx_vclock;
struct vclock_keeper;

/* Lays the vDSO out just under `below` (the stack's guard page) and its
 * clock page under it, within GUEST_VDSO_AREA; sets vdso_base and vclock. 0, or a negative errno
 * with a one-line *error. */
int guest_vdso_install(struct guest *guest, uint64_t below, char **error);

/* Keeps the clock page in step with the host's clocks from the main loop
 * (default GMainContext) until guest_vclock_stop. NULL without a vDSO. */
struct vclock_keeper *guest_vclock_start(struct guest *guest);
void guest_vclock_stop(struct vclock_keeper *keeper);

/* In a forked child, where nothing keeps the page (the keeper is the
 * parent's main loop): the vDSO falls back to syscalls, so the child's
 * clocks stay the host's however long it runs. */
void guest_vclock_forget_keeper(struct guest *guest);

/* The kernel image path that goes with this binary: next to it in the build
 * tree, else the installed one. */
char *guest_default_kernel_path(void);

#ifdef __cplusplus
}
#endif

#endif
