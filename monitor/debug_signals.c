/*
 * monitor/debug_signals.c — the program's signals under gdb, as gdbserver
 * shows them (see debug_signals.h). The personality calls the hooks at its
 * delivery points (linux/signal.c); a stop made there parks the vCPU thread
 * through the debugger, with the resume armed only once delivery is done
 * (debugger_before_run).
 */
#include "config.h"
#include "monitor/debug_signals.h"
#include "gdbstub/gdbstub.h"
#include "report/report.h"

#include <glib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define GDB_SIGNAL_TRAP    5
#define GDB_SIGNAL_UNKNOWN 143
#define SIGINFO_SIZE       128

/* siginfo_t's fields the monitor fills (Linux's layout). */
#define SIGINFO_SIGNO     0
#define SIGINFO_CODE      8
#define SIGINFO_PID       16
#define SIGINFO_UID       20
#define LINUX_SI_USER     0
#define LINUX_SI_TKILL    (-6)
#define LINUX_SI_KERNEL   0x80
#define LINUX_TRAP_TRACE  2
#define LINUX_TRAP_HWBKPT 4

/* One thread's signals under gdb. Its vCPU thread's own: the main thread
 * reads and writes it only while that thread is parked. */
struct signal_thread {
    struct linux_thread *thread;
    int64_t tid;

    /* The siginfo of this thread's stop ($_siginfo). */
    uint8_t info[SIGINFO_SIZE];
    bool have_info;
    bool info_given; /* this stop's signal brought its own */

    int given;            /* a signal gdb gave on resume: delivered without a stop */
    bool handler_entered; /* a signal let through since the last stop entered a handler */
    bool vfork_reported;  /* the vfork in progress was reported: so is its end */
};

/* The calling vCPU thread's (debug_signals_thread_enter). */
static __thread struct signal_thread *current;

struct debug_signals {
    struct debugger *debugger;
    struct guest *guest;

    /* QPassSignals / QProgramSignals (GDB numbers): set on the main
     * thread, read on the vCPU thread. */
    GMutex lock;
    bool pass[GDB_SIGNAL_LIMIT];
    bool program[GDB_SIGNAL_LIMIT];
    bool program_given; /* gdb sent a program set: others are not delivered */

    /* fork-events, vfork-events (set on the main thread, under lock). */
    bool fork_events, vfork_events;

    /* The threads' states (struct signal_thread), under lock. */
    GPtrArray *threads;
};

/* ---- numbering ---------------------------------------------------------- */

/* GDB's numbers for Linux's standard signals (gdb/include/gdb/signals.def). */
static const int gdb_numbers[32] = {
    [SIGHUP] = 1,   [SIGINT] = 2,    [SIGQUIT] = 3,  [SIGILL] = 4,   [SIGTRAP] = 5,
    [SIGABRT] = 6,  [SIGBUS] = 10,   [SIGFPE] = 8,   [SIGKILL] = 9,  [SIGUSR1] = 30,
    [SIGSEGV] = 11, [SIGUSR2] = 31,  [SIGPIPE] = 13, [SIGALRM] = 14, [SIGTERM] = 15,
    [SIGCHLD] = 20, [SIGCONT] = 19,  [SIGSTOP] = 17, [SIGTSTP] = 18, [SIGTTIN] = 21,
    [SIGTTOU] = 22, [SIGURG] = 16,   [SIGXCPU] = 24, [SIGXFSZ] = 25, [SIGVTALRM] = 26,
    [SIGPROF] = 27, [SIGWINCH] = 28, [SIGIO] = 23,   [SIGPWR] = 32,  [SIGSYS] = 12,
};

