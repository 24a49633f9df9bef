/*
 * monitor/run.c — the main loop and the vCPU threads.
 *
 * One host thread per guest thread, each owning one vCPU: it runs it and
 * performs its syscalls right where the exit happened (a round trip through
 * the main loop would add two thread switches to every one). clone asks
 * for a new vCPU thread (thread_spawn); exit ends one; what ends the run
 * (exit_group, a fault in any thread, an error, a stop from a signal or
 * --timeout) is recorded once, by the first thread that sees it, which
 * kicks every other vCPU out of the guest and out of its host calls. The
 * main loop waits for the last vCPU thread and owns the outcome.
 */
#include "config.h"
#include "monitor/guest.h"
#include "monitor/debug.h"
#include "monitor/monitor.h"
#include "monitor/ring.h"
#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/syscall.h>

enum run_end {
    RUN_END_EXIT,    /* the program called exit or exit_group */
    RUN_END_SIGNAL,  /* the program was killed (abort, a fatal signal it sent itself) */
    RUN_END_FAULT,   /* an exception the program cannot survive */
    RUN_END_STOPPED, /* SIGINT/SIGTERM to the monitor */
    RUN_END_KILLED,  /* the debugger killed the guest */
    RUN_END_ERROR,   /* the accelerator or the guest kernel failed */
};

/* One vCPU and the host thread that owns it, for one guest thread. */
struct vcpu {
    struct run *run;
    struct accel *accel;
    struct linux_thread *thread;
    bool main;                  /* the program's first thread */
    int tid;                    /* its host thread's, once known */
    struct debug_thread *debug; /* its part of the debugger, NULL without one */
    bool released;
    struct accel_exit exit;
    struct monitor_ring_state ring; /* its exitless syscalls (monitor/ring.h) */
};

struct run {
    const struct monitor_options *options;
    struct guest *guest;
    struct debugger *debugger; /* NULL without --gdb */
    bool halt_at_start;
    GMainLoop *loop;
    atomic_int stop_signal; /* the monitor's signal that asked to stop, 0 if none */
    atomic_bool timed_out;  /* --timeout expired */
    struct vcpu main_vcpu;

    /* Owned by whoever holds the lock: the live vCPUs, and how the run
     * ended (set once, by the first vCPU thread that ends it). */
    GMutex lock;
    GCond changed;
    GPtrArray *vcpus;
    guint leaving; /* vCPU threads unlisted, still releasing their vCPU */
    bool ending;
    enum run_end end;
    struct accel_exit exit;
    struct cpu_state state; /* of the vCPU that ended the run */
    /* At a fault: the faulting thread first, then every other thread as it
     * left (for the report and the core file). */
    GArray *fault_threads; /* struct report_thread */
    int exit_status;
    bool forked_child; /* this process is a fork's child: no main loop */
    /* Signals sent to the monitor, forwarded to the program. */
    GThread *forwarder;
    atomic_bool forwarder_quit;
    pthread_t forwarder_thread; /* valid once forwarder_started */
    atomic_bool forwarder_started;
};

static void start_forwarding(struct run *run);
static void let_forwarded_signals_in(int tid);

/*
 * Forwarded signals and the threads that catch them. The forwarding thread
 * takes signals sent to the process with sigtimedwait. A signal another
 * process aims at one thread (tgkill) is pending on that host thread only,
 * where no wait of the forwarder sees it: so the vCPU threads and the main
 * thread let the forwarded signals in, and on_forwarded_signal hands each
 * one to the forwarder with the guest thread it was aimed at.
 */
/* The guest thread this host thread runs (0: the program's first), -1 none. */
static __thread int routed_tid = -1;
/* A forwarded signal's handler ran on this thread since the flag was cleared. */
static __thread volatile sig_atomic_t routed_interrupt;
/* A guest execve is collecting the pending signals: handlers leave them to
 * the host's queue instead, which execve keeps. */
static atomic_bool routing_held;
static atomic_int routing_inflight; /* handlers between their check and their hold */
/* forwarded_signals(), computed once when the handlers are installed. */
static sigset_t forwarded_set;

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

/* Kicks every vCPU but except out of run() and host calls. Lock held. */
static void stop_vcpus_locked(struct run *run, const struct vcpu *except)
{
    for (guint i = 0; i < run->vcpus->len; i++) {
        struct vcpu *vcpu = g_ptr_array_index(run->vcpus, i);
        if (vcpu != except)
            run->guest->accel_ops->stop(vcpu->accel);
    }
}

static void stop_all_vcpus(struct run *run)
{
    g_mutex_lock(&run->lock);
    stop_vcpus_locked(run, NULL);
    g_mutex_unlock(&run->lock);
}

static bool run_ending(struct run *run)
{
    g_mutex_lock(&run->lock);
    bool ending = run->ending;
    g_mutex_unlock(&run->lock);
    return ending;
}

/* A thread as the run's fault found it, on its own vCPU thread. Lock held. */
static void record_thread_locked(struct vcpu *vcpu)
{
    struct run *run = vcpu->run;
    const struct accel_ops *ops = run->guest->accel_ops;
    struct report_thread thread = {.tid = linux_thread_tid(vcpu->thread)};
    g_strlcpy(thread.name, linux_thread_name(vcpu->thread), sizeof(thread.name));
    if (ops->get_state(vcpu->accel, &thread.state, CPU_STATE_ALL) < 0)
        return;
    thread.has_fpu = ops->get_fpu && ops->get_fpu(vcpu->accel, &thread.fpu) == 0;
    uint64_t features = 0;
    size_t size = guest_cpu_xstate_size(run->guest, vcpu->accel, &features);
    if (size) {
        thread.xsave = g_malloc0(size);
        if (guest_cpu_get_xstate(run->guest, vcpu->accel, thread.xsave, size) == 0) {
            thread.xsave_size = (uint32_t)size;
            thread.xsave_features = features;
        } else {
            g_clear_pointer(&thread.xsave, g_free);
        }
    }
    g_array_append_val(run->fault_threads, thread);
}

/* Ends the run as end, with vcpu's exit and state, unless another vCPU
 * ended it first; every other vCPU is kicked out. True for the first. */
static bool end_run(struct vcpu *vcpu, enum run_end end, int exit_status)
{
    struct run *run = vcpu->run;
    g_mutex_lock(&run->lock);
    bool first = !run->ending;
    if (first) {
        run->ending = true;
        run->end = end;
        run->exit = vcpu->exit;
        run->exit_status = exit_status;
        if (end != RUN_END_EXIT && end != RUN_END_SIGNAL && end != RUN_END_KILLED)
            run->guest->accel_ops->get_state(vcpu->accel, &run->state, CPU_STATE_ALL);
        if (end == RUN_END_FAULT ||
            (end == RUN_END_SIGNAL && linux_signal_dumps_core(exit_status - 128)))
            record_thread_locked(vcpu); /* for the report and the core file */
        stop_vcpus_locked(run, vcpu);
    }
    g_mutex_unlock(&run->lock);
    return first;
}

