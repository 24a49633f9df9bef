/*
 * monitor/debug.c — the GDB stub's target, and stopping the vCPUs for it.
 *
 * All-stop over every vCPU. The debugger's state (breakpoints, the session,
 * which thread does what on the next resume) belongs to the main loop: it
 * changes only there, and only while every vCPU thread is parked. A vCPU
 * thread that meets a debug event (breakpoint, end of a step, watchpoint,
 * fault, caught syscall) reports it and parks; the first event of a run
 * starts the stop, which kicks every other vCPU out of run() and out of
 * its host calls (the accelerator's kick contract), and each parks at its
 * next exit. When the last one is parked, the stop goes to gdb. A later
 * event of another thread is kept as that thread's pending event and
 * reported at the next resume instead of running (as gdbserver does). Each
 * thread's step state (TF, the kernel step's int3, an open watched page) is
 * its own vCPU thread's.
 *
 * Non-stop (gdb's `set non-stop on`): each thread parks and is resumed on
 * its own. Its event goes to gdb at once (gdb_stopped), the others run on;
 * vCont;t and an interrupt ask one thread to park at its next exit
 * (stop_requested). The rule above stays: breakpoints change only while
 * every vCPU is parked, so the main loop pauses the running threads around
 * a Z or z packet (pause_running) as a watch or pass step does from a vCPU
 * thread; threads parked so ("held", not gdb_stopped) run on after it,
 * unseen by gdb.
 */
#include "config.h"
#include "monitor/debug.h"
#include "monitor/debug_signals.h"
#include "monitor/insn_access.h"
#include "gdbstub/gdbstub.h"
#include "accel/cpu_x86_64.h"
#include "kernel/abi.h"
#include "report/report.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_BREAKPOINTS 256
#define INT3            0xcc
#define GDB_SIGNAL_INT  2
#define GDB_SIGNAL_TRAP 5
#define MAX_ACCESSES    4 /* data accesses of one instruction that are judged */
#define MAX_WATCH_PAGES 4 /* pages one trapped instruction may open at once */

enum breakpoint_mechanism {
    MECHANISM_INT3,      /* an int3 written into guest memory, trapped by the IDT */
    MECHANISM_SLOT,      /* one of the accelerator's hardware slots */
    MECHANISM_PAGE_TRAP, /* a watchpoint: its pages fault for the program */
};

struct breakpoint {
    bool used;
    enum gdb_breakpoint_type type;
    uint64_t address;
    uint64_t kind;
    enum breakpoint_mechanism mechanism;
    uint8_t saved_byte;
    unsigned slot_mask; /* MECHANISM_SLOT: the slots it holds (a watchpoint may need several) */
    struct gdb_breakpoint_actions actions; /* gdb's target-side conditions and commands */
};

/* What the main loop does once every vCPU is parked, instead of telling gdb. */
enum silent_stop {
    SILENT_NONE,
    SILENT_DETACH,     /* D while running: take the breakpoints out, run on undebugged */
    SILENT_DISCONNECT, /* gdb went away while running: take them out, run on */
};

/* One guest thread as the debugger sees it. */
struct debug_thread {
    struct debugger *debugger;
    struct accel *accel;
    struct linux_thread *thread;
    int64_t tid;

    /* Under the debugger's mutex. */
    bool parked; /* stopped for the debugger: waits until the main loop clears it */
    bool has_pending;
    struct gdb_stop pending; /* an event met while another thread's stop was under way */
    bool held_for_watch;     /* parked for another thread's watch step (claim_watch_step) */
    int queued_signal; /* given by a resume that reported another thread's pending event instead */
    struct gdb_resume_action action; /* what the last resume asked of it */

    /* The vCPU thread's own (the main loop reads them only while parked). */
    bool stepping;       /* the resume in progress is a step */
    bool step_via_tf;    /* ...done with RFLAGS.TF through the guest IDT */
    bool interrupt_step; /* kicked in the guest kernel: stepping out to the program */
    struct gdb_resume_action action_before; /* ...and the action that step replaced */
    bool resumed_in_user;                   /* the last resume started in the program */
    bool temporary_active; /* an int3 planted to end a kernel step into user mode */
    uint64_t temporary_address;
    uint8_t temporary_saved;
    /* A faulting access to a trapped page is being single-stepped with the
     * page opened; then the trap is set again and the access judged. */
    bool watch_step;
    /* A hit gdb is not told of (its conditions are false, or its commands
     * ran): the program's instruction is stepped alone, the breakpoint at
     * pass_address out of the way, then the resume pass_action goes on. */
    bool pass_step;
    uint64_t pass_address;
    struct gdb_resume_action pass_action;
    uint64_t watch_pages[MAX_WATCH_PAGES];
    int watch_page_count;
    struct debugger_access watch_accesses[MAX_ACCESSES];
    int watch_access_count;
    uint64_t syscall_number; /* of the call between its entry and return */
    /* Linux's syscall bookkeeping, for a stop in a syscall or at its end
     * (show_syscall_stop): rip past the call's instruction at its entry,
     * where it left the vCPU, and the restart code of a call interrupted
     * (the personality rewound it onto its instruction), else 0. */
    bool in_syscall; /* between entry and return: a signal stop inside the call */
    /* Resumed with a single step from a stop inside a call (a fork event):
     * the step ends at the call's return (debugger_park). */
    bool step_ends_at_return;
    /* That stop came in a call made under the debugger's TF (a stepi of the
     * syscall): the call returns with the flags of its entry, TF with them,
     * which the step's end no longer clears (debugger_syscall_stop). */
    bool clear_tf_at_return;
    bool at_syscall_end; /* the last exit was a syscall that returned */
    uint64_t syscall_entry_rip, syscall_end_rip;
    long restart_code;
    uint64_t orig_rax; /* what gdb sees and sets while parked; -1: not in a syscall */
    bool left_syscall; /* gdb set orig_rax to -1 at a stop inside a call */
    /* A stop inside signal delivery or a syscall: the resume is armed just
     * before the guest runs (debugger_before_run), after the delivery. */
    bool arm_deferred;
    /* The child of this thread's fork, waiting for gdb's word on fork_channel
     * (under the mutex; 0 and -1: none). */
    int64_t fork_child;
    int fork_channel;
    int fork_child_end; /* the child's end of the pair: the same fd number there */

    /* Non-stop, under the debugger's mutex: parked for gdb, which was told
     * (or asked, with `?`); only a resume from the main loop releases it. */
    bool gdb_stopped;
    struct gdb_stop last_stop; /* ...and what it stopped with */
    /* vCont;t or an interrupt: park at the next exit, reporting stop_signal. */
    bool stop_requested;
    int stop_signal;
    /* Born with thread events on: its first stop is its creation's (T05create). */
    bool created;
    /* Waits for the main loop (an execve's handover): a pause cannot park it. */
    bool awaits_loop;
    bool stop_untold; /* its stop is on its way to the main loop */
};

struct debugger {
    struct guest *guest;
    struct gdbstub *stub;
    const struct accel_capabilities *capabilities;
    /* The main loop that talks to gdb; a followed fork's child runs one of
     * its own on loop_thread (its parent's did not come across the fork). */
    GMainContext *context;
    GMainLoop *loop;
    GThread *loop_thread;

    GMutex mutex;
    GCond wake;
    /* Under the mutex: the threads, in creation order, and the all-stop. */
    GPtrArray *threads;
    bool stopping;   /* every thread parks at its next exit */
    bool reported;   /* ...and all did: the stop went to the main loop */
    bool report_set; /* report holds the event that started it (else: Ctrl-C) */
    struct gdb_stop report;
    enum silent_stop silent;
    bool killed, aborted, ended;
    /* A watch step under way: the thread that runs alone with a trapped
     * page open (claim_watch_step), and a Ctrl-C that came meanwhile. */
    struct debug_thread *watch_owner;
    bool interrupt_during_watch;
    bool detached; /* set by the main loop while every vCPU is parked; atomic (is_detached) */
    bool non_stop; /* QNonStop:1; changed by the main loop, under the mutex */
    /* Non-stop: an interrupt came with no thread running; the next resume takes it. */
    bool interrupt_pending;
    /* All-stop: gdb's Ctrl-C came while stopped; the next resume that
     * releases threads stops them at once (target_interrupt_at_resume). */
    bool interrupt_at_resume;
    /* All-stop Ctrl-C: the thread its SIGINT is reported in (0: the first). */
    int64_t interrupt_tid;
    /* QThreadEvents:1, set by the main loop under the mutex: in non-stop,
     * threads report their birth and their own end. */
    bool thread_events;

    bool halt_at_start;
    bool handed_over; /* the session came across an execve: the first stop is an exec */
    bool fork_child;  /* a fork's child gdb follows or keeps: nobody else can connect */
    bool announced;   /* "listening" said */

    struct breakpoint breakpoints[MAX_BREAKPOINTS];
    struct accel_breakpoint slots[ACCEL_MAX_HW_BREAKPOINTS];
    int slot_owner[ACCEL_MAX_HW_BREAKPOINTS]; /* index into breakpoints, -1 free */

    char *exec_path;

    /* QCatchSyscalls, set on the main thread, read by the vCPU threads
     * under the mutex. */
    bool catch_syscalls;
    GArray *caught_syscalls; /* uint64_t numbers; empty: every syscall */
    /* Signals, siginfo and process events (monitor/debug_signals.c). */
    struct debug_signals *signals;
};

/* The calling vCPU thread's part (for debugger_park, which the signal code
 * calls without one). */
static __thread struct debug_thread *current_thread;

/* ---- the vCPU side -------------------------------------------------------- */

static void forget_session(struct debugger *debugger);
static void remove_all_breakpoints(struct debugger *debugger);
static int tell_fork_child_locked(struct debug_thread *thread, const char *word,
                                  const char *session);
static int target_fork_release(void *opaque, int64_t child);
static int target_fork_follow(void *opaque, int64_t child, const char *session);
static int target_fork_attach(void *opaque, int64_t child, const char *session, int *child_end);
static void release_fork_children(struct debugger *debugger);
static void abandon_pass_step(struct debug_thread *self);
static bool hit_is_reported(struct debug_thread *self, uint64_t address);
static enum debug_verdict start_pass_step(struct debug_thread *self, uint64_t address);
static enum debug_verdict finish_pass_step(struct debug_thread *self);
static int target_read_memory(void *opaque, uint64_t address, void *buffer, size_t length);

struct stop_message {
    struct debugger *debugger;
    struct gdb_stop stop;
    enum silent_stop silent;
    bool alone; /* a non-stop thread's own stop */
};

/* Said once the stub takes connections: with -S, once the vCPU waits at the
 * entry, so that a debugger's first resume is always accepted. */
static void announce(struct debugger *debugger)
{
    if (debugger->announced)
        return;
    debugger->announced = true;
    fprintf(stderr, "hermitux-run: gdb: listening on %s%s\n", gdbstub_address(debugger->stub),
            debugger->halt_at_start ? "; the guest waits for a debugger (target remote ...)" : "");
}

static void release_all_locked(struct debugger *debugger);

static bool is_detached(const struct debugger *debugger)
{
    return __atomic_load_n(&debugger->detached, __ATOMIC_ACQUIRE);
}

/* Main loop: every vCPU is parked for a detach or a lost debugger. */
static void finish_silent_stop(struct debugger *debugger, enum silent_stop silent)
{
    remove_all_breakpoints(debugger);
    forget_session(debugger);
    if (silent == SILENT_DETACH)
        __atomic_store_n(&debugger->detached, true, __ATOMIC_RELEASE);
    g_mutex_lock(&debugger->mutex);
    release_all_locked(debugger);
    g_mutex_unlock(&debugger->mutex);
}

static void stop_told(struct debugger *debugger, int64_t tid);

static gboolean deliver_stop(gpointer data)
{
    struct stop_message *message = data;
    if (message->silent != SILENT_NONE) {
        finish_silent_stop(message->debugger, message->silent);
        return G_SOURCE_REMOVE;
    }
    if (message->alone) {
        /* A session that ended since (detach, disconnection) does not want it. */
        stop_told(message->debugger, message->stop.thread);
        if (!message->debugger->non_stop)
            return G_SOURCE_REMOVE;
    }
    gdbstub_notify_stop(message->debugger->stub, &message->stop);
    if (gdbstub_accepting(message->debugger->stub))
        announce(message->debugger);
    return G_SOURCE_REMOVE;
}

/* Runs call on the debugger's main loop (never on the calling thread). */
static void invoke_on_loop(struct debugger *debugger, gint priority, GSourceFunc call,
                           gpointer data, GDestroyNotify destroy)
{
    GSource *source = g_idle_source_new();
    g_source_set_priority(source, priority);
    g_source_set_callback(source, call, data, destroy);
    g_source_attach(source, debugger->context);
    g_source_unref(source);
}

static void post_stop_as(struct debugger *debugger, const struct gdb_stop *stop,
                         enum silent_stop silent, bool alone)
{
    struct stop_message *message = g_new0(struct stop_message, 1);
    message->debugger = debugger;
    if (stop)
        message->stop = *stop;
    message->silent = silent;
    message->alone = alone;
    /* Queued for the main loop, never run on this thread. */
    invoke_on_loop(debugger, G_PRIORITY_DEFAULT, deliver_stop, message, g_free);
}

static void post_stop(struct debugger *debugger, const struct gdb_stop *stop,
                      enum silent_stop silent)
{
    post_stop_as(debugger, stop, silent, false);
}

static struct debug_thread *thread_at(struct debugger *debugger, guint index)
{
    return g_ptr_array_index(debugger->threads, index);
}

/* The live thread tid, or NULL. Lock held. */
static struct debug_thread *find_thread_locked(struct debugger *debugger, int64_t tid)
{
    for (guint i = 0; i < debugger->threads->len; i++) {
        if (thread_at(debugger, i)->tid == tid)
            return thread_at(debugger, i);
    }
    return NULL;
}

/* Starts an all-stop: every thread not parked yet is kicked. event (of
 * self) is what gdb will be told; none for Ctrl-C or a silent stop. */
static void begin_stop_locked(struct debugger *debugger, struct debug_thread *self,
                              const struct gdb_stop *event)
{
    debugger->stopping = true;
    debugger->reported = false;
    debugger->report_set = event != NULL;
    if (event) {
        debugger->report = *event;
        debugger->report.thread = self->tid;
    }
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        if (thread != self && !thread->parked)
            debugger->guest->accel_ops->stop(thread->accel);
    }
}

static bool all_parked_locked(struct debugger *debugger)
{
    for (guint i = 0; i < debugger->threads->len; i++) {
        if (!thread_at(debugger, i)->parked)
            return false;
    }
    return true;
}

/* The stop is reported once the last thread is parked. */
static void report_if_all_parked_locked(struct debugger *debugger)
{
    if (!debugger->stopping || debugger->reported || debugger->ended ||
        !all_parked_locked(debugger))
        return;
    /* Non-stop: a pause or a watch step, not a stop of gdb's. */
    if (debugger->non_stop && debugger->silent == SILENT_NONE)
        return;
    debugger->reported = true;
    if (debugger->silent != SILENT_NONE) {
        post_stop(debugger, NULL, debugger->silent);
        debugger->silent = SILENT_NONE;
        return;
    }
    /* Ctrl-C: a SIGINT of the thread that took it (begin_interrupt_locked). */
    struct gdb_stop interrupt = {
        .kind = GDB_STOP_SIGNAL, .signal = GDB_SIGNAL_INT, .thread = debugger->interrupt_tid};
    post_stop(debugger, debugger->report_set ? &debugger->report : &interrupt, SILENT_NONE);
}

/* Everything resumes, continuing (detach, a lost debugger). */
static void release_all_locked(struct debugger *debugger)
{
    debugger->stopping = false;
    debugger->reported = false;
    debugger->interrupt_at_resume = false;
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        thread->action = (struct gdb_resume_action){.thread = -1, .mode = GDB_RESUME_CONTINUE};
        thread->has_pending = false;
        thread->gdb_stopped = thread->stop_requested = false;
        thread->parked = false;
    }
    g_cond_broadcast(&debugger->wake);
}

/* ---- non-stop ------------------------------------------------------------- */

/* Non-stop: thread stopped for gdb with stop, told it now. Lock held. */
static void mark_gdb_stopped_locked(struct debug_thread *thread, const struct gdb_stop *stop)
{
    thread->gdb_stopped = true;
    thread->stop_untold = true;
    thread->stop_requested = false;
    thread->held_for_watch = false;
    thread->last_stop = *stop;
    thread->last_stop.thread = thread->tid;
    post_stop_as(thread->debugger, &thread->last_stop, SILENT_NONE, true);
}

/* Non-stop, parking: this thread's own event (or the stop gdb asked of it)
 * goes to gdb alone; without either it is only held for a pause or another
 * thread's watch step. Lock held. */
static void stop_alone_locked(struct debug_thread *self, const struct gdb_stop *event)
{
    struct gdb_stop requested = {.kind = GDB_STOP_SIGNAL, .signal = self->stop_signal};
    if (self->created) {
        requested.signal = GDB_SIGNAL_TRAP; /* gdbserver's T05create */
        requested.reason = GDB_STOP_REASON_CREATE;
    }
    if (!event && self->stop_requested)
        event = &requested;
    self->stop_requested = self->created = false;
    if (event && self->debugger->silent == SILENT_NONE)
        mark_gdb_stopped_locked(self, event);
}

/* Non-stop: the threads parked for a pause or a watch step run on (not
 * those gdb stopped); a signal their resume gave is not given twice. */
static void release_held_locked(struct debugger *debugger)
{
    debugger->stopping = false;
    debugger->reported = false;
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        if (!thread->parked || thread->gdb_stopped)
            continue;
        thread->held_for_watch = false;
        thread->action.signal = 0;
        thread->parked = false;
    }
    g_cond_broadcast(&debugger->wake);
}

/* Non-stop: gdb asks thread to stop (vCont;t: signal 0; an interrupt:
 * SIGINT). One held parks for gdb where it is. Lock held. */