int debug_signal_to_gdb(int signal)
{
    if (signal <= 0)
        return 0;
    if (signal < 32)
        return gdb_numbers[signal] ? gdb_numbers[signal] : GDB_SIGNAL_UNKNOWN;
    /* Real-time: GDB_SIGNAL_REALTIME_32 is 77, 33..63 are 45..75, 64 is 78. */
    if (signal == 32)
        return 77;
    if (signal <= 63)
        return signal - 33 + 45;
    return signal == 64 ? 78 : GDB_SIGNAL_UNKNOWN;
}

int debug_signal_from_gdb(int gdb_signal)
{
    for (int signal = 1; signal <= 64; signal++) {
        if (debug_signal_to_gdb(signal) == gdb_signal)
            return signal;
    }
    return 0;
}

void debug_signals_set_filters(struct debug_signals *signals, const bool *pass, const bool *program)
{
    g_mutex_lock(&signals->lock);
    memcpy(signals->pass, pass, sizeof(signals->pass));
    memcpy(signals->program, program, sizeof(signals->program));
    signals->program_given = false;
    for (int i = 0; i < GDB_SIGNAL_LIMIT; i++)
        signals->program_given |= program[i];
    g_mutex_unlock(&signals->lock);
}

static bool passed(struct debug_signals *signals, int gdb_signal)
{
    g_mutex_lock(&signals->lock);
    bool pass = gdb_signal > 0 && gdb_signal < GDB_SIGNAL_LIMIT && signals->pass[gdb_signal];
    g_mutex_unlock(&signals->lock);
    return pass;
}

/* QProgramSignals: a signal outside the set gdb sent never reaches the
 * program, as gdbserver discards it on resume. */
static bool program_may_get(struct debug_signals *signals, int gdb_signal)
{
    g_mutex_lock(&signals->lock);
    bool allowed = !signals->program_given || (gdb_signal > 0 && gdb_signal < GDB_SIGNAL_LIMIT &&
                                               signals->program[gdb_signal]);
    g_mutex_unlock(&signals->lock);
    return allowed;
}

/* ---- siginfo -------------------------------------------------------------- */

static void put_int(uint8_t info[SIGINFO_SIZE], int offset, int32_t value)
{
    memcpy(info + offset, &value, sizeof(value));
}

static int32_t get_int(const uint8_t info[SIGINFO_SIZE], int offset)
{
    int32_t value;
    memcpy(&value, info + offset, sizeof(value));
    return value;
}

/* A signal sent by a process (LINUX_SI_USER), as gdbserver's kill() sends it. */
static void user_siginfo(uint8_t info[SIGINFO_SIZE], int signal)
{
    memset(info, 0, SIGINFO_SIZE);
    put_int(info, SIGINFO_SIGNO, signal);
    put_int(info, SIGINFO_CODE, LINUX_SI_USER);
    put_int(info, SIGINFO_PID, (int32_t)getpid());
    put_int(info, SIGINFO_UID, (int32_t)getuid());
}

void debug_signals_stopped(struct debug_signals *signals, const struct gdb_stop *stop)
{
    (void)signals;
    struct signal_thread *self = current;
    if (!self)
        return;
    if (!stop) {
        /* Stopped for another thread's event: gdbserver stops it with
         * tkill(SIGSTOP). */
        user_siginfo(self->info, SIGSTOP);
        put_int(self->info, SIGINFO_CODE, LINUX_SI_TKILL);
        self->have_info = true;
        return;
    }
    self->handler_entered = false;
    if (self->info_given)
        return;
    self->have_info = stop->kind == GDB_STOP_SIGNAL;
    if (!self->have_info)
        return;
    int signal = debug_signal_from_gdb(stop->signal);
    if (signal != SIGTRAP) {
        user_siginfo(self->info, signal);
        return;
    }
    /* A breakpoint's SIGTRAP comes from int3 (LINUX_SI_KERNEL), a step's from
     * TF, a watchpoint's from a debug register, as x86 Linux codes them. */
    memset(self->info, 0, SIGINFO_SIZE);
    put_int(self->info, SIGINFO_SIGNO, SIGTRAP);
    int code = LINUX_SI_KERNEL;
    if (stop->reason == GDB_STOP_REASON_NONE)
        code = LINUX_TRAP_TRACE;
    else if (stop->reason == GDB_STOP_REASON_HWBREAK || stop->reason == GDB_STOP_REASON_WATCH ||
             stop->reason == GDB_STOP_REASON_RWATCH || stop->reason == GDB_STOP_REASON_AWATCH)
        code = LINUX_TRAP_HWBKPT;
    put_int(self->info, SIGINFO_CODE, code);
}

