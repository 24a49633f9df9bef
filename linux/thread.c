/*
 * linux/thread.c — threads: clone and clone3 for threads, exit of one
 * thread, gettid, and the list of the program's threads.
 *
 * A thread is created by the monitor (struct linux_thread_host): a vCPU
 * copied from the caller's and a host thread to run it, whose host tid is
 * the new thread's tid. clone without CLONE_VM, or with CLONE_VFORK, makes
 * a new process: fork.c's (its clone hands threads here). clone with
 * CLONE_VM but without CLONE_THREAD makes a process that shares the
 * program's memory: it runs the same way, as one more guest thread of this
 * monitor, with an identity of its own (struct linux_vm_child).
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

/* What makes a thread, and the flags that may come with it. */
#define CLONE_THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define CLONE_THREAD_EXTRAS                                                                        \
    (CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID |                   \
     CLONE_CHILD_SETTID | CLONE_DETACHED | CLONE_PTRACE | CLONE_UNTRACED | CLONE_PARENT |          \
     CLONE_IO | CSIGNAL)
/* What a process sharing memory may be made with (CLONE_FILES required). */
#define CLONE_VM_PROCESS_FLAGS                                                                     \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_PARENT | CLONE_SYSVSEM |            \
     CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID |              \
     CLONE_DETACHED | CLONE_PTRACE | CLONE_UNTRACED | CLONE_IO | CSIGNAL | CLONE_CLEAR_SIGHAND)
#define CLONE_NAMESPACES                                                                           \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |  \
     CLONE_NEWNET | CLONE_NEWTIME)

/* Robust list walks stop here, as Linux's (ROBUST_LIST_LIMIT). */
#define ROBUST_LIST_LIMIT 2048

/* struct clone_args of clone3, as far as this file reads it. */
struct linux_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};
#define CLONE_ARGS_SIZE_VER0 64

/* ---- the thread list -------------------------------------------------------- */

void linux_process_set_thread_host(struct linux_process *process,
                                   const struct linux_thread_host *host)
{
    process->thread_host = *host;
    process->have_thread_host = true;
}

void linux_thread_exclusive(struct linux_thread *thread, bool begin)
{
    struct linux_process *process = thread->process;
    if (process->have_thread_host && process->thread_host.exclusive)
        process->thread_host.exclusive(process->thread_host.opaque, thread, begin);
}

void linux_thread_set_cpu(struct linux_thread *thread, const struct linux_cpu *cpu)
{
    thread->cpu = *cpu;
    thread->has_cpu = true;
}

void linux_thread_set_cpu_opaque(struct linux_thread *thread, void *opaque)
{
    thread->cpu.opaque = opaque;
}

int linux_thread_tid(const struct linux_thread *thread)
{
    return thread->tid;
}

void linux_thread_set_tid(struct linux_thread *thread, int tid)
{
    thread->tid = tid;
}

void linux_thread_set_host_tid(struct linux_thread *thread, int host_tid)
{
    thread->host_tid = host_tid == thread->tid ? 0 : host_tid;
}

void linux_thread_set_host_data(struct linux_thread *thread, void *data)
{
    thread->host_data = data;
}

void *linux_thread_host_data(const struct linux_thread *thread)
{
    return thread->host_data;
}

const char *linux_thread_name(const struct linux_thread *thread)
{
    return thread->comm;
}

/* Writes name into the host's comm file of host thread tid of this process
 * (0: its leader). */
static void write_host_comm(int tid, const char *name)
{
    char path[64];
    if (tid)
        snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
    else
        g_strlcpy(path, "/proc/self/comm", sizeof(path));
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t written = write(fd, name, strlen(name));
    (void)written; /* a name the host refuses only shows less in ps */
    close(fd);
}

void linux_thread_name_host(struct linux_thread *thread, const char *name, bool self)
{
    if (self)
        prctl(PR_SET_NAME, name);
    else if (thread != thread->process->main_thread)
        write_host_comm(thread->tid, name);
    /* The main thread's host thread is a vCPU thread; the host shows the
     * process by its leader, the monitor's main thread. */
    if (thread == thread->process->main_thread)
        write_host_comm(0, name);
}

long linux_thread_take_syscall_value(struct linux_thread *thread)
{
    long value = thread->syscall_value;
    thread->syscall_value = 0;
    return value;
}

void linux_thread_foreach(struct linux_process *process,
                          void (*visit)(struct linux_thread *thread, void *opaque), void *opaque)
{
    g_mutex_lock(&process->threads_lock);
    for (guint i = 0; i < process->threads->len; i++)
        visit(g_ptr_array_index(process->threads, i), opaque);
    g_mutex_unlock(&process->threads_lock);
}

void linux_thread_after_fork(struct linux_thread *survivor)
{
    struct linux_process *process = survivor->process;
    g_mutex_lock(&process->threads_lock);
    g_ptr_array_set_size(process->threads, 0);
    g_ptr_array_add(process->threads, survivor);
    g_mutex_unlock(&process->threads_lock);
    /* The processes sharing the parent's memory stay the parent's. */
    linux_vm_children_free(process);
}