static void request_stop_locked(struct debug_thread *thread, int signal)
{
    if (thread->gdb_stopped)
        return; /* stopped already, and gdb told or about to be */
    if (thread->parked) {
        struct gdb_stop stop = {.kind = GDB_STOP_SIGNAL, .signal = signal};
        mark_gdb_stopped_locked(thread, &stop);
        return;
    }
    thread->stop_requested = true;
    thread->stop_signal = signal;
    thread->debugger->guest->accel_ops->stop(thread->accel);
}

static int arm_debug_registers(struct debug_thread *self, bool single_step)
{
    struct debugger *debugger = self->debugger;
    struct accel_breakpoint armed[ACCEL_MAX_HW_BREAKPOINTS];
    int count = 0;
    /* Slots are positional (DR0..DR3): keep unused ones harmless. */
    int highest = -1;
    for (int slot = 0; slot < ACCEL_MAX_HW_BREAKPOINTS; slot++) {
        if (debugger->slot_owner[slot] >= 0)
            highest = slot;
    }
    for (int slot = 0; slot <= highest; slot++) {
        int owner = debugger->slot_owner[slot];
        armed[slot] = debugger->slots[slot];
        if (owner < 0 ||
            (self->pass_step && debugger->breakpoints[owner].address == self->pass_address &&
             debugger->breakpoints[owner].type <= GDB_BREAKPOINT_HARDWARE))
            armed[slot] = (struct accel_breakpoint){ACCEL_BREAK_EXECUTE, 0, 1};
        count++;
    }
    const struct accel_ops *ops = debugger->guest->accel_ops;
    if (!single_step && count == 0 && !ops->set_debug)
        return 0;
    if (!ops->set_debug)
        return -ENOTSUP;
    return ops->set_debug(self->accel, single_step, armed, count);
}

static bool read_byte(struct debugger *debugger, uint64_t address, uint8_t *byte)
{
    return guest_read(debugger->guest->memory, address, byte, 1, GUEST_ACCESS_DEBUG) == 0;
}

static bool write_byte(struct debugger *debugger, uint64_t address, uint8_t byte)
{
    return guest_write(debugger->guest->memory, address, &byte, 1, GUEST_ACCESS_DEBUG) == 0;
}

static int get_state(struct debug_thread *self, struct cpu_state *state, unsigned parts)
{
    return self->debugger->guest->accel_ops->get_state(self->accel, state, parts);
}

static int set_state(struct debug_thread *self, const struct cpu_state *state, unsigned parts)
{
    return self->debugger->guest->accel_ops->set_state(self->accel, state, parts);
}

/* Another thread's kernel-step int3 at address, if any. Lock held. */
static const struct debug_thread *step_target_owner_locked(struct debugger *debugger,
                                                           const struct debug_thread *self,
                                                           uint64_t address)
{
    for (guint i = 0; i < debugger->threads->len; i++) {
        const struct debug_thread *thread = thread_at(debugger, i);
        if (thread != self && thread->temporary_active && thread->temporary_address == address)
            return thread;
    }
    return NULL;
}

/* A kernel step over the iretq that enters user mode: on hosts where user
 * code cannot be single-stepped by the accelerator, the step would run the
 * program freely (and a single-step armed there would stop inside the #BP
 * stub instead). So the iretq runs unstepped and an int3 at its target ends
 * the step. True when it planted one.
 * Threads kicked in the same exception stub return to the same address
 * (two threads stepped over one breakpoint): they share the int3, and the
 * byte saved is the program's, not another thread's int3. Saving that int3
 * and putting it back made it a lasting int3 in the program's code, and let
 * the second thread run past the first one's restored byte until its next
 * syscall, reported as a SIGTRAP (issue 8: 1 run in 12 of threads-breakpoint). */
static bool plant_step_target(struct debug_thread *self, const struct cpu_state *state)
{
    struct debugger *debugger = self->debugger;
    uint8_t instruction[2];
    uint64_t target;
    if (guest_read(debugger->guest->memory, state->rip, instruction, 2, GUEST_ACCESS_DEBUG) < 0 ||
        instruction[0] != 0x48 || instruction[1] != 0xcf ||
        guest_read(debugger->guest->memory, state->rsp, &target, 8, GUEST_ACCESS_DEBUG) < 0 ||
        target < HX_KERNEL_END)
        return false;
    g_mutex_lock(&debugger->mutex);
    const struct debug_thread *sharer = step_target_owner_locked(debugger, self, target);
    bool planted = true;
    if (sharer)
        self->temporary_saved = sharer->temporary_saved;
    else
        planted = read_byte(debugger, target, &self->temporary_saved) &&
                  write_byte(debugger, target, INT3);
    self->temporary_active = planted;
    self->temporary_address = target;
    g_mutex_unlock(&debugger->mutex);
    return planted;
}

/* The program's byte goes back once no other thread's step needs the int3. */
static void remove_step_target(struct debug_thread *self)
{
    struct debugger *debugger = self->debugger;
    if (!self->temporary_active)
        return;
    g_mutex_lock(&debugger->mutex);
    if (!step_target_owner_locked(debugger, self, self->temporary_address))
        write_byte(debugger, self->temporary_address, self->temporary_saved);
    self->temporary_active = false;
    g_mutex_unlock(&debugger->mutex);
}

/* Applies the resume gdb asked of this thread, on its vCPU thread, before
 * running. */
static void arm_resume(struct debug_thread *self)
{
    struct debugger *debugger = self->debugger;
    self->stepping = self->action.mode != GDB_RESUME_CONTINUE && !is_detached(debugger);
    /* Stepping out of an exception stub, TF in the program's frame is still
     * the debugger's: the program's step (the stub's #DB) is what ends. */
    if (!self->interrupt_step)
        self->step_via_tf = false;
    if (!self->stepping) {
        /* Where the program was, so that a kick landing in the guest
         * kernel on its behalf is reported back in the program. */
        struct cpu_state state;
        get_state(self, &state, CPU_STATE_SEGMENTS);
        self->resumed_in_user = (state.cs.selector & 3) == 3;
        arm_debug_registers(self, false);
        return;
    }
    struct cpu_state state;
    get_state(self, &state, CPU_STATE_GPRS | CPU_STATE_SEGMENTS);
    bool user_mode = (state.cs.selector & 3) == 3;
    if (!self->interrupt_step)
        self->resumed_in_user = user_mode;
    bool accelerator_steps = user_mode ? debugger->capabilities->user_single_step
                                       : debugger->capabilities->kernel_single_step;
    if (!accelerator_steps && user_mode) {
        state.rflags |= RFLAGS_TF;
        set_state(self, &state, CPU_STATE_GPRS);
        self->step_via_tf = true;
        arm_debug_registers(self, false);
        return;
    }
    if (!debugger->capabilities->user_single_step && plant_step_target(self, &state)) {
        arm_debug_registers(self, false);
        return;
    }
    arm_debug_registers(self, true);
}

/* Ends whatever the last resume armed for a step. */
static void disarm_step(struct debug_thread *self)
{
    remove_step_target(self);
    if (self->step_via_tf) {
        struct cpu_state state;
        get_state(self, &state, CPU_STATE_GPRS);
        state.rflags &= ~RFLAGS_TF;
        set_state(self, &state, CPU_STATE_GPRS);
        self->step_via_tf = false;
    }
    self->stepping = false;
}

static void arm_now(struct debug_thread *self)
{
    self->arm_deferred = false;
    if (!self->watch_step)
        arm_resume(self);
}

/* Linux's internal codes of an interrupted call (a debugger sees them in
 * rax at a stop there), and the call that restarts one with its own
 * bookkeeping. */
#define ERESTARTSYS           512
#define ERESTARTNOINTR        513
#define ERESTARTNOHAND        514
#define ERESTART_RESTARTBLOCK 516
#define NR_RESTART_SYSCALL    219

static bool is_restart_code(long value)
{
    return value == -ERESTARTSYS || value == -ERESTARTNOINTR || value == -ERESTARTNOHAND ||
           value == -ERESTART_RESTARTBLOCK;
}

/* The calls Linux ends with EINTR, not a restart, when a stop interrupts
 * them (signal(7), "Interruption of system calls and library functions by
 * stop signals"): ptrace's stops too, so a debugger's stop as well. */
static bool fails_after_stop(uint64_t number)
{
    switch (number) {
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
    case SYS_semop:
    case SYS_semtimedop:
    case SYS_rt_sigtimedwait:
    case SYS_io_getevents:
    case SYS_io_pgetevents:
        return true;
    default:
        return false;
    }
}

/* A syscall returned to the program: where it left the vCPU and whether it
 * was interrupted and rewound for its restart. */
static void note_syscall_end(struct debug_thread *self)
{
    long value = linux_thread_take_syscall_value(self->thread);
    struct cpu_state state;
    self->in_syscall = self->left_syscall = false;
    self->at_syscall_end = get_state(self, &state, CPU_STATE_GPRS) == 0;
    self->syscall_end_rip = state.rip;
    self->restart_code = 0;
    if (self->at_syscall_end && is_restart_code(value) && state.rip == self->syscall_entry_rip - 2)
        self->restart_code = value;
}

/*
 * What a thread stopped in a syscall or at its end shows, as under ptrace:
 * orig_rax is the call's number, and a call that was interrupted (a futex
 * or read a stop cut short) shows rip past its syscall instruction with its
 * restart code in rax, not the rewind done for its restart; that is done
 * again on resuming (restart_as_linux). A call that fails after a stop
 * (epoll_wait...) shows EINTR, and returns it. Inside the call (a signal stop
 * during its delivery) the registers are Linux's already.
 */
static void show_syscall_stop(struct debug_thread *self)
{
    self->orig_rax = UINT64_MAX;
    if (self->in_syscall) {
        self->orig_rax = self->syscall_number;
        return;
    }
    struct cpu_state state;
    if (!self->at_syscall_end || get_state(self, &state, CPU_STATE_GPRS) < 0 ||
        state.rip != self->syscall_end_rip)
        return;
    self->at_syscall_end = false;
    self->orig_rax = self->syscall_number;
    if (!self->restart_code)
        return;
    state.rip += 2;
    state.rax =
        fails_after_stop(self->syscall_number) ? (uint64_t)-EINTR : (uint64_t)self->restart_code;
    self->restart_code = 0;
    set_state(self, &state, CPU_STATE_GPRS);
}

/* Resuming after a stop: a call interrupted restarts, as Linux's signal
 * code restarts it when no handler runs, unless the debugger took it out
 * of the call (orig_rax -1, as gdb sets with the pc) or changed rax. Inside
 * a call the personality does that itself. signal_decides: the resume gives
 * a signal, whose delivery restarts the call or fails it with EINTR (the
 * personality's, as Linux's handle_signal for the handler that runs). */
static void restart_as_linux(struct debug_thread *self, bool signal_decides)
{
    if (self->in_syscall)
        return;
    uint64_t orig_rax = self->orig_rax;
    int number = (int)orig_rax; /* Linux's syscall_get_nr is an int */
    self->orig_rax = UINT64_MAX;
    struct cpu_state state;
    if (number < 0 || get_state(self, &state, CPU_STATE_GPRS) < 0 ||
        !is_restart_code((long)state.rax))
        return;
    if (signal_decides && self->action.signal) {
        linux_signal_stopped_call(self->thread, (uint64_t)number);
        return;
    }
    state.rax = (long)state.rax == -ERESTART_RESTARTBLOCK ? NR_RESTART_SYSCALL : orig_rax;
    state.rip -= 2;
    set_state(self, &state, CPU_STATE_GPRS);
}

/* Non-stop: the stop gdb asked of this thread with a signal (an interrupt:
 * SIGINT, whose siginfo gdb shows, as gdbserver's kill() gives it), or NULL
 * (vCont;t: the SIGSTOP gdbserver's tkill gives). */
static const struct gdb_stop *interrupt_of(struct debug_thread *self, struct gdb_stop *interrupt)
{
    struct debugger *debugger = self->debugger;
    g_mutex_lock(&debugger->mutex);
    bool asked = debugger->non_stop && self->stop_requested && self->stop_signal != 0;
    *interrupt = (struct gdb_stop){.kind = GDB_STOP_SIGNAL, .signal = self->stop_signal};
    g_mutex_unlock(&debugger->mutex);
    return asked ? interrupt : NULL;
}

static bool resumed_stepping(const struct debug_thread *thread)
{
    return thread->action.mode == GDB_RESUME_STEP || thread->action.mode == GDB_RESUME_RANGE_STEP;
}

/* An event met while another thread's stop is under way (not yet reported)
 * is kept as this thread's pending event, except that the event of a thread
 * gdb was stepping is reported first, as gdbserver chooses in all-stop: the
 * other thread's event waits instead. Kept for later, a finished step came
 * to gdb after it had stopped stepping that thread (the other thread's
 * breakpoint ended the step), and gdb showed it as a random SIGTRAP. Lock
 * held. */
static void keep_event_locked(struct debugger *debugger, struct debug_thread *self,
                              const struct gdb_stop *event)
{
    struct debug_thread *first =
        debugger->report_set ? find_thread_locked(debugger, debugger->report.thread) : NULL;
    if (first && first != self && !debugger->reported && !first->has_pending &&
        resumed_stepping(self) && !resumed_stepping(first)) {
        first->has_pending = true;
        first->pending = debugger->report;
        debugger->report = *event;
        debugger->report.thread = self->tid;
        return;
    }
    self->has_pending = true;
    self->pending = *event;
    self->pending.thread = self->tid;
}

/* A step out of the guest kernel (step_out_of_kernel) is over: the resume
 * it replaced is the thread's again. */
static void end_interrupt_step(struct debug_thread *self)
{
    if (self->interrupt_step)
        self->action = self->action_before;
    self->interrupt_step = false;
}

/* Parks this thread for the debugger until a resume releases it. event:
 * what it met (NULL: it only obeys a stop under way). defer: the resume is
 * armed later (debugger_before_run, or by the caller). gives: the caller
 * gives the resume's signal to the program (restart_as_linux). */
static enum debug_verdict park(struct debug_thread *self, const struct gdb_stop *event, bool defer,
                               bool gives)
{
    struct debugger *debugger = self->debugger;
    /* A stop inside the passed instruction (its syscall's fork event): the
     * breakpoint is planted again, the resume is gdb's to give. */
    if (self->pass_step)
        abandon_pass_step(self);
    /* A step out of the kernel for a stop is over: the resume it replaced
     * goes on if the stop was another thread's watch step. */
    end_interrupt_step(self);
    /* A watched page's step keeps its TF: it goes on at the next resume. */
    if (!self->watch_step)
        disarm_step(self);
    struct gdb_stop interrupt;
    debug_signals_stopped(debugger->signals, event ? event : interrupt_of(self, &interrupt));
    show_syscall_stop(self);
    g_mutex_lock(&debugger->mutex);
    if (debugger->non_stop) {
        stop_alone_locked(self, event);
    } else if (event && !debugger->stopping) {
        begin_stop_locked(debugger, self, event);
    } else if (event && !debugger->report_set && debugger->silent == SILENT_NONE) {
        /* A real event wins over a Ctrl-C under way. */
        debugger->report_set = true;
        debugger->report = *event;
        debugger->report.thread = self->tid;
    } else if (event && debugger->silent == SILENT_NONE) {
        keep_event_locked(debugger, self, event);
    }
    self->parked = true;
    report_if_all_parked_locked(debugger);
    if (debugger->watch_owner || debugger->non_stop)
        g_cond_broadcast(&debugger->wake);
    while (self->parked && !debugger->killed && !debugger->aborted && !debugger->ended)
        g_cond_wait(&debugger->wake, &debugger->mutex);
    self->parked = false;
    bool killed = debugger->killed || debugger->aborted || debugger->ended;
    g_mutex_unlock(&debugger->mutex);
    if (killed)
        return DEBUG_KILLED;
    self->left_syscall = self->in_syscall && (int)self->orig_rax < 0;
    restart_as_linux(self, gives);
    self->arm_deferred = defer;
    if (!defer)
        arm_now(self);
    return DEBUG_RESUME;
}

/* Parks for event (or a stop under way); a signal gdb gives on resuming is
 * delivered to the program (vCont;C, `signal SIG`) before the resume is
 * armed (a step then ends in its handler). */
static enum debug_verdict stop_and_wait(struct debug_thread *self, const struct gdb_stop *event)
{
    enum debug_verdict verdict = park(self, event, true, true);
    if (verdict == DEBUG_RESUME &&
        !debug_signals_give(self->debugger->signals, self->action.signal))
        arm_now(self);
    return verdict;
}

static bool in_step_range(struct debug_thread *self, uint64_t rip);

enum debug_verdict debugger_park(struct debugger *debugger, const struct gdb_stop *stop,
                                 int *resume_signal)
{
    struct debug_thread *self = current_thread;
    *resume_signal = 0;
    if (!self || self->debugger != debugger)
        return DEBUG_RESUME;
    bool tf_step = self->step_via_tf;
    enum debug_verdict verdict = park(self, stop, true, false);
    bool process_event =
        stop && (stop->reason == GDB_STOP_REASON_FORK || stop->reason == GDB_STOP_REASON_VFORK ||
                 stop->reason == GDB_STOP_REASON_VFORK_DONE);
    if (tf_step && self->in_syscall && process_event)
        self->clear_tf_at_return = true; /* a vfork stops twice in the call */
    *resume_signal = self->action.signal;
    /* A single step from a stop inside the call (a fork or vfork event)
     * ends when the call returns, before any instruction runs: Linux
     * reports the return to a stepping tracer so, and gdb's stepi over a
     * fork ended one instruction late here. */
    if (verdict == DEBUG_RESUME && self->in_syscall && process_event && !is_detached(debugger)) {
        struct cpu_state state;
        self->step_ends_at_return =
            self->action.mode == GDB_RESUME_STEP ||
            (self->action.mode == GDB_RESUME_RANGE_STEP &&
             get_state(self, &state, CPU_STATE_GPRS) == 0 && !in_step_range(self, state.rip));
    }
    return verdict;
}

bool debugger_left_syscall(struct debugger *debugger)
{
    struct debug_thread *self = current_thread;
    if (!self || self->debugger != debugger)
        return false;
    bool left = self->left_syscall;
    self->left_syscall = false;
    return left;
}

bool debugger_holds(struct debugger *debugger)
{
    if (!debugger || is_detached(debugger) || !gdbstub_connected(debugger->stub))
        return false;
    g_mutex_lock(&debugger->mutex);
    bool killed = debugger->killed;
    g_mutex_unlock(&debugger->mutex);
    return !killed;
}