static void end_run_with_error(struct vcpu *vcpu, const char *message)
{
    vcpu->exit.reason = ACCEL_EXIT_ERROR;
    snprintf(vcpu->exit.message, sizeof(vcpu->exit.message), "%s", message);
    end_run(vcpu, RUN_END_ERROR, 1);
}

/* What a syscall left the vCPU thread to do. */
enum syscall_next {
    SYSCALL_RESUME,       /* run the program on */
    SYSCALL_THREAD_ENDED, /* this thread called exit */
    SYSCALL_RUN_ENDED,    /* the program ended (or could not go on) */
};

/* Leaves the vCPU at the syscall instruction with rax still the number, so
 * running it again makes the call again. */
static enum syscall_next restart_syscall(struct vcpu *vcpu, struct cpu_state *state)
{
    state->rip -= 2; /* `syscall` is 0f 05 */
    if (vcpu->run->guest->accel_ops->set_state(vcpu->accel, state, CPU_STATE_GPRS) < 0) {
        end_run_with_error(vcpu, "cannot write vCPU registers");
        return SYSCALL_RUN_ENDED;
    }
    return SYSCALL_RESUME;
}

static gulong test_pause_delay_us(void)
{
    static gulong delay = G_MAXULONG;
    if (delay == G_MAXULONG) {
        const char *text = getenv("HERMITUX_TEST_PAUSE_DELAY_MS");
        delay = text ? 1000 * (gulong)strtoul(text, NULL, 10) : 0;
    }
    return delay;
}

/* A kick came before the call was made: made again from its syscall
 * instruction, or ended with its restart code (linux_signal_preempted_call). */
static enum syscall_next preempted_syscall(struct vcpu *vcpu, struct cpu_state *state,
                                           uint64_t number)
{
    if (!linux_signal_preempted_call(vcpu->thread, number, &state->rax))
        return restart_syscall(vcpu, state);
    if (vcpu->run->guest->accel_ops->set_state(vcpu->accel, state, CPU_STATE_GPRS) < 0) {
        end_run_with_error(vcpu, "cannot write vCPU registers");
        return SYSCALL_RUN_ENDED;
    }
    return SYSCALL_RESUME;
}

/*
 * The fork syscall returned in a new process with a VM of its own. Its
 * vCPU holds the state to resume (the child's stack may differ); the
 * debugger stays with the parent unless gdb follows the child. Only
 * the forking thread exists in the child: it is the run's one vCPU now.
 */
static void become_forked_child(struct vcpu *vcpu, struct cpu_state *state)
{
    struct run *run = vcpu->run;
    struct guest *guest = run->guest;
    run->forked_child = true;
    vcpu->accel = guest->accel;
    vcpu->main = true;
    monitor_ring_forget(&vcpu->ring);
    g_mutex_lock(&run->lock);
    g_ptr_array_set_size(run->vcpus, 0);
    g_ptr_array_add(run->vcpus, vcpu);
    run->leaving = 0; /* the parent's leaving threads did not come across */
    g_mutex_unlock(&run->lock);
    linux_thread_after_fork(vcpu->thread);
    /* gdb may follow the child (follow-fork-mode child): it waits here for
     * gdb's first resume, with a debugger of its own. */
    if (run->debugger) {
        vcpu->debug = debugger_fork_child(&run->debugger, vcpu->accel, vcpu->thread);
        guest->debugger = run->debugger;
    }
    guest->accel_ops->get_state(vcpu->accel, state, CPU_STATE_GPRS);
    routed_tid = 0; /* the child's first thread */
    /* Only the forking thread came across: signals sent to the child need a
     * forwarder of their own. */
    start_forwarding(run);
}

/* The program ended inside the personality (exit, a fatal signal). */
static void program_ended(struct vcpu *vcpu)
{
    struct run *run = vcpu->run;
    int signal = linux_exit_signal(run->guest->process);
    int status = signal ? 128 + signal : linux_exit_status(run->guest->process);
    if (end_run(vcpu, signal ? RUN_END_SIGNAL : RUN_END_EXIT, status))
        debugger_program_ended(run->debugger, status, signal);
}

/* ---- signals: delivery points --------------------------------------------------- */

/* At the top of each turn of a vCPU loop: pending signals delivered. False
 * when a signal's default action ended the program, or this thread's
 * process when it shares memory. */
static bool deliver_signals(struct vcpu *vcpu)
{
    /* Stopped between an exception and its exit (accel.h): delivered with
     * that exit, as Linux delivers after the synchronous signal. */
    if (vcpu->exit.reason == ACCEL_EXIT_STOPPED && vcpu->exit.mid_exception)
        return true;
    enum linux_outcome outcome = linux_signal_deliver(vcpu->thread);
    /* A process sharing memory ended alone (a fatal signal). */
    if (outcome == LINUX_THREAD_EXIT)
        return false;
    if (outcome != LINUX_EXIT)
        return true;
    program_ended(vcpu);
    return false;
}

/* An exception the program took: its handler runs if it has one. */
static bool handled_by_program(struct vcpu *vcpu)
{
    if (vcpu->exit.in_kernel)
        return false;
    return linux_signal_exception(vcpu->thread, vcpu->exit.vector, vcpu->exit.error_code,
                                  vcpu->exit.fault_address);
}

/* A fault in a process sharing the program's memory ends that process
 * alone (its parent sees the signal in wait4); one in the guest kernel
 * still ends the run. */
static bool vm_child_faulted(struct vcpu *vcpu)
{
    const struct accel_exit *exit = &vcpu->exit;
    if (exit->in_kernel)
        return false;
    uint8_t info[128];
    int signal = linux_signal_exception_info(vcpu->thread, exit->vector, exit->error_code,
                                             exit->fault_address, info);
    return linux_vm_child_fatal(vcpu->thread, signal);
}

/* A stop that only came to deliver a signal: the run goes on. */
static bool stopped_for_signal(struct run *run)
{
    return !atomic_load(&run->stop_signal) && !atomic_load(&run->timed_out) && !run_ending(run);
}

/* Calls that answer from the monitor's state and never wait: they need no
 * kick to end them, so they are made without letting the kick signal in (two
 * sigprocmask calls, about 1 us of a 28 us forwarded call on PVM). A kick
 * meanwhile stays pending and ends the next KVM_RUN at once. */
