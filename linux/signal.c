/*
 * linux/signal.c — signals as Linux delivers them: dispositions, masks,
 * pending sets, the rt_sigframe built on the program's stack and taken down
 * by rt_sigreturn, the syscall restart rules, CPU exceptions turned into
 * SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP, and the sources: kill and friends,
 * alarm, interval timers, POSIX timers, broken pipes and the outside world.
 *
 * Delivery happens only where the vCPU is in the monitor's hands: at the end
 * of a syscall, at an exception taken in user mode, and after a kick. Signals
 * posted by other host threads (timers, the monitor's signal forwarding)
 * kick the vCPU so that one of those points comes soon.
 */
#include "linux/internal.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

/* sa_flags bits as the kernel has them. */
#define LINUX_SA_SIGINFO   0x00000004ULL
#define LINUX_SA_ONSTACK   0x08000000ULL
#define LINUX_SA_RESTART   0x10000000ULL
#define LINUX_SA_NODEFER   0x40000000ULL
#define LINUX_SA_RESETHAND 0x80000000ULL
#define LINUX_SA_RESTORER  0x04000000ULL

/* si_code values. */
#define LINUX_SI_USER     0
#define LINUX_SI_KERNEL   0x80
#define LINUX_SI_QUEUE    (-1)
#define LINUX_SI_TIMER    (-2)
#define LINUX_SI_TKILL    (-6)
#define LINUX_SEGV_MAPERR 1
#define LINUX_SEGV_ACCERR 2
#define LINUX_ILL_ILLOPN  2
#define LINUX_FPE_INTDIV  1
#define LINUX_FPE_INTOVF  2
#define LINUX_FPE_FLTDIV  3
#define LINUX_FPE_FLTOVF  4
#define LINUX_FPE_FLTUND  5
#define LINUX_FPE_FLTRES  6
#define LINUX_FPE_FLTINV  7
#define LINUX_BUS_ADRALN  1
#define LINUX_BUS_ADRERR  2
#define LINUX_TRAP_TRACE  2

#define UNBLOCKABLE (LINUX_SIGNAL_BIT(SIGKILL) | LINUX_SIGNAL_BIT(SIGSTOP))
/* Taken before any other pending signal, as Linux does: they describe the
 * instruction the program is at. */
#define SYNCHRONOUS                                                                                \
    (LINUX_SIGNAL_BIT(SIGSEGV) | LINUX_SIGNAL_BIT(SIGBUS) | LINUX_SIGNAL_BIT(SIGILL) |             \
     LINUX_SIGNAL_BIT(SIGTRAP) | LINUX_SIGNAL_BIT(SIGFPE) | LINUX_SIGNAL_BIT(SIGSYS))

/* The eflags a signal frame may change (Linux's FIX_EFLAGS). */
#define EFLAGS_CF 0x1ULL
#define EFLAGS_PF 0x4ULL
#define EFLAGS_AF 0x10ULL
#define EFLAGS_ZF 0x40ULL
#define EFLAGS_SF 0x80ULL
#define EFLAGS_TF 0x100ULL
#define EFLAGS_DF 0x400ULL
#define EFLAGS_OF 0x800ULL
#define EFLAGS_RF 0x10000ULL
#define EFLAGS_AC 0x40000ULL
#define FIX_EFLAGS                                                                                 \
    (EFLAGS_AC | EFLAGS_OF | EFLAGS_DF | EFLAGS_TF | EFLAGS_SF | EFLAGS_ZF | EFLAGS_AF |           \
     EFLAGS_PF | EFLAGS_CF | EFLAGS_RF)

/* What Linux's user selectors are (__USER_CS, __USER_DS). */
#define USER_CS 0x33
#define USER_SS 0x2b

/* ucontext flags. */
#define UC_FP_XSTATE         0x1
#define UC_SIGCONTEXT_SS     0x2
#define UC_STRICT_RESTORE_SS 0x4

/* The FP frame, as Linux writes it. With XSAVE: the XSAVE image in its
 * standard format (FXSAVE's 512 bytes, whose last 48 hold the
 * software-reserved description, the 64-byte header, then AVX and later
 * components at their CPUID offsets) and a trailing magic word. Without
 * (tcg): FXSAVE's 512 bytes alone, the description still in them. */
#define FP_XSTATE_MAGIC1    0x46505853U
#define FP_XSTATE_MAGIC2    0x46505845U
#define XSTATE_MAGIC2_BYTES 4
#define FPSTATE_SW_OFFSET   464
#define XSAVE_HEADER_OFFSET LINUX_FXSAVE_SIZE
#define XSAVE_MIN_SIZE      (LINUX_FXSAVE_SIZE + 64)
/* Larger than any area of the components a vCPU may have (x87 to
 * AVX-512: 2688 bytes; accel/kvm.c enables no AMX). */
#define XSAVE_MAX_SIZE    4096
#define XFEATURES_X87_SSE 3ULL

/* fpstate's software-reserved bytes (Linux's struct _fpx_sw_bytes). */
struct fpx_sw_bytes {
    uint32_t magic1, extended_size;
    uint64_t xfeatures;
    uint32_t xstate_size;
    uint32_t padding[7];
};
_Static_assert(sizeof(struct fpx_sw_bytes) == 48, "_fpx_sw_bytes is 48 bytes");

/* A thread's FP state as a frame holds it: the XSAVE image (size bytes,
 * components `features`), or FXSAVE's image alone when size is 512. */
struct fp_image {
    size_t size;
    uint64_t features;
    uint8_t area[XSAVE_MAX_SIZE + XSTATE_MAGIC2_BYTES];
};

/* stack_t as the x86-64 kernel lays it out. */
struct linux_stack {
    uint64_t sp;
    int32_t flags;
    int32_t padding;
    uint64_t size;
};

struct linux_sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved[8];
};

struct linux_ucontext {
    uint64_t flags;
    uint64_t link;
    struct linux_stack stack;
    struct linux_sigcontext mcontext;
    uint64_t sigmask;
};

struct linux_rt_sigframe {
    uint64_t pretcode;
    struct linux_ucontext uc;
    struct linux_siginfo info;
};

_Static_assert(sizeof(struct linux_siginfo) == 128, "siginfo_t is 128 bytes");
_Static_assert(sizeof(struct linux_sigcontext) == 256, "sigcontext is 256 bytes");
_Static_assert(sizeof(struct linux_rt_sigframe) == 440, "rt_sigframe is 440 bytes");

#define LINUX_MINSIGSTKSZ 2048
/* Below the interrupted rsp: the red zone the ABI lets leaf functions use. */
#define RED_ZONE 128
/* Real-time signals queued at most (RLIMIT_SIGPENDING's role). */
#define MAX_QUEUED 4096

/* Linux's `current`: the thread whose syscall this host thread performs. */
static __thread struct linux_thread *current_thread;

/* ---- pending sets ---------------------------------------------------------- */

static void queue_clear(struct linux_sigqueue *queue)
{
    for (int signal = 1; signal <= LINUX_NSIG; signal++) {
        g_queue_clear_full(&queue->infos[signal], g_free);
    }
    __atomic_store_n(&queue->mask, 0, __ATOMIC_RELEASE);
}

static bool queue_add(struct linux_sigqueue *queue, const struct linux_siginfo *info)
{
    int signal = info->signo;
    GQueue *infos = &queue->infos[signal];
    /* A standard signal is pending once; a real-time one queues. */
    if (signal < SIGRTMIN && (queue->mask & LINUX_SIGNAL_BIT(signal)))
        return false;
    if (infos->length >= MAX_QUEUED)
        return false;
    g_queue_push_tail(infos, g_memdup2(info, sizeof(*info)));
    /* Atomic: deliverable() reads the mask without the lock. */
    __atomic_fetch_or(&queue->mask, LINUX_SIGNAL_BIT(signal), __ATOMIC_RELEASE);
    return true;
}

static bool queue_take(struct linux_sigqueue *queue, int signal, struct linux_siginfo *info)
{
    if (!(queue->mask & LINUX_SIGNAL_BIT(signal)))
        return false;
    struct linux_siginfo *head = g_queue_pop_head(&queue->infos[signal]);
    if (head) {
        *info = *head;
        g_free(head);
    } else {
        *info = (struct linux_siginfo){.signo = signal, .code = LINUX_SI_KERNEL};
    }
    if (g_queue_is_empty(&queue->infos[signal]))
        __atomic_fetch_and(&queue->mask, ~LINUX_SIGNAL_BIT(signal), __ATOMIC_RELEASE);
    return true;
}

static void exec_collect(GArray *out, const struct linux_sigqueue *queue, bool to_thread)
{
    for (int signal = 1; signal <= LINUX_NSIG; signal++) {
        if (!(queue->mask & LINUX_SIGNAL_BIT(signal)))
            continue;
        struct linux_exec_signal entry = {.to_thread = to_thread};
        const GQueue *infos = &queue->infos[signal];
        if (!infos->head) {
            entry.info = (struct linux_siginfo){.signo = signal, .code = LINUX_SI_KERNEL};
            g_array_append_val(out, entry);
        }
        for (const GList *link = infos->head; link; link = link->next) {
            entry.info = *(const struct linux_siginfo *)link->data;
            if (entry.info.code != LINUX_SI_TIMER)
                g_array_append_val(out, entry);
        }
    }
}

GArray *linux_signal_exec_pending(struct linux_thread *thread)
{
    struct linux_process *process = thread->process;
    GArray *out = g_array_new(FALSE, TRUE, sizeof(struct linux_exec_signal));
    g_mutex_lock(&process->signal_lock);
    exec_collect(out, &thread->pending, true);
    exec_collect(out, &process->pending, false);
    g_mutex_unlock(&process->signal_lock);
    return out;
}

void linux_signal_exec_restore(struct linux_process *process, const struct linux_exec_signal *sig)
{
    if (sig->info.signo < 1 || sig->info.signo > LINUX_NSIG)
        return;
    g_mutex_lock(&process->signal_lock);
    queue_add(sig->to_thread ? &process->main_thread->pending : &process->pending, &sig->info);
    g_mutex_unlock(&process->signal_lock);
}

/* ---- dispositions ------------------------------------------------------------ */

enum default_action { ACTION_TERMINATE, ACTION_CORE, ACTION_IGNORE, ACTION_STOP };

static enum default_action default_action(int signal)
{
    switch (signal) {
    case SIGCHLD:
    case SIGCONT:
    case SIGURG:
    case SIGWINCH:
        return ACTION_IGNORE;
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
        return ACTION_STOP;
    case SIGQUIT:
    case SIGILL:
    case SIGTRAP:
    case SIGABRT:
    case SIGBUS:
    case SIGFPE:
    case SIGSEGV:
    case SIGXCPU:
    case SIGXFSZ:
    case SIGSYS:
        return ACTION_CORE;
    default:
        return ACTION_TERMINATE;
    }
}

bool linux_signal_dumps_core(int signal)
{
    return default_action(signal) == ACTION_CORE;
}

/* The dispositions thread follows: its own process's when it shares
 * memory without CLONE_SIGHAND, else the program's. Under signal_lock. */
static struct linux_kernel_sigaction *actions_of(struct linux_process *process,
                                                 const struct linux_thread *thread)
{
    if (thread && thread->vm_child && thread->vm_child->own_actions)
        return thread->vm_child->actions;
    return process->actions;
}

struct linux_kernel_sigaction linux_signal_action(struct linux_thread *thread, int signal)
{
    struct linux_process *process = thread->process;
    g_mutex_lock(&process->signal_lock);
    struct linux_kernel_sigaction action = actions_of(process, thread)[signal];
    g_mutex_unlock(&process->signal_lock);
    return action;
}

/* The signals sent to the process thread belongs to, as a whole: none for a
 * process sharing memory, whose one thread takes them on its own queue. */
static struct linux_sigqueue *process_queue(struct linux_process *process,
                                            const struct linux_thread *thread)
{
    return thread && thread->vm_child ? NULL : &process->pending;
}

static bool ignores(const struct linux_kernel_sigaction *action, int signal)
{
    return action->handler == LINUX_SIG_IGN ||
           (action->handler == LINUX_SIG_DFL && default_action(signal) == ACTION_IGNORE &&
            signal != SIGCONT);
}

/* Whether a signal would be dropped at once (sig_ignored in Linux): ignored
 * and not blocked, as a blocked signal's handler may change before it is
 * unblocked. Called with the signal lock held. */
static bool ignored_now(const struct linux_process *process, const struct linux_thread *thread,
                        int signal)
{
    if (thread && (thread->signal_mask & LINUX_SIGNAL_BIT(signal)))
        return false;
    return ignores(&actions_of((struct linux_process *)process, thread)[signal], signal);
}

static bool has_frames(const struct linux_thread *thread)
{
    return thread->has_cpu && thread->cpu.get_regs && thread->cpu.set_regs;
}

/* ---- a debugger -------------------------------------------------------------------- */

void linux_process_set_debug_hooks(struct linux_process *process,
                                   const struct linux_debug_hooks *hooks)
{
    if (hooks)
        process->debug_hooks = *hooks;
    else
        memset(&process->debug_hooks, 0, sizeof(process->debug_hooks));
}