void linux_thread_unlist(struct linux_thread *thread)
{
    struct linux_process *process = thread->process;
    if (thread == process->main_thread)
        return; /* the group's leader stays listed until the process goes */
    g_mutex_lock(&process->threads_lock);
    __atomic_store_n(&thread->exited, true, __ATOMIC_RELEASE);
    g_ptr_array_remove(process->threads, thread);
    g_mutex_unlock(&process->threads_lock);
}

static void vm_child_unref(struct linux_process *process, struct linux_vm_child *child);

void linux_thread_free(struct linux_thread *thread)
{
    if (thread && thread != thread->process->main_thread) {
        if (thread->vm_child)
            vm_child_unref(thread->process, thread->vm_child);
        linux_signal_thread_destroy(thread);
        linux_strace_forget_entry(thread);
        g_free(thread);
    }
}

static int thread_count(struct linux_process *process)
{
    g_mutex_lock(&process->threads_lock);
    int count = (int)process->threads->len;
    g_mutex_unlock(&process->threads_lock);
    return count;
}

struct linux_thread *linux_thread_find_locked(struct linux_process *process, int tid)
{
    for (guint i = 0; process->threads && i < process->threads->len; i++) {
        struct linux_thread *thread = g_ptr_array_index(process->threads, i);
        if (thread->tid == tid)
            return thread;
    }
    return NULL;
}

struct linux_thread *linux_thread_find(struct linux_process *process, int tid)
{
    g_mutex_lock(&process->threads_lock);
    struct linux_thread *found = linux_thread_find_locked(process, tid);
    g_mutex_unlock(&process->threads_lock);
    return found;
}

/* The host thread that runs thread's vCPU: its tid, but for the program's
 * first thread (tid: the pid), run by another host thread. */
static int host_thread(const struct linux_thread *thread)
{
    return thread->host_tid ? thread->host_tid : thread->tid;
}

/* ---- CPU-time clocks ------------------------------------------------------------ */

/* The host CPU clock of the thread tid (0: the caller) when it is a thread of
 * the process tgid: the clock of the host thread running its vCPU. */
static bool thread_cpu_clock(struct linux_thread *caller, int tid, int tgid, int which,
                             clockid_t *host)
{
    struct linux_process *process = caller->process;
    g_mutex_lock(&process->threads_lock);
    const struct linux_thread *thread = tid ? linux_thread_find_locked(process, tid) : caller;
    bool found = thread && linux_thread_tgid(thread) == tgid;
    if (found)
        *host = LINUX_THREAD_CPUCLOCK(host_thread(thread), which);
    g_mutex_unlock(&process->threads_lock);
    return found;
}

long linux_host_clock(struct linux_thread *thread, int32_t clock, bool gettime, clockid_t *host)
{
    *host = clock;
    if (clock >= 0)
        return 0;
    int which = LINUX_CPUCLOCK_WHICH(clock);
    if (which == LINUX_CPUCLOCK_MAX) /* a clock by fd (a host fd!), or no kind */
        return -EINVAL;
    int pid = LINUX_CPUCLOCK_PID(clock);
    int own = linux_thread_tgid(thread);
    if (LINUX_CPUCLOCK_PERTHREAD(clock))
        return thread_cpu_clock(thread, pid, own, which, host) ? 0 : -EINVAL;
    /* A process's: the caller's own by 0, or (reading it) by its tid. */
    if (pid == 0 || (gettime && pid == thread->tid))
        pid = own;
    /* The program's is the host process's; a process sharing its memory
     * has one thread, whose clock is the process's. */
    if (pid == linux_pid()) {
        *host = LINUX_PROCESS_CPUCLOCK(0, which);
        return 0;
    }
    if (linux_vm_child_thread(thread->process, pid))
        return thread_cpu_clock(thread, pid, pid, which, host) ? 0 : -EINVAL;
    /* A thread of the monitor's (the program's, or its own) is no process. */
    if (!linux_is_other_process(pid))
        return -EINVAL;
    *host = LINUX_PROCESS_CPUCLOCK(pid, which);
    return 0;
}

/* Whether tid names a live thread of the program (0: the caller). */
bool linux_is_own_thread(struct linux_process *process, int64_t tid)
{
    return linux_is_self(tid) || linux_thread_find(process, (int)tid);
}

/* ---- processes sharing memory ----------------------------------------------- */

int linux_thread_tgid(const struct linux_thread *thread)
{
    return thread->vm_child ? thread->vm_child->pid : linux_pid();
}

static void release_fs(struct linux_vm_child *child)
{
    if (!child->own_fs)
        return;
    if (child->fs.cwd_fd >= 0)
        close(child->fs.cwd_fd);
    child->fs.cwd_fd = -1;
    linux_fs_set_cwd_virtual(&child->fs, NULL);
}

static void vm_child_free(struct linux_vm_child *child)
{
    release_fs(child);
    g_free(child);
}