static bool syscall_never_blocks(uint64_t number)
{
    switch (number) {
    case SYS_getpid:
    case SYS_getppid:
    case SYS_gettid:
    case SYS_getuid:
    case SYS_geteuid:
    case SYS_getgid:
    case SYS_getegid:
    case SYS_getresuid:
    case SYS_getresgid:
    case SYS_getpgrp:
    case SYS_brk:
    case SYS_munmap:
    case SYS_mprotect:
    case SYS_madvise:
    case SYS_arch_prctl:
    case SYS_set_tid_address:
    case SYS_set_robust_list:
    case SYS_rseq:
    case SYS_prlimit64:
    case SYS_uname:
    case SYS_umask:
    case SYS_getcwd:
    case SYS_clock_gettime:
    case SYS_clock_getres:
    case SYS_gettimeofday:
    case SYS_time:
    case SYS_getcpu:
    case SYS_sched_getaffinity:
    case SYS_lseek:
        return true;
    default:
        return false;
    }
}

/* One syscall of the program, on the calling thread's own vCPU thread. */
static enum syscall_next perform_syscall(struct vcpu *vcpu)
{
    struct run *run = vcpu->run;
    struct guest *guest = run->guest;
    struct cpu_state state;
    if (guest->accel_ops->get_state(vcpu->accel, &state, CPU_STATE_GPRS) < 0) {
        end_run_with_error(vcpu, "cannot read vCPU registers");
        return SYSCALL_RUN_ENDED;
    }
    struct linux_syscall call = {
        .number = state.rax,
        .args = {state.rdi, state.rsi, state.rdx, state.r10, state.r8, state.r9},
    };
    uint64_t result = 0;
    /* A blocking host call (read from a terminal, a sleep, a futex wait)
     * must end when the vCPU is kicked; a kick that came first means the
     * call is not made. */
    /* (An unknown number is answered ENOSYS at once: no kick to wait for. A
     * kick pending here used to restart it, and gdb's catch syscall saw it
     * return with the pc back on the `syscall` and then called again; the
     * SIGCHLD of a vfork's child did it in catch-syscall.exp.) */
    bool may_block = linux_syscall_implemented(call.number) && !syscall_never_blocks(call.number);
    /* A test hook: widens the window between pause's exit and the call,
     * where a kick that came first made the call again after the handler. */
    if (call.number == SYS_pause && test_pause_delay_us())
        g_usleep(test_pause_delay_us());
    if (may_block && !accel_host_call_begin(vcpu->accel))
        return preempted_syscall(vcpu, &state, call.number);
    /* The fork copies the calling thread's vCPU (monitor/fork.c). Nothing
     * shared is borrowed for it: when a worker's fork put its vCPU in
     * guest->accel, the main thread, ending a futex wait meanwhile, took
     * that for a fork of its own and ran on the worker's vCPU (1 run in 12
     * of thread_fork on tcg). */
    guest_forking_accel = vcpu->accel;
    routed_interrupt = 0;
    monitor_ring_before_syscall(&vcpu->ring);
    enum linux_outcome outcome = linux_syscall(vcpu->thread, &call, &result);
    bool routed = routed_interrupt;
    /* A fork's child (or a child's child) has a VM of its own, made of its
     * copy of this vCPU or new: the parent's other vCPUs are gone. */
    bool forked = guest_forked_child;
    guest_forked_child = false;
    if (forked)
        vcpu->accel = guest_forking_accel;
    if (may_block)
        accel_host_call_end(vcpu->accel);
    if (forked)
        become_forked_child(vcpu, &state);
    /* Interrupted by the monitor's own kick (a stop, a debugger) or by a
     * forwarded signal's handler (the signal reaches the program through
     * the forwarder, whose kick ends the restarted call): the program sees
     * the call restarted, as across a ptrace stop. Not restart_syscall with
     * nothing to restart: EINTR is its answer, and making it again while a
     * kick is pending looped for ever (found by the syscall fuzzer). */
    if (outcome == LINUX_CONTINUE && (int64_t)result == -EINTR &&
        (accel_kick_pending(vcpu->accel) || routed) && call.number != SYS_restart_syscall)
        return restart_syscall(vcpu, &state);
    if (outcome == LINUX_THREAD_EXIT)
        return SYSCALL_THREAD_ENDED;
    if (outcome == LINUX_EXIT) {
        program_ended(vcpu);
        return SYSCALL_RUN_ENDED;
    }
    /* rt_sigreturn, a signal frame or a restart: the registers are set. */
    if (outcome == LINUX_RESUME)
        return SYSCALL_RESUME;
    /* A debugger that stopped the thread inside the call (a fork event) may
     * have set registers meanwhile (gdb puts the pc back after a displaced
     * step): the call returns into those, not into the copy taken above. */
    if (vcpu->debug && guest->accel_ops->get_state(vcpu->accel, &state, CPU_STATE_GPRS) < 0) {
        end_run_with_error(vcpu, "cannot read vCPU registers");
        return SYSCALL_RUN_ENDED;
    }
    state.rax = result;
    if (guest->accel_ops->set_state(vcpu->accel, &state, CPU_STATE_GPRS) < 0) {
        end_run_with_error(vcpu, "cannot write vCPU registers");
        return SYSCALL_RUN_ENDED;
    }
    /* Under a debugger every call exits: gdb's catch syscall and stepping
     * see each one where it is made. */
    monitor_ring_after_syscall(&vcpu->ring, vcpu->accel, guest->accel_ops, vcpu->thread, &call,
                               run->options, run->debugger != NULL);
    return SYSCALL_RESUME;
}