/* Whether an all-stop is under way: this thread must park. */
static bool stop_under_way(struct debug_thread *self)
{
    struct debugger *debugger = self->debugger;
    g_mutex_lock(&debugger->mutex);
    bool stopping = debugger->stopping || debugger->killed || self->stop_requested;
    g_mutex_unlock(&debugger->mutex);
    return stopping;
}

/* The trap a page needs for the page-trap watchpoints covering it. */
static enum guest_trap page_trap_needed(struct debugger *debugger, uint64_t page)
{
    enum guest_trap trap = GUEST_TRAP_NONE;
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        const struct breakpoint *watch = &debugger->breakpoints[i];
        if (!watch->used || watch->mechanism != MECHANISM_PAGE_TRAP ||
            watch->address + watch->kind <= page || watch->address >= page + GUEST_PAGE_SIZE)
            continue;
        if (watch->type == GDB_WATCHPOINT_WRITE && trap == GUEST_TRAP_NONE)
            trap = GUEST_TRAP_WRITE;
        else if (watch->type != GDB_WATCHPOINT_WRITE)
            trap = GUEST_TRAP_ACCESS;
    }
    return trap;
}

/* Sets one page's trap. The guest kernel's pages are never trapped (its own
 * accesses must not fault; the program cannot touch them), and a page with
 * nothing mapped needs no trap: any access there faults for real. Watching
 * such addresses is allowed (gdb watches *p while p is NULL), and a kernel
 * page that is mapped cannot be watched this way. */
static int trap_page(struct debugger *debugger, uint64_t page)
{
    struct guest_memory *memory = debugger->guest->memory;
    enum guest_trap trap = page_trap_needed(debugger, page);
    if (page < HX_KERNEL_END) {
        struct guest_walk walk;
        guest_walk(memory, guest_memory_cr3(memory), page, &walk);
        return trap != GUEST_TRAP_NONE && walk.status == GUEST_WALK_OK ? -ENOTSUP : 0;
    }
    int result = guest_set_trap(memory, page, trap);
    return result == -EFAULT ? 0 : result;
}

static int update_page_traps(struct debugger *debugger, uint64_t address, uint64_t length)
{
    uint64_t last = address + (length - 1);
    for (uint64_t page = address & GUEST_PAGE_MASK;; page += GUEST_PAGE_SIZE) {
        int result = trap_page(debugger, page);
        if (result < 0)
            return result;
        if (page >= (last & GUEST_PAGE_MASK))
            return 0;
    }
}

/* Pages mapped since a watchpoint was set get their traps at the next resume. */
static void refresh_page_traps(struct debugger *debugger)
{
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        const struct breakpoint *watch = &debugger->breakpoints[i];
        if (watch->used && watch->mechanism == MECHANISM_PAGE_TRAP)
            update_page_traps(debugger, watch->address, watch->kind);
    }
}

static bool ranges_overlap(uint64_t a, uint64_t a_length, uint64_t b, uint64_t b_length)
{
    return a - b < b_length || b - a < a_length;
}

/* The watchpoint one access touched, if any: the access's own bytes and
 * direction, as the instruction decoded before it ran says. */
static const struct breakpoint *watch_hit(struct debugger *debugger,
                                          const struct debugger_access *access)
{
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        const struct breakpoint *watch = &debugger->breakpoints[i];
        /* A debug register's hit during the step is judged here too: the
         * step's own trap is the one the accelerator reports. */
        if (!watch->used ||
            (watch->mechanism != MECHANISM_PAGE_TRAP &&
             (watch->mechanism != MECHANISM_SLOT || watch->type < GDB_WATCHPOINT_WRITE)))
            continue;
        if (!ranges_overlap(access->address, access->size, watch->address, watch->kind))
            continue;
        if ((watch->type == GDB_WATCHPOINT_WRITE && !access->write) ||
            (watch->type == GDB_WATCHPOINT_READ && !access->read))
            continue;
        return watch;
    }
    return NULL;
}

static const struct breakpoint *watch_hit_any(struct debug_thread *self)
{
    for (int i = 0; i < self->watch_access_count; i++) {
        const struct breakpoint *watch = watch_hit(self->debugger, &self->watch_accesses[i]);
        if (watch)
            return watch;
    }
    return NULL;
}

static struct breakpoint *find_breakpoint(struct debugger *debugger, uint64_t address,
                                          enum breakpoint_mechanism mechanism)
{
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        struct breakpoint *breakpoint = &debugger->breakpoints[i];
        if (breakpoint->used && breakpoint->address == address &&
            breakpoint->mechanism == mechanism &&
            (breakpoint->type == GDB_BREAKPOINT_SOFTWARE ||
             breakpoint->type == GDB_BREAKPOINT_HARDWARE))
            return breakpoint;
    }
    return NULL;
}

/* Another thread's kernel-step int3 (see plant_step_target) at address. */
static bool foreign_step_target(struct debug_thread *self, uint64_t address)
{
    struct debugger *debugger = self->debugger;
    g_mutex_lock(&debugger->mutex);
    bool found = step_target_owner_locked(debugger, self, address) != NULL;
    g_mutex_unlock(&debugger->mutex);
    return found;
}

struct debug_thread *debugger_thread_enter(struct debugger *debugger, struct accel *accel,
                                           struct linux_thread *thread)
{
    if (!debugger)
        return NULL;
    struct debug_thread *self = g_new0(struct debug_thread, 1);
    self->debugger = debugger;
    self->accel = accel;
    self->thread = thread;
    self->tid = linux_thread_tid(thread);
    self->action = (struct gdb_resume_action){.thread = -1, .mode = GDB_RESUME_CONTINUE};
    self->fork_channel = -1;
    self->orig_rax = UINT64_MAX;
    g_mutex_lock(&debugger->mutex);
    g_ptr_array_add(debugger->threads, self);
    /* gdb takes thread events: it hears of the thread before it runs. */
    if (debugger->non_stop && debugger->thread_events && !debugger->killed)
        self->created = self->stop_requested = true;
    /* Born during a stop: it parks at its first exit. */
    if (debugger->stopping || debugger->killed || self->created)
        debugger->guest->accel_ops->stop(accel);
    self->held_for_watch = debugger->watch_owner != NULL;
    g_mutex_unlock(&debugger->mutex);
    if (!is_detached(debugger))
        arm_debug_registers(self, false);
    current_thread = self;
    debug_signals_thread_enter(debugger->signals, thread);
    return self;
}

/* Threads gdb resumed ran, and none is left running: they ended, the
 * others stay stopped (scheduler locking, or each its own in non-stop).
 * gdbserver then reports that no resumed thread is left (N), and gdb says
 * "No unwaited-for children left." instead of waiting for ever. Lock held. */
static bool none_resumed_left_locked(struct debugger *debugger)
{
    if (debugger->threads->len == 0 || debugger->killed || debugger->ended ||
        is_detached(debugger) || (!debugger->non_stop && debugger->stopping))
        return false;
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        if (debugger->non_stop ? !thread->gdb_stopped : !thread->parked)
            return false;
    }
    return true;
}

void debugger_thread_leave(struct debug_thread *self)
{
    if (!self)
        return;
    struct debugger *debugger = self->debugger;
    if (self->pass_step) /* its instruction ended the thread: the others run on */
        abandon_pass_step(self);
    disarm_step(self);
    g_mutex_lock(&debugger->mutex);
    if (self->fork_channel >= 0)
        tell_fork_child_locked(self, "r", "");
    g_ptr_array_remove(debugger->threads, self);
    if (gdbstub_connected(debugger->stub) && none_resumed_left_locked(debugger)) {
        struct gdb_stop none = {.kind = GDB_STOP_NO_RESUMED};
        post_stop_as(debugger, &none, SILENT_NONE, debugger->non_stop);
    }
    report_if_all_parked_locked(debugger);
    if (debugger->watch_owner || debugger->non_stop)
        g_cond_broadcast(&debugger->wake);
    g_mutex_unlock(&debugger->mutex);
    if (current_thread == self)
        current_thread = NULL;
    debug_signals_thread_leave(debugger->signals);
    g_free(self);
}

void debugger_thread_exited(struct debugger *debugger)
{
    struct debug_thread *self = current_thread;
    if (!debugger || !self)
        return;
    g_mutex_lock(&debugger->mutex);
    /* gdbserver's w0: Linux gives a tracer no status of its own for a
     * thread that is not the leader. */
    if (debugger->non_stop && debugger->thread_events && !debugger->killed && !debugger->ended &&
        !is_detached(debugger)) {
        struct gdb_stop gone = {.kind = GDB_STOP_THREAD_EXITED, .thread = self->tid};
        post_stop_as(debugger, &gone, SILENT_NONE, true);
    }
    g_mutex_unlock(&debugger->mutex);
}

static bool in_step_range(struct debug_thread *self, uint64_t rip)
{
    return self->action.mode == GDB_RESUME_RANGE_STEP && rip >= self->action.range_start &&
           rip < self->action.range_end;
}

/* Whether exit is the one-shot breakpoint run_to_program_entry set. */
static bool entry_reached(const struct accel_exit *exit, bool slot)
{
    return slot ? exit->reason == ACCEL_EXIT_DEBUG && exit->debug_slot == 0
                : exit->reason == ACCEL_EXIT_EXCEPTION && exit->vector == 3;
}

/* Runs the guest kernel's start-up unseen until the program's first
 * instruction (the dynamic loader's entry, else the program's), with a
 * one-shot breakpoint there. False when it did not get there: the vCPU is
 * then wherever it stopped. */
static bool run_to_program_entry(struct debug_thread *self)
{
    struct debugger *debugger = self->debugger;
    const struct guest *guest = debugger->guest;
    const struct accel_ops *ops = guest->accel_ops;
    uint64_t entry = guest->interpreter.path ? guest->interpreter.entry : guest->program.entry;
    bool slot = debugger->capabilities->user_hw_breakpoints && ops->set_debug;
    struct accel_breakpoint at_entry = {ACCEL_BREAK_EXECUTE, entry, 1};
    uint8_t saved;
    if (slot ? ops->set_debug(self->accel, false, &at_entry, 1) < 0
             : !read_byte(debugger, entry, &saved) || !write_byte(debugger, entry, INT3))
        return false;
    struct accel_exit exit;
    /* Kicks (a signal carried across the execve) only interrupt the run. */
    while (ops->run(self->accel, &exit) == 0 && exit.reason == ACCEL_EXIT_STOPPED &&
           !stop_under_way(self))
        ;
    bool reached = entry_reached(&exit, slot);
    if (slot) {
        arm_debug_registers(self, false);
    } else {
        write_byte(debugger, entry, saved);
        struct cpu_state state;
        if (reached && get_state(self, &state, CPU_STATE_GPRS) == 0 && state.rip == entry + 1) {
            state.rip = entry;
            set_state(self, &state, CPU_STATE_GPRS);
        }
    }
    return reached;
}

static bool syscall_caught(struct debugger *debugger, uint64_t number);

/* See clear_tf_at_return in struct debug_thread: r11 too, as after a
 * stepped syscall. */
static void clear_tf_at_return(struct debug_thread *self)
{
    struct cpu_state state;
    if (!self->clear_tf_at_return || get_state(self, &state, CPU_STATE_GPRS) < 0)
        return;
    self->clear_tf_at_return = false;
    state.rflags &= ~RFLAGS_TF;
    state.r11 &= ~RFLAGS_TF;
    set_state(self, &state, CPU_STATE_GPRS);
}

/*
 * The stop of a program that came across an execve under gdb, as Linux's
 * exec event: at the new program's first instruction (gdbserver shows it
 * there), inside the execve call (orig_rax its number, rax -ENOSYS as the
 * call's entry left it), which returns 0 when resumed.
 */
static enum debug_verdict stop_after_exec(struct debug_thread *self, struct gdb_stop *stop)
{
    stop->reason = GDB_STOP_REASON_EXEC;
    struct cpu_state state;
    if (!run_to_program_entry(self) || get_state(self, &state, CPU_STATE_GPRS) < 0)
        return stop_and_wait(self, stop);
    state.rax = (uint64_t)-ENOSYS;
    set_state(self, &state, CPU_STATE_GPRS);
    self->syscall_number = SYS_execve;
    self->in_syscall = true;
    enum debug_verdict verdict = stop_and_wait(self, stop);
    if (verdict == DEBUG_RESUME && get_state(self, &state, CPU_STATE_GPRS) == 0) {
        state.rax = 0;
        set_state(self, &state, CPU_STATE_GPRS);
        /* `catch syscall execve` (kept across the execve) sees the call
         * return, as Linux's syscall-exit stop follows its exec event. */
        if (!is_detached(self->debugger) && syscall_caught(self->debugger, SYS_execve)) {
            struct gdb_stop returned = {.kind = GDB_STOP_SIGNAL,
                                        .signal = GDB_SIGNAL_TRAP,
                                        .reason = GDB_STOP_REASON_SYSCALL_RETURN,
                                        .syscall_number = SYS_execve};
            self->in_syscall = false;
            return stop_and_wait(self, &returned);
        }
        /* A single step from there ends where it began: Linux reports the
         * call's return to a stepping tracer before any instruction runs. */
        bool step = self->action.mode == GDB_RESUME_STEP ||
                    (self->action.mode == GDB_RESUME_RANGE_STEP && !in_step_range(self, state.rip));
        if (step && !is_detached(self->debugger)) {
            struct gdb_stop trap = {.kind = GDB_STOP_SIGNAL, .signal = GDB_SIGNAL_TRAP};
            verdict = stop_and_wait(self, &trap);
        }
    }
    self->in_syscall = false;
    return verdict;
}

enum debug_verdict debugger_before_start(struct debug_thread *self)
{
    /* A test hook: widens the window between the start and the vCPU thread
     * waiting at the entry, where a debugger's first resume once failed. */
    const char *delay = getenv("HERMITUX_TEST_PARK_DELAY_MS");
    if (delay)
        g_usleep(1000 * (gulong)strtoul(delay, NULL, 10));
    struct gdb_stop stop = {.kind = GDB_STOP_SIGNAL, .signal = GDB_SIGNAL_TRAP};
    if (self->debugger->handed_over)
        return stop_after_exec(self, &stop);
    return stop_and_wait(self, &stop);
}

bool debugger_gdb_step_under_way(struct debugger *debugger)
{
    struct debug_thread *self = current_thread;
    return self && self->debugger == debugger && self->stepping && !self->interrupt_step &&
           !self->watch_step && !self->pass_step && self->action.mode != GDB_RESUME_CONTINUE;
}

enum debug_verdict debugger_end_step_before_signal(struct debugger *debugger)
{
    struct debug_thread *self = current_thread;
    if (!self || self->debugger != debugger || !self->in_syscall)
        return DEBUG_RESUME;
    bool stepi = self->stepping && self->action.mode == GDB_RESUME_STEP && !self->interrupt_step &&
                 !self->watch_step && !self->pass_step;
    if (!stepi && !self->step_ends_at_return)
        return DEBUG_RESUME;
    /* Reported after the signal, a stepi over vfork ended one instruction
     * late when the child's SIGCHLD came first: gdb passed it and stepped
     * again. */
    self->step_ends_at_return = false;
    struct gdb_stop stop = {.kind = GDB_STOP_SIGNAL, .signal = GDB_SIGNAL_TRAP};
    return stop_and_wait(self, &stop);
}

bool debugger_owns_tf(const struct debug_thread *self)
{
    return self && self->step_via_tf;
}

bool debugger_stepping(struct debug_thread *self)
{
    return self && (self->stepping || self->step_ends_at_return);
}

enum debug_verdict debugger_before_run(struct debug_thread *self)
{
    if (!self)
        return DEBUG_RESUME;
    struct debugger *debugger = self->debugger;
    g_mutex_lock(&debugger->mutex);
    bool killed = debugger->killed;
    g_mutex_unlock(&debugger->mutex);
    if (killed)
        return DEBUG_KILLED; /* at a stop inside signal delivery */
    if (!self->arm_deferred)
        return DEBUG_RESUME;
    self->arm_deferred = false;
    /* A step that delivered a signal to a handler ends at the handler's
     * first instruction, as under ptrace. */
    if (debug_signals_take_handler_entry(debugger->signals) &&
        self->action.mode != GDB_RESUME_CONTINUE && !is_detached(debugger)) {
        struct gdb_stop stop = {.kind = GDB_STOP_SIGNAL, .signal = GDB_SIGNAL_TRAP};
        return stop_and_wait(self, &stop);
    }
    arm_now(self);
    return DEBUG_RESUME;
}

static bool still_in_kernel(struct debug_thread *self)
{
    struct cpu_state state;
    return get_state(self, &state, CPU_STATE_SEGMENTS) == 0 && (state.cs.selector & 3) == 0;
}

/* Kicked in the guest kernel (an exception stub on its way to the monitor)
 * while the program was running: gdb would be shown the stub, not the
 * program. */
static bool stopped_in_kernel_path(struct debug_thread *self)
{
    return self->resumed_in_user && self->debugger->capabilities->kernel_single_step &&
           still_in_kernel(self);
}

/* Steps the few instructions of the stub until the program runs again; the
 * thread then parks for the stop under way. */
static enum debug_verdict step_out_of_kernel(struct debug_thread *self)
{
    if (!self->interrupt_step)
        self->action_before = self->action;
    self->interrupt_step = true;
    self->action.mode = GDB_RESUME_STEP;
    arm_resume(self);
    return DEBUG_RESUME;
}

