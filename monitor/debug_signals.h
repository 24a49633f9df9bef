/*
 * monitor/debug_signals.h — the program's signals under gdb, as gdbserver
 * shows them through ptrace: every signal stops the program first (T
 * packet) unless gdb passes it (QPassSignals), and reaches the program only
 * if gdb resumes with it; the siginfo of the stop ($_siginfo); signals gdb
 * gives on resume. Every thread of the program has its own: the vCPU side
 * runs on the vCPU thread of the thread concerned, the gdb side on the main
 * loop while the threads are parked.
 */
#ifndef HERMITUX_MONITOR_DEBUG_SIGNALS_H
#define HERMITUX_MONITOR_DEBUG_SIGNALS_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/accel.h"
#include "monitor/debug.h"
#include "monitor/guest.h"

struct debug_signals;
struct gdb_stop;

/* Installs the personality's debugger hooks (linux_process_set_debug_hooks). */
struct debug_signals *debug_signals_new(struct debugger *debugger, struct guest *guest);
void debug_signals_free(struct debug_signals *signals);

/* Linux signal numbers to GDB's (the remote protocol's) and back; 0 for 0,
 * GDB's "unknown" (143) or 0 for one without a counterpart. */
int debug_signal_to_gdb(int signal);
int debug_signal_from_gdb(int gdb_signal);

/* QPassSignals and QProgramSignals (GDB_SIGNAL_LIMIT flags each). */
void debug_signals_set_filters(struct debug_signals *signals, const bool *pass,
                               const bool *program);

/* fork-events, vfork-events: whether gdb takes them (qSupported). */
void debug_signals_set_process_events(struct debug_signals *signals, bool fork, bool vfork);
/* Whether gdb takes fork or vfork events. */
bool debug_signals_process_events(struct debug_signals *signals);

/* vCPU thread, as it starts and ends under the debugger: its own state
 * (the hooks below act for the calling vCPU thread's guest thread). */
void debug_signals_thread_enter(struct debug_signals *signals, struct linux_thread *thread);
void debug_signals_thread_leave(struct debug_signals *signals);

/* vCPU thread, as it parks for stop (NULL: for another thread's): the
 * stop's siginfo, unless the signal being delivered already gave one. */
void debug_signals_stopped(struct debug_signals *signals, const struct gdb_stop *stop);

/* vCPU thread, after a stop that was not a signal's (a breakpoint, a step,
 * Ctrl-C): the signal gdb resumed this thread with (GDB number, 0 none) is
 * queued for its guest thread and delivered without another stop. True
 * when one was. */
bool debug_signals_give(struct debug_signals *signals, int gdb_signal);

/* vCPU thread: whether a signal gdb let through since the last stop entered
 * a handler (a step then ends there). Clears it. */
bool debug_signals_take_handler_entry(struct debug_signals *signals);

/* vCPU thread: a fault in the program (exit) while gdb holds it. Stops
 * with its signal unless passed. DEBUG_FATAL: deliver the fault's signal
 * (its handler, or the program dies); DEBUG_RESUME: run on (the
 * instruction runs again); DEBUG_KILLED. */
enum debug_verdict debug_signals_fault(struct debug_signals *signals,
                                       const struct accel_exit *exit);

/* Main thread, while stopped: qXfer:siginfo:read (write: replaced) of
 * thread tid's stop; interrupted: the thread a Ctrl-C stopped (SIGINT,
 * read only). */
int debug_signals_siginfo(struct debug_signals *signals, int64_t tid, bool interrupted,
                          uint8_t info[128], bool write);

/* In a fork's child: the debugger stays with the parent. */
void debug_signals_forget_after_fork(struct debug_signals *signals);

#endif