/* The run loop of one vCPU: until its thread or the program ends. */
static void vcpu_run_loop(struct vcpu *vcpu)
{
    struct run *run = vcpu->run;
    struct guest *guest = run->guest;
    struct accel_exit *exit = &vcpu->exit;
    for (;;) {
        if (!deliver_signals(vcpu))
            return;
        /* A stop inside signal delivery or a syscall resumes only now. */
        if (debugger_before_run(vcpu->debug) == DEBUG_KILLED) {
            end_run(vcpu, RUN_END_KILLED, 128 + SIGKILL);
            return;
        }
        int result = guest->accel_ops->run(vcpu->accel, exit);
        if (result < 0) {
            exit->reason = ACCEL_EXIT_ERROR;
            end_run(vcpu, RUN_END_ERROR, 1);
            return;
        }
        if (exit->reason == ACCEL_EXIT_SYSCALL) {
            if (debugger_syscall_stop(vcpu->debug, true) == DEBUG_KILLED) {
                end_run(vcpu, RUN_END_KILLED, 128 + SIGKILL);
                return;
            }
            enum syscall_next next = perform_syscall(vcpu);
            if (next != SYSCALL_RESUME)
                return;
            if (debugger_syscall_stop(vcpu->debug, false) == DEBUG_KILLED) {
                end_run(vcpu, RUN_END_KILLED, 128 + SIGKILL);
                return;
            }
            if (!debugger_stepping(vcpu->debug))
                continue;
        }
        /* Kicked because another thread ended the run. */
        if (exit->reason == ACCEL_EXIT_STOPPED && run_ending(run))
            return;
        /* The first touch of anonymous memory: backed, and retried unseen. */
        if (exit->reason == ACCEL_EXIT_EXCEPTION &&
            linux_mm_first_touch(vcpu->thread, exit->vector, exit->error_code, exit->fault_address))
            continue;
        if (vcpu->debug) {
            enum debug_verdict verdict = debugger_handle_exit(vcpu->debug, exit);
            if (verdict == DEBUG_RESUME)
                continue;
            if (verdict == DEBUG_KILLED) {
                end_run(vcpu, RUN_END_KILLED, 128 + SIGKILL);
                return;
            }
        }
        if (exit->reason == ACCEL_EXIT_EXCEPTION && handled_by_program(vcpu))
            continue;
        if (exit->reason == ACCEL_EXIT_STOPPED && stopped_for_signal(run))
            continue;
        if (exit->reason == ACCEL_EXIT_EXCEPTION && vm_child_faulted(vcpu))
            return;
        if (exit->reason == ACCEL_EXIT_EXCEPTION) {
            if (end_run(vcpu, RUN_END_FAULT, 0))
                debugger_program_ended(run->debugger, 0,
                                       report_signal_for_exit(guest->memory, exit));
            return;
        }
        end_run(vcpu, exit->reason == ACCEL_EXIT_STOPPED ? RUN_END_STOPPED : RUN_END_ERROR, 1);
        return;
    }
}

/* Every vCPU thread: the debugger knows it while it runs its vCPU (the
 * first one waits there for gdb with -S). */
static void vcpu_loop(struct vcpu *vcpu)
{
    struct run *run = vcpu->run;
    vcpu->debug = debugger_thread_enter(run->debugger, vcpu->accel, vcpu->thread);
    if (vcpu->main && run->halt_at_start && vcpu->debug &&
        debugger_before_start(vcpu->debug) == DEBUG_KILLED)
        end_run(vcpu, RUN_END_KILLED, 128 + SIGKILL);
    else
        vcpu_run_loop(vcpu);
    debugger_thread_leave(vcpu->debug);
    vcpu->debug = NULL;
    /* The program's locks this thread held are abandoned before the
     * process goes (a fork's child dies right after its last thread). */
    linux_thread_exit_robust_list(vcpu->thread);
    /* The other threads of a program that faulted (or died of a signal
     * that dumps core) go into its report and core file. */
    g_mutex_lock(&run->lock);
    if (run->ending && (run->end == RUN_END_FAULT || run->end == RUN_END_SIGNAL) &&
        run->fault_threads->len > 0 &&
        g_array_index(run->fault_threads, struct report_thread, 0).tid !=
            linux_thread_tid(vcpu->thread))
        record_thread_locked(vcpu);
    g_mutex_unlock(&run->lock);
}

static int run_status(struct run *run, int *signal);

/* The vCPU leaves the run (no kick reaches it any more), but its thread
 * still counts until vcpu_left: the run (the guest, the process) must not be
 * freed under a thread still releasing its vCPU and thread (an ASan
 * use-after-free at exit_group on tcg, where releasing an engine is slow). */
static void vcpu_unlist(struct vcpu *vcpu)
{
    struct run *run = vcpu->run;
    g_mutex_lock(&run->lock);
    g_ptr_array_remove(run->vcpus, vcpu);
    run->leaving++;
    g_mutex_unlock(&run->lock);
}

/* A vCPU thread is done with the run; true for the last. After this, a
 * thread that is not the last must not touch the run: monitor_run may free
 * it as soon as it sees none left (wait_for_vcpu_threads). */
static bool vcpu_left(struct run *run)
{
    g_mutex_lock(&run->lock);
    bool last = --run->leaving == 0 && run->vcpus->len == 0;
    g_cond_broadcast(&run->changed);
    g_mutex_unlock(&run->lock);
    return last;
}

/* The main loop has ended: every vCPU thread has left the run before the run,
 * the guest and the process are freed (the last one to leave ends the loop,
 * but the others may still be between unlisting and leaving). */
static void wait_for_vcpu_threads(struct run *run)
{
    g_mutex_lock(&run->lock);
    while (run->leaving || run->vcpus->len)
        g_cond_wait(&run->changed, &run->lock);
    g_mutex_unlock(&run->lock);
}

/* After the last vCPU thread is done with everything: the main loop owns the
 * outcome (a fork's child, without one, ends here). */
static void run_finished(struct run *run, bool last)
{
    if (!last)
        return;
    /* Read under the lock that monitor_run takes next (wait_for_vcpu_threads):
     * the hand-off through the main loop is GLib's, which ThreadSanitizer
     * does not see, and main() reuses the run's stack once monitor_run is
     * back (monitor_exit_as_program). */
    g_mutex_lock(&run->lock);
    bool forked_child = run->forked_child;
    g_mutex_unlock(&run->lock);
    if (forked_child) {
        int signal = 0;
        int status = run_status(run, &signal);
        debugger_free(run->debugger); /* a followed child's: gdb hears of the end first */
        monitor_exit_as_program(status, signal, linux_core_limit(run->guest->process),
                                monitor_teardown_may_be_left(run->guest));
    }
    /* Always queued: g_main_context_invoke would run it right here when the
     * main loop has not started yet, and its quit would be lost. */
    g_idle_add(on_vcpu_finished, run);
}

static gpointer main_vcpu_thread(gpointer data)
{
    struct vcpu *vcpu = data;
    struct run *run = vcpu->run;
    /* The program's first thread (tid: the pid) runs here: its CPU clock. */
    linux_thread_set_host_tid(vcpu->thread, (int)gettid());
    let_forwarded_signals_in(0);
    vcpu_loop(vcpu);
    monitor_ring_stop(&vcpu->ring);
    vcpu_unlist(vcpu);
    run_finished(run, vcpu_left(run));
    return NULL;
}