/* Its thread (freed after its host thread ended) and the list (until it is
 * reaped) each hold it: a wait may reap it while its thread is still on its
 * way out. */
static void vm_child_unref(struct linux_process *process, struct linux_vm_child *child)
{
    g_mutex_lock(&process->misc_lock);
    bool last = --child->refs == 0;
    g_mutex_unlock(&process->misc_lock);
    if (last)
        vm_child_free(child);
}

/* Taken off the list: reaped. misc_lock held. */
static void vm_child_reap_locked(struct linux_process *process, struct linux_vm_child *child)
{
    g_ptr_array_remove(process->vm_children, child);
    if (--child->refs == 0)
        vm_child_free(child);
}

/* A new one, spawned (its pid is its thread's tid), before it runs. */
static void vm_child_list(struct linux_process *process, struct linux_thread *thread)
{
    struct linux_vm_child *child = thread->vm_child;
    child->pid = thread->tid;
    child->refs = 2;
    g_mutex_lock(&process->misc_lock);
    if (!process->vm_children)
        process->vm_children = g_ptr_array_new();
    g_ptr_array_add(process->vm_children, child);
    g_mutex_unlock(&process->misc_lock);
}

void linux_vm_children_free(struct linux_process *process)
{
    g_mutex_lock(&process->misc_lock);
    while (process->vm_children && process->vm_children->len)
        vm_child_free(g_ptr_array_steal_index(process->vm_children, 0));
    g_mutex_unlock(&process->misc_lock);
}

struct linux_thread *linux_vm_child_thread(struct linux_process *process, int pid)
{
    g_mutex_lock(&process->threads_lock);
    struct linux_thread *thread = linux_thread_find_locked(process, pid);
    if (thread && (!thread->vm_child || thread->vm_child->pid != pid ||
                   __atomic_load_n(&thread->exited, __ATOMIC_ACQUIRE)))
        thread = NULL;
    g_mutex_unlock(&process->threads_lock);
    return thread;
}

bool linux_vm_sharing(struct linux_thread *thread, const char *what)
{
    struct linux_process *process = thread->process;
    bool sharing = thread->vm_child != NULL;
    g_mutex_lock(&process->misc_lock);
    for (guint i = 0; !sharing && process->vm_children && i < process->vm_children->len; i++)
        sharing = !((struct linux_vm_child *)g_ptr_array_index(process->vm_children, i))->ended;
    g_mutex_unlock(&process->misc_lock);
    if (sharing && process->config.verbose)
        fprintf(stderr,
                "hermitux-run: %s refused: a process sharing the program's memory (clone with "
                "CLONE_VM, without CLONE_THREAD) runs in this monitor\n",
                what);
    return sharing;
}

bool linux_vm_child_fatal(struct linux_thread *thread, int signal)
{
    if (!thread->vm_child || signal <= 0)
        return false;
    linux_vm_child_exit(thread, 0, signal);
    return true;
}

bool linux_vm_child_refuses(struct linux_thread *thread, const char *what)
{
    return thread->vm_child && linux_vm_sharing(thread, what);
}

void linux_vm_child_enter(struct linux_thread *thread)
{
    struct linux_vm_child *self = thread->vm_child;
    self->fs_unshared = true;
    if (!self->own_fs)
        return;
    /* The host applies the umask of the calling host thread: this one gets
     * an fs_struct of its own, with the umask the clone copied. */
    if (unshare(CLONE_FS) != 0) {
        if (thread->process->config.verbose)
            fprintf(stderr, "hermitux-run: process %d shares the program's umask: %s\n", self->pid,
                    g_strerror(errno));
        return;
    }
    umask(self->fs.umask);
}

/* Dispositions copied at the clone (no CLONE_SIGHAND); clear: clone3's
 * CLONE_CLEAR_SIGHAND, handlers back to SIG_DFL, as Linux's
 * flush_signal_handlers with force_default false. */
static void copy_actions(struct linux_thread *thread, struct linux_vm_child *child, bool clear)
{
    child->own_actions = true;
    for (int signal = 1; signal <= LINUX_NSIG; signal++) {
        struct linux_kernel_sigaction action = linux_signal_action(thread, signal);
        if (clear)
            action = (struct linux_kernel_sigaction){
                .handler = action.handler == LINUX_SIG_IGN ? LINUX_SIG_IGN : LINUX_SIG_DFL};
        child->actions[signal] = action;
    }
}

/* cwd and umask copied at the clone (no CLONE_FS). */
static long copy_fs(struct linux_thread *thread, struct linux_vm_child *child)
{
    const struct linux_fs *from = linux_fs(thread->process);
    child->own_fs = true;
    char virtual_path[LINUX_PATH_MAX];
    bool virtual_cwd = linux_fs_cwd_virtual(from, virtual_path, sizeof(virtual_path));
    child->fs = *from;
    child->fs.cwd_virtual = virtual_cwd ? g_strdup(virtual_path) : NULL;
    child->fs.cwd_fd = from->cwd_fd >= 0 ? fcntl(from->cwd_fd, F_DUPFD_CLOEXEC, 3) : -1;
    if (from->cwd_fd >= 0 && child->fs.cwd_fd < 0)
        return linux_host_error();
    return 0;
}