static bool debugger_attached(struct linux_process *process)
{
    const struct linux_debug_hooks *hooks = &process->debug_hooks;
    return hooks->attached && hooks->attached(hooks->opaque);
}

/*
 * A debugger sees each signal before it is acted on (ptrace's
 * signal-delivery-stop): it may discard it or give another. regs are what
 * it sees, and are read back after. False: discarded.
 */
static bool debugger_sees(struct linux_thread *thread, struct linux_regs *regs,
                          struct linux_siginfo *info, bool *changed)
{
    struct linux_process *process = thread->process;
    const struct linux_debug_hooks *hooks = &process->debug_hooks;
    if (!hooks->signal || info->signo == SIGKILL)
        return true;
    /* The vCPU is written only when the registers differ from it: a kick
     * can land with the vCPU inside the guest kernel's exception stub (an
     * int3 being reported), where writing them back made the breakpoint
     * run on (gdb/glibc/fork, a SIGCHLD passed by gdb, 1 run in 30). */
    struct linux_regs before;
    if (thread->cpu.get_regs(thread->cpu.opaque, &before) < 0 ||
        memcmp(&before, regs, sizeof before) != 0)
        thread->cpu.set_regs(thread->cpu.opaque, regs);
    before = *regs;
    uint8_t bytes[sizeof(*info)];
    memcpy(bytes, info, sizeof(bytes));
    bool deliver = hooks->signal(hooks->opaque, thread, bytes);
    thread->cpu.get_regs(thread->cpu.opaque, regs);
    if (memcmp(&before, regs, sizeof before) != 0)
        *changed = true; /* the debugger set registers */
    memcpy(info, bytes, sizeof(bytes));
    if (!deliver || info->signo < 1 || info->signo > LINUX_NSIG)
        return false;
    /* Another signal that is blocked waits, as Linux requeues it. */
    if (thread->signal_mask & LINUX_SIGNAL_BIT(info->signo)) {
        linux_signal_send(process, thread, info);
        return false;
    }
    return true;
}

void linux_signal_inject(struct linux_thread *thread, const uint8_t info[128])
{
    struct linux_siginfo given;
    memcpy(&given, info, sizeof(given));
    linux_signal_send(thread->process, thread, &given);
}

bool linux_signal_preempted_call(struct linux_thread *thread, uint64_t number, uint64_t *rax)
{
    if (number != SYS_pause && number != SYS_rt_sigsuspend)
        return false;
    *rax = (uint64_t)-LINUX_ERESTARTNOHAND;
    linux_signal_stopped_call(thread, number);
    return true;
}

void linux_signal_stopped_call(struct linux_thread *thread, uint64_t number)
{
    thread->stopped_call = number + 1;
}

/* ---- sending ------------------------------------------------------------------- */

static void kick(struct linux_thread *thread)
{
    if (thread->has_cpu && thread->cpu.kick && thread->cpu.opaque)
        thread->cpu.kick(thread->cpu.opaque);
}

/* Whether thread would take signal now: it does not block it, or waits for
 * it in rt_sigtimedwait (Linux's wants_signal). */
static bool wants_signal(const struct linux_thread *thread, int signal)
{
    uint64_t bit = LINUX_SIGNAL_BIT(signal);
    return !(__atomic_load_n(&thread->signal_mask, __ATOMIC_ACQUIRE) & bit) ||
           (__atomic_load_n(&thread->waiting_mask, __ATOMIC_ACQUIRE) & bit);
}

/* A process-directed signal is queued: the main thread is woken if it wants
 * it, else the first thread that does (Linux's complete_signal); none when
 * every thread blocks it. Kicked under threads_lock, so the pick stays. */
static void wake_for_process(struct linux_process *process, int signal)
{
    g_mutex_lock(&process->threads_lock);
    struct linux_thread *pick = NULL;
    for (guint i = 0; process->threads && i < process->threads->len && !pick; i++) {
        struct linux_thread *candidate = g_ptr_array_index(process->threads, i);
        /* An exited main thread stays listed (the group's leader) but takes
         * nothing, as Linux skips exiting threads. */
        if (!__atomic_load_n(&candidate->exited, __ATOMIC_ACQUIRE) && !candidate->vm_child &&
            wants_signal(candidate, signal))
            pick = candidate;
    }
    /* The thread performing this very syscall delivers at its end. */
    if (pick && pick != current_thread)
        kick(pick);
    g_mutex_unlock(&process->threads_lock);
}

void linux_signal_send(struct linux_process *process, struct linux_thread *thread,
                       const struct linux_siginfo *info)
{
    int signal = info->signo;
    if (signal < 1 || signal > LINUX_NSIG)
        return;
    /* Whether it is ignored is decided on the main thread's mask, as Linux
     * decides on the group leader's. */
    struct linux_thread *receiver = thread ? thread : process->main_thread;
    g_mutex_lock(&process->signal_lock);
    bool queued = false;
    /* Traced, an ignored signal is still queued and dropped at delivery,
     * where the trace shows it (a ptraced task's, as Linux's sig_ignored). */
    if (process->strace_file || debugger_attached(process) ||
        !ignored_now(process, receiver, signal))
        queued = queue_add(thread ? &thread->pending : &process->pending, info);
    if (queued && process->signalfds)
        linux_signalfd_refresh(process);
    g_mutex_unlock(&process->signal_lock);
    if (!queued)
        return;
    if (!thread) {
        wake_for_process(process, signal);
        return;
    }
    /* Kicked only while listed, under the lock its vCPU's end takes
     * (linux_thread_unlist). */
    g_mutex_lock(&process->threads_lock);
    bool listed = process->threads && g_ptr_array_find(process->threads, thread, NULL);
    if (listed && wants_signal(thread, signal) && thread != current_thread)
        kick(thread);
    g_mutex_unlock(&process->threads_lock);
}

static void send_simple(struct linux_thread *thread, int signal, int code, bool to_thread)
{
    struct linux_siginfo info = {.signo = signal, .code = code};
    if (code == LINUX_SI_USER || code == LINUX_SI_TKILL) {
        /* The sender is the thread making the call (a process sharing
         * memory has a pid of its own), or the program. */
        struct linux_thread *sender = current_thread ? current_thread : thread;
        info.fields.kill.pid = linux_thread_tgid(sender);
        info.fields.kill.uid = (uint32_t)getuid();
    }
    linux_signal_send(thread->process, to_thread ? thread : NULL, &info);
}

void linux_signal_post_external(struct linux_process *process, int tid, int signal, int code,
                                int sender_pid, unsigned sender_uid, uint64_t value)
{
    struct linux_thread *thread = NULL;
    if (tid) {
        thread = linux_thread_find(process, tid);
        if (!thread) /* gone: its pending signals went with it, as on Linux */
            return;
    }
    struct linux_siginfo info = {.signo = signal, .code = code};
    info.fields.kill.pid = sender_pid;
    info.fields.kill.uid = sender_uid;
    info.fields.kill.value = value;
    linux_signal_send(process, thread, &info);
}

void linux_signal_post_child(struct linux_process *process, int code, int child_pid,
                             unsigned child_uid, int status, int64_t utime, int64_t stime)
{
    if (code == CLD_STOPPED || code == CLD_CONTINUED) {
        g_mutex_lock(&process->signal_lock);
        bool quiet = process->actions[SIGCHLD].flags & SA_NOCLDSTOP;
        g_mutex_unlock(&process->signal_lock);
        if (quiet)
            return;
    }
    struct linux_siginfo info = {.signo = SIGCHLD, .code = code};
    info.fields.child.pid = child_pid;
    info.fields.child.uid = child_uid;
    info.fields.child.status = status;
    info.fields.child.utime = utime;
    info.fields.child.stime = stime;
    linux_signal_send(process, NULL, &info);
}

long linux_signal_broken_pipe(struct linux_thread *thread)
{
    /* The host's SIGPIPE, if any, was meant for the monitor's thread. */
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    if (thread)
        send_simple(thread, SIGPIPE, LINUX_SI_USER, true);
    return -EPIPE;
}

struct linux_thread *linux_signal_current_thread(void)
{
    return current_thread;
}

/* ---- choosing what to deliver --------------------------------------------------- */

/* The next signal to deliver to thread, taken off its queue; 0 if none.
 * The thread's own signals before the process's; synchronous ones first, then the lowest number. */
static int dequeue(struct linux_thread *thread, uint64_t allowed, struct linux_siginfo *info)
{
    struct linux_process *process = thread->process;
    /* The thread's own queue first, then the process's, as Linux's
     * dequeue_signal. */
    struct linux_sigqueue *queue = &thread->pending;
    uint64_t ready = queue->mask & allowed;
    if (!ready && process_queue(process, thread)) {
        queue = process_queue(process, thread);
        ready = queue->mask & allowed;
    }
    if (!ready)
        return 0;
    uint64_t first = ready & SYNCHRONOUS ? ready & SYNCHRONOUS : ready;
    int signal = __builtin_ctzll(first) + 1;
    queue_take(queue, signal, info);
    if (process->signalfds)
        linux_signalfd_refresh(process);
    if (info->code == LINUX_SI_TIMER) {
        int id = info->fields.timer.id;
        if (id >= 0 && id < LINUX_MAX_TIMERS + 3) {
            struct linux_timer *timer = &process->timers[id];
            info->fields.timer.overrun = timer->overrun;
            timer->last_overrun = timer->overrun;
            timer->overrun = 0;
            timer->queued = false;
        }
    }
    return signal;
}

int linux_signal_dequeue(struct linux_thread *thread, uint64_t allowed, struct linux_siginfo *info)
{
    g_mutex_lock(&thread->process->signal_lock);
    int signal = dequeue(thread, allowed, info);
    g_mutex_unlock(&thread->process->signal_lock);
    return signal;
}

/* Read without the lock by the vCPU's own thread at every delivery point:
 * a signal posted meanwhile comes with a kick. */
static uint64_t deliverable(const struct linux_thread *thread)
{
    uint64_t pending = __atomic_load_n(&thread->pending.mask, __ATOMIC_ACQUIRE);
    if (!thread->vm_child)
        pending |= __atomic_load_n(&thread->process->pending.mask, __ATOMIC_ACQUIRE);
    return pending & ~thread->signal_mask;
}

/* ---- frames ---------------------------------------------------------------------- */

static void regs_to_sigcontext(const struct linux_regs *regs, struct linux_sigcontext *context)
{
    context->r8 = regs->r8, context->r9 = regs->r9, context->r10 = regs->r10;
    context->r11 = regs->r11, context->r12 = regs->r12, context->r13 = regs->r13;
    context->r14 = regs->r14, context->r15 = regs->r15;
    context->rdi = regs->rdi, context->rsi = regs->rsi, context->rbp = regs->rbp;
    context->rbx = regs->rbx, context->rdx = regs->rdx, context->rax = regs->rax;
    context->rcx = regs->rcx, context->rsp = regs->rsp, context->rip = regs->rip;
    context->eflags = regs->rflags;
    context->cs = USER_CS;
    context->ss = USER_SS;
}

static void sigcontext_to_regs(const struct linux_sigcontext *context, struct linux_regs *regs)
{
    regs->r8 = context->r8, regs->r9 = context->r9, regs->r10 = context->r10;
    regs->r11 = context->r11, regs->r12 = context->r12, regs->r13 = context->r13;
    regs->r14 = context->r14, regs->r15 = context->r15;
    regs->rdi = context->rdi, regs->rsi = context->rsi, regs->rbp = context->rbp;
    regs->rbx = context->rbx, regs->rdx = context->rdx, regs->rax = context->rax;
    regs->rcx = context->rcx, regs->rsp = context->rsp, regs->rip = context->rip;
    regs->rflags = (regs->rflags & ~FIX_EFLAGS) | (context->eflags & FIX_EFLAGS);
}

/* What Linux gives a handler, and a new program: x87 control word 0x37f, all
 * SSE exceptions masked, every register zero. */
static void initial_fpu(uint8_t fxsave[LINUX_FXSAVE_SIZE])
{
    memset(fxsave, 0, LINUX_FXSAVE_SIZE);
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    memcpy(fxsave, &fcw, sizeof(fcw));
    memcpy(fxsave + 24, &mxcsr, sizeof(mxcsr));
}

static bool on_altstack(const struct linux_thread *thread, uint64_t sp)
{
    return thread->altstack_size && sp > thread->altstack_sp &&
           sp - thread->altstack_sp <= thread->altstack_size;
}

/* The size and components of the thread's XSAVE state, or 0 when the vCPU
 * has none (or more than a frame here holds). */
static size_t xstate_size(struct linux_thread *thread, uint64_t *features)
{
    *features = 0;
    if (!thread->cpu.xstate_size || !thread->cpu.get_xstate || !thread->cpu.set_xstate)
        return 0;
    size_t size = thread->cpu.xstate_size(thread->cpu.opaque, features);
    return size >= XSAVE_MIN_SIZE && size <= XSAVE_MAX_SIZE ? size : 0;
}

/* The thread's FP state now (initial_fpu's when the vCPU cannot say). */
static void read_fp_image(struct linux_thread *thread, struct fp_image *image)
{
    memset(image, 0, sizeof(*image));
    image->size = xstate_size(thread, &image->features);
    if (image->size && thread->cpu.get_xstate(thread->cpu.opaque, image->area, image->size) == 0)
        return;
    image->size = LINUX_FXSAVE_SIZE;
    image->features = XFEATURES_X87_SSE;
    if (!thread->cpu.get_fpu || thread->cpu.get_fpu(thread->cpu.opaque, image->area) < 0)
        initial_fpu(image->area);
}