static gpointer thread_vcpu_thread(gpointer data)
{
    struct vcpu *vcpu = data;
    struct run *run = vcpu->run;
    /* Created inside a syscall, where the kick signal is let in. */
    set_kick_blocked(true);
    g_mutex_lock(&run->lock);
    vcpu->tid = (int)gettid();
    g_cond_broadcast(&run->changed);
    while (!vcpu->released)
        g_cond_wait(&run->changed, &run->lock);
    g_mutex_unlock(&run->lock);
    let_forwarded_signals_in(vcpu->tid);
    vcpu_loop(vcpu);
    monitor_ring_stop(&vcpu->ring);
    vcpu_unlist(vcpu);
    /* A fork's child keeps its vCPU (the guest's now) for the report. */
    if (!run->forked_child) {
        /* exit_group left it listed: a signal forwarded now would kick the
         * freed vCPU (seen under ASan, a SIGUSR1 after a worker's exit). */
        linux_thread_unlist(vcpu->thread);
        run->guest->accel_ops->destroy(vcpu->accel);
        linux_thread_free(vcpu->thread);
        g_free(vcpu);
    }
    run_finished(run, vcpu_left(run));
    return NULL;
}

/* ---- the personality's side of threads ------------------------------------ */

static uint64_t vcpu_segment_base(struct vcpu *vcpu, bool fs)
{
    struct cpu_state state;
    if (vcpu->run->guest->accel_ops->get_state(vcpu->accel, &state, CPU_STATE_SEGMENTS) < 0)
        return 0;
    return fs ? state.fs.base : state.gs.base;
}

static void vcpu_set_segment_base(struct vcpu *vcpu, bool fs, uint64_t base)
{
    const struct accel_ops *ops = vcpu->run->guest->accel_ops;
    struct cpu_state state;
    if (ops->get_state(vcpu->accel, &state, CPU_STATE_SEGMENTS) < 0)
        return;
    *(fs ? &state.fs.base : &state.gs.base) = base;
    ops->set_state(vcpu->accel, &state, CPU_STATE_SEGMENTS);
}

static uint64_t vcpu_get_fs_base(void *opaque)
{
    return vcpu_segment_base(opaque, true);
}

static uint64_t vcpu_get_gs_base(void *opaque)
{
    return vcpu_segment_base(opaque, false);
}

static void vcpu_set_fs_base(void *opaque, uint64_t base)
{
    vcpu_set_segment_base(opaque, true, base);
}

static void vcpu_set_gs_base(void *opaque, uint64_t base)
{
    vcpu_set_segment_base(opaque, false, base);
}

static int vcpu_get_regs(void *opaque, struct linux_regs *regs)
{
    struct vcpu *vcpu = opaque;
    return guest_cpu_get_regs(vcpu->run->guest, vcpu->accel, regs);
}

static int vcpu_set_regs(void *opaque, const struct linux_regs *regs)
{
    struct vcpu *vcpu = opaque;
    return guest_cpu_set_regs(vcpu->run->guest, vcpu->accel, regs);
}

static int vcpu_get_fpu(void *opaque, uint8_t fxsave[LINUX_FXSAVE_SIZE])
{
    struct vcpu *vcpu = opaque;
    return guest_cpu_get_fpu(vcpu->run->guest, vcpu->accel, fxsave);
}

static int vcpu_set_fpu(void *opaque, const uint8_t fxsave[LINUX_FXSAVE_SIZE])
{
    struct vcpu *vcpu = opaque;
    return guest_cpu_set_fpu(vcpu->run->guest, vcpu->accel, fxsave);
}

static size_t vcpu_xstate_size(void *opaque, uint64_t *features)
{
    struct vcpu *vcpu = opaque;
    return guest_cpu_xstate_size(vcpu->run->guest, vcpu->accel, features);
}

static int vcpu_get_xstate(void *opaque, uint8_t *area, size_t size)
{
    struct vcpu *vcpu = opaque;
    return guest_cpu_get_xstate(vcpu->run->guest, vcpu->accel, area, size);
}

static int vcpu_set_xstate(void *opaque, const uint8_t *area, size_t size)
{
    struct vcpu *vcpu = opaque;
    return guest_cpu_set_xstate(vcpu->run->guest, vcpu->accel, area, size);
}

static void vcpu_kick(void *opaque)
{
    struct vcpu *vcpu = opaque;
    vcpu->run->guest->accel_ops->stop(vcpu->accel);
}

static const struct linux_cpu vcpu_cpu_template = {
    .get_fs_base = vcpu_get_fs_base,
    .set_fs_base = vcpu_set_fs_base,
    .get_gs_base = vcpu_get_gs_base,
    .set_gs_base = vcpu_set_gs_base,
    .get_regs = vcpu_get_regs,
    .set_regs = vcpu_set_regs,
    .get_fpu = vcpu_get_fpu,
    .set_fpu = vcpu_set_fpu,
    .xstate_size = vcpu_xstate_size,
    .get_xstate = vcpu_get_xstate,
    .set_xstate = vcpu_set_xstate,
    .kick = vcpu_kick,
};

/* The child's vCPU: the parent's copy, returning 0 from clone on its own
 * stack and TLS. */
static struct accel *clone_vcpu(struct run *run, struct vcpu *parent,
                                const struct linux_clone_request *request)
{
    const struct accel_ops *ops = run->guest->accel_ops;
    char *error = NULL;
    struct accel *accel = ops->create_vcpu ? ops->create_vcpu(parent->accel, &error) : NULL;
    if (!accel) {
        if (run->guest->verbose)
            fprintf(stderr, "hermitux-run: no vCPU for a new thread: %s\n",
                    error ? error : "the accelerator has one vCPU only");
        g_free(error);
        return NULL;
    }
    struct cpu_state state;
    int result = ops->get_state(accel, &state, CPU_STATE_GPRS | CPU_STATE_SEGMENTS);
    state.rax = 0;
    /* The parent's step by gdb stays the parent's: the child would trap
     * after its first instruction (a SIGTRAP gdb never asked for). */
    if (debugger_owns_tf(parent->debug))
        state.rflags &= ~(1ULL << 8);
    if (request->stack)
        state.rsp = request->stack;
    if (request->set_tls)
        state.fs.base = request->tls;
    if (result == 0)
        result = ops->set_state(accel, &state, CPU_STATE_GPRS | CPU_STATE_SEGMENTS);
    if (result < 0) {
        ops->destroy(accel);
        return NULL;
    }
    return accel;
}

