/*
 * linux/ — the Linux x86-64 syscall personality, written once in the monitor
 * and shared by every accelerator.
 *
 * A `struct linux_process` is the Linux-side state of the one program in the
 * guest: its file descriptor table (guest fd numbers mapped onto host fds, so
 * the program can never touch the monitor's own), brk, the mmap area, umask,
 * the recorded signal state, and its exit status. Every guest pointer and
 * length is checked through memory/ before use; a bad one gives -EFAULT to the
 * program, never a monitor crash.
 */
#ifndef HERMITUX_LINUX_H
#define HERMITUX_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct guest_memory;

/* The program's general registers as a signal frame saves them. */
struct linux_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
};

/* The x87/SSE state in FXSAVE's 512-byte layout. */
#define LINUX_FXSAVE_SIZE 512

/*
 * What the syscall layer needs from a thread's vCPU: the FS/GS bases
 * (arch_prctl), the registers and the FPU (signal frames), and a kick. The
 * register calls are made from within linux_syscall or linux_signal_*, on the
 * thread's own host thread; they return 0 or a negative errno. kick may be
 * called from any host thread.
 */
struct linux_cpu {
    void *opaque;
    uint64_t (*get_fs_base)(void *opaque);
    void (*set_fs_base)(void *opaque, uint64_t base);
    uint64_t (*get_gs_base)(void *opaque);
    void (*set_gs_base)(void *opaque, uint64_t base);
    int (*get_regs)(void *opaque, struct linux_regs *regs);
    int (*set_regs)(void *opaque, const struct linux_regs *regs);
    int (*get_fpu)(void *opaque, uint8_t fxsave[LINUX_FXSAVE_SIZE]);
    int (*set_fpu)(void *opaque, const uint8_t fxsave[LINUX_FXSAVE_SIZE]);
    /* The whole user FP state as XSAVE stores it (standard format: the
     * FXSAVE image, the header, AVX and later components at their CPUID
     * offsets). xstate_size gives its size and the components it holds
     * (XCR0), or 0 when the vCPU has no XSAVE (a CPU without AVX): signal
     * frames are then the FXSAVE image alone. NULL members: no XSAVE. */
    size_t (*xstate_size)(void *opaque, uint64_t *features);
    int (*get_xstate)(void *opaque, uint8_t *area, size_t size);
    int (*set_xstate)(void *opaque, const uint8_t *area, size_t size);
    /* Makes the vCPU leave the guest or a blocking host call soon, and keeps
     * doing so until linux_signal_deliver runs: a signal became pending. */
    void (*kick)(void *opaque);
};

/*
 * What processes need from the monitor (linux/ cannot build a VM). A NULL
 * member makes the calls that need it fail with ENOSYS (unit tests).
 */
/* What the program's cpuid gives for leaf and subleaf (regs: eax, ebx,
 * ecx, edx). */
