/*
 * gdbstub/ — the GDB remote serial protocol, served on the monitor's glib
 * main loop.
 *
 * The stub knows packets, not VMs: everything it does to the guest goes
 * through struct gdb_target_ops, which the monitor implements on top of the
 * accelerator interface and the memory module. All calls, both ways, happen
 * on the main loop's thread. Execution is asynchronous: resume() returns at
 * once, and the monitor later calls gdbstub_notify_stop() exactly once per
 * resume (or interrupt) with why the guest stopped (calling it from inside
 * resume() is allowed too). No callback may free the stub.
 *
 * Threads: with ops->threads, every thread of the program is a gdb thread,
 * named by the target's own positive ids (the guest tids); the stub is
 * all-stop, so the target stops every thread before it reports a stop and
 * a resume says what each thread does. Without it the program is one
 * thread, id 1.
 *
 * Non-stop (gdb's `set non-stop on`, QNonStop:1, with ops->non_stop): each
 * thread stops and resumes on its own. resume() starts only the stopped
 * threads its actions name (GDB_RESUME_STOP stops a running one, which then
 * reports a stop with signal 0) and is answered OK at once; every stop is
 * one gdbstub_notify_stop of its thread, told gdb as a %Stop notification
 * and the vStopped queue; ops->interrupt stops one running thread with
 * SIGINT. Registers are those of stopped threads; memory, breakpoints and
 * the thread list are served while others run.
 */
#ifndef HERMITUX_GDBSTUB_H
#define HERMITUX_GDBSTUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel/accel.h"