static enum debug_verdict handle_breakpoint_trap(struct debug_thread *self, struct cpu_state *state)
{
    struct debugger *debugger = self->debugger;
    struct gdb_stop stop = {.kind = GDB_STOP_SIGNAL, .signal = GDB_SIGNAL_TRAP};
    uint64_t address = state->rip - 1;
    if (self->temporary_active && address == self->temporary_address) {
        remove_step_target(self);
        state->rip = address;
        set_state(self, state, CPU_STATE_GPRS);
        return self->interrupt_step ? stop_and_wait(self, NULL) : stop_and_wait(self, &stop);
    }
    struct breakpoint *breakpoint = find_breakpoint(debugger, address, MECHANISM_INT3);
    uint8_t byte;
    if (!breakpoint && (foreign_step_target(self, address) ||
                        (read_byte(debugger, address, &byte) && byte != INT3))) {
        /* Another thread's step int3, or an int3 of the debugger's taken
         * out since it trapped (gdbserver's check: pc-1 was a breakpoint):
         * the program's instruction runs again, as if never trapped. */
        state->rip = address;
        set_state(self, state, CPU_STATE_GPRS);
        return stop_under_way(self) ? stop_and_wait(self, NULL) : DEBUG_RESUME;
    }
    if (breakpoint) {
        /* gdb's swbreak semantics: the pc is the breakpoint's address. */
        state->rip = address;
        set_state(self, state, CPU_STATE_GPRS);
        /* Over the program's own int3 (a permanent breakpoint) a step
         * would trap again for ever: that int3 is reported, as it traps
         * natively (bp-permanent.exp with a false condition hung). */
        if (breakpoint->saved_byte != INT3 && !hit_is_reported(self, address))
            return start_pass_step(self, address);
        stop.reason = breakpoint->type == GDB_BREAKPOINT_HARDWARE ? GDB_STOP_REASON_HWBREAK
                                                                  : GDB_STOP_REASON_SWBREAK;
    }
    return stop_and_wait(self, &stop);
}

static enum gdb_stop_reason slot_reason(const struct breakpoint *breakpoint)
{
    switch (breakpoint->type) {
    case GDB_WATCHPOINT_WRITE:
        return GDB_STOP_REASON_WATCH;
    case GDB_WATCHPOINT_READ:
        return GDB_STOP_REASON_RWATCH;
    case GDB_WATCHPOINT_ACCESS:
        return GDB_STOP_REASON_AWATCH;
    default:
        return GDB_STOP_REASON_HWBREAK;
    }
}

static enum debug_verdict handle_trap(struct debug_thread *self, const struct accel_exit *exit)
{
    struct debugger *debugger = self->debugger;
    struct cpu_state state;
    get_state(self, &state, CPU_STATE_GPRS);
    struct gdb_stop stop = {.kind = GDB_STOP_SIGNAL, .signal = GDB_SIGNAL_TRAP};

    if (exit->reason == ACCEL_EXIT_EXCEPTION && exit->vector == 3)
        return handle_breakpoint_trap(self, &state);

    /* A finished step: #DB from TF, or the accelerator's own. */
    bool tf_step_done = exit->reason == ACCEL_EXIT_EXCEPTION && self->step_via_tf;
    bool step_done = tf_step_done || (exit->reason == ACCEL_EXIT_DEBUG && exit->debug_slot < 0);
    if (step_done && self->pass_step)
        return finish_pass_step(self);
    if (tf_step_done && self->interrupt_step) {
        /* A kick landed in the #DB stub of the program's own TF step and
         * stepped the stub to its exit: that step is over, and it is gdb's
         * event as any other. Taken for the stub's step, it parked with TF
         * left in the program's flags, and the next continue trapped after
         * one instruction: "Thread 2 received signal SIGTRAP" (1 run of
         * gdb/musl/step-other-thread on PVM in CI). */
        end_interrupt_step(self);
    } else if (step_done && self->interrupt_step) {
        return still_in_kernel(self) ? step_out_of_kernel(self) : stop_and_wait(self, NULL);
    }
    if (step_done && in_step_range(self, state.rip)) {
        /* Cut short by another thread's stop: gdb steps it again later. */
        if (stop_under_way(self))
            return stop_and_wait(self, NULL);
        remove_step_target(self);
        arm_resume(self);
        return DEBUG_RESUME;
    }
    if (exit->reason == ACCEL_EXIT_DEBUG && exit->debug_slot >= 0) {
        int owner = debugger->slot_owner[exit->debug_slot];
        if (owner >= 0 && debugger->breakpoints[owner].type <= GDB_BREAKPOINT_HARDWARE &&
            !hit_is_reported(self, state.rip))
            return start_pass_step(self, state.rip);
        if (owner >= 0) {
            stop.reason = slot_reason(&debugger->breakpoints[owner]);
            stop.watch_address = debugger->breakpoints[owner].address;
        }
    }
    return stop_and_wait(self, &stop);
}

/* What the trapped instruction accesses, decoded before it runs; without a
 * decoder, the faulting address taken as an 8-byte access in the fault's
 * direction. */
static void decode_watch_accesses(struct debug_thread *self, const struct cpu_state *state,
                                  const struct accel_exit *exit)
{
    int count = debugger_instruction_accesses(self->debugger->guest->memory, state,
                                              self->watch_accesses, MAX_ACCESSES);
    if (count < 0) {
        bool write = (exit->error_code & 2) != 0;
        self->watch_accesses[0] = (struct debugger_access){exit->fault_address, 8, !write, write};
        count = 1;
    }
    self->watch_access_count = count;
}

static bool others_parked_locked(struct debugger *debugger, const struct debug_thread *self)
{
    for (guint i = 0; i < debugger->threads->len; i++) {
        const struct debug_thread *thread = thread_at(debugger, i);
        if (thread != self && !thread->parked)
            return false;
    }
    return true;
}

/* Every other thread parks before a trapped page is opened, and stays so
 * until it is trapped again: while it is open any vCPU could touch the
 * watched bytes unseen (the watchpoint missed a worker's write), and one
 * that faulted on the page just before would take the open page for a
 * real fault (SIGSEGV). False when a stop or another thread's watch step is
 * under way: this thread parks, and its access faults again after it. */
static bool claim_watch_step(struct debug_thread *self)
{
    struct debugger *debugger = self->debugger;
    g_mutex_lock(&debugger->mutex);
    bool free = !debugger->stopping && !debugger->killed;
    if (free) {
        /* Threads parked already (scheduler locking) stay parked after. */
        for (guint i = 0; i < debugger->threads->len; i++) {
            struct debug_thread *thread = thread_at(debugger, i);
            thread->held_for_watch = thread != self && !thread->parked;
        }
        begin_stop_locked(debugger, self, NULL);
        debugger->watch_owner = self;
        while (!others_parked_locked(debugger, self) && !debugger->killed && !debugger->aborted &&
               !debugger->ended)
            g_cond_wait(&debugger->wake, &debugger->mutex);
    }
    g_mutex_unlock(&debugger->mutex);
    return free;
}

/* The watch step is over with no hit: the threads it parked run again,
 * with the resume they had (a signal it gave is not given twice). False
 * when a stop came meanwhile (another thread's event, Ctrl-C, a detach):
 * the caller parks for it. */
static bool release_watch_step(struct debug_thread *self)
{
    struct debugger *debugger = self->debugger;
    g_mutex_lock(&debugger->mutex);
    debugger->watch_owner = NULL;
    if (debugger->non_stop) {
        /* The others run on; this thread parks if gdb asked it to stop. */
        bool stop = debugger->killed || self->stop_requested;
        release_held_locked(debugger);
        g_mutex_unlock(&debugger->mutex);
        return !stop;
    }
    bool stop = debugger->report_set || debugger->interrupt_during_watch ||
                debugger->silent != SILENT_NONE || debugger->killed;
    debugger->interrupt_during_watch = false;
    if (!stop) {
        debugger->stopping = false;
        for (guint i = 0; i < debugger->threads->len; i++) {
            struct debug_thread *thread = thread_at(debugger, i);
            if (!thread->held_for_watch)
                continue;
            thread->held_for_watch = false;
            thread->action.signal = 0;
            thread->parked = false;
        }
        g_cond_broadcast(&debugger->wake);
    }
    g_mutex_unlock(&debugger->mutex);
    return !stop;
}

/* ---- breakpoint conditions and commands on the target ------------------------ */

/* What gdb's agent expressions read at a hit: the thread's registers, read
 * once when first asked, and memory as gdb sees it (int3s hidden). */
struct hit_context {
    struct debug_thread *self;
    bool have_state, have_fpu;
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    GString *output;
};

#define GDB_REGISTER_FIRST_FPU 24 /* st0: the first register of the x87/SSE state */

static int hit_read_register(void *opaque, int regnum, uint64_t *value)
{
    struct hit_context *hit = opaque;
    const struct accel_ops *ops = hit->self->debugger->guest->accel_ops;
    size_t size;
    if (regnum < 0 || regnum >= GDB_REGISTER_COUNT || gdb_register_offset(regnum, &size) < 0)
        return -EINVAL;
    if (regnum == GDB_REGISTER_ORIG_RAX) { /* not in a syscall at a breakpoint */
        *value = UINT64_MAX;
        return 0;
    }
    if (!hit->have_state &&
        get_state(hit->self, &hit->state, CPU_STATE_GPRS | CPU_STATE_SEGMENTS) < 0)
        return -EIO;
    hit->have_state = true;
    if (regnum >= GDB_REGISTER_FIRST_FPU && !hit->have_fpu &&
        ops->get_fpu(hit->self->accel, &hit->fpu) < 0)
        return -EIO;
    hit->have_fpu |= regnum >= GDB_REGISTER_FIRST_FPU;
    uint8_t bytes[64] = {0};
    gdb_register_get(regnum, &hit->state, &hit->fpu, bytes);
    memcpy(value, bytes, sizeof *value); /* the low 8 bytes, little-endian as the host */
    return 0;
}

static int hit_read_memory(void *opaque, uint64_t address, void *buffer, size_t length)
{
    struct hit_context *hit = opaque;
    return target_read_memory(hit->self->debugger, address, buffer, length);
}

static void hit_output(void *opaque, const char *text, size_t length)
{
    struct hit_context *hit = opaque;
    g_string_append_len(hit->output, text, (gssize)length);
}

struct output_message {
    struct debugger *debugger;
    GString *text;
};

static gboolean deliver_output(gpointer data)
{
    struct output_message *message = data;
    gdbstub_console_output(message->debugger->stub, message->text->str, message->text->len);
    return G_SOURCE_REMOVE;
}

static void free_output(gpointer data)
{
    struct output_message *message = data;
    g_string_free(message->text, TRUE);
    g_free(message);
}

/* Queued before any stop this thread reports next: gdb prints it first. */
static void post_output(struct debugger *debugger, GString *text)
{
    struct output_message *message = g_new(struct output_message, 1);
    message->debugger = debugger;
    message->text = text;
    invoke_on_loop(debugger, G_PRIORITY_DEFAULT, deliver_output, message, free_output);
}

/* Whether any code breakpoint at address has conditions or commands. */
static bool hit_has_actions(struct debugger *debugger, uint64_t address)
{
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        const struct breakpoint *breakpoint = &debugger->breakpoints[i];
        if (breakpoint->used && breakpoint->address == address &&
            breakpoint->type <= GDB_BREAKPOINT_HARDWARE &&
            (breakpoint->actions.condition_count || breakpoint->actions.command_count))
            return true;
    }
    return false;
}

/*
 * A hit on the code breakpoints at address, judged on the target as
 * gdbserver does (ConditionalBreakpoints+, BreakpointCommands+): gdb hears
 * of it when a condition of one of them is true or fails to evaluate (or
 * one has none) and none has commands. The commands of those whose
 * condition holds run now (dprintf-style agent: their printf output goes to
 * gdb), and the program goes on without a stop.
 */
static bool hit_is_reported(struct debug_thread *self, uint64_t address)
{
    struct debugger *debugger = self->debugger;
    if (!hit_has_actions(debugger, address))
        return true;
    struct hit_context hit = {.self = self, .output = g_string_new(NULL)};
    struct gdb_agent_target target = {&hit, hit_read_register, hit_read_memory, hit_output};
    bool holds = false, commands = false;
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        const struct breakpoint *breakpoint = &debugger->breakpoints[i];
        if (!breakpoint->used || breakpoint->address != address ||
            breakpoint->type > GDB_BREAKPOINT_HARDWARE ||
            !gdb_agent_conditions_hold(&breakpoint->actions, &target))
            continue;
        holds = true;
        commands |= breakpoint->actions.command_count > 0;
        gdb_agent_run_commands(&breakpoint->actions, &target);
    }
    if (hit.output->len)
        post_output(debugger, hit.output);
    else
        g_string_free(hit.output, TRUE);
    return holds && !commands;
}

/* The breakpoint goes back and the resume the hit interrupted is the
 * thread's again. */
static void end_pass_step(struct debug_thread *self)
{
    struct debugger *debugger = self->debugger;
    disarm_step(self);
    self->pass_step = false;
    if (find_breakpoint(debugger, self->pass_address, MECHANISM_INT3))
        write_byte(debugger, self->pass_address, INT3);
    self->action = self->pass_action;
}

/* A hit gdb is not told of: the program's instruction at address runs as
 * if no breakpoint were there. Like a watch step, every other thread parks
 * first (none may run past the breakpoint while it is out); the int3 is
 * taken out (a slot is left unarmed) and the instruction stepped. When a
 * stop is under way the thread parks at the breakpoint instead; its next
 * resume hits it again. */
static enum debug_verdict start_pass_step(struct debug_thread *self, uint64_t address)
{
    struct debugger *debugger = self->debugger;
    if (!claim_watch_step(self))
        return stop_and_wait(self, NULL);
    const struct breakpoint *int3 = find_breakpoint(debugger, address, MECHANISM_INT3);
    if (int3)
        write_byte(debugger, address, int3->saved_byte);
    self->pass_step = true;
    self->pass_address = address;
    self->pass_action = self->action;
    self->action.mode = GDB_RESUME_STEP;
    /* TF, trapped through the guest IDT, on every accelerator: tcg's own
     * step retranslates all code on the way in and out (40 ms a hit). */
    struct cpu_state state;
    if (get_state(self, &state, CPU_STATE_GPRS) == 0) {
        state.rflags |= RFLAGS_TF;
        set_state(self, &state, CPU_STATE_GPRS);
        self->step_via_tf = self->stepping = true;
    }
    arm_debug_registers(self, !self->stepping);
    self->stepping = true;
    return DEBUG_RESUME;
}

/* The instruction ran (a single-step trap, or it was a syscall that
 * returned): on with the resume, or its end when that was a step. */
static enum debug_verdict finish_pass_step(struct debug_thread *self)
{
    end_pass_step(self);
    if (!release_watch_step(self))
        return stop_and_wait(self, NULL);
    struct cpu_state state;
    if (self->action.mode != GDB_RESUME_CONTINUE && !is_detached(self->debugger) &&
        (get_state(self, &state, CPU_STATE_GPRS) < 0 || !in_step_range(self, state.rip))) {
        struct gdb_stop stop = {.kind = GDB_STOP_SIGNAL, .signal = GDB_SIGNAL_TRAP};
        return stop_and_wait(self, &stop);
    }
    arm_resume(self);
    return DEBUG_RESUME;
}

/* The instruction ended otherwise (a fault, a stop inside its syscall):
 * the breakpoint goes back, the other threads run on unless a stop holds
 * them. */
static void abandon_pass_step(struct debug_thread *self)
{
    end_pass_step(self);
    arm_resume(self);
    release_watch_step(self);
}

/* Whether exit is the end of the pass step's instruction or a kick. */
static bool continues_pass_step(const struct debug_thread *self, const struct accel_exit *exit)
{
    return exit->reason == ACCEL_EXIT_STOPPED || exit->reason == ACCEL_EXIT_SYSCALL ||
           (exit->reason == ACCEL_EXIT_DEBUG && exit->debug_slot < 0) ||
           (exit->reason == ACCEL_EXIT_EXCEPTION && exit->vector == 1 && self->step_via_tf);
}

static void abandon_watch_step(struct debug_thread *self);

/* The program touched a page a watchpoint traps: with every other thread
 * parked, open the page, let the one instruction run (TF), and judge its
 * accesses afterwards. An instruction that touches a second trapped page
 * faults again before it completes: that page is opened too. */
static enum debug_verdict start_watch_step(struct debug_thread *self, const struct accel_exit *exit)
{
    struct cpu_state state;
    if (!self->watch_step && !claim_watch_step(self))
        return stop_and_wait(self, NULL);
    get_state(self, &state, CPU_STATE_GPRS | CPU_STATE_SEGMENTS);
    if (!self->watch_step) {
        self->watch_page_count = 0;
        decode_watch_accesses(self, &state, exit);
    }
    if (self->watch_page_count == MAX_WATCH_PAGES) {
        abandon_watch_step(self);
        return DEBUG_FATAL;
    }
    guest_set_trap(self->debugger->guest->memory, exit->fault_address, GUEST_TRAP_NONE);
    self->watch_pages[self->watch_page_count++] = exit->fault_address & GUEST_PAGE_MASK;
    self->watch_step = true;
    state.rflags |= RFLAGS_TF;
    set_state(self, &state, CPU_STATE_GPRS);
    return DEBUG_RESUME;
}

static void close_watch_pages(struct debug_thread *self)
{
    struct debugger *debugger = self->debugger;
    for (int i = 0; i < self->watch_page_count; i++)
        guest_set_trap(debugger->guest->memory, self->watch_pages[i],
                       page_trap_needed(debugger, self->watch_pages[i]));
    self->watch_page_count = 0;
}

/* The pages are trapped again before any other thread runs; a hit is
 * reported with the others still parked (the all-stop is already made). */
static enum debug_verdict finish_watch_step(struct debug_thread *self,
                                            const struct accel_exit *exit)
{
    struct debugger *debugger = self->debugger;
    self->watch_step = false;
    close_watch_pages(self);
    const struct breakpoint *watch = watch_hit_any(self);
    if (watch) {
        g_mutex_lock(&debugger->mutex);
        debugger->watch_owner = NULL;
        debugger->interrupt_during_watch = false;
        if (debugger->non_stop)
            release_held_locked(debugger); /* only this thread stops */
        g_mutex_unlock(&debugger->mutex);
        struct gdb_stop stop = {
            .kind = GDB_STOP_SIGNAL,
            .signal = GDB_SIGNAL_TRAP,
            .reason = watch->type == GDB_WATCHPOINT_WRITE  ? GDB_STOP_REASON_WATCH
                      : watch->type == GDB_WATCHPOINT_READ ? GDB_STOP_REASON_RWATCH
                                                           : GDB_STOP_REASON_AWATCH,
            .watch_address = watch->address,
        };
        self->step_via_tf = true; /* so disarm_step clears TF */
        return stop_and_wait(self, &stop);
    }
    bool alone_again = release_watch_step(self);
    if (self->stepping)
        return handle_trap(self, exit);
    /* Not the watched bytes: on with the run, TF off again. */
    struct cpu_state state;
    get_state(self, &state, CPU_STATE_GPRS);
    state.rflags &= ~RFLAGS_TF;
    set_state(self, &state, CPU_STATE_GPRS);
    return alone_again ? DEBUG_RESUME : stop_and_wait(self, NULL);
}