/* Puts image into the thread's vCPU. An XSAVE one replaces every
 * component (those its XSTATE_BV leaves out start again from their initial
 * state); an FXSAVE one sets x87/SSE and, on a vCPU with XSAVE, resets the
 * rest, as XRSTOR with only those two requested. 0 or a negative errno. */
static int write_fp_image(struct linux_thread *thread, struct fp_image *image)
{
    uint64_t features;
    size_t size = xstate_size(thread, &features);
    if (image->size == LINUX_FXSAVE_SIZE && size) {
        memset(image->area + LINUX_FXSAVE_SIZE, 0, size - LINUX_FXSAVE_SIZE);
        uint64_t xstate_bv = XFEATURES_X87_SSE;
        memcpy(image->area + XSAVE_HEADER_OFFSET, &xstate_bv, sizeof(xstate_bv));
        image->size = size;
    }
    if (image->size == LINUX_FXSAVE_SIZE)
        return thread->cpu.set_fpu ? thread->cpu.set_fpu(thread->cpu.opaque, image->area) : 0;
    if (image->size != size)
        return -EINVAL;
    return thread->cpu.set_xstate(thread->cpu.opaque, image->area, image->size);
}

/* The handler starts with every FP component in its initial state (Linux's
 * fpu__clear_user_states). */
static void reset_fp_state(struct linux_thread *thread)
{
    struct fp_image image = {.size = LINUX_FXSAVE_SIZE};
    initial_fpu(image.area);
    write_fp_image(thread, &image);
}

/* The bytes of the frame's FP state: the image, and the sizes. */
static size_t fpstate_frame_size(const struct fp_image *image)
{
    return image->size == LINUX_FXSAVE_SIZE ? LINUX_FXSAVE_SIZE : image->size + XSTATE_MAGIC2_BYTES;
}

/* Writes the FP frame at address (64-byte aligned), as Linux's
 * copy_fpstate_to_sigframe: the image, the software-reserved description
 * (also without XSAVE), and with XSAVE the x87/SSE bits always set in
 * XSTATE_BV (so a handler's edits of them are restored) and the trailing
 * magic. */
static int write_fpstate(struct linux_process *process, uint64_t address, struct fp_image *image)
{
    struct fpx_sw_bytes sw = {
        .magic1 = FP_XSTATE_MAGIC1,
        .extended_size = (uint32_t)(image->size + XSTATE_MAGIC2_BYTES),
        .xfeatures = image->features,
        .xstate_size = (uint32_t)image->size,
    };
    memcpy(image->area + FPSTATE_SW_OFFSET, &sw, sizeof(sw));
    if (image->size != LINUX_FXSAVE_SIZE) {
        uint64_t xstate_bv;
        memcpy(&xstate_bv, image->area + XSAVE_HEADER_OFFSET, sizeof(xstate_bv));
        xstate_bv |= XFEATURES_X87_SSE;
        memcpy(image->area + XSAVE_HEADER_OFFSET, &xstate_bv, sizeof(xstate_bv));
        uint32_t magic2 = FP_XSTATE_MAGIC2;
        memcpy(image->area + image->size, &magic2, sizeof(magic2));
    }
    return linux_copy_out(process, address, image->area, fpstate_frame_size(image));
}

/* Whether the frame's software-reserved bytes describe an XSAVE image this
 * thread can restore, as Linux's check_xstate_in_sigframe; otherwise only
 * the FXSAVE part is used. */
static bool fpstate_has_xstate(struct linux_process *process, uint64_t fpstate,
                               const struct fpx_sw_bytes *sw, size_t size)
{
    if (sw->magic1 != FP_XSTATE_MAGIC1 || sw->xstate_size < XSAVE_MIN_SIZE ||
        sw->xstate_size > size || sw->xstate_size > sw->extended_size)
        return false;
    uint32_t magic2;
    return linux_copy_in(process, fpstate + sw->xstate_size, &magic2, sizeof(magic2)) == 0 &&
           magic2 == FP_XSTATE_MAGIC2;
}

/* Whether XRSTOR would take the header (else it raises #GP, and Linux's
 * sigreturn kills with SIGSEGV): standard format, reserved bytes zero,
 * nothing outside the enabled components. */
static bool xsave_header_valid(const uint8_t *area, uint64_t features)
{
    uint64_t xstate_bv, xcomp_bv;
    memcpy(&xstate_bv, area + XSAVE_HEADER_OFFSET, 8);
    memcpy(&xcomp_bv, area + XSAVE_HEADER_OFFSET + 8, 8);
    if (xcomp_bv || (xstate_bv & ~features))
        return false;
    for (size_t i = XSAVE_HEADER_OFFSET + 16; i < XSAVE_MIN_SIZE; i++) {
        if (area[i])
            return false;
    }
    return true;
}

/* Reads the FP frame at fpstate (0: none, the initial state) back into
 * *image as Linux's sigreturn does. False on a bad frame (SIGSEGV). */
static bool read_fpstate(struct linux_thread *thread, uint64_t fpstate, struct fp_image *image)
{
    struct linux_process *process = thread->process;
    memset(image, 0, sizeof(*image));
    image->size = LINUX_FXSAVE_SIZE;
    if (!fpstate) {
        initial_fpu(image->area);
        return true;
    }
    if (linux_copy_in(process, fpstate, image->area, LINUX_FXSAVE_SIZE))
        return false;
    uint64_t features;
    size_t size = xstate_size(thread, &features);
    struct fpx_sw_bytes sw;
    memcpy(&sw, image->area + FPSTATE_SW_OFFSET, sizeof(sw));
    if (size && fpstate_has_xstate(process, fpstate, &sw, size)) {
        if (linux_copy_in(process, fpstate + LINUX_FXSAVE_SIZE, image->area + LINUX_FXSAVE_SIZE,
                          size - LINUX_FXSAVE_SIZE) ||
            !xsave_header_valid(image->area, features))
            return false;
        /* Only what the frame says it holds is restored; the rest starts
         * again from its initial state (XRSTOR's requested-feature mask). */
        uint64_t xstate_bv;
        memcpy(&xstate_bv, image->area + XSAVE_HEADER_OFFSET, 8);
        xstate_bv &= sw.xfeatures;
        memcpy(image->area + XSAVE_HEADER_OFFSET, &xstate_bv, 8);
        image->size = size;
        image->features = features;
        return true;
    }
    /* Reserved MXCSR bits would make the restore fault (#GP) on a CPU. */
    uint32_t mxcsr;
    memcpy(&mxcsr, image->area + 24, 4);
    mxcsr &= 0xffff;
    memcpy(image->area + 24, &mxcsr, 4);
    return true;
}

/* Where a fault left the program, for the frame's err/trapno/cr2. */
struct fault_detail {
    uint64_t error_code, trapno, cr2;
};

/*
 * Builds the rt_sigframe for one signal below the program's stack (or on its
 * alternate stack) and points the registers at the handler, as Linux's
 * setup_rt_frame does. old_mask is what sigreturn puts back. False if the
 * frame could not be written: the caller forces SIGSEGV.
 */
static bool setup_frame(struct linux_thread *thread, const struct linux_kernel_sigaction *action,
                        const struct linux_siginfo *info, uint64_t old_mask,
                        const struct fault_detail *fault, struct linux_regs *regs)
{
    struct linux_process *process = thread->process;
    struct fp_image image;
    struct fp_image *fp = &image;
    read_fp_image(thread, fp);

    uint64_t sp = regs->rsp;
    bool was_on_altstack = on_altstack(thread, sp);
    bool entering_altstack =
        (action->flags & LINUX_SA_ONSTACK) && thread->altstack_size && !was_on_altstack;
    if (entering_altstack)
        sp = thread->altstack_sp + thread->altstack_size;
    else
        sp -= RED_ZONE;
    uint64_t fpstate = (sp - fpstate_frame_size(fp)) & ~63ULL;
    uint64_t frame_address = ((fpstate - sizeof(struct linux_rt_sigframe)) & ~15ULL) - 8;
    /* A frame (its XSAVE part is 2.4 KiB with AVX-512) that would not fit
     * on the alternate stack is not written below it: Linux's get_sigframe
     * fails and the program dies of SIGSEGV. */
    if ((entering_altstack || was_on_altstack) && !on_altstack(thread, frame_address))
        return false;

    struct linux_rt_sigframe frame = {0};
    frame.pretcode = action->restorer;
    frame.info = *info;
    frame.uc.flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    if (fp->size != LINUX_FXSAVE_SIZE)
        frame.uc.flags |= UC_FP_XSTATE; /* as Linux on a CPU with XSAVE */
    frame.uc.stack.sp = thread->altstack_sp;
    frame.uc.stack.size = thread->altstack_size;
    frame.uc.stack.flags = !thread->altstack_size ? SS_DISABLE
                           : was_on_altstack      ? SS_ONSTACK
                                                  : thread->altstack_flags;
    regs_to_sigcontext(regs, &frame.uc.mcontext);
    frame.uc.mcontext.oldmask = old_mask;
    frame.uc.mcontext.fpstate = fpstate;
    if (fault) {
        frame.uc.mcontext.err = fault->error_code;
        frame.uc.mcontext.trapno = fault->trapno;
        frame.uc.mcontext.cr2 = fault->cr2;
    }
    frame.uc.sigmask = old_mask;
    /* x86-64 has no kernel-provided return path: without SA_RESTORER the
     * handler could not return, and Linux refuses to build the frame. */
    if (!(action->flags & LINUX_SA_RESTORER) || write_fpstate(process, fpstate, fp) < 0 ||
        linux_copy_out(process, frame_address, &frame, sizeof(frame)) < 0)
        return false;
    if ((thread->altstack_flags & SS_AUTODISARM) && thread->altstack_size) {
        thread->altstack_sp = thread->altstack_size = 0;
        thread->altstack_flags = SS_DISABLE;
    }

    regs->rdi = (uint64_t)info->signo;
    regs->rsi = frame_address + offsetof(struct linux_rt_sigframe, info);
    regs->rdx = frame_address + offsetof(struct linux_rt_sigframe, uc);
    regs->rax = 0;
    regs->rsp = frame_address;
    regs->rip = action->handler;
    regs->rflags &= ~(EFLAGS_DF | EFLAGS_RF | EFLAGS_TF);
    reset_fp_state(thread);
    return true;
}

/* ---- delivery ---------------------------------------------------------------------- */

/* A syscall's result, while delivery decides whether it restarts. */
struct interrupted_call {
    bool active;
    uint64_t number;
};

/* Turns a restart code into what the program sees, as Linux's
 * handle_signal (a handler runs) or the no-handler path do. */
static void finish_restart(struct linux_thread *thread, struct interrupted_call *call,
                           struct linux_regs *regs, const struct linux_kernel_sigaction *action)
{
    if (!call->active)
        return;
    call->active = false;
    long value = (long)regs->rax;
    bool restart;
    switch (-value) {
    case LINUX_ERESTARTNOINTR:
        restart = true;
        break;
    case LINUX_ERESTARTSYS:
        restart = !action || (action->flags & LINUX_SA_RESTART);
        break;
    case LINUX_ERESTARTNOHAND:
    case LINUX_ERESTART_RESTARTBLOCK:
        restart = !action;
        break;
    default:
        return;
    }
    if (!restart) {
        regs->rax = (uint64_t)-EINTR;
        thread->restart.number = 0;
        return;
    }
    regs->rax = value == -LINUX_ERESTART_RESTARTBLOCK ? SYS_restart_syscall : call->number;
    regs->rip -= 2; /* back onto the syscall instruction */
}

/*
 * A stop's default action, done to the monitor by the host with the same
 * signal: the parent's wait sees that signal in WSTOPSIG (a shell says
 * "Stopped", not "Stopped (signal)"), and the host discards SIGTSTP,
 * SIGTTIN and SIGTTOU in an orphaned process group as Linux does. The
 * forwarded signals have the monitor's handler: the signal's default action
 * is in effect on the host for the moment, and it is sent to this host
 * thread, unblocked here, so it is this thread that takes it, on its way
 * out of tgkill, which returns once SIGCONT resumes the process.
 */
static void stop_monitor(int signal)
{
    bool catchable = signal != SIGSTOP;
    struct sigaction default_action = {.sa_handler = SIG_DFL}, saved_action;
    sigemptyset(&default_action.sa_mask);
    if (catchable)
        sigaction(signal, &default_action, &saved_action);
    sigset_t set, saved_mask;
    sigemptyset(&set);
    sigaddset(&set, signal);
    pthread_sigmask(SIG_UNBLOCK, &set, &saved_mask);
    syscall(SYS_tgkill, getpid(), gettid(), signal);
    pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
    if (catchable)
        sigaction(signal, &saved_action, NULL);
}

/* A fatal default action: the program ends with the signal. Stops are job
 * control, done to the monitor itself. */