typedef void linux_cpuid_fn(void *opaque, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

struct linux_host {
    void *opaque;
    /* A host fork() of the monitor, on the calling vCPU thread. In the child
     * the monitor has built a VM of its own over the copy-on-write guest RAM,
     * its vCPU in the state of the caller's at this syscall (rsp =
     * child_stack unless 0), and dropped what stays with the parent (the
     * debugger); the syscall's result goes to rax as usual. Returns as
     * fork(): the child's pid, 0 in the child, or -errno. */
    long (*fork)(void *opaque, uint64_t child_stack);
    /* Replaces the monitor by a new hermitux-run (host execve) running the
     * host file path with argv and envp; state_fd is the personality's
     * carried state, for the new monitor's linux_config.exec_state_fd.
     * Returns only on failure: -errno, with nothing changed. */
    long (*exec)(void *opaque, const char *path, char *const argv[], char *const envp[],
                 int state_fd);
    /* Before an execve collects the pending signals (hold true): signals
     * sent to the monitor from then on stay pending in the host and cross
     * the host execve to the new monitor, instead of being posted to a
     * program about to be replaced. hold false: the exec failed, they are
     * taken again. NULL: nothing to hold (tests). */
    void (*hold_signals)(void *opaque, bool hold);
    /* The program's cpuid, which /proc/cpuinfo's flags follow; any thread.
     * NULL: /proc/cpuinfo is the host's. */
    linux_cpuid_fn *cpuid;
};

struct linux_config {
    const char *exe_path; /* absolute host path: readlink("/proc/self/exe") */
    /* The path the program was started by, before symbolic links: its name
     * (comm, /proc/PID/stat) is this one's last part, as Linux names a
     * process after execve's filename (python3, not python3.11). NULL:
     * exe_path's. */
    const char *started_as;
    uint64_t brk_start; /* first byte of the heap (page aligned) */
    uint64_t mmap_low;  /* the mmap area is [mmap_low, mmap_high) */
    uint64_t mmap_high;
    bool verbose;  /* log each unknown syscall once, on stderr */
    bool net_none; /* --net=none: AF_INET and AF_INET6 sockets are refused (EACCES) */
    /* --root DIR: the host directory the program sees as / (NULL: the
     * host's own); the program starts in it unless an execve carries a cwd. */
    const char *root;
    /* The initial stack pointer (argc): /proc/self/cmdline, environ and
     * auxv are read from what it points at. 0 when there is none (tests). */
    uint64_t initial_stack;
    const uint8_t *auxv; /* the auxv the program started with (copied) */
    size_t auxv_length;
    /* Host fds that become the program's 0, 1 and 2 (normally 0, 1, 2; -1
     * for one the monitor was started without). */
    int stdin_fd, stdout_fd, stderr_fd;
    /* Host fds above 2 that become the program's fds of the same numbers
     * (ascending): the process takes them over and closes these numbers,
     * so the program's close is the last one (a pipe's reader sees EOF).
     * Numbers from LINUX_MAX_FDS on are left alone (said with -v). */
    const int *inherited_fds;
    size_t inherited_count;
    /* --strace: trace every syscall here in strace's format (NULL: off).
     * The caller keeps it open for the process's life. */
    FILE *strace_file;
    struct linux_host host;
    /* After an execve: the state the old program's personality carried
     * (fd table, signal mask and ignored signals, limits); read and closed
     * by linux_process_create, and the std*_fd above are not used. */
    bool has_exec_state;
    int exec_state_fd;
    /* Answer other monitors about this program's /proc/PID (its argv, fds,
     * directory, maps) on a socket named by its pid, so that ps, lsof and
     * the like in another guest process see the program, not this monitor.
     * The monitor sets it; tests creating many processes in one do not. */
    bool serve_peers;
};

/* The syscall number and its six arguments, as the ABI passes them
 * (rax, rdi, rsi, rdx, r10, r8, r9). */
struct linux_syscall {
    uint64_t number;
    uint64_t args[6];
};

enum linux_outcome {
    LINUX_CONTINUE,    /* return *result to the program and resume it */
    LINUX_EXIT,        /* the program exited: see linux_exit_status */
    LINUX_THREAD_EXIT, /* this thread ended (exit); the others go on */
    LINUX_RESUME,      /* the registers were replaced (rt_sigreturn, a signal handler
                        * entered, a restarted call): resume the vCPU as it is */
};

struct linux_process;
struct linux_thread;

/* Takes the signal dispositions (SIG_IGN) and signal mask the monitor was
 * started with, which linux_process_create gives the program as execve
 * would: call once from the main thread before the monitor installs
 * signal handlers or blocks signals of its own. Without it the process
 * takes them as they are when it is created. */
void linux_signal_take_inherited(void);

/* Creates the process state and its main thread, whose vCPU is cpu (NULL in
 * tests: FS/GS bases are then only recorded). The program's fds 0-2 are dups
 * of the host fds named in config. Returns NULL with a one-line *error
 * (g_free it). */
struct linux_process *linux_process_create(struct guest_memory *memory,
                                           const struct linux_config *config,
                                           const struct linux_cpu *cpu, char **error);

/* The file at host_path (the program, its interpreter, a file it maps) is
 * named in /proc/PID/maps by the program's path for it (host_path, inside
 * --root made relative to it). host_fd, if not -1, is an fd of it, and
 * host_path what its link reads: a memfd or a file removed since keeps that
 * name ("/memfd:NAME (deleted)", "/x (deleted)"), as on Linux. Nothing
 * happens if it cannot be stat'ed. */
void linux_note_mapped_file(struct linux_process *process, int host_fd, const char *host_path);

/* --root: the host path `path` names inside the directory root (absolute
 * or relative to it, symlinks and ".." kept inside it), for the monitor's
 * own loading of the program and its interpreter. NULL and *error (errno)
 * if it does not resolve. */
char *linux_root_resolve(const char *root, const char *path, int *error);

/* PROGRAM as the kernel's execve takes it: a `#!` script (executable, as
 * execve wants it) becomes its interpreter, followed to an ELF file as
 * deep as Linux does; *argv (NULL-terminated, g_strdup'ed, replaced) gets
 * the interpreter, its optional argument and the script's path in place of
 * its argv[0]. root: --root's directory, where interpreters are looked up;
 * NULL for none. *path (g_malloc'ed) becomes the ELF file. 0, or the errno
 * execve would give (-ENOEXEC for a file that is neither); then *path and
 * *argv are as they were. */
long linux_exec_follow_scripts(const char *root, char **path, char ***argv);

/* Closes every host fd the program had and frees the state. NULL accepted. */
void linux_process_destroy(struct linux_process *process);

/* What clone asks of the monitor for a new thread. */
struct linux_clone_request {
    uint64_t stack; /* the child's rsp; 0: the parent's */
    bool set_tls;   /* CLONE_SETTLS: the child's FS base is tls */
    uint64_t tls;
};

/* The monitor's side of threads (monitor/run.c). Without it (tests) clone
 * of a thread fails with EAGAIN. */
struct linux_thread_host {
    void *opaque;
    /* Creates child's vCPU as a copy of parent's (rax = 0, the request
     * applied) and the host thread that will run it; sets child's tid (the
     * host thread's tid) and vCPU accessors (linux_thread_set_cpu). The
     * child does not run before start(). 0 or a negative errno. On parent's
     * thread. */
    int (*spawn)(void *opaque, struct linux_thread *parent, struct linux_thread *child,
                 const struct linux_clone_request *request);
    /* Lets a spawned child run. */
    void (*start)(void *opaque, struct linux_thread *child);
    /* A syscall of thread removed or narrowed a mapping while other threads
     * run: returns once no vCPU can use the old translations (the map is
     * still locked). */
    void (*memory_changed)(void *opaque, struct linux_thread *thread);
    /* Brackets a read-modify-write of guest memory the program may be
     * changing with its own atomic instructions at the same time (a futex
     * word): while begin holds, no vCPU executes (accel.h, exclusive_begin).
     * On thread's own host thread; NULL when the vCPUs' atomics are the
     * host's. */
    void (*exclusive)(void *opaque, struct linux_thread *thread, bool begin);
    int max_threads; /* --max-threads: clone fails with EAGAIN beyond */
};

/* Installs the monitor's side of threads; before the program runs. */
void linux_process_set_thread_host(struct linux_process *process,
                                   const struct linux_thread_host *host);

/* The vCPU accessors of a thread (spawn sets a child's). */
void linux_thread_set_cpu(struct linux_thread *thread, const struct linux_cpu *cpu);
void linux_thread_set_cpu_opaque(struct linux_thread *thread, void *opaque);

/* A thread's tid (spawn sets a child's: its host thread's), and the
 * monitor's per-thread pointer (its vCPU). */
int linux_thread_tid(const struct linux_thread *thread);
void linux_thread_set_tid(struct linux_thread *thread, int tid);
/* The host thread that runs the thread's vCPU, when it is not the one its
 * tid names (the program's first thread: its tid is the pid): the host's
 * CPU clock of that thread is the thread's. */
void linux_thread_set_host_tid(struct linux_thread *thread, int host_tid);
void linux_thread_set_host_data(struct linux_thread *thread, void *data);
void *linux_thread_host_data(const struct linux_thread *thread);

/* The thread's name (prctl PR_SET_NAME, the program's name at first). */
const char *linux_thread_name(const struct linux_thread *thread);

/* What the thread's last syscall returned before the signal rules turned it
 * into what the program sees: Linux's restart code (-512 ERESTARTSYS, -513,
 * -514, -516) for a call a stop or signal interrupted, as a debugger sees
 * rax at a ptrace stop there. Cleared by the reading: 0 when no call was
 * made since the last one. */
long linux_thread_take_syscall_value(struct linux_thread *thread);

/* Calls visit for every live thread, in creation order, with the thread
 * list locked (visit must not create or end threads). */
void linux_thread_foreach(struct linux_process *process,
                          void (*visit)(struct linux_thread *thread, void *opaque), void *opaque);

/* In a fork's child, only the forking thread goes on. */
void linux_thread_after_fork(struct linux_thread *survivor);

/* Thread's vCPU thread leaves the run because the program ends (exit_group,
 * its last thread's exit, a fatal signal, a fault, a kill): what Linux's
 * do_exit does for every task of the group, its robust list walked (each
 * lock it holds marked FUTEX_OWNER_DIED and a waiter woken, in another
 * process too when the lock is in shared memory). On the thread's own host
 * thread, before its vCPU goes; a thread that ended on its own (exit) had
 * its list walked then, and a list is walked once. */
void linux_thread_exit_robust_list(struct linux_thread *thread);

/* A thread that is not the main one is done, its vCPU about to go (exit,
 * or exit_group ending it with the others): it leaves the thread list, so
 * no signal picks or kicks it from then on. Before destroying the vCPU. */
void linux_thread_unlist(struct linux_thread *thread);

/* Frees a thread that ended (LINUX_THREAD_EXIT), once its host thread no
 * longer uses it. Not the main thread (freed with the process). */
void linux_thread_free(struct linux_thread *thread);

/* A fault the program cannot survive (signal, its default action) in
 * thread: when thread is a process sharing the program's memory (clone
 * with CLONE_VM, without CLONE_THREAD), it dies of it alone, as on Linux,
 * and true is returned (its thread has ended: LINUX_THREAD_EXIT); false
 * for the program's own threads, whose fault ends the run. */
bool linux_vm_child_fatal(struct linux_thread *thread, int signal);

/* The thread that started the program. */
struct linux_thread *linux_main_thread(struct linux_process *process);

/* The process a thread belongs to. */
struct linux_process *linux_thread_process(struct linux_thread *thread);

/*
 * Performs one syscall for thread, on the host thread that owns it. On LINUX_CONTINUE, *result is
 * the value for rax (a negative errno on failure, as the kernel returns it). Never blocks forever
 * on its own account: a blocking host call (read on a terminal, nanosleep) returns -EINTR when the
 * vCPU thread gets a signal.
 */
enum linux_outcome linux_syscall(struct linux_thread *thread, const struct linux_syscall *call,
                                 uint64_t *result);

/* Whether number has a handler (else linux_syscall answers ENOSYS at once). */
bool linux_syscall_implemented(uint64_t number);

/*
 * The syscall ring's side (monitor/ring.c): a call a thread posted while its
 * vCPU keeps running, made on another host thread. linux_ring_allowed says
 * whether call may be made so: it never blocks, needs none of the vCPU's
 * registers, none of the calling host thread's own state, and changes no
 * mapping (read, write and their kin on regular files, sendfile from a
 * file into a pipe, lseek, fstat, the getpid family), and no --strace is
 * on. linux_ring_syscall then makes it as linux_syscall would and sets
 * *result, the value for rax; false when it could not without waiting
 * (sendfile into a full pipe): nothing was done, and the call is to be made
 * through linux_syscall. The signals its end would deliver are left to the
 * vCPU's next stop (a kick brings it).
 * Called from the answering thread while the thread's vCPU waits in the
 * ring entry: its owner thread touches nothing of thread meanwhile.
 */
bool linux_ring_allowed(struct linux_thread *thread, const struct linux_syscall *call);
/* The program's map lock, held by the monitor around a change of its own
 * to the memory map while the program runs (the ring's pages). */
void linux_map_lock(struct linux_thread *thread);
void linux_map_unlock(struct linux_thread *thread);
bool linux_ring_syscall(struct linux_thread *thread, const struct linux_syscall *call,
                        uint64_t *result);

/* ---- signals (signal.c) ---- */

/*
 * Delivers what is pending for thread and not blocked, at a point where the
 * vCPU is about to resume the program (after a kick, after an exception the
 * monitor dealt with): ignored signals are dropped, a fatal default action
 * ends the program (LINUX_EXIT), a handler gets a signal frame and the vCPU
 * points at it (LINUX_RESUME). LINUX_CONTINUE when nothing changed.
 */
enum linux_outcome linux_signal_deliver(struct linux_thread *thread);

/*
 * A page fault on a page of the program's anonymous memory that was never
 * touched (vector, error code and address as linux_signal_exception's):
 * memory/ backs it, and true says to retry the access, before a debugger
 * or the program's handler sees the fault. When guest RAM is exhausted the
 * process is sent SIGKILL, as Linux's OOM killer does (true too: the
 * signal ends it at once). False: the fault is the program's. Called on
 * the vCPU's thread before anything else looks at an exception.
 */
bool linux_mm_first_touch(struct linux_thread *thread, unsigned vector, uint64_t error_code,
                          uint64_t fault_address);

/*
 * A CPU exception the program took in user mode (x86 vector, its error code,
 * CR2 for a page fault). When the program handles the resulting signal
 * (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) a frame is built and the vCPU
 * points at the handler: true. False when the default action applies (no
 * handler, or the signal blocked or ignored, which Linux does not allow for
 * a fault): the caller reports the fault and ends the run as today.
 */
bool linux_signal_exception(struct linux_thread *thread, unsigned vector, uint64_t error_code,
                            uint64_t fault_address);

/*
 * A signal sent to the program from outside (kill(1) of the monitor, a
 * terminal's Ctrl-C, sigqueue from another guest, tgkill from another
 * process): queued for the process (tid 0) or for the thread tid with the
 * host's si_code, sender pid and uid and sigqueue's value, and a thread
 * that takes it kicked. A thread that is gone gets nothing. Any host thread.
 */
void linux_signal_post_external(struct linux_process *process, int tid, int signal, int code,
                                int sender_pid, unsigned sender_uid, uint64_t value);

/*
 * SIGCHLD from the host for one of the program's children (they are the
 * monitor's own: a guest pid is a host pid): queued with the child's pid,
 * uid, status and times, as Linux's do_notify_parent fills them; a stop or
 * continue report is dropped when the program's SIGCHLD action asks for
 * SA_NOCLDSTOP. Any host thread.
 */
void linux_signal_post_child(struct linux_process *process, int code, int child_pid,
                             unsigned child_uid, int status, int64_t utime, int64_t stime);

/* The siginfo of the signal last delivered or the fault last taken (for
 * gdb's $_siginfo): 128 bytes as Linux lays siginfo_t out. */
void linux_signal_last_info(const struct linux_thread *thread, uint8_t info[128]);

/*
 * A debugger's view of signals and processes (monitor/debug_signals.c), as
 * ptrace gives gdbserver one. Every call is made on the host thread of the
 * thread concerned; NULL members are not called.
 */
struct linux_debug_hooks {
    void *opaque;
    /* A debugger holds the program: signals it ignores are still queued, to
     * be shown to the debugger at delivery (Linux's sig_ignored for a
     * ptraced task). Any host thread. */
    bool (*attached)(void *opaque);
    /* thread is about to take a signal (info: siginfo_t's 128 bytes); its
     * registers are in its vCPU as it would resume (an interrupted call's
     * restart code in rax), and are read back after. The debugger may stop
     * the program there and rewrite info (another signal). False: the
     * signal is discarded. */
    bool (*signal)(void *opaque, struct linux_thread *thread, uint8_t info[128]);
    /* A handler's frame was built and the vCPU points at the handler. */
    void (*handler_entered)(void *opaque, struct linux_thread *thread);
    /* fork/vfork/clone of a process, on the parent's side once the child
     * runs; then, for a vfork, once the child has execed or exited. */
    void (*forked)(void *opaque, struct linux_thread *thread, int child_pid, bool vfork);
    void (*vfork_done)(void *opaque, struct linux_thread *thread);
    /* thread ends by itself (exit) and the program goes on: called before
     * the threads joining it can wake (its clear_child_tid), so that a
     * debugger hears of the end before anything the joiner does next (the
     * program's own end, say), in the order gdbserver reports them. */
    void (*thread_exited)(void *opaque, struct linux_thread *thread);
    /* After signal() for a signal that interrupted a syscall: true when the
     * debugger took thread out of the call (Linux's orig_rax set to -1, as
     * gdb's jump does): the call does not restart, its restart code stays
     * the program's result. */
    bool (*left_syscall)(void *opaque, struct linux_thread *thread);
};

/* Installs the hooks (NULL: none); before the program runs. */
void linux_process_set_debug_hooks(struct linux_process *process,
                                   const struct linux_debug_hooks *hooks);

/* The siginfo Linux gives for exception vector (error_code, CR2) taken by
 * thread in user mode, in info; returns its signal, 0 for a vector that
 * sends none. For a debugger's $_siginfo at a fault. */
int linux_signal_exception_info(struct linux_thread *thread, unsigned vector, uint64_t error_code,
                                uint64_t fault_address, uint8_t info[128]);

/* Queues a signal for thread as a debugger gives it when resuming (info:
 * siginfo_t's 128 bytes); it is delivered at the next delivery point. */
void linux_signal_inject(struct linux_thread *thread, const uint8_t info[128]);
/* A call a debugger's stop interrupted, shown as ptrace shows it (rip past
 * its syscall instruction, rax its restart code), is resumed with a signal
 * given: the next delivery restarts it or fails it with EINTR by the
 * handler that runs, as Linux's handle_signal does, instead of the
 * debugger restarting it first. */
void linux_signal_stopped_call(struct linux_thread *thread, uint64_t number);
/* The monitor did not make call number because a kick came first (a
 * signal, a stop): true for a call that only waits for a signal (pause,
 * rt_sigsuspend), whose answer at its entry with one pending is, on Linux,
 * its restart code: *rax is set to it, to be returned past the syscall
 * instruction, and the next delivery turns it into EINTR if a handler runs,
 * or makes the call again. False for the others: made again from their
 * syscall instruction. Made again after a handler, pause slept for ever in
 * `while (!flag) pause();` when the signal that set flag came then. */
bool linux_signal_preempted_call(struct linux_thread *thread, uint64_t number, uint64_t *rax);

/* The exit status passed to exit or exit_group, & 0xff (valid after
 * LINUX_EXIT). When a signal ended the program it is 128 + that signal, the
 * status a shell reports (134 for abort()). */
int linux_exit_status(const struct linux_process *process);

/* The signal that ended the program (kill/tgkill/tkill of itself with a
 * signal whose default action is fatal and which it neither handles nor
 * ignores, e.g. SIGABRT from abort()), or 0 after a normal exit. */
int linux_exit_signal(const struct linux_process *process);

/* Whether signal's default action dumps core (SIGSEGV, SIGABRT, SIGQUIT...). */
bool linux_signal_dumps_core(int signal);

/* The program's RLIMIT_CORE soft limit: where it is not 0, a child dying of
 * a core signal dumps and shows WCOREDUMP. */
uint64_t linux_core_limit(const struct linux_process *process);

/* The current heap range [start, end) ("Heap" line of fault reports). */
void linux_heap_range(const struct linux_process *process, uint64_t *start, uint64_t *end);

/* Starts (file) or stops (NULL) the syscall trace; `monitor strace on|off`. */
void linux_set_strace(struct linux_process *process, FILE *file);

/* The trace's last line: "+++ exited with N +++" or "+++ killed by SIGx +++". */
void linux_strace_end(struct linux_process *process, int status, int signal);

/* The host syscalls the monitor never makes (linux/host_syscalls.c): the
 * seccomp sandbox refuses them once the monitor is set up. */
const int *linux_host_syscalls_refused(size_t *count);
/* Every host syscall the monitor and the personality make once set up (the
 * strict sandbox allows these and nothing else). */
const int *linux_host_syscalls_allowed(size_t *count);

/* For a debugger (gdb's vFile), with the program stopped: opens path as the
 * program's open() would (its cwd, its /proc view) and returns a host fd of
 * the monitor's own, not in the program's fd table; or -errno. */
int linux_debugger_open(struct linux_process *process, const char *path, int flags, mode_t mode);

/* readlink(path) as the program's would: the length put in out (not
 * NUL-terminated), or -errno. */
long linux_debugger_readlink(struct linux_process *process, const char *path, char *out,
                             size_t size);

/* The syscall's name ("read"), or NULL for numbers the table does not know. */
const char *linux_syscall_name(uint64_t number);

#ifdef __cplusplus
}
#endif

#endif
