/*
 * monitor/run.c — the main loop and the vCPU thread.
 *
 * Syscalls are performed on the vCPU thread, right where the exit happened:
 * a round trip through the main loop would add two thread switches to every
 * one. What ends the run (exit, fault, an error, a stop from a signal) is
 * handed to the main loop, which owns the outcome.
 */
#include "config.h"
#include "monitor/guest.h"
#include "monitor/debug.h"
#include "monitor/monitor.h"
#include "report/report.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

enum run_end {
    RUN_END_EXIT,    /* the program called exit or exit_group */
    RUN_END_SIGNAL,  /* the program was killed (abort, a fatal signal it sent itself) */
    RUN_END_FAULT,   /* an exception the program cannot survive */
    RUN_END_STOPPED, /* SIGINT/SIGTERM to the monitor */
    RUN_END_KILLED,  /* the debugger killed the guest */
    RUN_END_ERROR,   /* the accelerator or the guest kernel failed */
};

struct run {
    const struct monitor_options *options;
    struct guest *guest;
    struct debugger *debugger; /* NULL without --gdb */
    bool halt_at_start;
    GMainLoop *loop;
    atomic_int stop_signal; /* the monitor's signal that asked to stop, 0 if none */
    atomic_bool timed_out;  /* --timeout expired */
    enum run_end end;
    struct accel_exit exit;
    struct cpu_state state; /* at a fault */
    int exit_status;
    bool forked_child; /* this process is a fork's child: no main loop */
};

static gboolean on_vcpu_finished(gpointer data)
{
    struct run *run = data;
    g_main_loop_quit(run->loop);
    return G_SOURCE_REMOVE;
}

static void set_kick_blocked(bool blocked)
{
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, ACCEL_KICK_SIGNAL);
    pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &kick, NULL);
}

/* Leaves the vCPU at the syscall instruction with rax still the number, so
 * running it again makes the call again. */
static bool restart_syscall(struct run *run, struct cpu_state *state)
{
    struct guest *guest = run->guest;
    state->rip -= 2; /* `syscall` is 0f 05 */
    if (guest->accel_ops->set_state(guest->accel, state, CPU_STATE_GPRS) < 0) {
        run->end = RUN_END_ERROR;
        snprintf(run->exit.message, sizeof(run->exit.message), "cannot write vCPU registers");
        return false;
    }
    return true;
}

/*
 * The fork syscall returned in a new process with a VM of its own. Its
 * vCPU holds the state to resume (the child's stack may differ); the
 * debugger stays with the parent, so a step it had armed is dropped.
 */
static void become_forked_child(struct run *run, struct cpu_state *state)
{
    struct guest *guest = run->guest;
    run->forked_child = true;
    guest->accel_ops->get_state(guest->accel, state, CPU_STATE_GPRS);
    if (run->debugger) {
        debugger_forget_after_fork(run->debugger);
        run->debugger = NULL;
        state->rflags &= ~0x100ULL; /* TF */
    }
}

/* One syscall of the program; false when the program has ended. */
static bool perform_syscall(struct run *run)
{
    struct guest *guest = run->guest;
    struct cpu_state state;
    if (guest->accel_ops->get_state(guest->accel, &state, CPU_STATE_GPRS) < 0) {
        run->end = RUN_END_ERROR;
        snprintf(run->exit.message, sizeof(run->exit.message), "cannot read vCPU registers");
        return false;
    }
    struct linux_syscall call = {
        .number = state.rax,
        .args = {state.rdi, state.rsi, state.rdx, state.r10, state.r8, state.r9},
    };
    uint64_t result = 0;
    /* A blocking host call (read from a terminal, a sleep) must end when the
     * vCPU is kicked; a kick that came first means the call is not made. */
    if (!accel_host_call_begin(guest->accel))
        return restart_syscall(run, &state);
    enum linux_outcome outcome = linux_syscall(linux_main_thread(guest->process), &call, &result);
    accel_host_call_end(guest->accel);
    if (guest->forked_child && !run->forked_child)
        become_forked_child(run, &state);
    /* Interrupted by the monitor's own kick (a stop, a debugger): the
     * program sees the call restarted, as across a ptrace stop. */
    if (outcome == LINUX_CONTINUE && (int64_t)result == -EINTR && accel_kick_pending(guest->accel))
        return restart_syscall(run, &state);
    if (outcome == LINUX_EXIT) {
        int signal = linux_exit_signal(guest->process);
        run->end = signal ? RUN_END_SIGNAL : RUN_END_EXIT;
        run->exit_status = signal ? 128 + signal : linux_exit_status(guest->process);
        return false;
    }
    state.rax = result;
    if (guest->accel_ops->set_state(guest->accel, &state, CPU_STATE_GPRS) < 0) {
        run->end = RUN_END_ERROR;
        snprintf(run->exit.message, sizeof(run->exit.message), "cannot write vCPU registers");
        return false;
    }
    return true;
}