static bool act_by_default(struct linux_thread *thread, int signal)
{
    switch (default_action(signal)) {
    case ACTION_IGNORE:
        return false;
    case ACTION_STOP:
        /* Job control is the host's, done to the whole monitor: a process
         * sharing the program's memory would stop the program with it. */
        if (linux_vm_child_refuses(thread, "a stop signal's default action"))
            return false;
        stop_monitor(signal);
        return false;
    default:
        /* A process sharing memory ends alone. */
        if (thread->vm_child)
            linux_vm_child_exit(thread, 0, signal);
        else
            linux_process_exit(thread->process, 0, signal);
        return true;
    }
}

/* The mask a handler runs with, and the disposition after it starts. */
static void enter_handler(struct linux_thread *thread, struct linux_kernel_sigaction *action,
                          int signal)
{
    uint64_t mask = thread->signal_mask | action->mask;
    if (!(action->flags & LINUX_SA_NODEFER))
        mask |= LINUX_SIGNAL_BIT(signal);
    __atomic_store_n(&thread->signal_mask, mask & ~UNBLOCKABLE, __ATOMIC_RELEASE);
    if (action->flags & LINUX_SA_RESETHAND)
        action->handler = LINUX_SIG_DFL;
}

/*
 * Delivers every pending, unblocked signal: each handler gets a frame on top
 * of the previous one, so the last one chosen runs first, as on Linux.
 * regs are the program's registers (rax the syscall's result when call is
 * active) and are updated. Returns LINUX_EXIT when a default action ended the
 * program.
 */
static enum linux_outcome deliver_pending(struct linux_thread *thread,
                                          struct interrupted_call *call, struct linux_regs *regs,
                                          const struct fault_detail *fault, bool *changed)
{
    struct linux_process *process = thread->process;
    for (;;) {
        g_mutex_lock(&process->signal_lock);
        struct linux_siginfo info;
        int signal = dequeue(thread, ~thread->signal_mask, &info);
        struct linux_kernel_sigaction action =
            signal ? actions_of(process, thread)[signal] : (struct linux_kernel_sigaction){0};
        g_mutex_unlock(&process->signal_lock);
        if (!signal)
            break;
        linux_strace_signal(thread, &info);
        if (process->debug_hooks.signal) {
            bool seen = debugger_sees(thread, regs, &info, changed);
            if (call->active && process->debug_hooks.left_syscall &&
                process->debug_hooks.left_syscall(process->debug_hooks.opaque, thread))
                call->active = false;
            if (!seen)
                continue;
            signal = info.signo;
            g_mutex_lock(&process->signal_lock);
            action = actions_of(process, thread)[signal];
            g_mutex_unlock(&process->signal_lock);
        }
        if (action.handler == LINUX_SIG_IGN)
            continue;
        if (action.handler == LINUX_SIG_DFL) {
            if (act_by_default(thread, signal))
                return thread->vm_child ? LINUX_THREAD_EXIT : LINUX_EXIT;
            continue;
        }
        thread->last_info = info;
        finish_restart(thread, call, regs, &action);
        uint64_t old_mask = thread->restore_saved_mask ? thread->saved_mask : thread->signal_mask;
        thread->restore_saved_mask = false;
        if (!setup_frame(thread, &action, &info, old_mask, fault, regs)) {
            /* force_sigsegv: a SIGSEGV that cannot be handled either. */
            act_by_default(thread, SIGSEGV);
            return thread->vm_child ? LINUX_THREAD_EXIT : LINUX_EXIT;
        }
        *changed = true;
        g_mutex_lock(&process->signal_lock);
        enter_handler(thread, &actions_of(process, thread)[signal], signal);
        g_mutex_unlock(&process->signal_lock);
        if (process->debug_hooks.handler_entered)
            process->debug_hooks.handler_entered(process->debug_hooks.opaque, thread);
        fault = NULL;
    }
    /* No handler ran: an interrupted call restarts as if nothing happened. */
    if (call->active) {
        uint64_t before = regs->rax;
        finish_restart(thread, call, regs, NULL);
        *changed |= regs->rax != before;
    }
    if (thread->restore_saved_mask) {
        __atomic_store_n(&thread->signal_mask, thread->saved_mask, __ATOMIC_RELEASE);
        thread->restore_saved_mask = false;
    }
    return LINUX_CONTINUE;
}

static bool is_restart_code(long value)
{
    return value == -LINUX_ERESTARTSYS || value == -LINUX_ERESTARTNOINTR ||
           value == -LINUX_ERESTARTNOHAND || value == -LINUX_ERESTART_RESTARTBLOCK;
}

/* Each call's enum linux_interrupted, by number. */
static uint8_t interrupted_rules[LINUX_SYSCALL_TABLE_SIZE];

void linux_signal_set_interrupted(uint64_t number, enum linux_interrupted how)
{
    if (number < LINUX_SYSCALL_TABLE_SIZE)
        interrupted_rules[number] = (uint8_t)how;
}

/* Without a vCPU to build frames on (unit tests): the fatal default actions
 * only, and an interrupted call fails with EINTR. */
static enum linux_outcome default_actions_only(struct linux_thread *thread, bool restart,
                                               long *value)
{
    struct linux_process *process = thread->process;
    g_mutex_lock(&process->signal_lock);
    uint64_t fatal = 0;
    uint64_t ready = deliverable(thread);
    for (int signal = 1; signal <= LINUX_NSIG; signal++) {
        enum default_action action = default_action(signal);
        if ((ready & LINUX_SIGNAL_BIT(signal)) &&
            actions_of(process, thread)[signal].handler == LINUX_SIG_DFL &&
            action != ACTION_IGNORE && action != ACTION_STOP)
            fatal |= LINUX_SIGNAL_BIT(signal);
    }
    g_mutex_unlock(&process->signal_lock);
    if (thread->restore_saved_mask) {
        __atomic_store_n(&thread->signal_mask, thread->saved_mask, __ATOMIC_RELEASE);
        thread->restore_saved_mask = false;
    }
    if (fatal) {
        linux_process_exit(process, 0, __builtin_ctzll(fatal) + 1);
        return LINUX_EXIT;
    }
    if (restart)
        *value = -EINTR;
    return LINUX_CONTINUE;
}

/*
 * The terminal's job control is the host kernel's: it stops a background
 * process's tcsetpgrp, tcsetattr, and reads and writes (TOSTOP) of its
 * terminal with SIGTTOU or SIGTTIN, unless the calling thread blocks or
 * ignores that signal (then the call goes on, or a read fails with EIO).
 * The host thread making the call shows the guest thread's choice: it
 * blocks those signals while the guest thread blocks or ignores them. Before,
 * the kernel sent SIGTTOU and restarted the call for ever (an interactive
 * bash that sh started under script spun in tcsetpgrp). A sigprocmask only
 * when the choice changes.
 */
static void mirror_job_control(struct linux_thread *thread)
{
    static const int signals[] = {SIGTTIN, SIGTTOU};
    struct linux_process *process = thread->process;
    uint64_t wanted = 0;
    g_mutex_lock(&process->signal_lock);
    for (size_t i = 0; i < G_N_ELEMENTS(signals); i++) {
        uint64_t bit = LINUX_SIGNAL_BIT(signals[i]);
        if ((thread->signal_mask & bit) ||
            actions_of(process, thread)[signals[i]].handler == LINUX_SIG_IGN)
            wanted |= bit;
    }
    g_mutex_unlock(&process->signal_lock);
    if (thread->host_job_synced && wanted == thread->host_job_blocked)
        return;
    sigset_t block, unblock;
    sigemptyset(&block);
    sigemptyset(&unblock);
    for (size_t i = 0; i < G_N_ELEMENTS(signals); i++)
        sigaddset(wanted & LINUX_SIGNAL_BIT(signals[i]) ? &block : &unblock, signals[i]);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    thread->host_job_blocked = wanted;
    thread->host_job_synced = true;
}

void linux_signal_syscall_begin(struct linux_thread *thread)
{
    current_thread = thread;
    mirror_job_control(thread);
}

long linux_signal_interrupted_value(uint64_t number, long value)
{
    if (value != -EINTR || number >= LINUX_SYSCALL_TABLE_SIZE)
        return value;
    switch ((enum linux_interrupted)interrupted_rules[number]) {
    case LINUX_INTERRUPTED_RESTARTNOHAND:
        return -LINUX_ERESTARTNOHAND;
    case LINUX_INTERRUPTED_FINAL:
        return value;
    default:
        return -LINUX_ERESTARTSYS;
    }
}

enum linux_outcome linux_signal_syscall_end(struct linux_thread *thread, uint64_t number,
                                            long *value)
{
    current_thread = NULL;
    *value = linux_signal_interrupted_value(number, *value);
    /* rt_sigreturn's result is the interrupted code's rax, never a restart
     * (Linux sets orig_ax to -1 there): a frame may hold a restart code. */
    bool restart = is_restart_code(*value) && number != SYS_rt_sigreturn;
    /* rt_sigreturn has replaced the registers: the monitor must not write
     * its copy back. */
    if (!restart && !deliverable(thread) && !thread->restore_saved_mask &&
        number != SYS_rt_sigreturn)
        return LINUX_CONTINUE;
    if (!has_frames(thread))
        return default_actions_only(thread, restart, value);
    struct linux_regs regs;
    if (thread->cpu.get_regs(thread->cpu.opaque, &regs) < 0)
        return LINUX_CONTINUE;
    regs.rax = (uint64_t)*value;
    struct interrupted_call call = {restart, number};
    bool changed = false;
    enum linux_outcome outcome = deliver_pending(thread, &call, &regs, NULL, &changed);
    if (outcome != LINUX_CONTINUE)
        return outcome;
    *value = (long)regs.rax;
    thread->cpu.set_regs(thread->cpu.opaque, &regs);
    return LINUX_RESUME;
}

enum linux_outcome linux_signal_deliver(struct linux_thread *thread)
{
    uint64_t stopped = thread->stopped_call;
    thread->stopped_call = 0;
    if (!stopped && !deliverable(thread))
        return LINUX_CONTINUE;
    if (!has_frames(thread))
        return LINUX_CONTINUE;
    struct linux_regs regs;
    if (thread->cpu.get_regs(thread->cpu.opaque, &regs) < 0)
        return LINUX_CONTINUE;
    /* A stopped call restarts when no handler runs (finish_restart). */
    struct interrupted_call call = {stopped && is_restart_code((long)regs.rax), stopped - 1};
    bool changed = false;
    enum linux_outcome outcome = deliver_pending(thread, &call, &regs, NULL, &changed);
    if (outcome != LINUX_CONTINUE)
        return outcome;
    if (!changed)
        return LINUX_CONTINUE;
    thread->cpu.set_regs(thread->cpu.opaque, &regs);
    return LINUX_RESUME;
}

/* ---- exceptions ---------------------------------------------------------------------- */

/* The si_code of a floating-point exception, from the unmasked flags that
 * are set (Linux's fpu__exception_code). */
static int fp_code(uint32_t flags)
{
    if (flags & 0x001)
        return LINUX_FPE_FLTINV;
    if (flags & 0x004)
        return LINUX_FPE_FLTDIV;
    if (flags & 0x008)
        return LINUX_FPE_FLTOVF;
    if (flags & 0x012)
        return LINUX_FPE_FLTUND;
    if (flags & 0x020)
        return LINUX_FPE_FLTRES;
    return 0;
}

static int fpu_exception_code(struct linux_thread *thread, unsigned vector)
{
    uint8_t fxsave[LINUX_FXSAVE_SIZE];
    if (!thread->cpu.get_fpu || thread->cpu.get_fpu(thread->cpu.opaque, fxsave) < 0)
        return 0;
    if (vector == 16) {
        uint16_t fcw, fsw;
        memcpy(&fcw, fxsave, 2);
        memcpy(&fsw, fxsave + 2, 2);
        return fp_code(fsw & ~fcw & 0x3f);
    }
    uint32_t mxcsr;
    memcpy(&mxcsr, fxsave + 24, 4);
    return fp_code(mxcsr & ~(mxcsr >> 7) & 0x3f);
}