static int thread_spawn(void *opaque, struct linux_thread *parent, struct linux_thread *child,
                        const struct linux_clone_request *request)
{
    struct run *run = opaque;
    struct accel *accel = clone_vcpu(run, linux_thread_host_data(parent), request);
    if (!accel)
        return -EAGAIN;
    struct vcpu *vcpu = g_new0(struct vcpu, 1);
    vcpu->run = run;
    vcpu->accel = accel;
    vcpu->thread = child;
    linux_thread_set_cpu(child, &vcpu_cpu_template);
    linux_thread_set_cpu_opaque(child, vcpu);
    linux_thread_set_host_data(child, vcpu);

    g_mutex_lock(&run->lock);
    g_ptr_array_add(run->vcpus, vcpu);
    /* A run ending meanwhile stops the newcomer before it runs. */
    if (run->ending)
        run->guest->accel_ops->stop(accel);
    g_mutex_unlock(&run->lock);
    /* Named as the guest thread (its parent's name, as Linux gives it), so
     * ps, top and pidof on the host see the program's names. */
    GThread *thread = g_thread_try_new(linux_thread_name(child), thread_vcpu_thread, vcpu, NULL);
    if (!thread) {
        g_mutex_lock(&run->lock);
        g_ptr_array_remove(run->vcpus, vcpu);
        g_mutex_unlock(&run->lock);
        run->guest->accel_ops->destroy(accel);
        g_free(vcpu);
        return -EAGAIN;
    }
    g_thread_unref(thread);
    g_mutex_lock(&run->lock);
    while (!vcpu->tid)
        g_cond_wait(&run->changed, &run->lock);
    g_mutex_unlock(&run->lock);
    linux_thread_set_tid(child, vcpu->tid);
    return 0;
}

static void thread_start(void *opaque, struct linux_thread *child)
{
    struct run *run = opaque;
    struct vcpu *vcpu = linux_thread_host_data(child);
    g_mutex_lock(&run->lock);
    vcpu->released = true;
    g_cond_broadcast(&run->changed);
    g_mutex_unlock(&run->lock);
}

static void thread_memory_changed(void *opaque, struct linux_thread *thread)
{
    struct run *run = opaque;
    struct vcpu *vcpu = linux_thread_host_data(thread);
    if (run->guest->accel_ops->memory_changed)
        run->guest->accel_ops->memory_changed(vcpu->accel);
}

static void thread_exclusive(void *opaque, struct linux_thread *thread, bool begin)
{
    struct run *run = opaque;
    struct vcpu *vcpu = linux_thread_host_data(thread);
    void (*change)(struct accel *) =
        begin ? run->guest->accel_ops->exclusive_begin : run->guest->accel_ops->exclusive_end;
    if (change)
        change(vcpu->accel);
}

/* SIGINT or SIGTERM while a debugger holds the program: the monitor stops,
 * as it always has under gdb. */
struct stop_request {
    struct run *run;
    int signal;
};

static gboolean on_stop_signal(gpointer data)
{
    struct stop_request *request = data;
    struct run *run = request->run;
    atomic_store(&run->stop_signal, request->signal);
    stop_all_vcpus(run);
    debugger_abort(run->debugger);
    g_free(request);
    return G_SOURCE_REMOVE;
}

/* ---- signals sent to the monitor ------------------------------------------------- */

/* What the monitor passes on to the program: every standard signal a process
 * can be sent and catch, but the ones the CPU raises for the monitor's own
 * faults. SIGCHLD too: the monitor's children are the program's (a guest
 * pid is a host pid), so their reports are the program's. */
static void forwarded_signals(sigset_t *set)
{
    static const int signals[] = {SIGHUP,   SIGINT,  SIGQUIT,   SIGUSR1, SIGUSR2,   SIGPIPE,
                                  SIGALRM,  SIGTERM, SIGSTKFLT, SIGCONT, SIGTSTP,   SIGTTIN,
                                  SIGTTOU,  SIGURG,  SIGXCPU,   SIGXFSZ, SIGVTALRM, SIGPROF,
                                  SIGWINCH, SIGIO,   SIGPWR,    SIGCHLD};
    sigemptyset(set);
    for (size_t i = 0; i < G_N_ELEMENTS(signals); i++)
        sigaddset(set, signals[i]);
    /* Real-time signals too (sigqueue from another guest), but the kick;
     * the ones below SIGRTMIN are the monitor's libc's own. */
    for (int signal = SIGRTMIN; signal <= SIGRTMAX; signal++) {
        if (signal != ACCEL_KICK_SIGNAL)
            sigaddset(set, signal);
    }
}

/* One signal for the program, from whichever thread took it: target is a
 * guest tid for a signal aimed at one thread, else ACCEL_SIGNAL_TO_PROCESS. */
static void forward_to_program(struct run *run, int signal, const siginfo_t *info, int target)
{
    if (run->debugger && !run->forked_child && (signal == SIGINT || signal == SIGTERM)) {
        struct stop_request *request = g_new(struct stop_request, 1);
        *request = (struct stop_request){run, signal};
        g_idle_add(on_stop_signal, request);
        return;
    }
    if (signal == SIGCHLD && info->si_code > 0)
        linux_signal_post_child(run->guest->process, info->si_code, info->si_pid, info->si_uid,
                                info->si_status, (int64_t)info->si_utime, (int64_t)info->si_stime);
    else
        linux_signal_post_external(run->guest->process, target < 0 ? 0 : target, signal,
                                   info->si_code, info->si_pid, info->si_uid,
                                   (uint64_t)(uintptr_t)info->si_value.sival_ptr);
}

/* What the handlers (and a kick passed on without a sink) left for us. */
static void take_held_signals(struct run *run)
{
    siginfo_t info;
    int target;
    while (accel_signal_take_held(&info, &target))
        forward_to_program(run, info.si_signo, &info, target);
}

/* The forwarding thread: takes the signals sent to the process (blocked
 * here, as in every thread that does not route them) and the ones the
 * other threads' handlers hold for it, and queues them for the program. */
static gpointer forward_signals(gpointer data)
{
    struct run *run = data;
    sigset_t set = forwarded_set;
    /* The kick signal (blocked here, and never sent to this thread by a
     * vCPU's kick) wakes it: to quit, or to take what handlers hold. */
    sigaddset(&set, ACCEL_KICK_SIGNAL);
    /* A fork's child starts it from a vCPU thread, which lets them in. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    run->forwarder_thread = pthread_self();
    accel_set_kick_sink((pid_t)gettid());
    atomic_store(&run->forwarder_started, true);
    const struct timespec poll_interval = {0, 100 * 1000 * 1000};
    while (!atomic_load(&run->forwarder_quit)) {
        siginfo_t info;
        int signal = sigtimedwait(&set, &info, &poll_interval);
        if (signal > 0 && !(signal == ACCEL_KICK_SIGNAL && accel_kick_is_own(&info)))
            forward_to_program(run, signal, &info, ACCEL_SIGNAL_TO_PROCESS);
        take_held_signals(run);
    }
    accel_set_kick_sink(0);
    /* A handler that saw forwarding still on may be about to hold one. */
    while (atomic_load(&routing_inflight) > 0)
        sched_yield();
    take_held_signals(run);
    return NULL;
}