/* --strace's last line, once the program is gone. */
static void trace_end(const struct run *run)
{
    struct linux_process *process = run->guest->process;
    if (run->end == RUN_END_EXIT)
        linux_strace_end(process, run->exit_status, 0);
    else if (run->end == RUN_END_SIGNAL)
        linux_strace_end(process, 0, run->exit_status - 128);
    else if (run->end == RUN_END_FAULT)
        linux_strace_end(process, 0, report_signal_for_vector(run->exit.vector));
}

/* The monitor's exit status for how the run ended (reports printed here);
 * *signal is the signal the program died of, 0 if none. */
static int run_status(struct run *run, int *signal)
{
    trace_end(run);
    int status;
    const struct monitor_options *options = run->options;
    struct guest *guest = run->guest;
    switch (run->end) {
    case RUN_END_EXIT:
    case RUN_END_SIGNAL:
        status = run->exit_status;
        *signal = run->end == RUN_END_SIGNAL ? status - 128 : 0;
        break;
    case RUN_END_FAULT:
        status = report_fault(stderr, guest, &run->exit, &run->state, options->verbose);
        if (options->core_path)
            report_dump_core(stderr, options->core_path, guest, &run->exit, &run->state);
        *signal = status > 128 ? status - 128 : 0;
        break;
    case RUN_END_KILLED:
        fprintf(stderr, "hermitux-run: killed by the debugger\n");
        status = 128 + SIGKILL;
        *signal = SIGKILL;
        break;
    case RUN_END_STOPPED: {
        if (atomic_load(&run->timed_out) && !atomic_load(&run->stop_signal)) {
            report_timeout(stderr, guest, &run->state, options->timeout);
            /* As timeout(1). */
            status = 124;
            break;
        }
        int stop = atomic_load(&run->stop_signal);
        /* After an execve the parent is a guest process: it sees the
         * signal itself (monitor_exit_as_program), as natively. */
        if (!options->has_exec_state)
            fprintf(stderr, "hermitux-run: stopped by %s\n",
                    stop == SIGTERM ? "SIGTERM" : "SIGINT");
        *signal = stop ? stop : SIGINT;
        status = 128 + *signal;
        break;
    }
    default:
        report_error(stderr, guest, &run->exit, &run->state, options->verbose);
        status = 1;
        break;
    }
    return status;
}

static gpointer vcpu_thread(gpointer data)
{
    struct run *run = data;
    struct guest *guest = run->guest;
    if (run->debugger && run->halt_at_start &&
        debugger_before_start(run->debugger) == DEBUG_KILLED) {
        run->end = RUN_END_KILLED;
        goto finished;
    }
    for (;;) {
        int result = guest->accel_ops->run(guest->accel, &run->exit);
        if (result < 0) {
            run->end = RUN_END_ERROR;
            break;
        }
        if (run->exit.reason == ACCEL_EXIT_SYSCALL) {
            if (debugger_syscall_stop(run->debugger, true) == DEBUG_KILLED) {
                run->end = RUN_END_KILLED;
                break;
            }
            if (!perform_syscall(run)) {
                debugger_program_ended(run->debugger, run->exit_status,
                                       run->end == RUN_END_SIGNAL ? run->exit_status - 128 : 0);
                break;
            }
            if (debugger_syscall_stop(run->debugger, false) == DEBUG_KILLED) {
                run->end = RUN_END_KILLED;
                break;
            }
            if (!debugger_stepping(run->debugger))
                continue;
        }
        if (run->debugger) {
            enum debug_verdict verdict = debugger_handle_exit(run->debugger, &run->exit);
            if (verdict == DEBUG_RESUME)
                continue;
            if (verdict == DEBUG_KILLED) {
                run->end = RUN_END_KILLED;
                break;
            }
        }
        if (run->exit.reason == ACCEL_EXIT_EXCEPTION) {
            run->end = RUN_END_FAULT;
            guest->accel_ops->get_state(guest->accel, &run->state, CPU_STATE_ALL);
            debugger_program_ended(run->debugger, 0, report_signal_for_vector(run->exit.vector));
            break;
        }
        if (run->exit.reason == ACCEL_EXIT_STOPPED) {
            run->end = RUN_END_STOPPED;
            guest->accel_ops->get_state(guest->accel, &run->state, CPU_STATE_ALL);
            break;
        }
        run->end = RUN_END_ERROR;
        guest->accel_ops->get_state(guest->accel, &run->state, CPU_STATE_ALL);
        break;
    }
finished:
    /* A fork's child has no main loop to hand the end to: it ends here. */
    if (run->forked_child) {
        int signal = 0;
        int status = run_status(run, &signal);
        monitor_exit_as_program(status, signal);
    }
    /* Always queued: g_main_context_invoke would run it right here when the
     * main loop has not started yet, and its quit would be lost. */
    g_idle_add(on_vcpu_finished, run);
    return NULL;
}