/* The state of thread tid; NULL if it has none. Lock held. */
static struct signal_thread *find_thread_locked(struct debug_signals *signals, int64_t tid)
{
    for (guint i = signals->threads->len; i > 0; i--) {
        struct signal_thread *thread = g_ptr_array_index(signals->threads, i - 1);
        if (thread->tid == tid)
            return thread;
    }
    return NULL;
}

int debug_signals_siginfo(struct debug_signals *signals, int64_t tid, bool interrupted,
                          uint8_t info[SIGINFO_SIZE], bool write)
{
    if (interrupted) {
        /* Ctrl-C: gdbserver's kill(SIGINT) stopped it. */
        if (write)
            return -EPERM;
        user_siginfo(info, SIGINT);
        return 0;
    }
    g_mutex_lock(&signals->lock);
    struct signal_thread *thread = find_thread_locked(signals, tid);
    int result = -ENOENT;
    if (thread && thread->have_info) {
        if (write)
            memcpy(thread->info, info, SIGINFO_SIZE);
        else
            memcpy(info, thread->info, SIGINFO_SIZE);
        result = 0;
    }
    g_mutex_unlock(&signals->lock);
    return result;
}

/* ---- stops -------------------------------------------------------------------- */

/* Reports a signal's stop with its own siginfo; the resume's signal (GDB
 * number) in *resume_signal, and info as gdb left it. */
static enum debug_verdict stop_for(struct debug_signals *signals, struct signal_thread *self,
                                   int signal, uint8_t info[SIGINFO_SIZE], int *resume_signal)
{
    memcpy(self->info, info, SIGINFO_SIZE);
    self->have_info = true;
    self->info_given = true;
    struct gdb_stop stop = {.kind = GDB_STOP_SIGNAL, .signal = debug_signal_to_gdb(signal)};
    enum debug_verdict verdict = debugger_park(signals->debugger, &stop, resume_signal);
    self->info_given = false;
    memcpy(info, self->info, SIGINFO_SIZE);
    return verdict;
}

/* The calling vCPU thread's state, if it is thread's (each hook runs on the
 * vCPU thread of the thread concerned). */
static struct signal_thread *state_of(struct linux_thread *thread)
{
    return current && current->thread == thread ? current : NULL;
}

/* The personality's hook: a signal about to be acted on. */
static bool on_signal(void *opaque, struct linux_thread *thread, uint8_t info[SIGINFO_SIZE])
{
    struct debug_signals *signals = opaque;
    int signal = get_int(info, SIGINFO_SIGNO);
    struct signal_thread *self = state_of(thread);
    if (!self)
        return true;
    /* Given by gdb on resume: it has been seen. */
    if (self->given == signal) {
        self->given = 0;
        return true;
    }
    if (!debugger_holds(signals->debugger))
        return true;
    if (debugger_end_step_before_signal(signals->debugger) != DEBUG_RESUME)
        return false; /* killed: debugger_before_run ends the run */
    if (passed(signals, debug_signal_to_gdb(signal)) &&
        !debugger_gdb_step_under_way(signals->debugger))
        return true;
    int resume_signal = 0;
    if (stop_for(signals, self, signal, info, &resume_signal) != DEBUG_RESUME)
        return false; /* killed: debugger_before_run ends the run */
    int given = debug_signal_from_gdb(resume_signal);
    if (!given || !program_may_get(signals, resume_signal))
        return false; /* `signal 0`, `handle nopass`: discarded */
    if (given != get_int(info, SIGINFO_SIGNO))
        user_siginfo(info, given);
    return true;
}