/* Whether a signal is the monitor's own doing: the kernel's SIGPIPE or
 * SIGXFSZ for a host write the personality made (it answers the program
 * itself), or one the monitor sent itself. */
static bool sent_by_monitor(const siginfo_t *info)
{
    return (info->si_code == SI_USER || info->si_code == SI_TKILL) && info->si_pid == getpid();
}

/* Every forwarded signal, on the threads that let them in (vCPU threads
 * and the main thread). Held for the forwarder with the guest thread it was
 * aimed at, when another process aimed it at this host thread with tgkill.
 * While an execve collects the pending signals it goes back to the host's
 * queue for the process instead (the code of a kill() cannot be queued
 * again, so SI_QUEUE stands for it), and this thread lets no more in:
 * execve keeps what is queued there. Async-signal-safe. */
static void on_forwarded_signal(int signal, siginfo_t *info, void *context)
{
    if (sent_by_monitor(info))
        return;
    int saved_errno = errno;
    atomic_fetch_add(&routing_inflight, 1);
    int target = ACCEL_SIGNAL_TO_PROCESS;
    if (info->si_code == SI_TKILL && routed_tid >= 0)
        target = routed_tid ? routed_tid : getpid();
    if (!atomic_load(&routing_held)) {
        /* Every slot full: a storm the forwarder is behind on; lost, as a
         * standard signal already pending would be. */
        if (accel_signal_hold(info, target))
            accel_wake_sink();
    } else {
        siginfo_t copy = *info;
        if (copy.si_code >= 0 || copy.si_code == SI_TKILL)
            copy.si_code = SI_QUEUE;
        syscall(SYS_rt_sigqueueinfo, getpid(), signal, &copy);
        ucontext_t *interrupted = context;
        sigorset(&interrupted->uc_sigmask, &interrupted->uc_sigmask, &forwarded_set);
    }
    routed_interrupt = 1;
    atomic_fetch_sub(&routing_inflight, 1);
    errno = saved_errno;
}

/* This thread runs guest thread tid (0: the program's first) or is the main
 * thread, and routes what it catches. */
static void let_forwarded_signals_in(int tid)
{
    routed_tid = tid;
    pthread_sigmask(SIG_UNBLOCK, &forwarded_set, NULL);
}

/* A guest execve under a debugger: the session goes to the new monitor. */
static char *run_exec_handover(void *opaque, bool cancel)
{
    struct run *run = opaque;
    return debugger_exec_handover(run->debugger, cancel);
}

/* A signal became pending for the process: its main vCPU is kicked. */
static void run_kick(void *opaque)
{
    struct run *run = opaque;
    run->guest->accel_ops->stop(run->guest->accel);
}

static void stop_forwarding(struct run *run)
{
    atomic_store(&run->forwarder_quit, true);
    if (run->forwarder && atomic_load(&run->forwarder_started))
        pthread_kill(run->forwarder_thread, ACCEL_KICK_SIGNAL);
    if (run->forwarder)
        g_thread_join(run->forwarder);
    run->forwarder = NULL;
}

/* A guest execve (on its vCPU thread): see linux_host's hold_signals. From
 * here on signals stay in the host's queues, which execve keeps, and the
 * forwarder posts what it took before the personality collects them. */
static void run_hold_signals(void *opaque, bool hold)
{
    struct run *run = opaque;
    if (hold) {
        pthread_sigmask(SIG_BLOCK, &forwarded_set, NULL);
        atomic_store(&routing_held, true);
        stop_forwarding(run);
    } else {
        atomic_store(&routing_held, false);
        start_forwarding(run);
        pthread_sigmask(SIG_UNBLOCK, &forwarded_set, NULL);
    }
}

static void start_forwarding(struct run *run)
{
    run->guest->kick = run_kick;
    run->guest->kick_opaque = run;
    run->guest->hold_signals = run_hold_signals;
    run->guest->hold_signals_opaque = run;
    atomic_store(&run->forwarder_quit, false);
    atomic_store(&run->forwarder_started, false); /* a fork's child: not the parent's thread */
    run->forwarder = g_thread_try_new("signals", forward_signals, run, NULL);
    if (!run->forwarder) {
        /* No thread to spare (RLIMIT_NPROC in a fork's child): the signals
         * take their host default action on the monitor instead. */
        struct sigaction fallback = {.sa_handler = SIG_DFL};
        sigemptyset(&fallback.sa_mask);
        for (int signal = 1; signal < NSIG; signal++) {
            if (sigismember(&forwarded_set, signal) == 1)
                sigaction(signal, &fallback, NULL);
        }
        pthread_sigmask(SIG_UNBLOCK, &forwarded_set, NULL);
    }
}

static gboolean on_timeout(gpointer data)
{
    struct run *run = data;
    atomic_store(&run->timed_out, true);
    stop_all_vcpus(run);
    debugger_abort(run->debugger);
    return G_SOURCE_REMOVE;
}

/* The kick signal's handler only has to interrupt; one sent from outside
 * is the program's (accel_kick_pass_on). */
static void on_kick_signal(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)context;
    if (!accel_kick_is_own(info))
        accel_kick_pass_on(info);
}

/* The kick signal is blocked everywhere but where the vCPU thread lets it
 * in. */
static void install_kick_signal(void)
{
    struct sigaction action = {0};
    action.sa_sigaction = on_kick_signal;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(ACCEL_KICK_SIGNAL, &action, NULL);
    set_kick_blocked(true);
    /* The signals forwarded to the program are blocked (threads inherit
     * this mask) but where a thread routes them (let_forwarded_signals_in),
     * and taken by the forwarding thread. So a program writing to a closed
     * pipe gets EPIPE from the syscall layer, which decides what a native
     * run would have done; the monitor itself does not die of it. */
    forwarded_signals(&forwarded_set);
    pthread_sigmask(SIG_BLOCK, &forwarded_set, NULL);
    struct sigaction routing = {0};
    routing.sa_sigaction = on_forwarded_signal;
    /* SA_RESTART: a host call the handler interrupts goes on, and the
     * forwarder's kick ends it once the signal is the program's. */
    routing.sa_flags = SA_SIGINFO | SA_RESTART;
    routing.sa_mask = forwarded_set;
    sigaddset(&routing.sa_mask, ACCEL_KICK_SIGNAL);
    for (int signal = 1; signal < NSIG; signal++) {
        if (sigismember(&forwarded_set, signal) == 1)
            sigaction(signal, &routing, NULL);
    }
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
        linux_strace_end(process, 0, report_signal_for_exit(run->guest->memory, &run->exit));
}