static gboolean on_stop_signal(gpointer data)
{
    struct run *run = *(struct run **)data;
    int signal = GPOINTER_TO_INT(((struct run **)data)[1]);
    atomic_store(&run->stop_signal, signal);
    run->guest->accel_ops->stop(run->guest->accel);
    debugger_abort(run->debugger);
    return G_SOURCE_CONTINUE;
}

static gboolean on_timeout(gpointer data)
{
    struct run *run = data;
    atomic_store(&run->timed_out, true);
    run->guest->accel_ops->stop(run->guest->accel);
    debugger_abort(run->debugger);
    return G_SOURCE_REMOVE;
}

static void ignore_signal(int signal)
{
    (void)signal;
}

/* The kick signal's handler does nothing: it only has to interrupt. It is
 * blocked everywhere but where the vCPU thread lets it in. */
static void install_kick_signal(void)
{
    struct sigaction action = {0};
    action.sa_handler = ignore_signal;
    sigemptyset(&action.sa_mask);
    sigaction(ACCEL_KICK_SIGNAL, &action, NULL);
    set_kick_blocked(true);
    /* A program writing to a closed pipe gets EPIPE from the syscall layer,
     * which decides what a native run would have done; the monitor itself
     * must not die of it. */
    signal(SIGPIPE, SIG_IGN);
}

int monitor_run(const struct monitor_options *options)
{
    install_kick_signal();
    char *error = NULL;
    struct guest *guest = guest_create(options, &error);
    if (!guest) {
        fprintf(stderr, "hermitux-run: %s\n", error ? error : "cannot set up the guest");
        g_free(error);
        return 1;
    }

    struct run run = {.options = options,
                      .guest = guest,
                      .loop = g_main_loop_new(NULL, FALSE),
                      .halt_at_start = options->halt_at_start};
    if (options->gdb) {
        run.debugger = debugger_create(guest, options->gdb, options->halt_at_start, &error);
        if (!run.debugger) {
            fprintf(stderr, "hermitux-run: %s\n", error);
            g_free(error);
            g_main_loop_unref(run.loop);
            guest_destroy(guest);
            return 1;
        }
    }
    struct run *sigint_data[2] = {&run, GINT_TO_POINTER(SIGINT)};
    struct run *sigterm_data[2] = {&run, GINT_TO_POINTER(SIGTERM)};
    guint sigint_source = g_unix_signal_add(SIGINT, on_stop_signal, sigint_data);
    guint sigterm_source = g_unix_signal_add(SIGTERM, on_stop_signal, sigterm_data);

    guint timeout_source = 0;
    if (options->timeout > 0)
        timeout_source = g_timeout_add((guint)(options->timeout * 1000), on_timeout, &run);

    struct vclock_keeper *vclock = guest_vclock_start(guest);
    GThread *thread = g_thread_new("vcpu", vcpu_thread, &run);
    g_main_loop_run(run.loop);
    g_thread_join(thread);
    guest_vclock_stop(vclock);
    if (timeout_source && !atomic_load(&run.timed_out))
        g_source_remove(timeout_source);
    g_source_remove(sigint_source);
    g_source_remove(sigterm_source);

    int signal = 0;
    int status = run_status(&run, &signal);
    debugger_free(run.debugger);
    g_main_loop_unref(run.loop);
    guest_destroy(guest);
    /* After an execve the parent may be a guest process waiting for us. */
    if (options->has_exec_state)
        monitor_exit_as_program(status, signal);
    return status;
}