/* The signal Linux sends for an exception in user mode (arch/x86/kernel/traps.c). */
static int exception_signal(struct linux_thread *thread, unsigned vector, uint64_t error_code,
                            uint64_t fault_address, const struct linux_regs *regs,
                            struct linux_siginfo *info)
{
    *info = (struct linux_siginfo){.code = LINUX_SI_KERNEL};
    switch (vector) {
    case 0: /* #DE */
        info->signo = SIGFPE;
        info->code = LINUX_FPE_INTDIV;
        info->fields.fault.address = regs->rip;
        break;
    case 1: /* #DB */
        info->signo = SIGTRAP;
        info->code = LINUX_TRAP_TRACE;
        info->fields.fault.address = regs->rip;
        break;
    case 3: /* int3 */
        info->signo = SIGTRAP;
        break;
    case 4: /* into */
    case 5: /* bound */
    case 10:
    case 13: /* #GP: no address, as Linux gives none */
        info->signo = SIGSEGV;
        break;
    case 6: /* #UD */
        info->signo = SIGILL;
        info->code = LINUX_ILL_ILLOPN;
        info->fields.fault.address = regs->rip;
        break;
    case 11: /* #NP */
    case 12: /* #SS */
        info->signo = SIGBUS;
        break;
    case 14: { /* #PF; a file mapping's page past the end of its file: SIGBUS */
        /* The map is read under mm_lock: another thread may be changing it
         * (ThreadSanitizer saw a clone's new vCPU area inserted meanwhile). */
        struct linux_process *process = thread->process;
        g_mutex_lock(&process->mm_lock);
        bool past_eof = !(error_code & 1) && guest_fault_past_eof(process->memory, fault_address,
                                                                  error_code & 2, error_code & 16);
        bool in_mapping =
            (error_code & 1) || guest_fault_in_mapping(process->memory, fault_address);
        g_mutex_unlock(&process->mm_lock);
        info->signo = past_eof ? SIGBUS : SIGSEGV;
        info->code = past_eof     ? LINUX_BUS_ADRERR
                     : in_mapping ? LINUX_SEGV_ACCERR
                                  : LINUX_SEGV_MAPERR;
        info->fields.fault.address = fault_address;
        break;
    }
    case 16: /* x87 */
    case 19: /* SIMD */
        info->signo = SIGFPE;
        info->code = fpu_exception_code(thread, vector);
        info->fields.fault.address = regs->rip;
        break;
    case 17: /* #AC */
        info->signo = SIGBUS;
        info->code = LINUX_BUS_ADRALN;
        info->fields.fault.address = fault_address;
        break;
    default:
        return 0;
    }
    return info->signo;
}

/*
 * A page fault whose cause is gone (another thread made the page present
 * since: a file grown back and its page revived) is retried, as Linux's
 * fault handler finds the page mapped and returns. The same address stale
 * more than a few times in a row is the program's fault after all (an
 * accelerator that keeps faulting must not loop).
 */
static bool stale_page_fault(struct linux_process *process, unsigned vector, uint64_t error_code,
                             uint64_t fault_address)
{
    static __thread uint64_t last_address;
    static __thread unsigned repeats;
    if (vector != 14 || (error_code & 1))
        return false;
    g_mutex_lock(&process->mm_lock);
    bool resolved =
        guest_fault_resolved(process->memory, fault_address, error_code & 2, error_code & 16);
    g_mutex_unlock(&process->mm_lock);
    if (!resolved)
        return false;
    repeats = fault_address == last_address ? repeats + 1 : 0;
    last_address = fault_address;
    return repeats < 3;
}

bool linux_signal_exception(struct linux_thread *thread, unsigned vector, uint64_t error_code,
                            uint64_t fault_address)
{
    struct linux_process *process = thread->process;
    if (stale_page_fault(process, vector, error_code, fault_address))
        return true;
    if (!has_frames(thread))
        return false;
    struct linux_regs regs;
    if (thread->cpu.get_regs(thread->cpu.opaque, &regs) < 0)
        return false;
    struct linux_siginfo info;
    int signal = exception_signal(thread, vector, error_code, fault_address, &regs, &info);
    if (!signal)
        return false;
    thread->last_info = info;
    linux_strace_signal(thread, &info);
    g_mutex_lock(&process->signal_lock);
    struct linux_kernel_sigaction action = actions_of(process, thread)[signal];
    bool blocked = thread->signal_mask & LINUX_SIGNAL_BIT(signal);
    g_mutex_unlock(&process->signal_lock);
    /* A fault that is blocked or ignored cannot be survived: Linux resets it
     * to the default action, which the caller reports. */
    if (blocked || action.handler == LINUX_SIG_IGN || action.handler == LINUX_SIG_DFL)
        return false;
    struct fault_detail detail = {error_code, vector, vector == 14 ? fault_address : 0};
    if (!setup_frame(thread, &action, &info, thread->signal_mask, &detail, &regs))
        return false; /* no room for the frame: the fault's own report follows */
    g_mutex_lock(&process->signal_lock);
    enter_handler(thread, &actions_of(process, thread)[signal], signal);
    g_mutex_unlock(&process->signal_lock);
    if (process->debug_hooks.handler_entered)
        process->debug_hooks.handler_entered(process->debug_hooks.opaque, thread);
    /* Other deliverable signals follow at the monitor's next delivery point. */
    thread->cpu.set_regs(thread->cpu.opaque, &regs);
    return true;
}

int linux_signal_exception_info(struct linux_thread *thread, unsigned vector, uint64_t error_code,
                                uint64_t fault_address, uint8_t info[128])
{
    struct linux_regs regs = {0};
    if (has_frames(thread))
        thread->cpu.get_regs(thread->cpu.opaque, &regs);
    struct linux_siginfo siginfo;
    int signal = exception_signal(thread, vector, error_code, fault_address, &regs, &siginfo);
    memcpy(info, &siginfo, sizeof(siginfo));
    return signal;
}

void linux_signal_last_info(const struct linux_thread *thread, uint8_t info[128])
{
    memcpy(info, &thread->last_info, sizeof(thread->last_info));
}

/* ---- dispositions and masks ------------------------------------------------------------ */

void linux_signal_sync_child_reaping(struct linux_process *process)
{
    const struct linux_kernel_sigaction *action = &process->actions[SIGCHLD];
    bool reap = action->handler == LINUX_SIG_IGN || (action->flags & SA_NOCLDWAIT);
    struct sigaction host;
    if (sigaction(SIGCHLD, NULL, &host) != 0 || reap == ((host.sa_flags & SA_NOCLDWAIT) != 0))
        return;
    host.sa_flags = reap ? host.sa_flags | SA_NOCLDWAIT : host.sa_flags & ~SA_NOCLDWAIT;
    sigaction(SIGCHLD, &host, NULL);
}

static long sys_rt_sigaction(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int signal = (int)args[0];
    if (args[3] != sizeof(uint64_t) || signal < 1 || signal > LINUX_NSIG)
        return -EINVAL;
    if (args[1] && (signal == SIGKILL || signal == SIGSTOP))
        return -EINVAL;
    struct linux_kernel_sigaction action;
    if (args[1] && linux_copy_in(process, args[1], &action, sizeof(action)))
        return -EFAULT;
    g_mutex_lock(&process->signal_lock);
    struct linux_kernel_sigaction *actions = actions_of(process, thread);
    struct linux_kernel_sigaction old = actions[signal];
    if (args[1]) {
        action.mask &= ~UNBLOCKABLE;
        actions[signal] = action;
        /* Setting a signal to be ignored discards it where pending (POSIX). */
        if (ignores(&action, signal)) {
            struct linux_siginfo drop;
            struct linux_sigqueue *shared = process_queue(process, thread);
            while ((shared && queue_take(shared, signal, &drop)) ||
                   queue_take(&thread->pending, signal, &drop))
                ;
            if (process->signalfds)
                linux_signalfd_refresh(process);
        }
    }
    g_mutex_unlock(&process->signal_lock);
    if (args[1] && signal == SIGCHLD && actions == process->actions)
        linux_signal_sync_child_reaping(process);
    if (args[2] && linux_copy_out(process, args[2], &old, sizeof(old)))
        return -EFAULT;
    return 0;
}

static void set_mask(struct linux_thread *thread, uint64_t mask)
{
    g_mutex_lock(&thread->process->signal_lock);
    __atomic_store_n(&thread->signal_mask, mask & ~UNBLOCKABLE, __ATOMIC_RELEASE);
    g_mutex_unlock(&thread->process->signal_lock);
}

static long sys_rt_sigprocmask(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (args[3] != sizeof(uint64_t))
        return -EINVAL;
    uint64_t set = 0;
    if (args[1]) {
        if (args[0] > SIG_SETMASK)
            return -EINVAL;
        if (linux_copy_in(process, args[1], &set, sizeof(set)))
            return -EFAULT;
    }
    uint64_t old = thread->signal_mask;
    if (args[2] && linux_copy_out(process, args[2], &old, sizeof(old)))
        return -EFAULT;
    if (args[1]) {
        if (args[0] == SIG_BLOCK)
            set_mask(thread, old | set);
        else if (args[0] == SIG_UNBLOCK)
            set_mask(thread, old & ~set);
        else
            set_mask(thread, set);
    }
    return 0;
}

static long sys_rt_sigpending(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (args[1] > sizeof(uint64_t))
        return -EINVAL;
    g_mutex_lock(&process->signal_lock);
    uint64_t shared = thread->vm_child ? 0 : process->pending.mask;
    uint64_t pending = (thread->pending.mask | shared) & thread->signal_mask;
    g_mutex_unlock(&process->signal_lock);
    return linux_copy_out(process, args[0], &pending, args[1]) ? -EFAULT : 0;
}

static long sys_sigaltstack(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct linux_stack wanted;
    struct linux_regs regs;
    bool active = has_frames(thread) && thread->cpu.get_regs(thread->cpu.opaque, &regs) == 0 &&
                  on_altstack(thread, regs.rsp);
    if (args[0]) {
        if (linux_copy_in(process, args[0], &wanted, sizeof(wanted)))
            return -EFAULT;
        int mode = wanted.flags & ~SS_AUTODISARM;
        if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
            return -EINVAL;
        if (active)
            return -EPERM;
        if (mode != SS_DISABLE && wanted.size < LINUX_MINSIGSTKSZ)
            return -ENOMEM;
    }
    if (args[1]) {
        int flags = !thread->altstack_size ? SS_DISABLE
                    : active               ? SS_ONSTACK
                                           : thread->altstack_flags;
        struct linux_stack old = {thread->altstack_sp, flags, 0, thread->altstack_size};
        if (linux_copy_out(process, args[1], &old, sizeof(old)))
            return -EFAULT;
    }
    if (args[0]) {
        if ((wanted.flags & ~SS_AUTODISARM) == SS_DISABLE) {
            thread->altstack_sp = thread->altstack_size = 0;
            thread->altstack_flags = SS_DISABLE;
        } else {
            thread->altstack_sp = wanted.sp;
            thread->altstack_size = wanted.size;
            thread->altstack_flags = wanted.flags & SS_AUTODISARM;
        }
    }
    return 0;
}

/* ---- rt_sigreturn ------------------------------------------------------------------------ */

static long sys_rt_sigreturn(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    struct linux_process *process = thread->process;
    struct linux_regs regs;
    if (!has_frames(thread) || thread->cpu.get_regs(thread->cpu.opaque, &regs) < 0)
        return -ENOSYS;
    /* The handler's ret popped pretcode: the frame starts 8 bytes below. */
    uint64_t frame_address = regs.rsp - 8;
    struct linux_ucontext uc;
    if (linux_copy_in(process, frame_address + offsetof(struct linux_rt_sigframe, uc), &uc,
                      sizeof(uc))) {
        /* A forged or smashed frame: Linux kills with SIGSEGV. */
        linux_process_exit(process, 0, SIGSEGV);
        return 0;
    }
    set_mask(thread, uc.sigmask);
    sigcontext_to_regs(&uc.mcontext, &regs);
    struct fp_image fp;
    if (!read_fpstate(thread, uc.mcontext.fpstate, &fp) || write_fp_image(thread, &fp) < 0) {
        linux_process_exit(process, 0, SIGSEGV);
        return 0;
    }
    /* As Linux's restore_altstack: the frame's stack_t, errors ignored. */
    int mode = uc.stack.flags & ~SS_AUTODISARM;
    if (mode == SS_DISABLE) {
        thread->altstack_sp = thread->altstack_size = 0;
        thread->altstack_flags = SS_DISABLE;
    } else if ((mode == 0 || mode == SS_ONSTACK) && uc.stack.size >= LINUX_MINSIGSTKSZ &&
               !on_altstack(thread, regs.rsp)) {
        thread->altstack_sp = uc.stack.sp;
        thread->altstack_size = uc.stack.size;
        thread->altstack_flags = uc.stack.flags & SS_AUTODISARM;
    }
    thread->cpu.set_regs(thread->cpu.opaque, &regs);
    thread->restart.number = 0;
    return (long)regs.rax;
}

/* ---- sending from the program -------------------------------------------------------------- */

static long signal_self(struct linux_thread *thread, int signal, bool to_thread, int code)
{
    if (signal < 0 || signal > LINUX_NSIG)
        return -EINVAL;
    if (signal == 0)
        return 0;
    send_simple(thread, signal, code, to_thread);
    return 0;
}

/* kill to a group the program is in: the processes sharing its memory are
 * in it too (their process group is the monitor's). */
static void signal_vm_children(struct linux_thread *thread, int signal)
{
    struct linux_process *process = thread->process;
    g_mutex_lock(&process->misc_lock);
    GArray *pids = g_array_new(FALSE, FALSE, sizeof(int));
    for (guint i = 0; process->vm_children && i < process->vm_children->len; i++) {
        const struct linux_vm_child *child = g_ptr_array_index(process->vm_children, i);
        if (!child->ended)
            g_array_append_val(pids, child->pid);
    }
    g_mutex_unlock(&process->misc_lock);
    for (guint i = 0; i < pids->len; i++) {
        struct linux_thread *target = linux_vm_child_thread(process, g_array_index(pids, int, i));
        if (target)
            signal_self(target, signal, true, LINUX_SI_USER);
    }
    g_array_free(pids, TRUE);
}