static void on_handler_entered(void *opaque, struct linux_thread *thread)
{
    (void)opaque;
    struct signal_thread *self = state_of(thread);
    if (self)
        self->handler_entered = true;
}

static bool on_left_syscall(void *opaque, struct linux_thread *thread)
{
    struct debug_signals *signals = opaque;
    return state_of(thread) && debugger_left_syscall(signals->debugger);
}

static bool on_attached(void *opaque)
{
    struct debug_signals *signals = opaque;
    return debugger_holds(signals->debugger);
}

bool debug_signals_take_handler_entry(struct debug_signals *signals)
{
    (void)signals;
    struct signal_thread *self = current;
    if (!self)
        return false;
    bool entered = self->handler_entered;
    self->handler_entered = false;
    return entered;
}

bool debug_signals_give(struct debug_signals *signals, int gdb_signal)
{
    struct signal_thread *self = current;
    int signal = debug_signal_from_gdb(gdb_signal);
    if (!self || !signal || !program_may_get(signals, gdb_signal))
        return false;
    uint8_t info[SIGINFO_SIZE];
    /* The stop's own signal keeps its siginfo (as gdb may have rewritten it). */
    if (self->have_info && get_int(self->info, SIGINFO_SIGNO) == signal)
        memcpy(info, self->info, SIGINFO_SIZE);
    else
        user_siginfo(info, signal);
    self->given = signal;
    linux_signal_inject(self->thread, info);
    return true;
}

enum debug_verdict debug_signals_fault(struct debug_signals *signals, const struct accel_exit *exit)
{
    struct signal_thread *self = current;
    if (!self)
        return DEBUG_FATAL;
    uint8_t info[SIGINFO_SIZE];
    int signal = linux_signal_exception_info(self->thread, exit->vector, exit->error_code,
                                             exit->fault_address, info);
    if (!signal) {
        signal = report_signal_for_vector(exit->vector);
        user_siginfo(info, signal);
        put_int(info, SIGINFO_CODE, LINUX_SI_KERNEL);
    }
    if (passed(signals, debug_signal_to_gdb(signal)))
        return DEBUG_FATAL;
    int resume_signal = 0;
    uint8_t original[SIGINFO_SIZE];
    memcpy(original, info, SIGINFO_SIZE);
    enum debug_verdict verdict = stop_for(signals, self, signal, info, &resume_signal);
    if (verdict != DEBUG_RESUME || resume_signal == 0)
        return verdict; /* without a signal the instruction runs (and faults) again */
    /* The fault's own signal goes the exception's way (its frame records the
     * fault), unless gdb rewrote its siginfo: the handler gets gdb's. */
    if (debug_signal_from_gdb(resume_signal) == signal && memcmp(original, info, SIGINFO_SIZE) == 0)
        return program_may_get(signals, resume_signal) ? DEBUG_FATAL : DEBUG_RESUME;
    /* Another signal: it is delivered, and the instruction runs again after. */
    debug_signals_give(signals, resume_signal);
    return DEBUG_RESUME;
}

/* ---- fork and vfork ------------------------------------------------------------ */

void debug_signals_set_process_events(struct debug_signals *signals, bool fork, bool vfork)
{
    g_mutex_lock(&signals->lock);
    signals->fork_events = fork;
    signals->vfork_events = vfork;
    g_mutex_unlock(&signals->lock);
}

/* Stops for a process event and waits for gdb, which detaches the child
 * (it already runs undebugged) and resumes. */
static void process_event_stop(struct debug_signals *signals, enum gdb_stop_reason reason,
                               int child_pid)
{
    struct gdb_stop stop = {
        .kind = GDB_STOP_SIGNAL,
        .signal = GDB_SIGNAL_TRAP,
        .reason = reason,
        .child_pid = child_pid,
    };
    int resume_signal = 0;
    if (debugger_park(signals->debugger, &stop, &resume_signal) == DEBUG_RESUME)
        debug_signals_give(signals, resume_signal);
}