/* A kick: the stop under way (Ctrl-C, another thread's event) parks this
 * thread; any other kick is not the debugger's. */
static enum debug_verdict handle_kick(struct debug_thread *self, const struct accel_exit *exit)
{
    struct debugger *debugger = self->debugger;
    g_mutex_lock(&debugger->mutex);
    bool killed = debugger->killed, stopping = debugger->stopping || self->stop_requested;
    g_mutex_unlock(&debugger->mutex);
    if (killed)
        return DEBUG_KILLED;
    /* A watch or pass step runs alone: its one instruction goes on. */
    if (self->watch_step || self->pass_step)
        return DEBUG_RESUME;
    if (!stopping)
        return DEBUG_FATAL;
    if (stopped_in_kernel_path(self))
        return step_out_of_kernel(self);
    /* Kicked with the #DB of its TF step queued for injection (PVM has it
     * in the vCPU events; every exception of the program exits): the
     * stepped instruction has run, the step is done. Parked here, the
     * thread lost TF but not the queued trap, which came at the next
     * continue as "received signal SIGTRAP" (gdb/musl/step-other-thread,
     * 1 run in 5 on 2 busy cores; gdb.threads/pending-step.exp). Its exit
     * comes at the next entry, before any instruction: the thread runs to
     * it and the step ends there as a step does, as under Linux a step's
     * SIGTRAP that beats gdbserver's SIGSTOP is the thread's event. Parked
     * silently instead, gdb took a displaced step for not made and did not
     * fix its registers up (interrupt-while-step-over.exp: a SIGSEGV). */
    if (exit->mid_exception && self->step_via_tf && !self->interrupt_step)
        return DEBUG_RESUME;
    return stop_and_wait(self, NULL);
}

/* Whether exit belongs to the watch step under way on this thread. */
static bool continues_watch_step(struct debug_thread *self, const struct accel_exit *exit)
{
    struct guest_memory *memory = self->debugger->guest->memory;
    if (exit->reason == ACCEL_EXIT_STOPPED)
        return true;
    return exit->reason == ACCEL_EXIT_EXCEPTION &&
           (exit->vector == 1 || (exit->vector == 14 && !exit->in_kernel &&
                                  guest_get_trap(memory, exit->fault_address) != GUEST_TRAP_NONE));
}

/* The stepped instruction ended otherwise (a real fault on another page):
 * the pages are trapped again and the other threads run on; this thread
 * parks at its next exit if a stop came meanwhile. */
static void abandon_watch_step(struct debug_thread *self)
{
    self->watch_step = false;
    close_watch_pages(self);
    struct cpu_state state;
    get_state(self, &state, CPU_STATE_GPRS);
    state.rflags &= ~RFLAGS_TF;
    set_state(self, &state, CPU_STATE_GPRS);
    if (!release_watch_step(self))
        self->debugger->guest->accel_ops->stop(self->accel);
}

static enum debug_verdict handle_exit(struct debug_thread *self, const struct accel_exit *exit);

enum debug_verdict debugger_handle_exit(struct debug_thread *self, const struct accel_exit *exit)
{
    if (!self)
        return DEBUG_FATAL;
    enum debug_verdict verdict = handle_exit(self, exit);
    /* The program ran on, or was stopped at, whatever followed the call. */
    self->at_syscall_end = false;
    return verdict;
}

static enum debug_verdict handle_exit(struct debug_thread *self, const struct accel_exit *exit)
{
    if (is_detached(self->debugger))
        return DEBUG_FATAL;
    struct debugger *debugger = self->debugger;
    /* With nobody attached there are no breakpoints, and a fault ends the
     * program as it would without --gdb; only an attach's interrupt stops. */
    if (!gdbstub_connected(debugger->stub) && !self->stepping && !stop_under_way(self))
        return DEBUG_FATAL;
    if (self->watch_step && !continues_watch_step(self, exit))
        abandon_watch_step(self);
    if (self->pass_step && !continues_pass_step(self, exit))
        abandon_pass_step(self);
    switch (exit->reason) {
    case ACCEL_EXIT_SYSCALL: {
        self->step_ends_at_return = false;
        if (self->pass_step)
            return finish_pass_step(self);
        /* The stepped instruction was a syscall: the step ends after it.
         * A step out of the kernel for another thread's stop is no event:
         * the thread only parks there. */
        struct gdb_stop stop = {.kind = GDB_STOP_SIGNAL, .signal = GDB_SIGNAL_TRAP};
        return stop_and_wait(self, self->interrupt_step ? NULL : &stop);
    }
    case ACCEL_EXIT_STOPPED:
        return handle_kick(self, exit);
    case ACCEL_EXIT_DEBUG:
        return handle_trap(self, exit);
    case ACCEL_EXIT_EXCEPTION:
        /* Opening a trapped page cannot hide a real fault: the access is
         * retried, and faults again with no trap left if it was one. */
        if (exit->vector == 14 && !exit->in_kernel &&
            guest_get_trap(debugger->guest->memory, exit->fault_address) != GUEST_TRAP_NONE)
            return start_watch_step(self, exit);
        if (exit->vector == 1 && self->watch_step)
            return finish_watch_step(self, exit);
        if (exit->vector == 3 || exit->vector == 1)
            return handle_trap(self, exit);
        return debug_signals_fault(debugger->signals, exit);
    default:
        return DEBUG_FATAL;
    }
}

static bool syscall_caught(struct debugger *debugger, uint64_t number)
{
    g_mutex_lock(&debugger->mutex);
    bool caught = debugger->catch_syscalls;
    if (caught && debugger->caught_syscalls->len > 0) {
        caught = false;
        for (guint i = 0; i < debugger->caught_syscalls->len && !caught; i++)
            caught = g_array_index(debugger->caught_syscalls, uint64_t, i) == number;
    }
    g_mutex_unlock(&debugger->mutex);
    return caught;
}

/* A caught call's entry, as Linux's syscall-entry stop: rax -ENOSYS, orig_rax
 * the number. The call made is orig_rax as the debugger leaves it; with -1
 * none is (the personality answers -ENOSYS for that number, as Linux's
 * skipped call leaves rax). */
static enum debug_verdict stop_at_syscall_entry(struct debug_thread *self, struct gdb_stop *stop)
{
    struct cpu_state state;
    if (get_state(self, &state, CPU_STATE_GPRS) < 0)
        return stop_and_wait(self, stop);
    state.rax = (uint64_t)-ENOSYS;
    set_state(self, &state, CPU_STATE_GPRS);
    enum debug_verdict verdict = stop_and_wait(self, stop);
    uint64_t number = self->orig_rax;
    self->orig_rax = UINT64_MAX;
    if (verdict == DEBUG_RESUME && get_state(self, &state, CPU_STATE_GPRS) == 0) {
        state.rax = number;
        set_state(self, &state, CPU_STATE_GPRS);
        self->syscall_number = number;
    }
    return verdict;
}

enum debug_verdict debugger_syscall_stop(struct debug_thread *self, bool entry)
{
    if (!self)
        return DEBUG_RESUME;
    if (entry) {
        struct cpu_state state;
        if (get_state(self, &state, CPU_STATE_GPRS) < 0)
            return DEBUG_RESUME;
        self->syscall_number = state.rax;
        self->syscall_entry_rip = state.rip;
        self->in_syscall = true;
        self->at_syscall_end = false;
    } else {
        note_syscall_end(self);
        clear_tf_at_return(self);
    }
    if (is_detached(self->debugger) || !gdbstub_connected(self->debugger->stub))
        return DEBUG_RESUME;
    if (!syscall_caught(self->debugger, self->syscall_number))
        return DEBUG_RESUME;
    struct gdb_stop stop = {
        .kind = GDB_STOP_SIGNAL,
        .signal = GDB_SIGNAL_TRAP,
        .reason = entry ? GDB_STOP_REASON_SYSCALL_ENTRY : GDB_STOP_REASON_SYSCALL_RETURN,
        .syscall_number = self->syscall_number,
    };
    return entry ? stop_at_syscall_entry(self, &stop) : stop_and_wait(self, &stop);
}

void debugger_program_ended(struct debugger *debugger, int exit_status, int signal)
{
    if (!debugger)
        return;
    struct gdb_stop stop = {
        .kind = signal ? GDB_STOP_KILLED : GDB_STOP_EXITED,
        .signal = debug_signal_to_gdb(signal),
        .exit_status = exit_status & 0xff,
    };
    /* Threads still parked end with the program. */
    g_mutex_lock(&debugger->mutex);
    debugger->ended = true;
    g_cond_broadcast(&debugger->wake);
    g_mutex_unlock(&debugger->mutex);
    post_stop(debugger, &stop, SILENT_NONE);
}

void debugger_abort(struct debugger *debugger)
{
    if (!debugger)
        return;
    g_mutex_lock(&debugger->mutex);
    debugger->aborted = true;
    g_cond_broadcast(&debugger->wake);
    g_mutex_unlock(&debugger->mutex);
}

/* ---- the gdb side (main thread) -------------------------------------- */

/* A thread by tid, NULL if none; with stopped, only one whose vCPU is the
 * main loop's: every thread in all-stop (all are parked while gdb talks of
 * a stop: the list changes only while some thread runs), in non-stop one
 * gdb stopped (only the main loop releases it). */
static struct debug_thread *find_thread_as(struct debugger *debugger, int64_t tid, bool stopped)
{
    g_mutex_lock(&debugger->mutex);
    struct debug_thread *found = find_thread_locked(debugger, tid);
    if (found && stopped && debugger->non_stop && !found->gdb_stopped)
        found = NULL;
    g_mutex_unlock(&debugger->mutex);
    return found;
}

static struct debug_thread *find_thread(struct debugger *debugger, int64_t tid)
{
    return find_thread_as(debugger, tid, true);
}

static size_t target_threads(void *opaque, int64_t *ids, size_t max)
{
    struct debugger *debugger = opaque;
    g_mutex_lock(&debugger->mutex);
    size_t count = debugger->threads->len;
    for (size_t i = 0; i < count && i < max; i++)
        ids[i] = thread_at(debugger, (guint)i)->tid;
    g_mutex_unlock(&debugger->mutex);
    return count;
}

static char *target_thread_name(void *opaque, int64_t tid)
{
    struct debug_thread *thread = find_thread_as(opaque, tid, false);
    return thread ? g_strdup(linux_thread_name(thread->thread)) : NULL;
}

static int target_read_registers(void *opaque, int64_t tid, struct cpu_state *state,
                                 struct cpu_fpu_state *fpu)
{
    struct debugger *debugger = opaque;
    struct debug_thread *thread = find_thread(debugger, tid);
    if (!thread)
        return -ESRCH;
    const struct accel_ops *ops = debugger->guest->accel_ops;
    /* gdb's registers need no MSRs: one ioctl less at every stop. */
    int result = ops->get_state(thread->accel, state, CPU_STATE_GPRS | CPU_STATE_SEGMENTS);
    if (result == 0 && fpu)
        result = ops->get_fpu(thread->accel, fpu);
    return result;
}

static int target_write_registers(void *opaque, int64_t tid, const struct cpu_state *state,
                                  const struct cpu_fpu_state *fpu)
{
    struct debugger *debugger = opaque;
    struct debug_thread *thread = find_thread(debugger, tid);
    if (!thread)
        return -ESRCH;
    const struct accel_ops *ops = debugger->guest->accel_ops;
    struct cpu_state current;
    int result = ops->get_state(thread->accel, &current, CPU_STATE_SEGMENTS);
    if (result < 0)
        return result;
    result = ops->set_state(thread->accel, state, CPU_STATE_GPRS);
    /* Selectors gdb writes back unchanged; only the bases can be set. */
    if (result == 0 && (current.fs.base != state->fs.base || current.gs.base != state->gs.base)) {
        current.fs.base = state->fs.base;
        current.gs.base = state->gs.base;
        result = ops->set_state(thread->accel, &current, CPU_STATE_SEGMENTS);
    }
    if (result == 0 && fpu)
        result = ops->set_fpu(thread->accel, fpu);
    return result;
}

/* AVX-512 for gdb: XSAVE components 5-7 (opmask, ZMM_Hi256, Hi16_ZMM) of
 * get_xsave's image, at the offsets CPUID leaf 0xd gives (the accelerator
 * lays the image out so; an AMD CPU's differ from Intel's). */
#define AVX512_COMPONENTS 0xe0ULL
#define XSTATE_BV_OFFSET  512

static uint8_t *avx512_part(struct gdb_avx512_state *avx512, unsigned component, size_t *size)
{
    uint8_t *parts[3] = {&avx512->opmask[0][0], &avx512->zmm_hi256[0][0], &avx512->hi16_zmm[0][0]};
    const size_t sizes[3] = {sizeof avx512->opmask, sizeof avx512->zmm_hi256,
                             sizeof avx512->hi16_zmm};
    *size = sizes[component - 5];
    return parts[component - 5];
}

/* Where the image holds component (5-7); 0 when it does not hold all of it. */
static unsigned avx512_offset(const struct debugger *debugger, unsigned component)
{
    struct gdb_avx512_state unused;
    size_t size;
    avx512_part(&unused, component, &size);
    unsigned eax, ebx, ecx, edx;
    __cpuid_count(0xd, component, eax, ebx, ecx, edx);
    (void)ecx, (void)edx;
    bool inside = eax == size && ebx >= XSTATE_BV_OFFSET + 64 &&
                  ebx + eax <= debugger->capabilities->xsave_size;
    return inside ? ebx : 0;
}

static bool target_has_avx512(void *opaque)
{
    struct debugger *debugger = opaque;
    const struct accel_ops *ops = debugger->guest->accel_ops;
    if (!ops->get_xsave || !ops->set_xsave ||
        (debugger->capabilities->xsave_features & AVX512_COMPONENTS) != AVX512_COMPONENTS)
        return false;
    for (unsigned component = 5; component <= 7; component++)
        if (!avx512_offset(debugger, component))
            return false;
    return true;
}

/* A component XSTATE_BV leaves out is in its initial state: zero. A write
 * marks all three present. */
static void avx512_copy(const struct debugger *debugger, uint8_t *area,
                        struct gdb_avx512_state *avx512, bool write)
{
    uint64_t xstate_bv;
    memcpy(&xstate_bv, area + XSTATE_BV_OFFSET, sizeof xstate_bv);
    for (unsigned component = 5; component <= 7; component++) {
        size_t size;
        uint8_t *part = avx512_part(avx512, component, &size);
        unsigned offset = avx512_offset(debugger, component);
        if (write)
            memcpy(area + offset, part, size);
        else if (xstate_bv & (1ULL << component))
            memcpy(part, area + offset, size);
        else
            memset(part, 0, size);
    }
    xstate_bv |= AVX512_COMPONENTS;
    if (write)
        memcpy(area + XSTATE_BV_OFFSET, &xstate_bv, sizeof xstate_bv);
}

static int target_avx512(void *opaque, int64_t tid, struct gdb_avx512_state *avx512, bool write)
{
    struct debugger *debugger = opaque;
    struct debug_thread *thread = find_thread(debugger, tid);
    if (!thread)
        return -ESRCH;
    if (!target_has_avx512(debugger))
        return -ENOTSUP;
    const struct accel_ops *ops = debugger->guest->accel_ops;
    size_t size = debugger->capabilities->xsave_size;
    uint8_t *area = g_malloc(size);
    int result = ops->get_xsave(thread->accel, area, size);
    if (result == 0) {
        avx512_copy(debugger, area, avx512, write);
        if (write)
            result = ops->set_xsave(thread->accel, area, size);
    }
    g_free(area);
    return result;
}

/* A thread-local: guest_tls_address, from the thread's fs base. */
static int target_tls_address(void *opaque, int64_t tid, uint64_t offset, uint64_t lm,
                              uint64_t *address)
{
    struct debugger *debugger = opaque;
    struct debug_thread *thread = find_thread(debugger, tid);
    if (!thread)
        return -ESRCH;
    struct cpu_state state;
    int result = get_state(thread, &state, CPU_STATE_SEGMENTS);
    if (result < 0)
        return result;
    return guest_tls_address(debugger->guest, state.fs.base, offset, lm, address);
}

/* The breakpoints' int3 bytes are the debugger's, not the program's. */
static void hide_int3s(struct debugger *debugger, uint64_t address, uint8_t *buffer, size_t length)
{
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        const struct breakpoint *breakpoint = &debugger->breakpoints[i];
        if (breakpoint->used && breakpoint->mechanism == MECHANISM_INT3 &&
            breakpoint->address >= address && breakpoint->address - address < length)
            buffer[breakpoint->address - address] = breakpoint->saved_byte;
    }
    g_mutex_lock(&debugger->mutex);
    for (guint i = 0; i < debugger->threads->len; i++) {
        const struct debug_thread *thread = thread_at(debugger, i);
        if (thread->temporary_active && thread->temporary_address >= address &&
            thread->temporary_address - address < length)
            buffer[thread->temporary_address - address] = thread->temporary_saved;
    }
    g_mutex_unlock(&debugger->mutex);
}

static int target_read_memory(void *opaque, uint64_t address, void *buffer, size_t length)
{
    struct debugger *debugger = opaque;
    int result = guest_read(debugger->guest->memory, address, buffer, length, GUEST_ACCESS_DEBUG);
    if (result == 0)
        hide_int3s(debugger, address, buffer, length);
    return result;
}

static bool pause_running(struct debugger *debugger);
static void resume_paused(struct debugger *debugger);
static bool has_page_traps(const struct debugger *debugger);

static bool covers_int3(const struct debugger *debugger, uint64_t address, size_t length)
{
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        const struct breakpoint *breakpoint = &debugger->breakpoints[i];
        if (breakpoint->used && breakpoint->mechanism == MECHANISM_INT3 &&
            breakpoint->address >= address && breakpoint->address - address < length)
            return true;
    }
    return false;
}