static long sys_kill(struct linux_thread *thread, const uint64_t *args)
{
    int32_t pid = (int32_t)args[0];
    int signal = (int)args[1];
    /* A process sharing the memory is a thread of this monitor: its own
     * queue, the program's signals are not its. */
    struct linux_thread *vm_child = pid > 0 ? linux_vm_child_thread(thread->process, pid) : NULL;
    if (vm_child)
        return signal_self(vm_child, signal, true, LINUX_SI_USER);
    /* Another process or group is a host one: the host delivers. A group
     * with the program in it (0, -1, its own) reaches only the program. */
    if (pid != linux_pid() && pid != 0 && pid != -1 && pid != -getpgrp())
        return linux_kill_other(pid, signal);
    long result = signal_self(thread, signal, false, LINUX_SI_USER);
    if (result == 0 && signal && pid <= 0)
        signal_vm_children(thread, signal);
    return result;
}

static long sys_tkill(struct linux_thread *thread, const uint64_t *args)
{
    if ((int32_t)args[0] <= 0)
        return -EINVAL;
    /* Another thread of the program: its tid is a host tid of this monitor,
     * which must not receive the signal itself. */
    struct linux_thread *target = linux_thread_find(thread->process, (int32_t)args[0]);
    if (target)
        return signal_self(target, (int)args[1], true, LINUX_SI_TKILL);
    return linux_kill_other((int32_t)args[0], (int)args[1]);
}

static long sys_tgkill(struct linux_thread *thread, const uint64_t *args)
{
    if ((int32_t)args[0] <= 0 || (int32_t)args[1] <= 0)
        return -EINVAL;
    int32_t tgid = (int32_t)args[0];
    struct linux_thread *target = linux_thread_find(thread->process, (int32_t)args[1]);
    /* One of the monitor's threads, in the process named (the program or
     * one sharing its memory). */
    if (target && linux_thread_tgid(target) == tgid)
        return signal_self(target, (int)args[2], true, LINUX_SI_TKILL);
    if (tgid != linux_pid() && !linux_vm_child_thread(thread->process, tgid))
        return linux_kill_other(tgid, (int)args[2]);
    return -ESRCH;
}

/* sigqueue's siginfo from the program. A code that would pose as the
 * kernel or as kill() is refused unless the caller sends to itself, as
 * Linux refuses it. */
static long queue_info_read(struct linux_thread *thread, int signal, uint64_t address, bool to_self,
                            struct linux_siginfo *info)
{
    if (linux_copy_in(thread->process, address, info, sizeof(*info)))
        return -EFAULT;
    if (signal < 0 || signal > LINUX_NSIG)
        return -EINVAL;
    if (!to_self && (info->code >= 0 || info->code == LINUX_SI_TKILL))
        return -EPERM;
    info->signo = signal;
    return 0;
}

static long sys_rt_sigqueueinfo(struct linux_thread *thread, const uint64_t *args)
{
    int32_t pid = (int32_t)args[0];
    int signal = (int)args[1];
    /* The program, or a process sharing its memory (its own queue). */
    struct linux_thread *vm_child = pid > 0 ? linux_vm_child_thread(thread->process, pid) : NULL;
    bool here = pid == linux_pid() || vm_child;
    struct linux_siginfo info;
    long error = queue_info_read(thread, signal, args[2], pid == linux_thread_tgid(thread), &info);
    if (error)
        return error;
    /* Another process is another monitor (or a host process): the host
     * queues it there with the program's siginfo (the same layout). */
    if (!here)
        return linux_host_result(syscall(SYS_rt_sigqueueinfo, pid, signal, &info));
    if (signal)
        linux_signal_send(thread->process, vm_child, &info);
    return 0;
}

static long sys_rt_tgsigqueueinfo(struct linux_thread *thread, const uint64_t *args)
{
    int32_t tgid = (int32_t)args[0], tid = (int32_t)args[1];
    int signal = (int)args[2];
    if (tgid <= 0 || tid <= 0)
        return -EINVAL;
    /* The program, or a process sharing its memory. */
    bool here = tgid == linux_pid() || linux_vm_child_thread(thread->process, tgid);
    struct linux_siginfo info;
    long error = queue_info_read(thread, signal, args[3],
                                 tgid == linux_thread_tgid(thread) && tid == thread->tid, &info);
    if (error)
        return error;
    /* Another guest's threads run with every forwarded signal blocked and
     * only its forwarding thread takes them: as tgkill, the signal goes to
     * that process, which hands it to a thread that takes it. */
    if (!here)
        return linux_host_result(syscall(SYS_rt_sigqueueinfo, tgid, signal, &info));
    struct linux_thread *target = linux_thread_find(thread->process, tid);
    if (!target || linux_thread_tgid(target) != tgid)
        return -ESRCH;
    if (signal)
        linux_signal_send(thread->process, target, &info);
    return 0;
}

/* pidfd_send_signal's flags (Linux 6.9): whom a signal reaches. */
#define PIDFD_SEND_THREAD        1u
#define PIDFD_SEND_THREAD_GROUP  2u
#define PIDFD_SEND_PROCESS_GROUP 4u

/* A pidfd of the program itself, or of one of its threads (pid: what it
 * names): the program's queues, as kill, tgkill and sigqueue to itself. */
static long pidfd_signal_self(struct linux_thread *thread, int32_t pid, int signal,
                              const struct linux_siginfo *given, unsigned int flags)
{
    struct linux_thread *target =
        pid == linux_pid() ? NULL : linux_thread_find(thread->process, pid);
    if (pid != linux_pid() && !target)
        return -ESRCH;
    if (flags == PIDFD_SEND_PROCESS_GROUP) {
        uint64_t kill_args[6] = {(uint64_t)(int64_t)-getpgrp(), (uint64_t)signal};
        return sys_kill(thread, kill_args);
    }
    /* A thread's pidfd signals the thread unless told the group; the
     * process's signals the process unless told the thread (its leader). */
    bool to_thread = target ? flags != PIDFD_SEND_THREAD_GROUP : flags == PIDFD_SEND_THREAD;
    if (to_thread && !target)
        target = thread->process->main_thread;
    if (!given)
        return signal_self(target ? target : thread, signal, to_thread,
                           to_thread ? LINUX_SI_TKILL : LINUX_SI_USER);
    if (signal)
        linux_signal_send(thread->process, to_thread ? target : NULL, given);
    return 0;
}

static long sys_pidfd_send_signal(struct linux_thread *thread, const uint64_t *args)
{
    int signal = (int)args[1];
    unsigned int flags = (unsigned int)args[3];
    if ((flags & ~(PIDFD_SEND_THREAD | PIDFD_SEND_THREAD_GROUP | PIDFD_SEND_PROCESS_GROUP)) ||
        __builtin_popcount(flags) > 1)
        return -EINVAL;
    int32_t pid;
    int host_fd;
    long error = linux_pidfd_target(thread->process, args[0], &pid, &host_fd);
    if (error)
        return error;
    if (signal < 0 || signal > LINUX_NSIG)
        return -EINVAL;
    struct linux_siginfo info;
    const struct linux_siginfo *given = NULL;
    if (args[2]) {
        if (linux_copy_in(thread->process, args[2], &info, sizeof(info)))
            return -EFAULT;
        /* It must name the signal sent (Linux: EINVAL). */
        if (info.signo != signal)
            return -EINVAL;
        given = &info;
    }
    if (linux_is_own_thread(thread->process, pid))
        return pidfd_signal_self(thread, pid, signal, given, flags);
    /* Another process: the host signals it, with the program's siginfo (a
     * code posing as the kernel's or kill's refused, as for sigqueue). */
    if (given && (info.code >= 0 || info.code == LINUX_SI_TKILL))
        return -EPERM;
    return linux_host_result(syscall(SYS_pidfd_send_signal, host_fd, signal, given, flags));
}

/* ---- waiting ------------------------------------------------------------------------------ */

/*
 * Sleeps until a kick (a signal posted for this thread, a debugger stop) or
 * the deadline (CLOCK_MONOTONIC ns, 0: none). A kick that lands just before
 * the sleep is repeated by the monitor until delivery runs.
 */
static int wait_for_kick(uint64_t deadline)
{
    if (!deadline) {
        pause();
        return -EINTR;
    }
    struct timespec until = {(time_t)(deadline / 1000000000ULL), (long)(deadline % 1000000000ULL)};
    int result = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    return result == EINTR ? -EINTR : -ETIMEDOUT;
}

uint64_t linux_monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
}

static long sys_pause(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    if (deliverable(thread))
        return -LINUX_ERESTARTNOHAND;
    if (!thread->has_cpu || !thread->cpu.kick)
        return -LINUX_ERESTARTNOHAND; /* nothing could ever wake it */
    wait_for_kick(0);
    return -LINUX_ERESTARTNOHAND;
}

static long sys_rt_sigsuspend(struct linux_thread *thread, const uint64_t *args)
{
    uint64_t mask;
    if (args[1] != sizeof(mask))
        return -EINVAL;
    if (linux_copy_in(thread->process, args[0], &mask, sizeof(mask)))
        return -EFAULT;
    if (!linux_signal_mask_for_call(thread, mask) && thread->has_cpu && thread->cpu.kick)
        wait_for_kick(0);
    return -LINUX_ERESTARTNOHAND;
}

bool linux_signal_deliverable(const struct linux_thread *thread)
{
    return deliverable(thread) != 0;
}

/* The caller's mask comes back once the handler's frame is built (the frame
 * carries it), or when the call restarts after a stop (deliver_pending). */
bool linux_signal_mask_for_call(struct linux_thread *thread, uint64_t mask)
{
    if (!thread->restore_saved_mask) {
        thread->saved_mask = thread->signal_mask;
        thread->restore_saved_mask = true;
    }
    set_mask(thread, mask);
    /* A signal sent from now on sees the new mask and kicks this thread. */
    return deliverable(thread) != 0;
}

void linux_signal_mask_after_call(struct linux_thread *thread, long result)
{
    if (result == -EINTR || is_restart_code(result) || !thread->restore_saved_mask)
        return;
    thread->restore_saved_mask = false;
    set_mask(thread, thread->saved_mask);
}

static long sys_rt_sigtimedwait(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t set;
    if (args[3] != sizeof(set))
        return -EINVAL;
    if (linux_copy_in(process, args[0], &set, sizeof(set)))
        return -EFAULT;
    set &= ~UNBLOCKABLE;
    uint64_t deadline = 0;
    if (args[2]) {
        struct timespec timeout;
        if (linux_copy_in(process, args[2], &timeout, sizeof(timeout)))
            return -EFAULT;
        if (timeout.tv_sec < 0 || timeout.tv_nsec < 0 || timeout.tv_nsec >= 1000000000L)
            return -EINVAL;
        deadline = linux_monotonic_ns() + (uint64_t)timeout.tv_sec * 1000000000ULL +
                   (uint64_t)timeout.tv_nsec;
    }
    for (;;) {
        g_mutex_lock(&process->signal_lock);
        struct linux_siginfo info;
        int signal = dequeue(thread, set, &info);
        __atomic_store_n(&thread->waiting_mask, signal ? 0 : set, __ATOMIC_RELEASE);
        g_mutex_unlock(&process->signal_lock);
        if (signal) {
            if (args[1] && linux_copy_out(process, args[1], &info, sizeof(info)))
                return -EFAULT;
            return signal;
        }
        if (args[2] && linux_monotonic_ns() >= deadline)
            break;
        if (deliverable(thread) || !thread->has_cpu || !thread->cpu.kick) {
            __atomic_store_n(&thread->waiting_mask, 0, __ATOMIC_RELEASE);
            return -LINUX_ERESTARTNOHAND;
        }
        int result = wait_for_kick(deadline);
        g_mutex_lock(&process->signal_lock);
        bool waited = (thread->pending.mask | (thread->vm_child ? 0 : process->pending.mask)) & set;
        __atomic_store_n(&thread->waiting_mask, 0, __ATOMIC_RELEASE);
        g_mutex_unlock(&process->signal_lock);
        if (result == -EINTR && !waited)
            return -LINUX_ERESTARTNOHAND; /* a stop, or another signal's handler */
    }
    __atomic_store_n(&thread->waiting_mask, 0, __ATOMIC_RELEASE);
    return -EAGAIN;
}

/* ---- sleeping: nanosleep and its restart -------------------------------------------------- */

static long sleep_until(struct linux_thread *thread, uint64_t deadline, uint64_t remaining_address)
{
    struct timespec until = {(time_t)(deadline / 1000000000ULL), (long)(deadline % 1000000000ULL)};
    int result = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    if (result == 0)
        return 0;
    if (result != EINTR)
        return -result;
    uint64_t now = linux_monotonic_ns();
    uint64_t left = deadline > now ? deadline - now : 0;
    if (remaining_address) {
        struct timespec remaining = {(time_t)(left / 1000000000ULL), (long)(left % 1000000000ULL)};
        if (linux_copy_out(thread->process, remaining_address, &remaining, sizeof(remaining)))
            return -EFAULT;
    }
    /* Without a handler the call goes on for the time left (restart_syscall). */
    thread->restart = (struct linux_restart){
        .number = SYS_nanosleep, .deadline = deadline, .remaining_address = remaining_address};
    return -LINUX_ERESTART_RESTARTBLOCK;
}

