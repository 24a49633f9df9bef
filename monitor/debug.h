/*
 * monitor/debug.h — the debugger side of the monitor: the GDB stub's target,
 * built on the accelerator interface and the memory module, and the handshake
 * between the vCPU thread (which stops and waits) and the main loop (which
 * talks to gdb).
 *
 * Breakpoints and steps use what the accelerator really offers on this host
 * (accel capabilities): debug registers and KVM single-step where they fire,
 * else int3 and RFLAGS.TF trapped through the guest kernel's IDT. gdb cannot
 * tell which is in use; `monitor info debug` says.
 *
 * Every guest thread is a gdb thread, and the stop is all-stop: each vCPU
 * thread registers with debugger_thread_enter and reports its exits with
 * its struct debug_thread; when one stops for the debugger, every vCPU is
 * kicked and parked before gdb hears of it.
 */
#ifndef HERMITUX_MONITOR_DEBUG_H
#define HERMITUX_MONITOR_DEBUG_H

#include <stdbool.h>

#include "accel/accel.h"
#include "monitor/guest.h"

struct debugger;
struct debug_thread; /* one vCPU thread's part */
struct linux_thread;

/* What the vCPU thread does after a stop the debugger saw. */
enum debug_verdict {
    DEBUG_RESUME, /* run the guest again (the debugger resumed it) */
    DEBUG_FATAL,  /* deliver the exit as usual: the program dies of it */
    DEBUG_KILLED, /* the debugger killed the guest: end the run */
};

/* Listens for gdb on spec. halt: the first instruction waits for gdb. NULL
 * with a one-line *error on failure. Main thread. */
struct debugger *debugger_create(struct guest *guest, const char *spec, bool halt, char **error);

void debugger_free(struct debugger *debugger);

/* vCPU thread, before it first runs its vCPU: registers it (NULL for a
 * NULL debugger). A thread born during a stop parks at its first exit. */
struct debug_thread *debugger_thread_enter(struct debugger *debugger, struct accel *accel,
                                           struct linux_thread *thread);

/* vCPU thread, once it runs its vCPU no more. NULL accepted. */
void debugger_thread_leave(struct debug_thread *thread);

/* The first vCPU thread, before the first run: waits for gdb's first resume
 * when halting at start. Returns DEBUG_RESUME or DEBUG_KILLED. */
enum debug_verdict debugger_before_start(struct debug_thread *thread);

/*
 * vCPU thread, after an exit that is not a plain syscall (or a syscall that
 * completed a step): decides whether it is a debug event (breakpoint, step,
 * interrupt, a fault gdb should see) and if so reports it to gdb and waits
 * for gdb's verdict. Returns DEBUG_FATAL when the exit is not the
 * debugger's business.
 */
enum debug_verdict debugger_handle_exit(struct debug_thread *thread, const struct accel_exit *exit);

/* vCPU thread, after a syscall completed: true when a step is in progress
 * (the syscall instruction was the step), in which case it stops and waits
 * like debugger_handle_exit. */
bool debugger_stepping(struct debug_thread *thread);
/* RFLAGS.TF of the thread's vCPU is the debugger's step, not the program's:
 * a thread or process cloned now must not inherit it (Linux clears a
 * ptracer's TF in a new task, user_disable_single_step). */
bool debugger_owns_tf(const struct debug_thread *thread);
/* The calling vCPU thread runs a step gdb asked for (stepi, or a range
 * step of next/step): a signal gdb passes is still reported then, as
 * gdbserver does (gdb steps over its handler with a breakpoint at the
 * interrupted pc). */
bool debugger_gdb_step_under_way(struct debugger *debugger);
/* For a signal met at the end of a syscall that gdb's single step ran (a
 * stepi of the syscall instruction, or a step resumed from a fork event
 * inside it): the step's end is reported first and waits for gdb, as Linux
 * reports the step's SIGTRAP before any other signal. DEBUG_RESUME (also
 * when there is no such step) or DEBUG_KILLED. */
enum debug_verdict debugger_end_step_before_signal(struct debugger *debugger);

/* vCPU thread, at a syscall exit before the call is performed (entry) and
 * after it completed (!entry): when gdb catches that syscall (QCatchSyscalls)
 * it is told and the thread waits for its verdict. DEBUG_RESUME otherwise. */
enum debug_verdict debugger_syscall_stop(struct debug_thread *thread, bool entry);

/* vCPU thread, right before the guest runs again: arms the resume gdb gave
 * at a stop made inside signal delivery or a syscall (debugger_park), or
 * reports the end of a step into a signal handler. DEBUG_RESUME or
 * DEBUG_KILLED. NULL accepted. */
enum debug_verdict debugger_before_run(struct debug_thread *thread);

/* For monitor/debug_signals.c, on the vCPU thread. */
struct gdb_stop;
/* True while a debugger is connected and holds the program. */
bool debugger_holds(struct debugger *debugger);
/* Reports stop (of the calling vCPU thread's guest thread) and waits for
 * gdb; its resume is armed by debugger_before_run. *resume_signal: the
 * signal gdb gave (GDB's number). */
enum debug_verdict debugger_park(struct debugger *debugger, const struct gdb_stop *stop,
                                 int *resume_signal);

/* After debugger_park inside a syscall's signal delivery, on the vCPU
 * thread: true when gdb took the thread out of the call ($orig_rax -1), so
 * that it does not restart. */
bool debugger_left_syscall(struct debugger *debugger);

/* vCPU thread: its thread ends by itself (exit) and the program goes on; a
 * debugger that takes thread events (QThreadEvents) is told. */
void debugger_thread_exited(struct debugger *debugger);

/* vCPU thread: the program ended; gdb is told (W or X packet), and threads
 * still parked for the debugger end. */
void debugger_program_ended(struct debugger *debugger, int exit_status, int signal);

/*
 * A guest fork under gdb, on the forking vCPU thread. fork_prepare, before
 * the host fork: true when gdb takes fork events, so the child will wait
 * for gdb's word. fork_parent, after it in the parent (child: its pid, or
 * the fork's -errno). fork_settle, once gdb has resumed the parent after the
 * fork event (or was not told of it): a child gdb said nothing of runs on
 * undebugged. NULL accepted.
 */
bool debugger_fork_prepare(struct debugger *debugger);
void debugger_fork_parent(struct debugger *debugger, long child);
void debugger_fork_settle(struct debugger *debugger);

/* In the fork's child, its one vCPU thread: the parent's breakpoints are
 * taken out of the child's memory and it waits for gdb's word. When gdb
 * follows it (follow-fork-mode child), *debugger becomes the child's own
 * (its connection served on its own thread) and the thread's part is
 * returned, parked until gdb resumes it; else *debugger is NULL (the
 * parent's is leaked: its main loop is the parent's) and so is the result. */
struct debug_thread *debugger_fork_child(struct debugger **debugger, struct accel *accel,
                                         struct linux_thread *thread);

/* A guest execve (guest->exec_handover): the session to hand the new
 * monitor (gdbstub_handover_save) or, with cancel, its undoing after a failed
 * execve. NULL without a debugger waiting. From a vCPU thread. */
char *debugger_exec_handover(struct debugger *debugger, bool cancel);

/* Main thread: the monitor itself was asked to stop (SIGINT/SIGTERM); wakes
 * a waiting vCPU thread so the run can end. */
void debugger_abort(struct debugger *debugger);

#endif