static int compare_thread_ids(const void *a, const void *b)
{
    int tid_a = ((const struct report_thread *)a)->tid,
        tid_b = ((const struct report_thread *)b)->tid;
    return (tid_a > tid_b) - (tid_a < tid_b);
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
        monitor_dump_core(options, guest, *signal,
                          (struct report_thread *)(void *)run->fault_threads->data,
                          run->fault_threads->len);
        break;
    case RUN_END_FAULT: {
        struct report_thread *threads = (struct report_thread *)(void *)run->fault_threads->data;
        size_t count = run->fault_threads->len;
        /* The faulting thread first, the others by tid (creation order). */
        if (count > 1)
            qsort(threads + 1, count - 1, sizeof(*threads), compare_thread_ids);
        if (count == 0) { /* its registers could not be read */
            status = report_fault(stderr, guest, &run->exit, &run->state, options->verbose);
            *signal = status > 128 ? status - 128 : 0;
            break;
        }
        status = report_fault_threads(stderr, guest, &run->exit, threads, count, options->verbose);
        *signal = status > 128 ? status - 128 : 0;
        monitor_dump_core(options, guest, *signal, threads, count);
        break;
    }
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

/* The program has its own copies of stdin and stdout now (the monitor
 * writes only to stderr): the monitor's go to /dev/null, so a pipe's
 * reader sees EOF when the program closes its stdout, as it would had the
 * program been started directly. */
static void release_standard_input_output(void)
{
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0)
        return;
    for (int fd = 0; fd < 2; fd++)
        if (null_fd != fd)
            dup2(null_fd, fd);
    if (null_fd > 1)
        close(null_fd);
}

int monitor_run(const struct monitor_options *options, struct monitor_outcome *outcome)
{
    linux_signal_take_inherited();
    install_kick_signal();
    char *error = NULL;
    struct guest *guest = guest_create(options, &error);
    if (!guest) {
        fprintf(stderr, "hermitux-run: %s\n", error ? error : "cannot set up the guest");
        g_free(error);
        return 1;
    }
    /* Here, not in guest_create, which the unit tests call in-process. */
    release_standard_input_output();

    struct run run = {.options = options,
                      .guest = guest,
                      .loop = g_main_loop_new(NULL, FALSE),
                      .halt_at_start = options->halt_at_start,
                      .vcpus = g_ptr_array_new(),
                      .fault_threads = g_array_new(FALSE, TRUE, sizeof(struct report_thread))};
    g_mutex_init(&run.lock);
    g_cond_init(&run.changed);
    run.main_vcpu = (struct vcpu){.run = &run,
                                  .accel = guest->accel,
                                  .thread = linux_main_thread(guest->process),
                                  .main = true,
                                  .released = true};
    g_ptr_array_add(run.vcpus, &run.main_vcpu);
    linux_thread_set_host_data(run.main_vcpu.thread, &run.main_vcpu);
    /* Its FS/GS bases through its own vCPU, like every thread's (guest.c's
     * accessors go through guest->accel, which a fork borrows). */
    linux_thread_set_cpu(run.main_vcpu.thread, &vcpu_cpu_template);
    linux_thread_set_cpu_opaque(run.main_vcpu.thread, &run.main_vcpu);
    const struct linux_thread_host thread_host = {
        .opaque = &run,
        .spawn = thread_spawn,
        .start = thread_start,
        .memory_changed = thread_memory_changed,
        .exclusive = thread_exclusive,
        .max_threads = options->max_threads,
    };
    linux_process_set_thread_host(guest->process, &thread_host);
    if (options->gdb || options->exec_gdb) {
        run.debugger = debugger_create(guest, options->gdb, options->halt_at_start, &error);
        if (!run.debugger) {
            fprintf(stderr, "hermitux-run: %s\n", error);
            g_free(error);
            g_main_loop_unref(run.loop);
            g_ptr_array_free(run.vcpus, TRUE);
            guest_destroy(guest);
            return 1;
        }
        guest->exec_handover = run_exec_handover;
        guest->exec_handover_opaque = &run;
        guest->debugger = run.debugger;
    }
    if (!options->no_sandbox &&
        monitor_sandbox_enter_mode(options->sandbox_strict, options->verbose, &error) != 0) {
        fprintf(stderr, "hermitux-run: %s\n", error);
        g_free(error);
        debugger_free(run.debugger);
        g_main_loop_unref(run.loop);
        guest_destroy(guest);
        return 1;
    }
    start_forwarding(&run);

    guint timeout_source = 0;
    if (options->timeout > 0)
        timeout_source = g_timeout_add((guint)(options->timeout * 1000), on_timeout, &run);

    struct vclock_keeper *vclock = guest_vclock_start(guest);
    /* A tgkill of the program's pid from outside lands on this thread. Not
     * once the vCPU thread runs: its execve may stop the forwarder. */
    if (run.forwarder)
        let_forwarded_signals_in(0);
    /* The monitor's main thread leads the host process: /proc/PID/comm
     * (ps, pgrep, pidof, killall) reads its name. */
    const char *name = linux_thread_name(run.main_vcpu.thread);
    prctl(PR_SET_NAME, name);
    GThread *thread = g_thread_new(name, main_vcpu_thread, &run.main_vcpu);
    g_main_loop_run(run.loop);
    g_thread_join(thread);
    wait_for_vcpu_threads(&run);
    guest_vclock_stop(vclock);
    if (timeout_source && !atomic_load(&run.timed_out))
        g_source_remove(timeout_source);
    stop_forwarding(&run);

    int signal = 0;
    int status = run_status(&run, &signal);
    uint64_t core_limit = guest->process ? linux_core_limit(guest->process) : 0;
    debugger_free(run.debugger);
    g_main_loop_unref(run.loop);
    g_ptr_array_free(run.vcpus, TRUE);
    for (guint i = 0; i < run.fault_threads->len; i++)
        g_free(g_array_index(run.fault_threads, struct report_thread, i).xsave);
    g_array_free(run.fault_threads, TRUE);
    g_mutex_clear(&run.lock);
    g_cond_clear(&run.changed);
    bool teardown_left = outcome && monitor_teardown_may_be_left(guest);
    if (teardown_left)
        guest_release_for_exit(guest);
    else
        guest_destroy(guest);
    if (outcome)
        *outcome = (struct monitor_outcome){status, signal, core_limit, teardown_left};
    return status;
}