long linux_sleep_relative(struct linux_thread *thread, const struct timespec *request,
                          uint64_t remaining_address)
{
    uint64_t deadline = linux_monotonic_ns() + (uint64_t)request->tv_nsec;
    if ((uint64_t)request->tv_sec > (UINT64_MAX - deadline) / 1000000000ULL)
        deadline = UINT64_MAX / 2;
    else
        deadline += (uint64_t)request->tv_sec * 1000000000ULL;
    return sleep_until(thread, deadline, remaining_address);
}

static long sys_nanosleep(struct linux_thread *thread, const uint64_t *args)
{
    struct timespec request;
    if (linux_copy_in(thread->process, args[0], &request, sizeof(request)))
        return -EFAULT;
    if (request.tv_sec < 0 || request.tv_nsec < 0 || request.tv_nsec >= 1000000000L)
        return -EINVAL;
    return linux_sleep_relative(thread, &request, args[1]);
}

static long sys_restart_syscall(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    struct linux_restart restart = thread->restart;
    thread->restart.number = 0;
    if (restart.number == SYS_futex)
        return linux_futex_restart(thread, &restart);
    if (restart.number == SYS_poll)
        return linux_poll_restart(thread, &restart);
    if (restart.number != SYS_nanosleep)
        return -EINTR;
    return sleep_until(thread, restart.deadline, restart.remaining_address);
}

/* ---- timers ------------------------------------------------------------------------------- */

/* The setitimer timers live after the POSIX ones. */
#define ITIMER_SLOT(which) (LINUX_MAX_TIMERS + (which))

struct linux_sigevent {
    uint64_t value;
    int32_t signo;
    int32_t notify;
    int32_t tid;
    int32_t padding[11];
};

#define LINUX_SIGEV_SIGNAL    0
#define LINUX_SIGEV_NONE      1
#define LINUX_SIGEV_THREAD    2
#define LINUX_SIGEV_THREAD_ID 4

/* glibc's SIGEV_THREAD runs each expiry on a thread of its own, which may
 * start after timer_delete returned and even after the process is gone. A
 * callback therefore finds its timer by serial number in this table, and
 * counts itself running while the table's lock is held: once a timer has
 * left the table, no callback can reach it, and destroy need only wait for
 * the ones already counted. */
static GMutex timer_table_lock;
static GHashTable *timer_table; /* serial -> struct linux_timer * */
static unsigned int timer_next_serial;

static void timer_table_add(struct linux_timer *timer)
{
    g_mutex_lock(&timer_table_lock);
    if (!timer_table)
        timer_table = g_hash_table_new(g_direct_hash, g_direct_equal);
    do
        timer->serial = ++timer_next_serial;
    while (!timer->serial || g_hash_table_contains(timer_table, GUINT_TO_POINTER(timer->serial)));
    g_hash_table_insert(timer_table, GUINT_TO_POINTER(timer->serial), timer);
    g_mutex_unlock(&timer_table_lock);
}

static void timer_table_remove(struct linux_timer *timer)
{
    g_mutex_lock(&timer_table_lock);
    if (timer_table && timer->serial)
        g_hash_table_remove(timer_table, GUINT_TO_POINTER(timer->serial));
    timer->serial = 0;
    g_mutex_unlock(&timer_table_lock);
}

/* The timer a callback is for, counted running; NULL once it is released. */
static struct linux_timer *timer_table_enter(unsigned int serial)
{
    g_mutex_lock(&timer_table_lock);
    struct linux_timer *timer =
        timer_table ? g_hash_table_lookup(timer_table, GUINT_TO_POINTER(serial)) : NULL;
    if (timer)
        __atomic_add_fetch(&timer->process->timer_callbacks, 1, __ATOMIC_SEQ_CST);
    g_mutex_unlock(&timer_table_lock);
    return timer;
}