static int write_memory(struct debugger *debugger, uint64_t address, const void *buffer,
                        size_t length);

/* Non-stop: a write over a planted int3 changes the breakpoint too, with
 * every vCPU parked. */
static int target_write_memory(void *opaque, uint64_t address, const void *buffer, size_t length)
{
    struct debugger *debugger = opaque;
    bool paused = covers_int3(debugger, address, length) && pause_running(debugger);
    int result = write_memory(debugger, address, buffer, length);
    if (paused)
        resume_paused(debugger);
    return result;
}

static int write_memory(struct debugger *debugger, uint64_t address, const void *buffer,
                        size_t length)
{
    int result = guest_write(debugger->guest->memory, address, buffer, length, GUEST_ACCESS_DEBUG);
    if (result < 0)
        return result;
    /* A write over a planted int3 changes what it hides, and keeps it. */
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        struct breakpoint *breakpoint = &debugger->breakpoints[i];
        if (breakpoint->used && breakpoint->mechanism == MECHANISM_INT3 &&
            breakpoint->address >= address && breakpoint->address - address < length) {
            breakpoint->saved_byte = ((const uint8_t *)buffer)[breakpoint->address - address];
            write_byte(debugger, breakpoint->address, INT3);
        }
    }
    return 0;
}

/* The action of a resume that applies to thread: the first naming it or
 * every thread. */
static const struct gdb_resume_action *
action_for(const struct debug_thread *thread, const struct gdb_resume_action *actions, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (actions[i].thread == -1 || actions[i].thread == thread->tid)
            return &actions[i];
    }
    return NULL;
}

/* A breakpoint event kept while another thread's stop was reported is
 * dropped when its breakpoint went away meanwhile: the thread's pc is at
 * the address, so it runs the program's instruction there. */
static bool pending_still_valid(struct debugger *debugger, const struct debug_thread *thread)
{
    const struct gdb_stop *pending = &thread->pending;
    if (pending->reason != GDB_STOP_REASON_SWBREAK && pending->reason != GDB_STOP_REASON_HWBREAK)
        return true;
    struct cpu_state state;
    if (debugger->guest->accel_ops->get_state(thread->accel, &state, CPU_STATE_GPRS) < 0)
        return false;
    return find_breakpoint(debugger, state.rip, MECHANISM_INT3) ||
           find_breakpoint(debugger, state.rip, MECHANISM_SLOT);
}

/* A pending event of a thread this resume would run is reported now,
 * nothing running. True when one was. Lock held. */
static bool report_pending_locked(struct debugger *debugger,
                                  const struct gdb_resume_action *actions, size_t count)
{
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        if (!thread->has_pending || !action_for(thread, actions, count))
            continue;
        thread->has_pending = false;
        if (!pending_still_valid(debugger, thread))
            continue;
        debugger->report = thread->pending;
        debugger->report_set = true;
        debugger->reported = true;
        post_stop(debugger, &debugger->report, SILENT_NONE);
        /* Nothing runs, but the signals this resume gives are kept for the
         * next one, as gdbserver queues them: gdb passes a thread's signal
         * once (`vCont;C1e:WORKER;c` answered with the main thread's kept
         * SIGUSR2, then `vCont;C1f:MAIN;c`: the worker's SIGUSR1 was lost,
         * 1 run in 10 of gdb-signals/glibc/thread-both on kvm). */
        for (guint j = 0; j < debugger->threads->len; j++) {
            struct debug_thread *other = thread_at(debugger, j);
            const struct gdb_resume_action *action = action_for(other, actions, count);
            if (action && action->signal)
                other->queued_signal = action->signal;
        }
        return true;
    }
    return false;
}

static void interrupt_alone_locked(struct debugger *debugger);

/* Non-stop: the threads gdb stopped that an action names run (those whose
 * stop gdb has not heard of yet stay, on their way to the main loop or queued
 * for gdb: it comes first, as under gdbserver); a t action stops a running
 * one. Running threads named otherwise run on. */
static int resume_alone(struct debugger *debugger, const struct gdb_resume_action *actions,
                        size_t count)
{
    /* Pages mapped since a watchpoint was set are trapped with every vCPU parked. */
    if (has_page_traps(debugger)) {
        bool paused = pause_running(debugger);
        refresh_page_traps(debugger);
        if (paused)
            resume_paused(debugger);
    }
    g_mutex_lock(&debugger->mutex);
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        const struct gdb_resume_action *action = action_for(thread, actions, count);
        if (!action)
            continue;
        if (action->mode == GDB_RESUME_STOP) {
            request_stop_locked(thread, 0);
            continue;
        }
        if (!thread->gdb_stopped || thread->stop_untold ||
            gdbstub_stop_queued(debugger->stub, thread->tid))
            continue;
        thread->gdb_stopped = false;
        thread->action = *action;
        thread->parked = false;
    }
    if (debugger->interrupt_pending)
        interrupt_alone_locked(debugger);
    g_cond_broadcast(&debugger->wake);
    g_mutex_unlock(&debugger->mutex);
    return 0;
}

static void begin_interrupt_locked(struct debugger *debugger);

static int target_resume(void *opaque, const struct gdb_resume_action *actions, size_t count)
{
    struct debugger *debugger = opaque;
    if (debugger->non_stop)
        return resume_alone(debugger, actions, count);
    g_mutex_lock(&debugger->mutex);
    if (report_pending_locked(debugger, actions, count)) {
        g_mutex_unlock(&debugger->mutex);
        return 0;
    }
    size_t released = 0;
    for (guint i = 0; i < debugger->threads->len; i++)
        released += action_for(thread_at(debugger, i), actions, count) != NULL;
    if (released == 0) {
        g_mutex_unlock(&debugger->mutex);
        return -ESRCH;
    }
    g_mutex_unlock(&debugger->mutex);
    /* Every thread is parked: the memory is the main loop's. */
    refresh_page_traps(debugger);
    g_mutex_lock(&debugger->mutex);
    debugger->stopping = false;
    debugger->reported = false;
    debugger->report_set = false;
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        const struct gdb_resume_action *action = action_for(thread, actions, count);
        if (!action)
            continue; /* stays stopped (scheduler locking) */
        thread->action = *action;
        if (!thread->action.signal)
            thread->action.signal = thread->queued_signal;
        thread->queued_signal = 0;
        thread->parked = false;
    }
    /* Kicked before they leave the park, under the lock they need to: no
     * instruction runs before the Ctrl-C's stop. */
    if (debugger->interrupt_at_resume) {
        debugger->interrupt_at_resume = false;
        begin_interrupt_locked(debugger);
    }
    g_cond_broadcast(&debugger->wake);
    g_mutex_unlock(&debugger->mutex);
    return 0;
}

/* Non-stop: as the SIGINT gdbserver sends the process, one running thread
 * (the first made) takes it and stops; the others run on. With none
 * running it waits for the next resume, as a signal pending for the
 * process. Lock held. */
static void interrupt_alone_locked(struct debugger *debugger)
{
    struct debug_thread *chosen = NULL;
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        if (!thread->gdb_stopped && (!chosen || thread->tid < chosen->tid))
            chosen = thread;
    }
    debugger->interrupt_pending = chosen == NULL;
    if (chosen)
        request_stop_locked(chosen, GDB_SIGNAL_INT);
}

/* Ctrl-C: an all-stop with no event. Its SIGINT is the first running
 * thread's, as Linux gives a process's SIGINT to a thread that takes it
 * (complete_signal: the main thread first) and threads stopped by a tracer
 * (the ones scheduler locking left stopped) take none: reported in the
 * first thread, gdb resumed that one next and not the one it had resumed
 * (gdb.threads/schedlock.exp). Lock held. */
static void begin_interrupt_locked(struct debugger *debugger)
{
    debugger->interrupt_tid = 0;
    for (guint i = 0; i < debugger->threads->len && !debugger->interrupt_tid; i++) {
        if (!thread_at(debugger, i)->parked)
            debugger->interrupt_tid = thread_at(debugger, i)->tid;
    }
    begin_stop_locked(debugger, NULL, NULL);
}

static void target_interrupt_at_resume(void *opaque)
{
    struct debugger *debugger = opaque;
    g_mutex_lock(&debugger->mutex);
    debugger->interrupt_at_resume = true;
    g_mutex_unlock(&debugger->mutex);
}

/* Ctrl-C: an all-stop with no event; it reports SIGINT. */
static void target_interrupt(void *opaque)
{
    struct debugger *debugger = opaque;
    g_mutex_lock(&debugger->mutex);
    if (debugger->non_stop) {
        interrupt_alone_locked(debugger);
        g_mutex_unlock(&debugger->mutex);
        return;
    }
    if (!debugger->stopping)
        begin_interrupt_locked(debugger);
    else if (debugger->watch_owner) {
        debugger->interrupt_during_watch = true;
        debugger->interrupt_tid = debugger->watch_owner->tid; /* the one running */
    }
    report_if_all_parked_locked(debugger);
    g_mutex_unlock(&debugger->mutex);
}

static int free_slot(struct debugger *debugger)
{
    for (int slot = 0; slot < ACCEL_MAX_HW_BREAKPOINTS; slot++) {
        if (debugger->slot_owner[slot] < 0)
            return slot;
    }
    return -1;
}

static int free_slot_count(struct debugger *debugger)
{
    int count = 0;
    for (int slot = 0; slot < ACCEL_MAX_HW_BREAKPOINTS; slot++)
        count += debugger->slot_owner[slot] < 0;
    return count;
}

static void take_slot(struct debugger *debugger, int index, const struct accel_breakpoint *what)
{
    int slot = free_slot(debugger);
    debugger->slots[slot] = *what;
    debugger->slot_owner[slot] = index;
    debugger->breakpoints[index].slot_mask |= 1u << slot;
}

/* Splits [address, address + length) into naturally aligned pieces of 1, 2,
 * 4 or 8 bytes, as debug registers watch them. Returns how many, or -1 when
 * more than max would be needed. */
static int split_aligned(uint64_t address, uint64_t length, uint64_t *starts, unsigned *lengths,
                         int max)
{
    int count = 0;
    while (length > 0) {
        unsigned size = 8;
        while (size > 1 && ((address & (size - 1)) || size > length))
            size >>= 1;
        if (count == max)
            return -1;
        starts[count] = address;
        lengths[count++] = size;
        address += size;
        length -= size;
    }
    return count;
}

/* A watchpoint over debug registers when they fire and enough are free for
 * its aligned pieces (read-only watches cannot be told apart from writes
 * there), else over page traps, which watch any length. */
static int insert_watchpoint(struct debugger *debugger, int index)
{
    struct breakpoint *watch = &debugger->breakpoints[index];
    uint64_t end;
    if (watch->kind == 0 || __builtin_add_overflow(watch->address, watch->kind - 1, &end))
        return -EINVAL;
    uint64_t starts[ACCEL_MAX_HW_BREAKPOINTS];
    unsigned lengths[ACCEL_MAX_HW_BREAKPOINTS];
    int pieces =
        split_aligned(watch->address, watch->kind, starts, lengths, ACCEL_MAX_HW_BREAKPOINTS);
    if (debugger->capabilities->watchpoints && watch->type != GDB_WATCHPOINT_READ && pieces > 0 &&
        pieces <= free_slot_count(debugger)) {
        enum accel_breakpoint_kind kind =
            watch->type == GDB_WATCHPOINT_WRITE ? ACCEL_BREAK_WRITE : ACCEL_BREAK_ACCESS;
        watch->mechanism = MECHANISM_SLOT;
        for (int i = 0; i < pieces; i++)
            take_slot(debugger, index, &(struct accel_breakpoint){kind, starts[i], lengths[i]});
        watch->used = true;
        return 0;
    }
    watch->mechanism = MECHANISM_PAGE_TRAP;
    watch->used = true;
    int result = update_page_traps(debugger, watch->address, watch->kind);
    if (result < 0) {
        watch->used = false;
        update_page_traps(debugger, watch->address, watch->kind);
    }
    return result;
}

static int insert_breakpoint(void *opaque, enum gdb_breakpoint_type type, uint64_t address,
                             uint64_t kind)
{
    struct debugger *debugger = opaque;
    const struct accel_capabilities *capabilities = debugger->capabilities;
    bool kernel = address < HX_KERNEL_END;
    int index = -1;
    for (int i = 0; i < MAX_BREAKPOINTS && index < 0; i++) {
        if (!debugger->breakpoints[i].used)
            index = i;
    }
    if (index < 0)
        return -ENOSPC;
    struct breakpoint *breakpoint = &debugger->breakpoints[index];
    *breakpoint = (struct breakpoint){.type = type, .address = address, .kind = kind};
    if (type >= GDB_WATCHPOINT_WRITE)
        return insert_watchpoint(debugger, index);

    bool slot_works =
        kernel ? capabilities->kernel_hw_breakpoints : capabilities->user_hw_breakpoints;
    /* A software breakpoint in the program's code is an int3 in its memory,
     * as gdbserver's: the program reading its own code sees it (gdb's
     * bp-permanent.exp copies it to make a permanent breakpoint). Debug
     * registers serve hbreak, and the kernel, which int3 cannot. */
    bool int3_wanted = !kernel && type == GDB_BREAKPOINT_SOFTWARE;
    if (slot_works && !int3_wanted && free_slot(debugger) >= 0) {
        breakpoint->mechanism = MECHANISM_SLOT;
        take_slot(debugger, index, &(struct accel_breakpoint){ACCEL_BREAK_EXECUTE, address, 1});
        breakpoint->used = true;
        return 0;
    }
    if (kernel)
        return slot_works ? -ENOSPC : -ENOTSUP;
    /* int3 in user code, trapped through the guest kernel's IDT. */
    const struct breakpoint *existing = find_breakpoint(debugger, address, MECHANISM_INT3);
    if (existing) {
        breakpoint->saved_byte = existing->saved_byte;
    } else if (!read_byte(debugger, address, &breakpoint->saved_byte) ||
               !write_byte(debugger, address, INT3)) {
        return -EFAULT;
    }
    breakpoint->mechanism = MECHANISM_INT3;
    breakpoint->used = true;
    return 0;
}

static struct breakpoint *find_typed(struct debugger *debugger, enum gdb_breakpoint_type type,
                                     uint64_t address)
{
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        struct breakpoint *breakpoint = &debugger->breakpoints[i];
        if (breakpoint->used && breakpoint->type == type && breakpoint->address == address)
            return breakpoint;
    }
    return NULL;
}

/* Z0/Z1 with gdb's lists: again at a breakpoint of that type, the lists
 * are replaced (gdb re-inserts to change a condition), as gdbserver does. */
static int insert_code_breakpoint(void *opaque, enum gdb_breakpoint_type type, uint64_t address,
                                  uint64_t kind, const struct gdb_breakpoint_actions *actions)
{
    struct debugger *debugger = opaque;
    struct breakpoint *breakpoint = find_typed(debugger, type, address);
    if (!breakpoint) {
        int result = insert_breakpoint(opaque, type, address, kind);
        if (result < 0)
            return result;
        breakpoint = find_typed(debugger, type, address);
    }
    gdb_agent_clear_actions(&breakpoint->actions);
    gdb_agent_copy_actions(&breakpoint->actions, actions);
    return 0;
}

static void remove_breakpoint_at(struct debugger *debugger, int index)
{
    struct breakpoint *breakpoint = &debugger->breakpoints[index];
    breakpoint->used = false;
    gdb_agent_clear_actions(&breakpoint->actions);
    if (breakpoint->mechanism == MECHANISM_SLOT) {
        for (int slot = 0; slot < ACCEL_MAX_HW_BREAKPOINTS; slot++) {
            if (breakpoint->slot_mask & (1u << slot))
                debugger->slot_owner[slot] = -1;
        }
        breakpoint->slot_mask = 0;
        return;
    }
    if (breakpoint->mechanism == MECHANISM_PAGE_TRAP) {
        update_page_traps(debugger, breakpoint->address, breakpoint->kind);
        return;
    }
    /* Another breakpoint at the same address keeps the int3. */
    if (!find_breakpoint(debugger, breakpoint->address, MECHANISM_INT3))
        write_byte(debugger, breakpoint->address, breakpoint->saved_byte);
}