bool debug_signals_process_events(struct debug_signals *signals)
{
    g_mutex_lock(&signals->lock);
    bool wanted = signals->fork_events || signals->vfork_events;
    g_mutex_unlock(&signals->lock);
    return wanted;
}

static void on_forked(void *opaque, struct linux_thread *thread, int child_pid, bool vfork)
{
    struct debug_signals *signals = opaque;
    struct signal_thread *self = state_of(thread);
    if (self && debugger_holds(signals->debugger)) {
        g_mutex_lock(&signals->lock);
        bool wanted = vfork ? signals->vfork_events : signals->fork_events;
        g_mutex_unlock(&signals->lock);
        self->vfork_reported = vfork && wanted;
        if (wanted)
            process_event_stop(signals, vfork ? GDB_STOP_REASON_VFORK : GDB_STOP_REASON_FORK,
                               child_pid);
    }
    /* The child waits for gdb's word (debugger_fork_prepare): none said
     * means it runs undebugged. */
    debugger_fork_settle(signals->debugger);
}

static void on_vfork_done(void *opaque, struct linux_thread *thread)
{
    struct debug_signals *signals = opaque;
    struct signal_thread *self = state_of(thread);
    if (!self || !self->vfork_reported)
        return;
    self->vfork_reported = false;
    if (debugger_holds(signals->debugger))
        process_event_stop(signals, GDB_STOP_REASON_VFORK_DONE, 0);
}

static void on_thread_exited(void *opaque, struct linux_thread *thread)
{
    (void)thread; /* the calling host thread's own */
    struct debug_signals *signals = opaque;
    debugger_thread_exited(signals->debugger);
}

/* ---- life ---------------------------------------------------------------------- */

struct debug_signals *debug_signals_new(struct debugger *debugger, struct guest *guest)
{
    struct debug_signals *signals = g_new0(struct debug_signals, 1);
    signals->debugger = debugger;
    signals->guest = guest;
    g_mutex_init(&signals->lock);
    signals->threads = g_ptr_array_new_with_free_func(g_free);
    struct linux_debug_hooks hooks = {
        .opaque = signals,
        .attached = on_attached,
        .signal = on_signal,
        .handler_entered = on_handler_entered,
        .forked = on_forked,
        .vfork_done = on_vfork_done,
        .thread_exited = on_thread_exited,
        .left_syscall = on_left_syscall,
    };
    linux_process_set_debug_hooks(guest->process, &hooks);
    return signals;
}

void debug_signals_thread_enter(struct debug_signals *signals, struct linux_thread *thread)
{
    struct signal_thread *self = g_new0(struct signal_thread, 1);
    self->thread = thread;
    self->tid = linux_thread_tid(thread);
    g_mutex_lock(&signals->lock);
    g_ptr_array_add(signals->threads, self);
    g_mutex_unlock(&signals->lock);
    current = self;
}

void debug_signals_thread_leave(struct debug_signals *signals)
{
    struct signal_thread *self = current;
    if (!self)
        return;
    current = NULL;
    g_mutex_lock(&signals->lock);
    g_ptr_array_remove(signals->threads, self); /* frees it */
    g_mutex_unlock(&signals->lock);
}

void debug_signals_forget_after_fork(struct debug_signals *signals)
{
    if (signals)
        linux_process_set_debug_hooks(signals->guest->process, NULL);
}

void debug_signals_free(struct debug_signals *signals)
{
    if (!signals)
        return;
    if (signals->guest->process)
        linux_process_set_debug_hooks(signals->guest->process, NULL);
    g_mutex_clear(&signals->lock);
    g_ptr_array_free(signals->threads, TRUE);
    g_free(signals);
}