/* Why a clone of a process sharing memory cannot be made as Linux makes
 * it, or NULL. */
static const char *vm_process_refusal(const struct linux_thread *thread, uint64_t flags)
{
    const struct linux_vm_child *self = thread->vm_child;
    if (!(flags & CLONE_FILES))
        return "without CLONE_FILES (the program has one fd table)";
    if (flags & ~(uint64_t)(CLONE_VM_PROCESS_FLAGS))
        return "with flags a process sharing memory cannot have here";
    if ((flags & CLONE_PARENT) && !self)
        return "with CLONE_PARENT (the program's parent is outside the monitor)";
    if (self && self->own_actions && (flags & CLONE_SIGHAND))
        return "with CLONE_SIGHAND from a process with dispositions of its own";
    if (self && self->own_fs && (flags & CLONE_FS))
        return "with CLONE_FS from a process with a cwd of its own";
    return NULL;
}

/* Who hears of the end of self: *parent (NULL: the program), and the
 * signal it gets (0: none). True when the parent takes the end without a
 * wait (an orphan: init; Linux's do_notify_parent: SIGCHLD ignored or
 * SA_NOCLDWAIT), so no zombie stays. */
static bool exit_notice(struct linux_thread *thread, const struct linux_vm_child *self,
                        struct linux_thread **parent, int *exit_signal)
{
    struct linux_process *process = thread->process;
    *parent = NULL;
    *exit_signal = 0;
    if (!self->parent_pid)
        return true;
    if (self->parent_pid != linux_pid()) {
        *parent = linux_vm_child_thread(process, self->parent_pid);
        if (!*parent)
            return true;
    }
    *exit_signal = self->exit_signal;
    if (self->exit_signal != SIGCHLD)
        return false;
    struct linux_kernel_sigaction action =
        linux_signal_action(*parent ? *parent : process->main_thread, SIGCHLD);
    if (action.handler == LINUX_SIG_IGN)
        *exit_signal = 0;
    return action.handler == LINUX_SIG_IGN || (action.flags & SA_NOCLDWAIT);
}

static int64_t clock_ticks(const struct timeval *time)
{
    long ticks = sysconf(_SC_CLK_TCK);
    return time->tv_sec * ticks + time->tv_usec * ticks / 1000000;
}

/* The exit signal, with the siginfo of a child's end. */
static void send_exit_signal(struct linux_process *process, const struct linux_vm_child *self,
                             struct linux_thread *parent, int exit_signal, int status, int signal)
{
    if (exit_signal <= 0 || exit_signal > LINUX_NSIG)
        return;
    struct linux_siginfo info = {.signo = exit_signal, .code = signal ? CLD_KILLED : CLD_EXITED};
    info.fields.child.pid = self->pid;
    info.fields.child.uid = (uint32_t)getuid();
    info.fields.child.status = signal ? signal : status & 0xff;
    info.fields.child.utime = clock_ticks(&self->usage.ru_utime);
    info.fields.child.stime = clock_ticks(&self->usage.ru_stime);
    linux_signal_send(process, parent, &info);
}

/* Its children lose their parent: init reaps them (those ended now). */
static void orphan_children_locked(struct linux_process *process, int pid)
{
    for (guint i = 0; process->vm_children && i < process->vm_children->len;) {
        struct linux_vm_child *child = g_ptr_array_index(process->vm_children, i);
        if (child->parent_pid != pid) {
            i++;
        } else if (child->ended) {
            vm_child_reap_locked(process, child);
        } else {
            child->parent_pid = 0;
            i++;
        }
    }
}

static void end_thread(struct linux_thread *thread);