static int remove_breakpoint(void *opaque, enum gdb_breakpoint_type type, uint64_t address,
                             uint64_t kind)
{
    struct debugger *debugger = opaque;
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        const struct breakpoint *breakpoint = &debugger->breakpoints[i];
        if (breakpoint->used && breakpoint->type == type && breakpoint->address == address &&
            (type < GDB_WATCHPOINT_WRITE || breakpoint->kind == kind)) {
            remove_breakpoint_at(debugger, i);
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- non-stop: breakpoints change with every vCPU parked ------------------ */

static bool gone_locked(const struct debugger *debugger)
{
    return debugger->killed || debugger->aborted || debugger->ended;
}

/* Every thread parked, or waiting for the main loop (which cannot answer it now). */
static bool paused_locked(struct debugger *debugger)
{
    for (guint i = 0; i < debugger->threads->len; i++) {
        const struct debug_thread *thread = thread_at(debugger, i);
        if (!thread->parked && !thread->awaits_loop)
            return false;
    }
    return true;
}

/*
 * Non-stop, main loop: the running threads are kicked and parked (held,
 * not stopped for gdb), as for a watch step, so that breakpoints and
 * trapped pages change with no vCPU inside run() (an int3 half-planted
 * under a running thread, debug registers each vCPU thread arms for
 * itself). A watch step under way ends first. False when nothing ran
 * (or all-stop, where every thread is parked whenever gdb is answered).
 */
static bool pause_running(struct debugger *debugger)
{
    g_mutex_lock(&debugger->mutex);
    bool paused = debugger->non_stop && !all_parked_locked(debugger);
    if (paused) {
        while (debugger->watch_owner && !gone_locked(debugger))
            g_cond_wait(&debugger->wake, &debugger->mutex);
        debugger->stopping = true;
        for (guint i = 0; i < debugger->threads->len; i++) {
            struct debug_thread *thread = thread_at(debugger, i);
            if (!thread->parked)
                debugger->guest->accel_ops->stop(thread->accel);
        }
        while (!paused_locked(debugger) && !gone_locked(debugger))
            g_cond_wait(&debugger->wake, &debugger->mutex);
    }
    g_mutex_unlock(&debugger->mutex);
    return paused;
}

static void resume_paused(struct debugger *debugger)
{
    g_mutex_lock(&debugger->mutex);
    release_held_locked(debugger);
    g_mutex_unlock(&debugger->mutex);
}

static bool has_page_traps(const struct debugger *debugger)
{
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        if (debugger->breakpoints[i].used &&
            debugger->breakpoints[i].mechanism == MECHANISM_PAGE_TRAP)
            return true;
    }
    return false;
}

enum breakpoint_change { CHANGE_INSERT, CHANGE_INSERT_CODE, CHANGE_REMOVE };

/* Z and z: in non-stop, with the running threads paused around the change. */
static int change_breakpoint(void *opaque, enum breakpoint_change change,
                             enum gdb_breakpoint_type type, uint64_t address, uint64_t kind,
                             const struct gdb_breakpoint_actions *actions)
{
    bool paused = pause_running(opaque);
    int result = change == CHANGE_INSERT_CODE
                     ? insert_code_breakpoint(opaque, type, address, kind, actions)
                 : change == CHANGE_INSERT ? insert_breakpoint(opaque, type, address, kind)
                                           : remove_breakpoint(opaque, type, address, kind);
    if (paused)
        resume_paused(opaque);
    return result;
}

static int target_insert_breakpoint(void *opaque, enum gdb_breakpoint_type type, uint64_t address,
                                    uint64_t kind)
{
    return change_breakpoint(opaque, CHANGE_INSERT, type, address, kind, NULL);
}

static int target_insert_code_breakpoint(void *opaque, enum gdb_breakpoint_type type,
                                         uint64_t address, uint64_t kind,
                                         const struct gdb_breakpoint_actions *actions)
{
    return change_breakpoint(opaque, CHANGE_INSERT_CODE, type, address, kind, actions);
}

static int target_remove_breakpoint(void *opaque, enum gdb_breakpoint_type type, uint64_t address,
                                    uint64_t kind)
{
    return change_breakpoint(opaque, CHANGE_REMOVE, type, address, kind, NULL);
}

static void remove_all_breakpoints(struct debugger *debugger)
{
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        if (debugger->breakpoints[i].used)
            remove_breakpoint_at(debugger, i);
    }
}

/* k, vKill, `monitor exit`: every thread ends, parked or running. */
static void target_kill(void *opaque)
{
    struct debugger *debugger = opaque;
    g_mutex_lock(&debugger->mutex);
    debugger->killed = true;
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        if (!thread->parked)
            debugger->guest->accel_ops->stop(thread->accel);
    }
    g_cond_broadcast(&debugger->wake);
    g_mutex_unlock(&debugger->mutex);
}

/* Breakpoints change only while every vCPU is parked: a guest that runs
 * is stopped first, silently, and finish_silent_stop does the rest. True
 * when it was stopped already. */
static bool stop_silently(struct debugger *debugger, enum silent_stop silent)
{
    g_mutex_lock(&debugger->mutex);
    bool stopped = all_parked_locked(debugger);
    if (!stopped) {
        debugger->silent = silent;
        if (!debugger->stopping)
            begin_stop_locked(debugger, NULL, NULL);
        report_if_all_parked_locked(debugger);
    }
    g_mutex_unlock(&debugger->mutex);
    return stopped;
}

/* The session ends in non-stop mode: back to all-stop, whose silent stop
 * then parks every thread before the breakpoints go. True when it was on. */
static bool leave_non_stop(struct debugger *debugger)
{
    g_mutex_lock(&debugger->mutex);
    bool was = debugger->non_stop;
    debugger->non_stop = debugger->interrupt_pending = false;
    debugger->interrupt_at_resume = false; /* the session's Ctrl-C */
    for (guint i = 0; was && i < debugger->threads->len; i++)
        thread_at(debugger, i)->stop_requested = false;
    g_mutex_unlock(&debugger->mutex);
    return was;
}

static void target_detach(void *opaque)
{
    struct debugger *debugger = opaque;
    leave_non_stop(debugger);
    if (stop_silently(debugger, SILENT_DETACH))
        finish_silent_stop(debugger, SILENT_DETACH);
}

static void target_disconnected(void *opaque)
{
    /* A halted guest waits for the next debugger; a running one runs on,
     * and either way no breakpoint of the old session stays planted. */
    struct debugger *debugger = opaque;
    /* A fork's child (or its execve's new monitor) has no listener for
     * another debugger: it runs on. */
    if (debugger->fork_child || !gdbstub_accepting(debugger->stub)) {
        target_detach(debugger);
        return;
    }
    /* A fork's child waiting for gdb's word is not the next debugger's. */
    release_fork_children(debugger);
    /* Non-stop: every thread runs on, as the stub expects of the next one. */
    if (leave_non_stop(debugger)) {
        if (stop_silently(debugger, SILENT_DISCONNECT))
            finish_silent_stop(debugger, SILENT_DISCONNECT);
        return;
    }
    if (stop_silently(debugger, SILENT_DISCONNECT)) {
        remove_all_breakpoints(debugger);
        forget_session(debugger);
    }
}

static char *describe_region_kind(enum guest_region_kind kind)
{
    static const char *const names[] = {"kernel", "program", "heap",  "mmap",
                                        "stack",  "guard",   "device"};
    return g_strdup(kind < G_N_ELEMENTS(names) ? names[kind] : "?");
}

static bool append_region(const struct guest_region *region, void *opaque)
{
    GString *out = opaque;
    char *kind = describe_region_kind(region->kind);
    g_string_append_printf(out, "%016" PRIx64 "-%016" PRIx64 " %c%c%c%c %-8s %s\n", region->start,
                           region->end, region->prot & GUEST_PROT_READ ? 'r' : '-',
                           region->prot & GUEST_PROT_WRITE ? 'w' : '-',
                           region->prot & GUEST_PROT_EXEC ? 'x' : '-',
                           region->prot & GUEST_PROT_USER ? 'u' : 's', kind, region->name);
    g_free(kind);
    return true;
}

static char *monitor_translate(struct debugger *debugger, const char *argument)
{
    char *end;
    uint64_t address = g_ascii_strtoull(argument, &end, 0);
    if (!*argument || *end)
        return g_strdup("usage: monitor translate ADDRESS\n");
    struct guest_walk walk;
    struct guest_memory *memory = debugger->guest->memory;
    guest_walk(memory, guest_memory_cr3(memory), address, &walk);
    GString *out = g_string_new(NULL);
    static const char *const levels[] = {"PML4E", "PDPTE", "PDE", "PTE"};
    g_string_append_printf(out, "translate %#" PRIx64 " (cr3 %#" PRIx64 "):\n", address,
                           guest_memory_cr3(memory));
    for (int level = 0; level < walk.levels && level < 4; level++)
        g_string_append_printf(out, "  %-5s %#018" PRIx64 "%s%s%s%s\n", levels[level],
                               walk.entries[level], walk.entries[level] & PTE_PRESENT ? " P" : "",
                               walk.entries[level] & PTE_WRITE ? " W" : "",
                               walk.entries[level] & PTE_USER ? " U" : "",
                               walk.entries[level] & PTE_NX ? " NX" : "");
    if (walk.status == GUEST_WALK_OK)
        g_string_append_printf(
            out, "  => guest-physical %#" PRIx64 " (%" PRIu64 " KiB page, %s%s%s)\n", walk.gpa,
            walk.page_size >> 10, walk.writable ? "writable" : "read-only",
            walk.user ? ", user" : ", supervisor",
            walk.executable ? ", executable" : ", no-execute");
    else
        g_string_append_printf(out, "  => %s\n", guest_walk_status_string(walk.status));
    struct guest *guest = debugger->guest;
    uint64_t accelerator_gpa;
    if (guest->accel_ops->translate) {
        if (guest->accel_ops->translate(guest->accel, address, &accelerator_gpa))
            g_string_append_printf(out, "  %s agrees: %#" PRIx64 "\n", guest->accel_ops->name,
                                   accelerator_gpa);
        else
            g_string_append_printf(out, "  %s: not mapped\n", guest->accel_ops->name);
    }
    return g_string_free(out, FALSE);
}

static char *monitor_registers(struct debugger *debugger)
{
    struct cpu_state s;
    struct guest *guest = debugger->guest;
    if (guest->accel_ops->get_state(guest->accel, &s, CPU_STATE_ALL) < 0)
        return g_strdup("cannot read the registers\n");
    return g_strdup_printf(
        "rip %#018" PRIx64 " rflags %#" PRIx64 " cpl %u\n"
        "cs %#06x ss %#06x ds %#06x es %#06x fs %#06x gs %#06x tr %#06x\n"
        "fs_base %#" PRIx64 " gs_base %#" PRIx64 " kernel_gs_base %#" PRIx64 "\n"
        "cr0 %#" PRIx64 " cr2 %#" PRIx64 " cr3 %#" PRIx64 " cr4 %#" PRIx64 " cr8 %#" PRIx64 "\n"
        "efer %#" PRIx64 " star %#" PRIx64 " lstar %#" PRIx64 " cstar %#" PRIx64 " fmask %#" PRIx64
        "\n"
        "gdt %#" PRIx64 "/%#x idt %#" PRIx64 "/%#x\n",
        s.rip, s.rflags, s.cs.selector & 3, s.cs.selector, s.ss.selector, s.ds.selector,
        s.es.selector, s.fs.selector, s.gs.selector, s.tr.selector, s.fs.base, s.gs.base,
        s.kernel_gs_base, s.cr0, s.cr2, s.cr3, s.cr4, s.cr8, s.efer, s.star, s.lstar, s.cstar,
        s.fmask, s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}

static char *target_monitor_command(void *opaque, const char *command)
{
    struct debugger *debugger = opaque;
    while (*command == ' ')
        command++;
    if (strcmp(command, "help") == 0 || *command == '\0')
        return g_strdup("monitor commands:\n"
                        "  info registers   control registers, segments and MSRs\n"
                        "  info mem         the guest memory map\n"
                        "  info debug       how breakpoints and steps are done on this host\n"
                        "  translate ADDR   the page walk for a guest-virtual address\n"
                        "  strace on|off    trace the program's syscalls on stderr\n"
                        "  exit             end the program and hermitux-run (as gdbserver's)\n");
    if (strcmp(command, "info registers") == 0)
        return monitor_registers(debugger);
    if (strcmp(command, "exit") == 0) {
        /* gdbserver's: the program is killed and the server ends; gdb's
         * testsuite ends every session so. */
        target_kill(debugger);
        return g_strdup("");
    }
    if (strcmp(command, "info mem") == 0) {
        GString *out = g_string_new("start            end              prot kind     name\n");
        guest_region_foreach(debugger->guest->memory, append_region, out);
        return g_string_free(out, FALSE);
    }
    if (strcmp(command, "info debug") == 0) {
        const struct accel_capabilities *c = debugger->capabilities;
        return g_strdup_printf(
            "%s\nprogram breakpoints: %s\nprogram single-step: %s\n"
            "kernel breakpoints: %s\nkernel single-step: %s\nwatchpoints: %s\n",
            c->description,
            c->user_hw_breakpoints ? "int3; hbreak: debug registers, then int3"
                                   : "int3 through the guest IDT",
            c->user_single_step ? "accelerator" : "RFLAGS.TF through the guest IDT",
            c->kernel_hw_breakpoints ? "debug registers (4)" : "not available",
            c->kernel_single_step ? "accelerator" : "not available",
            c->watchpoints ? "debug registers (4), then page traps"
                           : "page traps (the watched pages fault; each access is stepped)");
    }
    if (strncmp(command, "translate ", 10) == 0)
        return monitor_translate(debugger, command + 10);
    if (strcmp(command, "strace on") == 0 || strcmp(command, "strace off") == 0) {
        /* The trace keeps going to --strace's FILE when one was given. */
        struct guest *guest = debugger->guest;
        bool on = strcmp(command, "strace on") == 0;
        linux_set_strace(guest->process,
                         on ? (guest->strace_file ? guest->strace_file : stderr) : NULL);
        return g_strdup_printf("syscall trace %s\n", on ? "on" : "off");
    }
    return g_strdup_printf("unknown monitor command '%s'; try 'monitor help'\n", command);
}

static const char *target_exec_file(void *opaque)
{
    return ((struct debugger *)opaque)->exec_path;
}

static const char *target_kernel_file(void *opaque, uint64_t *text_address)
{
    struct debugger *debugger = opaque;
    *text_address = debugger->guest->kernel.text_start;
    return debugger->guest->kernel.path;
}

static size_t target_link_map(void *opaque, uint64_t start, struct gdb_library **libraries)
{
    struct guest *guest = ((struct debugger *)opaque)->guest;
    struct loader_library *found;
    size_t count =
        loader_read_link_map(guest->memory, &guest->program, &guest->interpreter, start, &found);
    *libraries = g_new0(struct gdb_library, count ? count : 1);
    for (size_t i = 0; i < count; i++) {
        (*libraries)[i] =
            (struct gdb_library){found[i].lm, found[i].l_addr, found[i].l_ld, found[i].name};
        found[i].name = NULL; /* now the stub's */
    }
    loader_libraries_free(found, count);
    if (count == 0 && start == 0 && guest->program.interpreter && guest->interpreter.path) {
        /* The dynamic loader has not published its list yet (the program's
         * first instruction, an exec stop): gdb is shown the program and
         * the loader where they were loaded, as gdb finds them itself
         * under gdbserver (whose list is empty then, and gdb falls back on
         * AT_BASE; here the guest kernel's entry follows, so it would not).
         * Their lm is no address in guest memory, an identity only. */
        g_free(*libraries);
        *libraries = g_new0(struct gdb_library, 2);
        (*libraries)[0] = (struct gdb_library){0, guest->program.bias,
                                               guest->program.dynamic_address, g_strdup("")};
        (*libraries)[1] = (struct gdb_library){
            guest->interpreter.dynamic_address, guest->interpreter.bias,
            guest->interpreter.dynamic_address, g_strdup(guest->program.interpreter)};
        count = 2;
    }
    return count;
}

static const void *target_auxv(void *opaque, size_t *length)
{
    struct guest *guest = ((struct debugger *)opaque)->guest;
    *length = guest->auxv_length;
    return guest->auxv_length ? guest->auxv : NULL;
}

static int target_catch_syscalls(void *opaque, bool enable, const uint64_t *numbers, size_t count)
{
    struct debugger *debugger = opaque;
    g_mutex_lock(&debugger->mutex);
    debugger->catch_syscalls = enable;
    g_array_set_size(debugger->caught_syscalls, 0);
    g_array_append_vals(debugger->caught_syscalls, numbers, (guint)count);
    g_mutex_unlock(&debugger->mutex);
    return 0;
}

static void target_signal_filters(void *opaque, const bool *pass, const bool *program)
{
    debug_signals_set_filters(((struct debugger *)opaque)->signals, pass, program);
}

/* The guest's pid is the monitor's own (docs/DESIGN.md). */
static int64_t target_process_id(void *opaque)
{
    (void)opaque;
    return getpid();
}

static int target_file_open(void *opaque, const char *path, int flags, unsigned mode)
{
    struct debugger *debugger = opaque;
    return linux_debugger_open(debugger->guest->process, path, flags, (mode_t)mode);
}

static long target_file_readlink(void *opaque, const char *path, char *out, size_t size)
{
    struct debugger *debugger = opaque;
    return linux_debugger_readlink(debugger->guest->process, path, out, size);
}

/* $_siginfo of thread tid; a Ctrl-C is reported against the first. */
static int target_siginfo(void *opaque, int64_t tid, uint8_t info[128], bool write)
{
    struct debugger *debugger = opaque;
    g_mutex_lock(&debugger->mutex);
    bool interrupted =
        !debugger->report_set && debugger->threads->len > 0 && thread_at(debugger, 0)->tid == tid;
    g_mutex_unlock(&debugger->mutex);
    return debug_signals_siginfo(debugger->signals, tid, interrupted, info, write);
}

static int target_orig_rax(void *opaque, int64_t tid, uint64_t *value, bool write)
{
    struct debug_thread *thread = find_thread(opaque, tid);
    if (!thread)
        return -ESRCH;
    if (write)
        thread->orig_rax = *value;
    else
        *value = thread->orig_rax;
    return 0;
}

static void target_process_events(void *opaque, bool fork, bool vfork)
{
    debug_signals_set_process_events(((struct debugger *)opaque)->signals, fork, vfork);
}

/* The thread's stop reached the main loop: gdb is told now. */
static void stop_told(struct debugger *debugger, int64_t tid)
{
    g_mutex_lock(&debugger->mutex);
    struct debug_thread *thread = find_thread_locked(debugger, tid);
    if (thread)
        thread->stop_untold = false;
    g_mutex_unlock(&debugger->mutex);
}

/* The all-stop's stop becomes each parked thread's own: the reported
 * event, a pending one, or none (signal 0). Lock held. */
static void enter_non_stop_locked(struct debugger *debugger)
{
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        thread->gdb_stopped = thread->parked;
        thread->stop_requested = thread->stop_untold = false;
        thread->last_stop = (struct gdb_stop){.kind = GDB_STOP_SIGNAL, .thread = thread->tid};
        if (debugger->report_set && debugger->report.thread == thread->tid)
            thread->last_stop = debugger->report;
        else if (thread->has_pending)
            thread->last_stop = thread->pending;
        thread->has_pending = false;
    }
    debugger->stopping = debugger->reported = debugger->report_set = false;
}

/* QNonStop: on at any point between stops (a stop half made is refused);
 * off only with every thread stopped for gdb, which becomes an all-stop
 * reported against the first of them. */