#ifdef __cplusplus
extern "C" {
#endif

enum gdb_resume_mode {
    GDB_RESUME_CONTINUE,
    GDB_RESUME_STEP,       /* exactly one instruction */
    GDB_RESUME_RANGE_STEP, /* step while start <= pc < end (vCont;r) */
    GDB_RESUME_STOP,       /* vCont;t, non-stop only: stop the running thread */
};

enum gdb_breakpoint_type {
    GDB_BREAKPOINT_SOFTWARE = 0, /* Z0 */
    GDB_BREAKPOINT_HARDWARE = 1, /* Z1 */
    GDB_WATCHPOINT_WRITE = 2,    /* Z2 */
    GDB_WATCHPOINT_READ = 3,     /* Z3 */
    GDB_WATCHPOINT_ACCESS = 4,   /* Z4 */
};

enum gdb_stop_kind {
    GDB_STOP_SIGNAL, /* stopped with `signal` (T packet) */
    GDB_STOP_EXITED, /* the program exited with exit_status (W packet) */
    GDB_STOP_KILLED, /* the program died of `signal` (X packet) */
    /* One thread ended alone with exit_status, the program goes on (w
     * packet); only with thread events on (ops->thread_events), in non-stop. */
    GDB_STOP_THREAD_EXITED,
    /* No thread gdb resumed is left: they ended, the others stay stopped
     * (scheduler locking). gdbserver's N for a debugger that offers
     * no-resumed+, else (all-stop) "E.No unwaited-for children left.". */
    GDB_STOP_NO_RESUMED,
};

enum gdb_stop_reason {
    GDB_STOP_REASON_NONE,
    GDB_STOP_REASON_SWBREAK,
    GDB_STOP_REASON_HWBREAK,
    GDB_STOP_REASON_WATCH,
    GDB_STOP_REASON_RWATCH,
    GDB_STOP_REASON_AWATCH,
    GDB_STOP_REASON_SYSCALL_ENTRY,  /* QCatchSyscalls: before the call, syscall_number */
    GDB_STOP_REASON_SYSCALL_RETURN, /* ...and after it */
    GDB_STOP_REASON_FORK,           /* a fork made child_pid (fork-events) */
    GDB_STOP_REASON_VFORK,          /* a vfork made child_pid (vfork-events) */
    GDB_STOP_REASON_VFORK_DONE,     /* ...which has execed or exited */
    GDB_STOP_REASON_EXEC,           /* the program is a new one (exec-events) */
    GDB_STOP_REASON_CREATE,         /* a new thread, before its first instruction (QThreadEvents) */
};

struct gdb_stop {
    enum gdb_stop_kind kind;
    int signal;      /* GDB signal numbers: 2 SIGINT, 5 SIGTRAP, 11 SIGSEGV... */
    int exit_status; /* GDB_STOP_EXITED: 0..255 */
    enum gdb_stop_reason reason;
    uint64_t watch_address;  /* for watch/rwatch/awatch */
    uint64_t syscall_number; /* for syscall_entry/syscall_return */
    int64_t thread;          /* the thread that stopped; 0: the first thread */
    int64_t child_pid;       /* for fork/vfork */
};

/* One thread's part of a resume (a vCont action). */
struct gdb_resume_action {
    int64_t thread; /* a thread id, or -1: every thread no earlier action named */
    enum gdb_resume_mode mode;
    uint64_t range_start, range_end; /* GDB_RESUME_RANGE_STEP */
    int signal;                      /* to deliver (0 none; others may be ignored) */
};

/* Most actions one resume may carry (vCont with more is refused). */
#define GDB_MAX_RESUME_ACTIONS 32

/* Signals a debugger may name in QPassSignals/QProgramSignals: GDB numbers below this. */
#define GDB_SIGNAL_LIMIT 256

/* One loaded object of the program (qXfer:libraries-svr4:read). */
struct gdb_library {
    uint64_t lm, l_addr, l_ld; /* the link_map's address, load bias, PT_DYNAMIC */
    char *name;                /* owned */
};

/* A vCPU's AVX-512 state as XSAVE keeps it (components 5-7): opmask k0-7,
 * ZMM_Hi256 (bits 511:256 of zmm0-15), Hi16_ZMM (zmm16-31 whole). */
struct gdb_avx512_state {
    uint8_t opmask[8][8];
    uint8_t zmm_hi256[16][32];
    uint8_t hi16_zmm[16][64];
};

struct gdb_breakpoint_actions; /* gdbstub/agent.c, below */

/* What the stub needs from the monitor. Each returns 0 or a negative errno
 * unless said otherwise. */
struct gdb_target_ops {
    /* A thread's registers (only while stopped); -ESRCH for no such thread.
     * fpu NULL: the general registers only (a stop reply's expedited ones). */
    int (*read_registers)(void *opaque, int64_t thread, struct cpu_state *state,
                          struct cpu_fpu_state *fpu);
    int (*write_registers)(void *opaque, int64_t thread, const struct cpu_state *state,
                           const struct cpu_fpu_state *fpu);
    /* Guest-virtual memory; -EFAULT for an unmapped page. Breakpoints the
     * target planted are invisible in what read_memory returns. */
    int (*read_memory)(void *opaque, uint64_t address, void *buffer, size_t length);
    int (*write_memory)(void *opaque, uint64_t address, const void *buffer, size_t length);
    /* Starts the guest; the stop is reported later with gdbstub_notify_stop.
     * Each thread takes the first action naming it or -1; threads no action
     * covers stay stopped. Without ops->threads: one action, thread -1. */
    int (*resume)(void *opaque, const struct gdb_resume_action *actions, size_t count);
    /* Ctrl-C: stop the running guest; it reports GDB signal 2 (SIGINT). */
    void (*interrupt)(void *opaque);
    /* Z/z packets. kind is the packet's kind field (length for watchpoints).
     * -ENOSPC when hardware slots run out, -ENOTSUP for a type not offered. */
    int (*insert_breakpoint)(void *opaque, enum gdb_breakpoint_type type, uint64_t address,
                             uint64_t kind);
    int (*remove_breakpoint)(void *opaque, enum gdb_breakpoint_type type, uint64_t address,
                             uint64_t kind);
    /* k / vKill: end the guest and hermitux-run. */
    void (*kill)(void *opaque);
    /* D: remove every breakpoint and let the program run on undebugged. */
    void (*detach)(void *opaque);
    /* The debugger went away without D (EOF or a socket error): the monitor
     * removes every breakpoint and keeps a halted guest halted for the next
     * connection. A guest still running stays running; its stop is
     * remembered for the next debugger's `?`. */
    void (*disconnected)(void *opaque);
    /* qRcmd: runs a `monitor` command; returns its output (g_free it). */
    char *(*monitor_command)(void *opaque, const char *command);
    /* Absolute path of the program's ELF (qXfer:exec-file:read). */
    const char *(*exec_file)(void *opaque);
    /* qXfer:libraries:read: the guest kernel's ELF path and the address of
     * its .text section (gdb then loads its symbols too). */
    const char *(*kernel_file)(void *opaque, uint64_t *text_address);
    /* The program's auxiliary vector as bytes (qXfer:auxv:read); length in
     * *length; NULL if none. */
    const void *(*auxv)(void *opaque, size_t *length);
    /* QCatchSyscalls: stop at every syscall's entry and return (enable with
     * count 0), only at those of numbers[count], or at none (!enable). The
     * stops are reported with GDB_STOP_REASON_SYSCALL_*. NULL: not offered. */
    int (*catch_syscalls)(void *opaque, bool enable, const uint64_t *numbers, size_t count);
    /* QPassSignals / QProgramSignals: which GDB signals the program gets
     * without a stop (pass), and which it may be given at all (program);
     * each a GDB_SIGNAL_LIMIT array of flags. NULL: not offered. */
    void (*signal_filters)(void *opaque, const bool *pass, const bool *program);
    /* The dynamic loader's link map, from the link_map at start (0: from
     * the first, the program itself): the count of *libraries (g_free each
     * name and the array); 0 when there is none (a static program, or ld.so
     * has not set it up yet). NULL: the program is never dynamic. */
    size_t (*link_map)(void *opaque, uint64_t start, struct gdb_library **libraries);
    /* The program's process id. With it, a debugger that offers
     * multiprocess+ gets pPID.TID thread ids (the main thread's TID is the
     * PID) and W/X replies naming the process. NULL or 0: no multiprocess. */
    int64_t (*process_id)(void *opaque);
    /* vFile:open and vFile:readlink, on the program's own files as it sees
     * them: a host fd (the stub reads, stats and closes it) or -errno; the
     * link's length in out or -errno. Only while stopped. NULL: no vFile. */
    int (*file_open)(void *opaque, const char *path, int flags, unsigned mode);
    long (*file_readlink)(void *opaque, const char *path, char *out, size_t size);
    /* qXfer:siginfo:read/write: the siginfo (Linux's 128-byte layout) of
     * the signal thread tid (gdb's selected one, Hg) stopped with, read
     * into info or replaced by it. -ENOENT when it has none. NULL: not
     * offered. */
    int (*siginfo)(void *opaque, int64_t tid, uint8_t info[128], bool write);
    /* The live threads' ids (positive), the first thread first: writes at
     * most max of them to ids, returns how many there are. Only while
     * stopped. NULL: the program is one thread, id 1. */
    size_t (*threads)(void *opaque, int64_t *ids, size_t max);
    /* A thread's name (prctl PR_SET_NAME; g_free it), NULL when there is no
     * such thread. */
    char *(*thread_name)(void *opaque, int64_t thread);
    /* qGetTLSAddr: the address of the thread-local at offset in the TLS
     * block of the module whose link_map is at lm (0: the program, static).
     * 0, or a negative errno. NULL: not offered. */
    int (*tls_address)(void *opaque, int64_t thread, uint64_t offset, uint64_t lm,
                       uint64_t *address);
    /* Which process events the debugger takes (qSupported fork-events+,
     * vfork-events+): the monitor stops at those with GDB_STOP_REASON_FORK,
     * VFORK and VFORK_DONE. NULL: not offered. */
    void (*process_events)(void *opaque, bool fork, bool vfork);
    /* The child of the fork event just reported waits for gdb's word:
     * fork_release lets it run undebugged (gdb's D;CHILD); fork_follow gives
     * it this connection, session being gdbstub_handover_fork_session's text
     * (D;PARENT: follow-fork-mode child, the parent then detached). 0 or a
     * negative errno. NULL: the child never waits. */
    int (*fork_release)(void *opaque, int64_t child);
    int (*fork_follow)(void *opaque, int64_t child, const char *session);
    /* gdb keeps the child too (detach-on-fork off): it takes the debugger
     * with session over a socket pair instead, and the stub passes it the
     * packets about it (gdbstub/processes.c). Returns the stub's end of
     * the pair (the stub closes it), *child_end the fd number of the
     * child's end, or a negative errno. NULL: children are never kept. */
    int (*fork_attach)(void *opaque, int64_t child, const char *session, int *child_end);
    /* A stopped thread's orig_rax as Linux keeps it: the number of the
     * syscall it stopped in or at the end of (rax then holds the call's
     * result or its restart code), else -1. Read into *value, or replaced
     * by it with write; resuming the thread restarts the call as Linux does
     * when orig_rax >= 0 and rax is a restart code. NULL: reads -1, writes
     * are ignored. */
    int (*orig_rax)(void *opaque, int64_t thread, uint64_t *value, bool write);
    /* AVX-512 (gdb's org.gnu.gdb.i386.avx512 registers): whether the vCPUs
     * have it (asked once per stub, when gdb first needs the layout), and a
     * stopped thread's state, read into *state or replaced by it with
     * write. NULL: never. */
    bool (*has_avx512)(void *opaque);
    int (*avx512)(void *opaque, int64_t thread, struct gdb_avx512_state *state, bool write);
    /* Z0/Z1 with gdb's target-side conditions and commands (agent
     * expressions; actions may hold none). A Z0/Z1 again at a breakpoint
     * of that type replaces its lists, as under gdbserver (gdb re-inserts
     * to change a condition). actions is the caller's: copy what is kept.
     * With it, the stub offers ConditionalBreakpoints+ and
     * BreakpointCommands+ and uses it for every Z0/Z1. NULL: not offered. */
    int (*insert_code_breakpoint)(void *opaque, enum gdb_breakpoint_type type, uint64_t address,
                                  uint64_t kind, const struct gdb_breakpoint_actions *actions);
    /* QNonStop: every thread stops and resumes on its own (on), or all
     * together again (off; only while every thread is stopped: -EBUSY
     * otherwise). The threads stopped when it is turned on stay stopped,
     * each with its last stop. NULL: all-stop only. */
    int (*non_stop)(void *opaque, bool on);
    /* Non-stop: the last stop of each stopped thread (`?`), at most max of
     * them into stops; returns how many there are. */
    size_t (*stopped_threads)(void *opaque, struct gdb_stop *stops, size_t max);
    /* QThreadEvents: while on, in non-stop, a new thread stops before its
     * first instruction and reports GDB_STOP_REASON_CREATE (signal 5), and a
     * thread that ends alone reports GDB_STOP_THREAD_EXITED, as gdbserver
     * does (gdb turns them on in stop_all_threads, so that a thread born or
     * gone while it stops the others neither escapes nor is waited for
     * forever). A new session starts with them off. NULL: not offered. */
    void (*thread_events)(void *opaque, bool on);
    /* All-stop: a Ctrl-C that came while the guest was stopped. The next
     * resume that releases threads stops them before they run an
     * instruction and reports SIGINT, as gdbserver's queued SIGINT does;
     * done inside the resume, as an interrupt called after it let a short
     * program run to its end first when this thread was slow to call it
     * (ctrl-c-queued under ThreadSanitizer on 2 busy cores). NULL: the stub
     * calls interrupt right after the resume. */
    void (*interrupt_at_resume)(void *opaque);
};

struct gdbstub;

/* A stub with no connection yet. ops and opaque must outlive it. Its
 * sockets are served on the calling thread's thread-default main context
 * (g_main_context_push_thread_default; normally the global default). */
struct gdbstub *gdbstub_new(const struct gdb_target_ops *ops, void *opaque);

/*
 * --gdb stdio (gdbserver's `-`, QEMU's `-gdb stdio`): the debugger speaks on
 * this process's stdin and stdout, as under gdb's `target remote | CMD`. A
 * relay process (not a child of this one: the program's wait() never sees
 * it) takes them over and copies them to and from a socket, whose other end
 * is returned (close-on-exec) for gdbstub_listen's "stdio:FD". This
 * process's fd 0 becomes /dev/null and fd 1 a copy of fd 2, so a program
 * started afterwards reads nothing and writes to stderr, as gdbserver's
 * does. fds 0-2 must be open (the monitor's are: monitor_reserve_fds puts
 * /dev/null where one was closed, and the caller refuses a closed stdin or
 * stdout). Call before the program's fds are taken. Returns the fd, or -1
 * with a one-line *error.
 */
int gdbstub_stdio_open(char **error);

/*
 * Listens on spec: "tcp::PORT" (127.0.0.1 only), "tcp:HOST:PORT" (HOST a
 * name or an address, 0.0.0.0 for all), "unix:PATH", or "stdio:FD" (see
 * gdbstub_stdio_open: the one debugger there is, no listening). PORT 0 picks a free
 * port (see gdbstub_address). One debugger at a time: a second connection
 * is closed without a word of protocol, with one line on stderr. After a
 * debugger leaves (D, EOF) the stub listens for the next one.
 * Connections are accepted only from the first gdbstub_notify_stop or
 * gdbstub_notify_running on (before that a resume could not be accepted);
 * a debugger connecting earlier waits in the backlog.
 * Returns 0, or -1 with a one-line *error (g_free it).
 */
int gdbstub_listen(struct gdbstub *stub, const char *spec, char **error);

/* True once connections are accepted (see gdbstub_listen). */
bool gdbstub_accepting(const struct gdbstub *stub);

/* Where it listens, for the "waiting for gdb on ..." line ("127.0.0.1:1234"). */
const char *gdbstub_address(const struct gdbstub *stub);

/* True while a debugger is connected. Any thread. */
bool gdbstub_connected(const struct gdbstub *stub);

/* The guest stopped (after resume or interrupt), or the program ended. Sends
 * the stop reply when a debugger is waiting for one; remembers it for `?`
 * otherwise. A Ctrl-C that came while the guest was stopped is kept, as
 * gdbserver keeps the SIGINT pending: the next resume stops at once with
 * signal 2. In non-stop mode: one thread stopped (or the program ended),
 * queued for gdb as a %Stop notification. */
void gdbstub_notify_stop(struct gdbstub *stub, const struct gdb_stop *stop);

/* Non-stop: a stop of thread `thread` is queued for gdb, which has not taken
 * it with vStopped yet. gdb believes such a thread runs, and a resume it
 * sends meanwhile (`vCont;c` for every thread) is not meant for it: as
 * gdbserver, resume() leaves it stopped, and its stop is told as queued.
 * Main loop thread (resume() may ask). */
bool gdbstub_stop_queued(const struct gdbstub *stub, int64_t thread);

/* Output of the program's breakpoint commands (dprintf-style agent): to gdb
 * as O packets while it waits for a stop, else on stdout, as gdbserver
 * prints it. */
void gdbstub_console_output(struct gdbstub *stub, const char *text, size_t length);

/* The guest runs without having been stopped (no -S): a debugger that
 * connects gets it interrupted and stopped, as gdbserver does on attach. */
void gdbstub_notify_running(struct gdbstub *stub);

/* The program ended, and gdb has not heard yet of the end of fork children
 * it keeps whose exits came with it (several processes resumed at once):
 * gdbserver tells one per resume, so the stub must go on serving gdb until
 * it has told them all or gdb left. Also while the end's own reply waits
 * behind output gdb has not read yet. The monitor runs the stub's main loop
 * meanwhile. Main loop thread. */
bool gdbstub_owes_stops(const struct gdbstub *stub);

/* Closes the connection and the listening socket. NULL accepted. */
void gdbstub_free(struct gdbstub *stub);

/* In a child of a host fork: closes this process's copies of the sockets
 * (the connection's only unless keep_connection: a followed child's new stub
 * takes it), touching neither the main loop (it belongs to the parent) nor
 * the unix socket's name (the parent still serves it). The stub is then
 * leaked. */
void gdbstub_forget_after_fork(struct gdbstub *stub, bool keep_connection);

/* An execve of the program under a debugger (handover.c). save: when a
 * debugger is connected and waits for a stop, a text naming this session
 * for the new monitor, the sockets left open across execve (NULL
 * otherwise); cancel: the execve failed, the sockets close on exec again.
 * adopt: the new monitor's stub serves that connection, owing gdb the stop
 * reply (GDB_STOP_REASON_EXEC). Main loop thread. */
char *gdbstub_handover_save(struct gdbstub *stub);
void gdbstub_handover_cancel(struct gdbstub *stub);
int gdbstub_handover_adopt(struct gdbstub *stub, const char *text, char **error);
/* A fork's child that gdb follows or keeps: the session for it
 * (ops->fork_follow, or ops->fork_attach when kept),
 * and its new stub's adoption of it in the child, where the stub answers
 * from its first gdbstub_notify_stop on and owes no stop reply. */
char *gdbstub_handover_fork_session(const struct gdbstub *stub, bool kept);
/* connection >= 0: the stub serves that fd rather than the session's (a
 * kept child's end of its pair to the parent's stub). */
int gdbstub_handover_adopt_fork(struct gdbstub *stub, const char *text, int connection,
                                char **error);

/* ---- agent expressions (gdbstub/agent.c) ------------------------------- */

/* One agent expression: gdb's bytecode (the GDB manual, "Agent Expressions"). */
struct gdb_agent_expr {
    uint8_t *bytes;
    size_t length;
};

/* What gdb asks the target to judge and run at a code breakpoint's hit
 * (qSupported ConditionalBreakpoints+, BreakpointCommands+): the hit is
 * reported when any condition is true or fails to evaluate (no condition:
 * always) and there are no commands; commands (dprintf-style agent) run at
 * every hit whose condition holds; persist: they go on after gdb leaves. */
struct gdb_breakpoint_actions {
    struct gdb_agent_expr *conditions;
    size_t condition_count;
    struct gdb_agent_expr *commands;
    size_t command_count;
    bool persist;
};

/* What an expression reads of a stopped thread, and where printf's text goes. */
struct gdb_agent_target {
    void *opaque;
    /* A register by gdb's amd64 number (gdb_register_get's layout), its
     * first 8 bytes little-endian; 0 or a negative errno. */
    int (*read_register)(void *opaque, int regnum, uint64_t *value);
    /* Guest memory through the checked path; 0 or -EFAULT. */
    int (*read_memory)(void *opaque, uint64_t address, void *buffer, size_t length);
    /* printf's output (may be NULL: dropped). */
    void (*output)(void *opaque, const char *text, size_t length);
};

enum gdb_agent_status {
    GDB_AGENT_OK = 0,
    GDB_AGENT_EMPTY_STACK = -1, /* `end` with nothing on the stack (a command's normal end) */
    GDB_AGENT_BAD = -2,         /* unknown or unhandled opcode, truncated operand, bad jump */
    GDB_AGENT_STACK = -3,       /* stack underflow or overflow */
    GDB_AGENT_MEMORY = -4,      /* a ref or %s read failed, or a register could not be read */
    GDB_AGENT_DIVIDE = -5,      /* division by zero */
    GDB_AGENT_TOO_LONG = -6,    /* ran past the step limit (a loop) or off the end */
    GDB_AGENT_FORMAT = -7,      /* a printf format it does not take */
};

/* Runs expr; *value is the stack's top at `end`. Never reads outside
 * expr's bytes, never recurses, stops after a bounded number of steps. */
enum gdb_agent_status gdb_agent_eval(const struct gdb_agent_expr *expr,
                                     const struct gdb_agent_target *target, uint64_t *value);
/* Whether a hit is reported to gdb (see struct gdb_breakpoint_actions). */
bool gdb_agent_conditions_hold(const struct gdb_breakpoint_actions *actions,
                               const struct gdb_agent_target *target);
/* Runs the commands, in order, until one fails. */
void gdb_agent_run_commands(const struct gdb_breakpoint_actions *actions,
                            const struct gdb_agent_target *target);
/* Parses a Z packet's options (";X3,220127X...;cmds:1,X...") into
 * *actions (zeroed first); false for a malformed list. */
bool gdb_agent_parse_actions(const char *text, size_t length,
                             struct gdb_breakpoint_actions *actions);
/* Deep copy; and freeing (NULL accepted), the struct itself not freed. */
void gdb_agent_copy_actions(struct gdb_breakpoint_actions *to,
                            const struct gdb_breakpoint_actions *from);
void gdb_agent_clear_actions(struct gdb_breakpoint_actions *actions);

/* ---- exposed for tests ------------------------------------------------- */

/* Feeds raw bytes as if received from the debugger. With an output capture
 * set, the stub behaves as if a debugger were connected and hands
 * everything it would send to write() instead of a socket. */
void gdbstub_feed(struct gdbstub *stub, const char *bytes, size_t length);
void gdbstub_capture_output(struct gdbstub *stub,
                            void (*write)(void *opaque, const char *bytes, size_t length),
                            void *opaque);

/* The register layout g/G/p/P use, described by gdb_target_xml(): gdbserver's
 * amd64-avx-linux registers, regnum 0 (rax) to 59 (gs_base), then 60-75 the
 * upper halves of ymm0-15. With AVX-512 (amd64-avx-avx512-linux), 76-147
 * follow: xmm16-31, ymm16h-31h, k0-7, zmm0h-31h (gdb_avx512_register_*). */
#define GDB_REGISTER_COUNT        76
#define GDB_REGISTER_ORIG_RAX     57      /* served by ops->orig_rax, not struct cpu_state */
#define GDB_REGISTERS_SIZE        816     /* bytes in a g packet: the sum of the bitsizes / 8 */
#define GDB_AVX512_REGISTER_COUNT 148     /* ...with AVX-512 */
#define GDB_AVX512_REGISTERS_SIZE 2416    /* ...and its g packet */
#define GDB_PACKET_SIZE           0x20000 /* the PacketSize advertised: longest payload accepted */

const char *gdb_target_xml(bool avx512);
const char *gdb_register_name(int regnum);
/* Byte offset of regnum in the g packet and its size; -1 if no such register. */
int gdb_register_offset(int regnum, size_t *size);
/* regnum GDB_REGISTER_COUNT and up, from or into the AVX-512 state. */
void gdb_avx512_register_get(int regnum, const struct gdb_avx512_state *avx512, uint8_t *out);
void gdb_avx512_register_set(int regnum, const uint8_t *in, struct gdb_avx512_state *avx512);
void gdb_register_get(int regnum, const struct cpu_state *state, const struct cpu_fpu_state *fpu,
                      uint8_t *out);
void gdb_register_set(int regnum, const uint8_t *in, struct cpu_state *state,
                      struct cpu_fpu_state *fpu);
void gdb_registers_to_bytes(const struct cpu_state *state, const struct cpu_fpu_state *fpu,
                            uint8_t out[GDB_REGISTERS_SIZE]);
/* Updates the registers the first length bytes of a g layout cover. */
void gdb_registers_from_bytes(const uint8_t *bytes, size_t length, struct cpu_state *state,
                              struct cpu_fpu_state *fpu);

#ifdef __cplusplus
}
#endif

#endif