void linux_vm_child_exit(struct linux_thread *thread, int status, int signal)
{
    struct linux_process *process = thread->process;
    struct linux_vm_child *self = thread->vm_child;
    g_mutex_lock(&process->threads_lock);
    g_ptr_array_remove(process->threads, thread);
    g_mutex_unlock(&process->threads_lock);
    end_thread(thread);
    struct rusage usage = {0};
    getrusage(RUSAGE_THREAD, &usage);
    g_mutex_lock(&process->misc_lock);
    self->usage = usage;
    /* No core flag, as for a fork's child (docs/DESIGN.md). */
    self->wait_status = signal ? (signal & 0x7f) : (status & 0xff) << 8;
    release_fs(self);
    orphan_children_locked(process, self->pid);
    g_mutex_unlock(&process->misc_lock);
    /* A zombie (or gone) before its parent hears of it: the parent's wait,
     * woken by the signal, finds it, as Linux does both under one lock. */
    struct linux_thread *parent;
    int exit_signal;
    bool autoreap = exit_notice(thread, self, &parent, &exit_signal);
    struct linux_vm_child notice = *self;
    g_mutex_lock(&process->misc_lock);
    self->ended = true;
    if (autoreap)
        vm_child_reap_locked(process, self); /* its thread's reference keeps it */
    g_mutex_unlock(&process->misc_lock);
    /* Its exit and exit_group are traced after their call's line. */
    if (signal)
        linux_strace_thread_end(thread, 0, signal);
    send_exit_signal(process, &notice, parent, exit_signal, status, signal);
    /* Its parent's wait4 sleeps on the count. */
    __atomic_add_fetch(&process->vm_child_events, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &process->vm_child_events, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Whether a wait of caller_pid with pid and options may take child
 * (kernel/exit.c, eligible_pid and eligible_child). */
static bool wait_eligible(const struct linux_vm_child *child, int caller_pid, int64_t pid,
                          int options)
{
    if (child->parent_pid != caller_pid)
        return false;
    /* Its process group is the monitor's: 0 and -getpgrp() name it. */
    if ((pid > 0 && child->pid != pid) || (pid < -1 && -pid != getpgrp()))
        return false;
    if (options & __WALL)
        return true;
    return (child->exit_signal != SIGCHLD) == ((options & __WCLONE) != 0);
}

long linux_vm_child_wait(struct linux_thread *caller, int64_t pid, int options, bool keep,
                         struct linux_vm_child *found)
{
    struct linux_process *process = caller->process;
    int caller_pid = linux_thread_tgid(caller);
    long result = -ECHILD;
    g_mutex_lock(&process->misc_lock);
    for (guint i = 0; process->vm_children && i < process->vm_children->len; i++) {
        struct linux_vm_child *child = g_ptr_array_index(process->vm_children, i);
        if (!wait_eligible(child, caller_pid, pid, options))
            continue;
        result = 0;
        if (child->ended) {
            *found = *child;
            found->fs.cwd_virtual = NULL;
            if (!keep)
                vm_child_reap_locked(process, child);
            result = 1;
            break;
        }
    }
    g_mutex_unlock(&process->misc_lock);
    return result;
}

/* ---- clone ------------------------------------------------------------------- */

/* Linux's EINVAL cases for flag combinations, before anything else. */
static long check_clone_flags(uint64_t flags)
{
    if ((flags & (CLONE_NEWNS | CLONE_FS)) == (CLONE_NEWNS | CLONE_FS) ||
        (flags & (CLONE_NEWUSER | CLONE_FS)) == (CLONE_NEWUSER | CLONE_FS))
        return -EINVAL;
    if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
        return -EINVAL;
    if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
        return -EINVAL;
    if ((flags & CLONE_THREAD) && (flags & (CLONE_NEWUSER | CLONE_NEWPID | CLONE_PIDFD)))
        return -EINVAL;
    return 0;
}

static struct linux_thread *new_thread(struct linux_thread *parent, uint64_t flags,
                                       uint64_t child_tid)
{
    struct linux_thread *child = g_new0(struct linux_thread, 1);
    child->process = parent->process;
    child->signal_mask = parent->signal_mask;
    child->altstack_flags = SS_DISABLE; /* Linux clears it for CLONE_VM */
    child->fs_base = parent->fs_base;
    child->gs_base = parent->gs_base;
    memcpy(child->comm, parent->comm, sizeof(child->comm));
    child->sched_policy = __atomic_load_n(&parent->sched_policy, __ATOMIC_RELAXED);
    if (flags & CLONE_CHILD_CLEARTID)
        child->clear_child_tid = child_tid;
    return child;
}

/* Runs child, made by the caller: its vCPU and host thread, its tid, the
 * ids clone writes; the child's result of clone is 0. Frees child on
 * failure. */
static long start_child(struct linux_thread *thread, struct linux_thread *child, uint64_t flags,
                        uint64_t stack, uint64_t parent_tid, uint64_t child_tid, uint64_t tls)
{
    struct linux_process *process = thread->process;
    const struct linux_thread_host *host = &process->thread_host;
    struct linux_clone_request request = {
        .stack = stack, .set_tls = (flags & CLONE_SETTLS) != 0, .tls = tls};
    long result = -EAGAIN;
    if (process->have_thread_host &&
        (host->max_threads <= 0 || thread_count(process) < host->max_threads)) {
        /* The new vCPU's own pages go into the map. */
        g_mutex_lock(&process->mm_lock);
        result = host->spawn(host->opaque, thread, child, &request);
        g_mutex_unlock(&process->mm_lock);
    }
    if (result < 0) {
        if (child->vm_child)
            vm_child_free(child->vm_child);
        g_free(child);
        return result;
    }
    if (child->vm_child)
        vm_child_list(process, child);
    g_mutex_lock(&process->threads_lock);
    g_ptr_array_add(process->threads, child);
    g_mutex_unlock(&process->threads_lock);
    /* Both before the child runs, as Linux does (a failed write is ignored
     * there too). */
    int32_t tid = child->tid;
    if (flags & CLONE_PARENT_SETTID)
        (void)linux_copy_out(process, parent_tid, &tid, sizeof(tid));
    if (flags & CLONE_CHILD_SETTID)
        (void)linux_copy_out(process, child_tid, &tid, sizeof(tid));
    /* The child may run, end and be freed as soon as it starts. */
    host->start(host->opaque, child);
    return (long)tid;
}

/* A process sharing the caller's memory (CLONE_VM without CLONE_THREAD):
 * a thread of this monitor with an identity, and whatever the flags do not
 * share, of its own. */
static long clone_vm_process(struct linux_thread *thread, uint64_t flags, uint64_t stack,
                             uint64_t parent_tid, uint64_t child_tid, uint64_t tls)
{
    struct linux_process *process = thread->process;
    const char *refusal = vm_process_refusal(thread, flags);
    if (refusal) {
        if (process->config.verbose)
            fprintf(stderr, "hermitux-run: clone (flags %#" G_GINT64_MODIFIER "x) %s\n", flags,
                    refusal);
        return linux_sys_unsupported(process, SYS_clone);
    }
    struct linux_vm_child *vm = g_new0(struct linux_vm_child, 1);
    vm->exit_signal = (int)(flags & CSIGNAL);
    vm->parent_pid =
        (flags & CLONE_PARENT) ? thread->vm_child->parent_pid : linux_thread_tgid(thread);
    vm->fs.cwd_fd = -1;
    if (!(flags & CLONE_SIGHAND))
        copy_actions(thread, vm, (flags & CLONE_CLEAR_SIGHAND) != 0);
    long error = (flags & CLONE_FS) ? 0 : copy_fs(thread, vm);
    if (error < 0) {
        vm_child_free(vm);
        return error;
    }
    struct linux_thread *child = new_thread(thread, flags, child_tid);
    child->vm_child = vm;
    /* As strace -f: once there are two processes, lines name theirs. */
    process->strace_prefix = true;
    return start_child(thread, child, flags, stack, parent_tid, child_tid, tls);
}

static long clone_thread(struct linux_thread *thread, uint64_t flags, uint64_t stack,
                         uint64_t parent_tid, uint64_t child_tid, uint64_t tls)
{
    struct linux_process *process = thread->process;
    if ((flags & CLONE_VM) && !(flags & CLONE_THREAD))
        return clone_vm_process(thread, flags, stack, parent_tid, child_tid, tls);
    if ((flags & CLONE_THREAD_FLAGS) != CLONE_THREAD_FLAGS ||
        (flags & ~(uint64_t)(CLONE_THREAD_FLAGS | CLONE_THREAD_EXTRAS)))
        /* A new process (no CLONE_VM), or a thread with its own fd table or
         * fs: not done here. */
        return linux_sys_unsupported(process, SYS_clone);
    /* A process sharing memory has one thread: its exit and exit_group
     * would have to end a group of its own. */
    if (linux_vm_child_refuses(thread, "a thread (CLONE_THREAD)"))
        return linux_sys_unsupported(process, SYS_clone);
    return start_child(thread, new_thread(thread, flags, child_tid), flags, stack, parent_tid,
                       child_tid, tls);
}

/* clone(flags, stack, parent_tid, child_tid, tls), x86-64's argument order,
 * with CLONE_VM and without CLONE_VFORK (fork.c's clone hands those here). */
long linux_clone_thread(struct linux_thread *thread, const uint64_t *args)
{
    /* The legacy call takes 32 bits of flags (Linux: lower_32_bits). */
    uint64_t flags = (uint32_t)args[0];
    long result = check_clone_flags(flags);
    if (result < 0)
        return result;
    if ((flags & CLONE_PIDFD) && (flags & CLONE_PARENT_SETTID))
        return -EINVAL; /* the legacy call shares one pointer for both */
    return clone_thread(thread, flags, args[1], args[2], args[3], args[4]);
}

static long sys_clone3(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t size = args[1];
    if (size < CLONE_ARGS_SIZE_VER0)
        return -EINVAL;
    if (size > GUEST_PAGE_SIZE)
        return -E2BIG;
    struct linux_clone_args clone = {0};
    uint64_t known = MIN(size, sizeof(clone));
    if (linux_copy_in(process, args[0], &clone, known))
        return -EFAULT;
    /* Fields this kernel does not know must be zero (Linux: E2BIG). */
    for (uint64_t offset = known; offset < size; offset++) {
        uint8_t byte;
        if (linux_copy_in(process, args[0] + offset, &byte, 1))
            return -EFAULT;
        if (byte)
            return -E2BIG;
    }
    if ((clone.flags & CSIGNAL) || clone.exit_signal > LINUX_NSIG ||
        ((clone.flags & (CLONE_THREAD | CLONE_PARENT)) && clone.exit_signal) ||
        (clone.stack == 0) != (clone.stack_size == 0) || clone.set_tid || clone.set_tid_size)
        return -EINVAL;
    long result = check_clone_flags(clone.flags);
    if (result < 0)
        return result;
    if ((clone.flags & (CLONE_CLEAR_SIGHAND | CLONE_SIGHAND)) ==
        (CLONE_CLEAR_SIGHAND | CLONE_SIGHAND))
        return -EINVAL;
    uint64_t stack = clone.stack ? clone.stack + clone.stack_size : 0;
    /* The exit signal where the legacy call has it (validated above). */
    if (!(clone.flags & CLONE_VM) || (clone.flags & CLONE_VFORK))
        return linux_clone_process(thread, clone.flags | clone.exit_signal, stack, clone.parent_tid,
                                   clone.child_tid, clone.tls, clone.pidfd);
    return clone_thread(thread, clone.flags | clone.exit_signal, stack, clone.parent_tid,
                        clone.child_tid, clone.tls);
}

/* ---- the end of a thread ---------------------------------------------------- */

/* What Linux's exit_robust_list does: every lock on the thread's robust
 * list, and the one it was taking, is marked as abandoned. Once, as a task
 * exits once: the list is forgotten. */
static void walk_robust_list(struct linux_thread *thread)
{
    struct linux_process *process = thread->process;
    struct {
        uint64_t next;
        int64_t futex_offset;
        uint64_t pending;
    } head;
    uint64_t list = __atomic_exchange_n(&thread->robust_list_head, 0, __ATOMIC_ACQ_REL);
    if (!list || linux_copy_in(process, list, &head, sizeof(head)))
        return;
    uint64_t entry = head.next & ~1ULL;
    for (int i = 0; i < ROBUST_LIST_LIMIT && entry != list; i++) {
        uint64_t next;
        if (linux_copy_in(process, entry, &next, sizeof(next)))
            return;
        if (entry != (head.pending & ~1ULL))
            linux_futex_owner_died(process, entry + (uint64_t)head.futex_offset, thread->tid);
        entry = next & ~1ULL;
    }
    if (head.pending & ~1ULL)
        linux_futex_owner_died(process, (head.pending & ~1ULL) + (uint64_t)head.futex_offset,
                               thread->tid);
}

void linux_thread_exit_robust_list(struct linux_thread *thread)
{
    linux_thread_exclusive(thread, true);
    walk_robust_list(thread);
    linux_thread_exclusive(thread, false);
}

static void walk_robust_list_of(struct linux_thread *thread, void *opaque)
{
    (void)opaque;
    walk_robust_list(thread);
}

void linux_thread_exec_robust_lists(struct linux_thread *thread)
{
    linux_thread_exclusive(thread, true);
    linux_thread_foreach(thread->process, walk_robust_list_of, NULL);
    linux_thread_exclusive(thread, false);
}

/* A thread ends, unlisted already: what Linux's exit does for the others. */
static void end_thread(struct linux_thread *thread)
{
    struct linux_process *process = thread->process;
    /* Exiting before its joiners wake, as Linux marks a task PF_EXITING
     * before it clears its tid: a signal sent once a join returned goes to a
     * thread that is left. */
    __atomic_store_n(&thread->exited, true, __ATOMIC_RELEASE);
    /* Both words are often locks the other threads are taking right now
     * (musl's clear_child_tid is its thread-list lock): on tcg a store made
     * while an engine is between the load and the store of its `lock
     * cmpxchg` was lost, and the lock stayed held by this ended thread. */
    linux_thread_exclusive(thread, true);
    walk_robust_list(thread);
    uint32_t zero = 0;
    bool cleared = thread->clear_child_tid &&
                   linux_copy_out(process, thread->clear_child_tid, &zero, sizeof(zero)) == 0;
    linux_thread_exclusive(thread, false);
    if (cleared)
        linux_futex_wake(process, thread->clear_child_tid, 1);
}

/* Whether the program has a live thread besides thread (a process sharing
 * its memory is not one of them). threads_lock held. */
static bool other_program_thread_locked(struct linux_process *process,
                                        const struct linux_thread *thread)
{
    for (guint i = 0; i < process->threads->len; i++) {
        const struct linux_thread *other = g_ptr_array_index(process->threads, i);
        if (other != thread && !other->vm_child)
            return true;
    }
    return false;
}

/* exit: the thread ends; the program with its last thread. A process
 * sharing memory has one thread: it ends. */
static long sys_exit(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (thread->vm_child) {
        linux_vm_child_exit(thread, (int)args[0], 0);
        return 0;
    }
    g_mutex_lock(&process->threads_lock);
    bool last = !other_program_thread_locked(process, thread);
    if (!last)
        g_ptr_array_remove(process->threads, thread);
    g_mutex_unlock(&process->threads_lock);
    /* The program ends with its last thread, processes sharing its memory
     * or not (those end with it here, see docs/DESIGN.md). */
    if (last) {
        linux_process_exit(process, (int)args[0], 0);
        return 0;
    }
    const struct linux_debug_hooks *hooks = &process->debug_hooks;
    if (hooks->thread_exited)
        hooks->thread_exited(hooks->opaque, thread);
    end_thread(thread);
    return 0;
}

/* ---- CPU affinity -------------------------------------------------------------- */

/* Linux's cpumask is at most 8192 CPUs (1 KiB); a longer buffer is read or
 * written only that far by the host, so more is never needed. */
#define AFFINITY_MAX_BYTES 8192

long linux_thread_host_call(struct linux_thread *thread, long number, long args[4], int tid_index)
{
    struct linux_process *process = thread->process;
    int32_t tid = (int32_t)args[tid_index];
    g_mutex_lock(&process->threads_lock);
    const struct linux_thread *target = tid == 0 ? thread : linux_thread_find_locked(process, tid);
    long result = 0;
    if (target) { /* under the lock: its host thread stays alive */
        args[tid_index] = host_thread(target);
        result = syscall(number, args[0], args[1], args[2], args[3]);
    }
    g_mutex_unlock(&process->threads_lock);
    if (!target) {
        if (!linux_is_other_process(tid))
            return -ESRCH;
        result = syscall(number, args[0], args[1], args[2], args[3]);
    }
    return linux_host_result(result);
}

/*
 * sched_setaffinity or sched_getaffinity (number) of tid, as the host's
 * call on the host thread that runs it (linux_thread_host_call), so the
 * mask applies there and the host's threads, forks and execve inherit it
 * as Linux's do. The host's answer, Linux's: EINVAL for a mask with no
 * online CPU, the size of the mask for a get.
 */
static long affinity_call(struct linux_thread *thread, int32_t tid, long number, size_t length,
                          uint8_t *mask)
{
    long args[4] = {tid, (long)length, (long)mask, 0};
    return linux_thread_host_call(thread, number, args, 0);
}

static long sys_sched_setaffinity(struct linux_thread *thread, const uint64_t *args)
{
    size_t length = (size_t)MIN(args[1], AFFINITY_MAX_BYTES);
    uint8_t *mask = g_malloc0(MAX(length, 1));
    long result =
        linux_copy_in(thread->process, args[2], mask, length)
            ? -EFAULT
            : affinity_call(thread, (int32_t)args[0], SYS_sched_setaffinity, length, mask);
    g_free(mask);
    return result;
}

static long sys_sched_getaffinity(struct linux_thread *thread, const uint64_t *args)
{
    size_t length = (size_t)MIN(args[1], AFFINITY_MAX_BYTES);
    uint8_t *mask = g_malloc0(MAX(length, 1));
    /* Linux refuses a length too short for its CPUs, or not a multiple of a
     * long, before it looks for the thread (EINVAL, not ESRCH): the host's
     * kernel judges the length on the calling thread. */
    long result =
        syscall(SYS_sched_getaffinity, 0, length, mask) < 0 && errno == EINVAL
            ? -EINVAL
            : affinity_call(thread, (int32_t)args[0], SYS_sched_getaffinity, length, mask);
    if (result > 0 && linux_copy_out(thread->process, args[2], mask, (size_t)result))
        result = -EFAULT;
    g_free(mask);
    return result;
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
/* What unshare knows (Linux's check_unshare_flags), and which of it is a
 * namespace. */
#define UNSHARE_NAMESPACES                                                                         \
    (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER | CLONE_NEWPID |     \
     CLONE_NEWCGROUP | CLONE_NEWTIME)
#define UNSHARE_KNOWN                                                                              \
    (CLONE_THREAD | CLONE_FS | CLONE_SIGHAND | CLONE_VM | CLONE_FILES | CLONE_SYSVSEM |            \
     UNSHARE_NAMESPACES)

/*
 * unshare: what a process shares with no one needs no unsharing, as in
 * Linux: with one thread, its files, fs (cwd, umask, root), signal handlers,
 * memory and SysV undo list are already its own, so those flags succeed
 * and change nothing. With several threads they share one table here (the
 * personality keeps them per process), so CLONE_FILES, CLONE_FS and
 * CLONE_SYSVSEM are EINVAL, and CLONE_THREAD, CLONE_SIGHAND and CLONE_VM
 * are EINVAL as on Linux. Namespaces are EPERM, what Linux answers without
 * CAP_SYS_ADMIN (or a container's seccomp profile): the VM has one of
 * each. Refusals other than Linux's own are logged with -v.
 */
static long sys_unshare(struct linux_thread *thread, const uint64_t *args)
{
    uint64_t flags = args[0];
    if (flags & ~(uint64_t)UNSHARE_KNOWN)
        return -EINVAL;
    if (flags & UNSHARE_NAMESPACES) {
        (void)linux_sys_unsupported(thread->process, SYS_unshare);
        return -EPERM;
    }
    if (thread_count(thread->process) <= 1)
        return 0;
    if (flags & (CLONE_FILES | CLONE_FS | CLONE_SYSVSEM))
        (void)linux_sys_unsupported(thread->process, SYS_unshare);
    return flags ? -EINVAL : 0;
}

void linux_register_thread(linux_handler *table)
{
    table[SYS_unshare] = sys_unshare;
    table[SYS_clone3] = sys_clone3;
    table[SYS_exit] = sys_exit;
    table[SYS_sched_getaffinity] = sys_sched_getaffinity;
    table[SYS_sched_setaffinity] = sys_sched_setaffinity;
}