static uint64_t timer_now(const struct linux_timer *timer)
{
    struct timespec now;
    if (clock_gettime(timer->clock, &now) != 0)
        return 0;
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/*
 * Whether an expiry is due now (signal_lock held); due moves past now, and
 * *missed counts the expiries beyond the first that passed. The host's
 * callback can run long after its expiry (libc starts a thread for each),
 * after the program re-armed or disarmed the timer, where Linux had queued
 * the signal before that call returned: a tick 10 ms late released a loop
 * the program had started after its setitimer(off) (gdb-signals int3-spin,
 * 1 run in a few hundred; late_tick: half its disarms). So a callback posts
 * only an expiry that is due by the timer's own reckoning, and re-arming
 * posts first the one that came due but whose callback has not run.
 */
static bool timer_take_due_locked(struct linux_timer *timer, uint64_t now, int *missed)
{
    *missed = 0;
    if (!timer->used || !timer->due || now < timer->due)
        return false;
    if (!timer->interval) {
        timer->due = 0;
        return true;
    }
    uint64_t passed = (now - timer->due) / timer->interval;
    timer->due += (passed + 1) * timer->interval;
    *missed = passed > INT_MAX ? INT_MAX : (int)passed;
    return true;
}

/* An expiry that is due (signal_lock held): whether its signal goes, and
 * which (target: the SIGEV_THREAD_ID thread, found before the lock). */
static bool timer_collect_locked(struct linux_timer *timer, const struct linux_thread *target,
                                 uint64_t now, struct linux_siginfo *info)
{
    int missed;
    bool fire = timer_take_due_locked(timer, now, &missed) && timer->notify != LINUX_SIGEV_NONE &&
                (target || !timer->target_tid);
    /* Only a POSIX timer counts overruns (dequeue clears its queued);
     * setitimer's signals are plain ones, merged while pending. */
    bool posix = timer->id < LINUX_MAX_TIMERS;
    if (!fire || !posix) {
        *info = (struct linux_siginfo){.signo = timer->signal, .code = LINUX_SI_KERNEL};
        return fire;
    }
    timer->overrun += missed;
    if (timer->queued) {
        timer->overrun++;
        return false;
    }
    timer->queued = true;
    *info = (struct linux_siginfo){.signo = timer->signal, .code = LINUX_SI_TIMER};
    info->fields.timer.id = timer->id;
    info->fields.timer.value = timer->value;
    return true;
}

/* SIGEV_THREAD_ID: the thread named, while it lives (Linux drops the
 * signal of a timer whose thread has ended). Set before the timer was
 * armed; looked for before signal_lock, which comes before threads_lock. */
static struct linux_thread *timer_target(struct linux_timer *timer)
{
    return timer->target_tid ? linux_thread_find(timer->process, timer->target_tid) : NULL;
}

static void timer_expired(union sigval value)
{
    struct linux_timer *timer = timer_table_enter((unsigned int)value.sival_int);
    if (!timer)
        return;
    struct linux_process *process = timer->process;
    struct linux_thread *target = timer_target(timer);
    struct linux_siginfo info;
    g_mutex_lock(&process->timer_lock);
    g_mutex_lock(&process->signal_lock);
    bool fire = timer_collect_locked(timer, target, timer_now(timer), &info);
    g_mutex_unlock(&process->signal_lock);
    if (fire)
        linux_signal_send(process, target, &info);
    g_mutex_unlock(&process->timer_lock);
    __atomic_sub_fetch(&process->timer_callbacks, 1, __ATOMIC_SEQ_CST);
}

static uint64_t timespec_ns(const struct timespec *value)
{
    return (uint64_t)value->tv_sec * 1000000000u + (uint64_t)value->tv_nsec;
}

/*
 * timer_settime of the host for a timer of the program: an expiry due
 * before is posted first (Linux had queued it), and due follows the new
 * setting, from the clock read before the host's (so never after the
 * host's expiry, whose callback then finds it due).
 */
static long timer_arm(struct linux_timer *timer, int flags, const struct itimerspec *value,
                      struct itimerspec *old)
{
    struct linux_process *process = timer->process;
    struct linux_thread *target = timer_target(timer);
    struct linux_siginfo info;
    g_mutex_lock(&process->timer_lock);
    g_mutex_lock(&process->signal_lock);
    uint64_t now = timer_now(timer);
    bool fire = timer_collect_locked(timer, target, now, &info);
    long error = 0;
    if (timer_settime((timer_t)timer->host_timer, flags, value, old) != 0) {
        error = linux_host_error();
    } else {
        uint64_t first = timespec_ns(&value->it_value);
        timer->due = !first ? 0 : (flags & TIMER_ABSTIME) ? first : now + first;
        timer->interval = timespec_ns(&value->it_interval);
    }
    g_mutex_unlock(&process->signal_lock);
    if (fire)
        linux_signal_send(process, target, &info);
    g_mutex_unlock(&process->timer_lock);
    return error;
}

static long timer_start(struct linux_process *process, int slot, clockid_t clock, int signal)
{
    struct linux_timer *timer = &process->timers[slot];
    struct sigevent event = {0};
    event.sigev_notify = SIGEV_THREAD;
    event.sigev_notify_function = timer_expired;
    timer->process = process;
    timer_table_add(timer);
    event.sigev_value.sival_int = (int)timer->serial;
    timer_t host;
    if (timer_create(clock, &event, &host) != 0) {
        timer_table_remove(timer);
        return linux_host_error();
    }
    timer->host_timer = host;
    timer->clock = clock;
    timer->due = timer->interval = 0;
    timer->signal = signal;
    timer->id = slot;
    timer->used = true;
    return 0;
}

static void timer_release(struct linux_timer *timer)
{
    timer_table_remove(timer);
    if (timer->host_timer)
        timer_delete((timer_t)timer->host_timer);
    timer->host_timer = NULL;
    timer->used = false;
}

static const clockid_t itimer_clocks[3] = {CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                           CLOCK_PROCESS_CPUTIME_ID};
static const int itimer_signals[3] = {SIGALRM, SIGVTALRM, SIGPROF};

static struct itimerval to_itimerval(const struct itimerspec *spec)
{
    struct itimerval value = {
        {spec->it_interval.tv_sec, spec->it_interval.tv_nsec / 1000},
        {spec->it_value.tv_sec, (spec->it_value.tv_nsec + 999) / 1000},
    };
    if (value.it_value.tv_usec == 1000000) {
        value.it_value.tv_sec++;
        value.it_value.tv_usec = 0;
    }
    return value;
}

static long itimer_get(struct linux_process *process, int which, struct itimerval *value)
{
    struct linux_timer *timer = &process->timers[ITIMER_SLOT(which)];
    struct itimerspec spec = {0};
    if (timer->used && timer_gettime((timer_t)timer->host_timer, &spec) != 0)
        return linux_host_error();
    *value = to_itimerval(&spec);
    return 0;
}

static long itimer_set(struct linux_process *process, int which, const struct itimerval *value,
                       struct itimerval *old)
{
    long error = itimer_get(process, which, old);
    if (error)
        return error;
    struct linux_timer *timer = &process->timers[ITIMER_SLOT(which)];
    if (!timer->used) {
        error =
            timer_start(process, ITIMER_SLOT(which), itimer_clocks[which], itimer_signals[which]);
        if (error)
            return error;
    }
    struct itimerspec spec = {
        {value->it_interval.tv_sec, value->it_interval.tv_usec * 1000},
        {value->it_value.tv_sec, value->it_value.tv_usec * 1000},
    };
    return timer_arm(timer, 0, &spec, NULL);
}

void linux_signal_exec_itimers(struct linux_process *process, struct itimerspec out[3])
{
    for (int which = 0; which < 3; which++) {
        const struct linux_timer *timer = &process->timers[ITIMER_SLOT(which)];
        out[which] = (struct itimerspec){{0, 0}, {0, 0}};
        if (timer->used)
            timer_gettime((timer_t)timer->host_timer, &out[which]);
    }
}

long linux_signal_exec_restore_itimers(struct linux_process *process, const struct itimerspec in[3])
{
    for (int which = 0; which < 3; which++) {
        if (in[which].it_value.tv_sec == 0 && in[which].it_value.tv_nsec == 0)
            continue;
        if (in[which].it_value.tv_sec < 0 || in[which].it_value.tv_nsec < 0 ||
            in[which].it_value.tv_nsec >= 1000000000 || in[which].it_interval.tv_sec < 0 ||
            in[which].it_interval.tv_nsec < 0 || in[which].it_interval.tv_nsec >= 1000000000)
            return -EINVAL;
        struct linux_timer *timer = &process->timers[ITIMER_SLOT(which)];
        long error =
            timer_start(process, ITIMER_SLOT(which), itimer_clocks[which], itimer_signals[which]);
        if (!error)
            error = timer_arm(timer, 0, &in[which], NULL);
        if (error)
            return error;
    }
    return 0;
}

static bool valid_timeval(const struct timeval *value)
{
    return value->tv_sec >= 0 && value->tv_usec >= 0 && value->tv_usec < 1000000;
}

static long sys_setitimer(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    /* The timers are the program's: a process sharing its memory would
     * arm the program's, whose signal would go there. */
    if (linux_vm_child_refuses(thread, "setitimer"))
        return linux_sys_unsupported(process, SYS_setitimer);
    int which = (int)args[0];
    if (which < 0 || which > 2)
        return -EINVAL;
    struct itimerval value = {0}, old;
    if (args[1] && linux_copy_in(process, args[1], &value, sizeof(value)))
        return -EFAULT;
    if (!valid_timeval(&value.it_value) || !valid_timeval(&value.it_interval))
        return -EINVAL;
    long error = itimer_set(process, which, &value, &old);
    if (error)
        return error;
    if (args[2] && linux_copy_out(process, args[2], &old, sizeof(old)))
        return -EFAULT;
    return 0;
}

static long sys_getitimer(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int which = (int)args[0];
    if (which < 0 || which > 2)
        return -EINVAL;
    struct itimerval value;
    long error = itimer_get(process, which, &value);
    if (error)
        return error;
    return linux_copy_out(process, args[1], &value, sizeof(value)) ? -EFAULT : 0;
}

static long sys_alarm(struct linux_thread *thread, const uint64_t *args)
{
    if (linux_vm_child_refuses(thread, "alarm"))
        return linux_sys_unsupported(thread->process, SYS_alarm);
    struct itimerval value = {{0, 0}, {(time_t)(uint32_t)args[0], 0}}, old = {0};
    long error = itimer_set(thread->process, ITIMER_REAL, &value, &old);
    if (error)
        return error;
    /* Linux rounds what was left to the nearest second, and never says 0
     * for an alarm still to come. */
    long seconds = old.it_value.tv_sec;
    if ((!seconds && old.it_value.tv_usec) || old.it_value.tv_usec >= 500000)
        seconds++;
    return seconds;
}

static struct linux_timer *guest_timer(struct linux_process *process, uint64_t id)
{
    if (id >= LINUX_MAX_TIMERS || !process->timers[id].used)
        return NULL;
    return &process->timers[id];
}

static long sys_timer_create(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (linux_vm_child_refuses(thread, "timer_create"))
        return linux_sys_unsupported(process, SYS_timer_create);
    struct linux_sigevent event = {.signo = SIGALRM, .notify = LINUX_SIGEV_SIGNAL};
    if (args[1] && linux_copy_in(process, args[1], &event, sizeof(event)))
        return -EFAULT;
    int32_t guest_clock = (int32_t)args[0];
    /* Clocks without timers (Linux's k_clocks without timer_create). */
    if (guest_clock == CLOCK_MONOTONIC_RAW || guest_clock == CLOCK_REALTIME_COARSE ||
        guest_clock == CLOCK_MONOTONIC_COARSE || LINUX_CLOCK_IS_FD(guest_clock))
        return -EOPNOTSUPP;
    /* SIGEV_THREAD is libc's (a thread it makes, signalled through
     * SIGEV_THREAD_ID): the kernel takes it as SIGEV_SIGNAL. */
    int notify = event.notify == LINUX_SIGEV_THREAD ? LINUX_SIGEV_SIGNAL : event.notify;
    if (notify != LINUX_SIGEV_SIGNAL && notify != LINUX_SIGEV_NONE &&
        notify != LINUX_SIGEV_THREAD_ID)
        return -EINVAL;
    /* SIGEV_THREAD_ID: a thread of the caller's process (Linux's
     * good_sigevent), not one of another process sharing memory. */
    if (notify == LINUX_SIGEV_THREAD_ID) {
        g_mutex_lock(&process->threads_lock);
        const struct linux_thread *target = linux_thread_find_locked(process, event.tid);
        bool ours = target && !target->vm_child;
        g_mutex_unlock(&process->threads_lock);
        if (!ours)
            return -EINVAL;
    }
    if (notify != LINUX_SIGEV_NONE && (event.signo < 1 || event.signo > LINUX_NSIG))
        return -EINVAL;
    /* A CPU clock: of a task the program may name (Linux asks last). */
    clockid_t clock;
    long error = linux_host_clock(thread, guest_clock, false, &clock);
    if (error)
        return error;
    int id = 0;
    while (id < LINUX_MAX_TIMERS && process->timers[id].used)
        id++;
    if (id == LINUX_MAX_TIMERS)
        return -EAGAIN;
    uint64_t value = args[1] ? event.value : (uint64_t)id;
    error = timer_start(process, id, clock, event.signo);
    if (error)
        return error;
    struct linux_timer *timer = &process->timers[id];
    timer->notify = notify;
    timer->value = value;
    timer->target_tid = notify == LINUX_SIGEV_THREAD_ID ? event.tid : 0;
    timer->overrun = timer->last_overrun = 0;
    timer->queued = false;
    int32_t guest_id = id;
    if (linux_copy_out(process, args[2], &guest_id, sizeof(guest_id))) {
        timer_release(timer);
        return -EFAULT;
    }
    return 0;
}

static long sys_timer_settime(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct linux_timer *timer = guest_timer(process, args[0]);
    if (!timer)
        return -EINVAL;
    struct itimerspec value, old;
    if (linux_copy_in(process, args[2], &value, sizeof(value)))
        return -EFAULT;
    if (value.it_value.tv_nsec < 0 || value.it_value.tv_nsec >= 1000000000L ||
        value.it_interval.tv_nsec < 0 || value.it_interval.tv_nsec >= 1000000000L ||
        value.it_value.tv_sec < 0 || value.it_interval.tv_sec < 0)
        return -EINVAL;
    int flags = (int)args[1] & TIMER_ABSTIME;
    long error = timer_arm(timer, flags, &value, &old);
    if (error)
        return error;
    if (args[3] && linux_copy_out(process, args[3], &old, sizeof(old)))
        return -EFAULT;
    return 0;
}

static long sys_timer_gettime(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct linux_timer *timer = guest_timer(process, args[0]);
    if (!timer)
        return -EINVAL;
    struct itimerspec value;
    if (timer_gettime((timer_t)timer->host_timer, &value) != 0)
        return linux_host_error();
    return linux_copy_out(process, args[1], &value, sizeof(value)) ? -EFAULT : 0;
}

static long sys_timer_getoverrun(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_timer *timer = guest_timer(thread->process, args[0]);
    return timer ? timer->last_overrun : -EINVAL;
}

static long sys_timer_delete(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct linux_timer *timer = guest_timer(process, args[0]);
    if (!timer)
        return -EINVAL;
    g_mutex_lock(&process->signal_lock);
    timer->used = false;
    g_mutex_unlock(&process->signal_lock);
    timer_release(timer);
    return 0;
}

/* ---- life ---------------------------------------------------------------------------------- */

/* What the monitor was started with, before it routes signals of its own:
 * the program's at its start, as execve keeps them. */
static struct {
    bool taken;
    uint64_t ignored; /* LINUX_SIGNAL_BIT of each signal set to SIG_IGN */
    uint64_t blocked;
} inherited;

static void read_inherited(uint64_t *ignored, uint64_t *blocked)
{
    *ignored = *blocked = 0;
    sigset_t mask;
    bool have_mask = pthread_sigmask(SIG_SETMASK, NULL, &mask) == 0;
    for (int signal = 1; signal <= LINUX_NSIG && signal < NSIG; signal++) {
        if (signal == SIGKILL || signal == SIGSTOP)
            continue;
        struct sigaction host;
        if (signal < SIGRTMIN && sigaction(signal, NULL, &host) == 0 && host.sa_handler == SIG_IGN)
            *ignored |= LINUX_SIGNAL_BIT(signal);
        if (have_mask && sigismember(&mask, signal) == 1)
            *blocked |= LINUX_SIGNAL_BIT(signal);
    }
}

void linux_signal_take_inherited(void)
{
    read_inherited(&inherited.ignored, &inherited.blocked);
    inherited.taken = true;
}

void linux_signal_init(struct linux_process *process)
{
    g_mutex_init(&process->signal_lock);
    /* Signals ignored when the monitor started stay ignored for the program,
     * and blocked ones blocked, as across execve (nohup, a shell's
     * background jobs, a parent's sigprocmask). */
    uint64_t ignored = inherited.ignored, blocked = inherited.blocked;
    if (!inherited.taken)
        read_inherited(&ignored, &blocked);
    for (int signal = 1; signal <= LINUX_NSIG; signal++)
        if (ignored & LINUX_SIGNAL_BIT(signal))
            process->actions[signal].handler = LINUX_SIG_IGN;
    process->main_thread->signal_mask = blocked;
    for (int signal = 0; signal <= LINUX_NSIG; signal++)
        g_queue_init(&process->pending.infos[signal]);
    struct linux_thread *thread = process->main_thread;
    for (int signal = 0; signal <= LINUX_NSIG; signal++)
        g_queue_init(&thread->pending.infos[signal]);
}

void linux_signal_thread_destroy(struct linux_thread *thread)
{
    queue_clear(&thread->pending);
}

/* Around the host fork: no other thread may hold a lock the child needs (the
 * forwarder posting a child's SIGCHLD, a timer's callback, a kick under
 * threads_lock), or the child, where that thread does not exist, waits on it
 * for ever; nor be half-way through the queue the lock guards. */
void linux_signal_fork_prepare(struct linux_process *process)
{
    g_mutex_lock(&process->timer_lock);
    g_mutex_lock(&process->signal_lock);
    g_mutex_lock(&process->threads_lock);
    g_mutex_lock(&timer_table_lock);
}

void linux_signal_fork_done(struct linux_process *process)
{
    g_mutex_unlock(&timer_table_lock);
    g_mutex_unlock(&process->threads_lock);
    g_mutex_unlock(&process->signal_lock);
    g_mutex_unlock(&process->timer_lock);
}

void linux_signal_after_fork_child(struct linux_thread *survivor)
{
    struct linux_process *process = survivor->process;
    /* The child has none of the parent's timers (fork(2)): the host's were
     * not copied either, so the slots are forgotten, not deleted. Kept,
     * setitimer in the child failed on the parent's timer and getitimer
     * read nonsense (4786301 s left). */
    for (int i = 0; i < LINUX_MAX_TIMERS + 3; i++) {
        struct linux_timer *timer = &process->timers[i];
        if (!timer->used && !timer->host_timer)
            continue;
        timer_table_remove(timer);
        *timer = (struct linux_timer){0};
    }
    g_mutex_lock(&process->signal_lock);
    queue_clear(&process->pending);
    queue_clear(&survivor->pending);
    g_mutex_unlock(&process->signal_lock);
}

void linux_signal_destroy(struct linux_process *process)
{
    for (int i = 0; i < LINUX_MAX_TIMERS + 3; i++) {
        if (process->timers[i].used || process->timers[i].host_timer) {
            g_mutex_lock(&process->signal_lock);
            process->timers[i].used = false;
            g_mutex_unlock(&process->signal_lock);
            timer_release(&process->timers[i]);
        }
    }
    /* timer_delete does not wait for a callback already running: one may
     * still be posting (and kicking, under threads_lock) when the program
     * has ended. Every such callback is counted (timer_table_enter); later
     * ones find no timer. */
    while (__atomic_load_n(&process->timer_callbacks, __ATOMIC_SEQ_CST))
        g_usleep(1000);
    queue_clear(&process->pending);
    g_mutex_clear(&process->signal_lock);
}

void linux_register_signal(linux_handler *table)
{
    table[SYS_rt_sigaction] = sys_rt_sigaction;
    table[SYS_rt_sigprocmask] = sys_rt_sigprocmask;
    table[SYS_rt_sigpending] = sys_rt_sigpending;
    table[SYS_rt_sigreturn] = sys_rt_sigreturn;
    table[SYS_rt_sigsuspend] = sys_rt_sigsuspend;
    table[SYS_rt_sigtimedwait] = sys_rt_sigtimedwait;
    table[SYS_rt_sigqueueinfo] = sys_rt_sigqueueinfo;
    table[SYS_pidfd_send_signal] = sys_pidfd_send_signal;
    table[SYS_rt_tgsigqueueinfo] = sys_rt_tgsigqueueinfo;
    table[SYS_sigaltstack] = sys_sigaltstack;
    table[SYS_pause] = sys_pause;
    table[SYS_kill] = sys_kill;
    table[SYS_tkill] = sys_tkill;
    table[SYS_tgkill] = sys_tgkill;
    table[SYS_nanosleep] = sys_nanosleep;
    table[SYS_restart_syscall] = sys_restart_syscall;
    /* The waits end with EINTR when a handler runs. rt_sigreturn returns
     * the interrupted code's rax; restart_syscall with nothing to restart
     * answers EINTR itself, as Linux's do_no_restart_syscall (made a restart
     * code, that call looped for ever; found by the syscall fuzzer). */
    static const int waits[] = {SYS_pause, SYS_rt_sigsuspend, SYS_rt_sigtimedwait};
    for (size_t i = 0; i < G_N_ELEMENTS(waits); i++)
        linux_signal_set_interrupted((uint64_t)waits[i], LINUX_INTERRUPTED_RESTARTNOHAND);
    linux_signal_set_interrupted(SYS_rt_sigreturn, LINUX_INTERRUPTED_FINAL);
    linux_signal_set_interrupted(SYS_restart_syscall, LINUX_INTERRUPTED_FINAL);
    table[SYS_alarm] = sys_alarm;
    table[SYS_setitimer] = sys_setitimer;
    table[SYS_getitimer] = sys_getitimer;
    table[SYS_timer_create] = sys_timer_create;
    table[SYS_timer_settime] = sys_timer_settime;
    table[SYS_timer_gettime] = sys_timer_gettime;
    table[SYS_timer_getoverrun] = sys_timer_getoverrun;
    table[SYS_timer_delete] = sys_timer_delete;
}