static int target_non_stop(void *opaque, bool on)
{
    struct debugger *debugger = opaque;
    int result = 0;
    g_mutex_lock(&debugger->mutex);
    if (on && debugger->stopping && !debugger->reported) {
        result = -EBUSY;
    } else if (on) {
        enter_non_stop_locked(debugger);
        debugger->non_stop = true;
    } else {
        for (guint i = 0; i < debugger->threads->len && result == 0; i++)
            if (!thread_at(debugger, i)->gdb_stopped)
                result = -EBUSY;
        if (result == 0 && debugger->threads->len > 0) {
            debugger->non_stop = false;
            debugger->stopping = debugger->reported = debugger->report_set = true;
            debugger->report = thread_at(debugger, 0)->last_stop;
            for (guint i = 0; i < debugger->threads->len; i++)
                thread_at(debugger, i)->gdb_stopped = false;
        }
    }
    g_mutex_unlock(&debugger->mutex);
    return result;
}

static size_t target_stopped_threads(void *opaque, struct gdb_stop *stops, size_t max)
{
    struct debugger *debugger = opaque;
    size_t count = 0;
    g_mutex_lock(&debugger->mutex);
    for (guint i = 0; i < debugger->threads->len; i++) {
        const struct debug_thread *thread = thread_at(debugger, i);
        /* One whose stop is on its way is told by its own notification. */
        if (!thread->gdb_stopped || thread->stop_untold)
            continue;
        if (count < max)
            stops[count] = thread->last_stop;
        count++;
    }
    g_mutex_unlock(&debugger->mutex);
    return count;
}

static void target_thread_events(void *opaque, bool on)
{
    struct debugger *debugger = opaque;
    g_mutex_lock(&debugger->mutex);
    debugger->thread_events = on;
    g_mutex_unlock(&debugger->mutex);
}

/* What a debugger set up is not the next one's. */
static void forget_session(struct debugger *debugger)
{
    static const bool none[GDB_SIGNAL_LIMIT];
    target_thread_events(debugger, false);
    target_catch_syscalls(debugger, false, NULL, 0);
    target_signal_filters(debugger, none, none);
}

static const struct gdb_target_ops target_ops = {
    .read_registers = target_read_registers,
    .write_registers = target_write_registers,
    .read_memory = target_read_memory,
    .write_memory = target_write_memory,
    .resume = target_resume,
    .interrupt = target_interrupt,
    .insert_breakpoint = target_insert_breakpoint,
    .remove_breakpoint = target_remove_breakpoint,
    .insert_code_breakpoint = target_insert_code_breakpoint,
    .kill = target_kill,
    .detach = target_detach,
    .disconnected = target_disconnected,
    .monitor_command = target_monitor_command,
    .exec_file = target_exec_file,
    .kernel_file = target_kernel_file,
    .link_map = target_link_map,
    .auxv = target_auxv,
    .catch_syscalls = target_catch_syscalls,
    .signal_filters = target_signal_filters,
    .process_id = target_process_id,
    .file_open = target_file_open,
    .file_readlink = target_file_readlink,
    .siginfo = target_siginfo,
    .threads = target_threads,
    .thread_name = target_thread_name,
    .tls_address = target_tls_address,
    .process_events = target_process_events,
    .fork_release = target_fork_release,
    .fork_follow = target_fork_follow,
    .fork_attach = target_fork_attach,
    .orig_rax = target_orig_rax,
    .has_avx512 = target_has_avx512,
    .avx512 = target_avx512,
    .non_stop = target_non_stop,
    .stopped_threads = target_stopped_threads,
    .thread_events = target_thread_events,
    .interrupt_at_resume = target_interrupt_at_resume,
};

/* What every debugger has before its stub serves anyone; its main loop is
 * the calling thread's thread-default context. */
static struct debugger *debugger_new(struct guest *guest)
{
    struct debugger *debugger = g_new0(struct debugger, 1);
    debugger->guest = guest;
    debugger->capabilities = guest->accel_ops->capabilities(guest->accel);
    debugger->context = g_main_context_ref_thread_default();
    g_mutex_init(&debugger->mutex);
    g_cond_init(&debugger->wake);
    debugger->caught_syscalls = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    debugger->threads = g_ptr_array_new();
    for (int slot = 0; slot < ACCEL_MAX_HW_BREAKPOINTS; slot++)
        debugger->slot_owner[slot] = -1;
    char *absolute = realpath(guest->program.path, NULL);
    debugger->exec_path = g_strdup(absolute ? absolute : guest->program.path);
    free(absolute);
    debugger->stub = gdbstub_new(&target_ops, debugger);
    debugger->signals = debug_signals_new(debugger, guest);
    return debugger;
}

struct debugger *debugger_create(struct guest *guest, const char *spec, bool halt, char **error)
{
    struct debugger *debugger = debugger_new(guest);
    const char *session = guest->options ? guest->options->exec_gdb : NULL;
    if (session ? gdbstub_handover_adopt(debugger->stub, session, error) < 0
                : gdbstub_listen(debugger->stub, spec, error) < 0) {
        debugger_free(debugger);
        return NULL;
    }
    /* The debugger that came across an execve heard "listening" already. */
    debugger->handed_over = debugger->announced = session != NULL;
    debugger->halt_at_start = halt;
    if (!halt) {
        gdbstub_notify_running(debugger->stub);
        announce(debugger);
    }
    return debugger;
}

/* The main loop's side of debugger_exec_handover. */
struct handover_call {
    struct debugger *debugger;
    bool cancel;
    char *session;
    bool done;
    GMutex lock;
    GCond done_changed;
};

static gboolean handover_on_main_loop(gpointer data)
{
    struct handover_call *call = data;
    if (call->cancel)
        gdbstub_handover_cancel(call->debugger->stub);
    else
        call->session = gdbstub_handover_save(call->debugger->stub);
    g_mutex_lock(&call->lock);
    call->done = true;
    g_cond_signal(&call->done_changed);
    g_mutex_unlock(&call->lock);
    return G_SOURCE_REMOVE;
}

/* The calling vCPU thread waits for the main loop: a pause (non-stop)
 * must not wait for it to park. */
static void set_awaits_loop(struct debugger *debugger, bool awaits)
{
    struct debug_thread *self = current_thread;
    if (!self || self->debugger != debugger)
        return;
    g_mutex_lock(&debugger->mutex);
    self->awaits_loop = awaits;
    g_cond_broadcast(&debugger->wake);
    g_mutex_unlock(&debugger->mutex);
}

char *debugger_exec_handover(struct debugger *debugger, bool cancel)
{
    if (!debugger || is_detached(debugger))
        return NULL;
    /* The stub is the main loop's: asked there, this vCPU thread waits (the
     * program runs, so the main loop is free to answer). */
    struct handover_call call = {.debugger = debugger, .cancel = cancel};
    g_mutex_init(&call.lock);
    g_cond_init(&call.done_changed);
    set_awaits_loop(debugger, true);
    invoke_on_loop(debugger, G_PRIORITY_DEFAULT, handover_on_main_loop, &call, NULL);
    g_mutex_lock(&call.lock);
    while (!call.done)
        g_cond_wait(&call.done_changed, &call.lock);
    g_mutex_unlock(&call.lock);
    set_awaits_loop(debugger, false);
    g_mutex_clear(&call.lock);
    g_cond_clear(&call.done_changed);
    return call.session;
}

/* ---- forks under gdb ---------------------------------------------------- */

/*
 * Under gdbserver a fork's child is stopped at birth and gdb says what
 * becomes of it: D;CHILD (it runs undebugged), D;PARENT when gdb follows
 * the child (follow-fork-mode child), or nothing: gdb keeps both
 * (detach-on-fork off). Here the child is another monitor process without
 * the parent's main loop, so it waits on a socket pair the forking thread
 * made before the host fork, for a word ending in a newline: "r" (run
 * undebugged), "k" (killed with its parent), "d" + a session, or "p" + a
 * session. Following it ("d") hands it the whole connection (its fd came
 * across the fork) with the session's agreements, as an execve does
 * (gdbstub/handover.c): gdb then talks to the child alone and the detached
 * parent needs no debugger.
 * Keeping both ("p") makes the pair the child's connection: the parent's
 * stub passes it gdb's packets about the child and relays its answers
 * (gdbstub/processes.c). Either way the child serves gdb on a main loop of
 * its own.
 */

/* The forking thread's pair until the fork is over: [0] the child's end
 * (it reads gdb's word), [1] the parent's. */
static __thread int fork_channel[2] = {-1, -1};

bool debugger_fork_prepare(struct debugger *debugger)
{
    struct debug_thread *self = current_thread;
    if (!debugger || !self || self->debugger != debugger || !debugger_holds(debugger) ||
        !debug_signals_process_events(debugger->signals))
        return false;
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fork_channel) == 0;
}

void debugger_fork_parent(struct debugger *debugger, long child)
{
    if (fork_channel[1] < 0)
        return;
    close(fork_channel[0]);
    int channel = fork_channel[1], fork_child_end = fork_channel[0];
    fork_channel[0] = fork_channel[1] = -1;
    struct debug_thread *self = current_thread;
    if (child <= 0 || !self || self->debugger != debugger) {
        close(channel);
        return;
    }
    g_mutex_lock(&debugger->mutex);
    self->fork_child = child;
    self->fork_channel = channel;
    self->fork_child_end = fork_child_end;
    g_mutex_unlock(&debugger->mutex);
}

/* The waiting child's word (see above); the channel closes but for "p",
 * whose end the caller takes (-1 then). Lock held. */
static int tell_fork_child_locked(struct debug_thread *thread, const char *word,
                                  const char *session)
{
    char *message = g_strconcat(word, session, "\n", NULL);
    size_t length = strlen(message);
    ssize_t written;
    /* Far less than a pipe holds: one write, which a signal can only
     * interrupt before it starts. */
    do
        written = write(thread->fork_channel, message, length);
    while (written < 0 && errno == EINTR);
    g_free(message);
    if (written == (ssize_t)length && word[0] == 'p') {
        thread->fork_channel = -1; /* the stub's now */
        thread->fork_child = 0;
        return 0;
    }
    close(thread->fork_channel);
    thread->fork_channel = -1;
    thread->fork_child = 0;
    return written == (ssize_t)length ? 0 : -EIO;
}

void debugger_fork_settle(struct debugger *debugger)
{
    struct debug_thread *self = current_thread;
    if (!debugger || !self || self->debugger != debugger)
        return;
    g_mutex_lock(&debugger->mutex);
    /* Killed by gdb with its parent, as gdbserver kills every inferior. */
    if (self->fork_channel >= 0)
        tell_fork_child_locked(self, debugger->killed ? "k" : "r", "");
    g_mutex_unlock(&debugger->mutex);
}

static void release_fork_children(struct debugger *debugger)
{
    g_mutex_lock(&debugger->mutex);
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        if (thread->fork_channel >= 0)
            tell_fork_child_locked(thread, "r", "");
    }
    g_mutex_unlock(&debugger->mutex);
}

/* The thread whose fork made child, while that child waits. Lock held. */
static struct debug_thread *fork_parent_locked(struct debugger *debugger, int64_t child)
{
    for (guint i = 0; i < debugger->threads->len; i++) {
        struct debug_thread *thread = thread_at(debugger, i);
        if (thread->fork_channel >= 0 && thread->fork_child == child)
            return thread;
    }
    return NULL;
}

static int target_fork_release(void *opaque, int64_t child)
{
    struct debugger *debugger = opaque;
    g_mutex_lock(&debugger->mutex);
    struct debug_thread *parent = fork_parent_locked(debugger, child);
    /* Without a waiting child (a fork made as gdb connected), it runs already. */
    int result = parent ? tell_fork_child_locked(parent, "r", "") : 0;
    g_mutex_unlock(&debugger->mutex);
    return result;
}

static int target_fork_follow(void *opaque, int64_t child, const char *session)
{
    struct debugger *debugger = opaque;
    g_mutex_lock(&debugger->mutex);
    struct debug_thread *parent = fork_parent_locked(debugger, child);
    int result = parent ? tell_fork_child_locked(parent, "d", session) : -ESRCH;
    g_mutex_unlock(&debugger->mutex);
    return result;
}

static int target_fork_attach(void *opaque, int64_t child, const char *session, int *child_end)
{
    struct debugger *debugger = opaque;
    g_mutex_lock(&debugger->mutex);
    struct debug_thread *parent = fork_parent_locked(debugger, child);
    int result = -ESRCH;
    if (parent) {
        int channel = parent->fork_channel;
        *child_end = parent->fork_child_end;
        result = tell_fork_child_locked(parent, "p", session);
        if (result == 0)
            result = channel;
    }
    g_mutex_unlock(&debugger->mutex);
    return result;
}

/* The child's end: the parent's word up to its newline ("" when it closed
 * the pair unsaid: it ended, or gdb never decided). Read a byte at a time:
 * gdb's packets may follow it on the same pair. */
static char *await_fork_word(int channel)
{
    GString *word = g_string_new(NULL);
    for (;;) {
        char byte;
        ssize_t got = read(channel, &byte, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            g_string_truncate(word, 0);
            break;
        }
        if (byte == '\n')
            break;
        g_string_append_c(word, byte);
    }
    return g_string_free(word, FALSE);
}

/* The parent's int3s and trapped pages out of the child's copy of memory;
 * hardware slots belonged to the parent's vCPU. */
static void forget_parent_breakpoints(struct debugger *debugger)
{
    for (int i = 0; i < MAX_BREAKPOINTS; i++) {
        if (debugger->breakpoints[i].used)
            remove_breakpoint_at(debugger, i);
    }
    for (guint i = 0; i < debugger->threads->len; i++) {
        const struct debug_thread *thread = thread_at(debugger, i);
        if (thread->temporary_active)
            write_byte(debugger, thread->temporary_address, thread->temporary_saved);
    }
}

/* The program ended: its loop goes on while gdb still has to hear of kept
 * children's ends, as gdbserver serves gdb until it told them all (one
 * per resume). The caller owns debugger->context. */
static void serve_owed_stops(struct debugger *debugger)
{
    while (gdbstub_owes_stops(debugger->stub))
        g_main_context_iteration(debugger->context, TRUE);
}

static gpointer run_child_loop(gpointer data)
{
    struct debugger *debugger = data;
    g_main_context_push_thread_default(debugger->context);
    g_main_loop_run(debugger->loop);
    serve_owed_stops(debugger);
    g_main_context_pop_thread_default(debugger->context);
    return NULL;
}

/* The followed or kept child's debugger: the connection gdb used for the
 * parent, or the pair to the parent's stub (connection >= 0), served on a
 * new main loop (the parent's did not come across). */
static struct debugger *debugger_for_fork_child(struct guest *guest, const char *session,
                                                int connection)
{
    GMainContext *context = g_main_context_new();
    g_main_context_push_thread_default(context);
    struct debugger *debugger = debugger_new(guest);
    g_main_context_pop_thread_default(context);
    g_main_context_unref(context);
    debugger->announced = true; /* gdb is connected: no "listening" line */
    debugger->fork_child = true;
    char *error = NULL;
    if (gdbstub_handover_adopt_fork(debugger->stub, session, connection, &error) == 0) {
        debugger->loop = g_main_loop_new(debugger->context, FALSE);
        debugger->loop_thread = g_thread_try_new("gdb", run_child_loop, debugger, NULL);
        if (debugger->loop_thread)
            return debugger;
        error = g_strdup("gdb: no thread to serve the debugger in the fork's child");
    }
    fprintf(stderr, "hermitux-run: %s\n", error);
    g_free(error);
    debugger_free(debugger);
    return NULL;
}

struct debug_thread *debugger_fork_child(struct debugger **debugger, struct accel *accel,
                                         struct linux_thread *thread)
{
    struct debugger *parent = *debugger;
    int channel = fork_channel[0];
    if (fork_channel[1] >= 0)
        close(fork_channel[1]);
    fork_channel[0] = fork_channel[1] = -1;
    *debugger = NULL;
    if (!parent)
        return NULL;
    forget_parent_breakpoints(parent);
    debug_signals_forget_after_fork(parent->signals);
    /* A step the parent's resume armed is not the child's. */
    struct cpu_state state;
    if (parent->guest->accel_ops->get_state(accel, &state, CPU_STATE_GPRS) == 0 &&
        (state.rflags & RFLAGS_TF)) {
        state.rflags &= ~RFLAGS_TF;
        parent->guest->accel_ops->set_state(accel, &state, CPU_STATE_GPRS);
    }
    char *word = channel >= 0 ? await_fork_word(channel) : g_strdup("");
    if (word[0] == 'k')
        kill(getpid(), SIGKILL);
    bool followed = word[0] == 'd', kept = word[0] == 'p';
    if (!kept && channel >= 0)
        close(channel);
    /* A kept child keeps gdb's connection too: it serves it if the parent's
     * program ends first. */
    gdbstub_forget_after_fork(parent->stub, followed || kept);
    struct debugger *child =
        followed || kept ? debugger_for_fork_child(parent->guest, word + 1, kept ? channel : -1)
                         : NULL;
    g_free(word);
    /* The parent's debugger is leaked: its main loop is the parent's. */
    if (!child)
        return NULL;
    *debugger = child;
    struct debug_thread *self = debugger_thread_enter(child, accel, thread);
    /* Stopped at birth, as under ptrace: gdb owes no reply for it. The
     * resume is armed before the child's first instruction. */
    struct gdb_stop stop = {.kind = GDB_STOP_SIGNAL, .signal = GDB_SIGNAL_TRAP};
    park(self, &stop, true, false);
    return self;
}

static gboolean quit_loop(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

void debugger_free(struct debugger *debugger)
{
    if (!debugger)
        return;
    /* A followed child's own loop ends after what it still has to tell gdb
     * (the program's exit: a stop, of higher priority). */
    if (debugger->loop_thread) {
        invoke_on_loop(debugger, G_PRIORITY_DEFAULT_IDLE, quit_loop, debugger->loop, NULL);
        g_thread_join(debugger->loop_thread);
    } else if (g_main_context_acquire(debugger->context)) {
        /* The monitor's main loop has ended: this thread runs it on. */
        serve_owed_stops(debugger);
        g_main_context_release(debugger->context);
    }
    if (debugger->loop)
        g_main_loop_unref(debugger->loop);
    gdbstub_free(debugger->stub);
    g_mutex_clear(&debugger->mutex);
    g_cond_clear(&debugger->wake);
    g_free(debugger->exec_path);
    g_array_free(debugger->caught_syscalls, TRUE);
    g_ptr_array_free(debugger->threads, TRUE);
    debug_signals_free(debugger->signals);
    g_main_context_unref(debugger->context);
    g_free(debugger);
}
