/*
 * linux/thread.c — threads: clone and clone3 for threads, exit of one
 * thread, gettid, and the list of the program's threads.
 *
 * A thread is created by the monitor (struct linux_thread_host): a vCPU
 * copied from the caller's and a host thread to run it, whose host tid is
 * the new thread's tid. clone without CLONE_VM, or with CLONE_VFORK, makes
 * a new process: fork.c's (its clone hands threads here).
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* What makes a thread, and the flags that may come with it. */
#define CLONE_THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define CLONE_THREAD_EXTRAS                                                                        \
    (CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID |                   \
     CLONE_CHILD_SETTID | CLONE_DETACHED | CLONE_PTRACE | CLONE_UNTRACED | CLONE_PARENT |          \
     CLONE_IO | CSIGNAL)
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

void linux_thread_free(struct linux_thread *thread)
{
    if (thread && thread != thread->process->main_thread) {
        linux_signal_thread_destroy(thread);
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

/* Whether tid names a live thread of the program (0: the caller). */
static bool is_own_thread(struct linux_process *process, int64_t tid)
{
    return tid == 0 || tid == linux_pid() || linux_thread_find(process, (int)tid);
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

static long clone_thread(struct linux_thread *thread, uint64_t flags, uint64_t stack,
                         uint64_t parent_tid, uint64_t child_tid, uint64_t tls)
{
    struct linux_process *process = thread->process;
    if ((flags & CLONE_THREAD_FLAGS) != CLONE_THREAD_FLAGS ||
        (flags & ~(uint64_t)(CLONE_THREAD_FLAGS | CLONE_THREAD_EXTRAS)))
        /* A new process (no CLONE_VM or CLONE_THREAD), or a thread with its
         * own fd table or fs: not done here. */
        return linux_sys_unsupported(process, SYS_clone);
    const struct linux_thread_host *host = &process->thread_host;
    if (!process->have_thread_host ||
        (host->max_threads > 0 && thread_count(process) >= host->max_threads))
        return -EAGAIN;

    struct linux_thread *child = new_thread(thread, flags, child_tid);
    struct linux_clone_request request = {
        .stack = stack, .set_tls = (flags & CLONE_SETTLS) != 0, .tls = tls};
    /* The new vCPU's own pages go into the map. */
    g_mutex_lock(&process->mm_lock);
    int result = host->spawn(host->opaque, thread, child, &request);
    g_mutex_unlock(&process->mm_lock);
    if (result < 0) {
        g_free(child);
        return result;
    }
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

/* clone(flags, stack, parent_tid, child_tid, tls), x86-64's argument order,
 * with CLONE_VM and without CLONE_VFORK (fork.c's clone hands those here). */
long linux_clone_thread(struct linux_thread *thread, const uint64_t *args)
{
    uint64_t flags = args[0];
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
    uint64_t stack = clone.stack ? clone.stack + clone.stack_size : 0;
    return clone_thread(thread, clone.flags, stack, clone.parent_tid, clone.child_tid, clone.tls);
}

/* ---- the end of a thread ---------------------------------------------------- */

/* What Linux's exit_robust_list does: every lock on the thread's robust
 * list, and the one it was taking, is marked as abandoned. */
static void walk_robust_list(struct linux_thread *thread)
{
    struct linux_process *process = thread->process;
    struct {
        uint64_t next;
        int64_t futex_offset;
        uint64_t pending;
    } head;
    if (!thread->robust_list_head ||
        linux_copy_in(process, thread->robust_list_head, &head, sizeof(head)))
        return;
    uint64_t entry = head.next & ~1ULL;
    for (int i = 0; i < ROBUST_LIST_LIMIT && entry != thread->robust_list_head; i++) {
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

/* exit: the thread ends; the program with its last thread. */
static long sys_exit(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    g_mutex_lock(&process->threads_lock);
    bool last = process->threads->len <= 1;
    if (!last)
        g_ptr_array_remove(process->threads, thread);
    g_mutex_unlock(&process->threads_lock);
    if (last) {
        linux_process_exit(process, (int)args[0], 0);
        return 0;
    }
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
    return 0;
}

/* The host CPUs the monitor may run on: one vCPU per thread goes on any. */
static long sys_sched_getaffinity(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (!is_own_thread(process, (int32_t)args[0]))
        return -ESRCH;
    uint64_t length = MIN(args[1], 8192);
    uint8_t *mask = g_malloc0(MAX(length, 1));
    long result = syscall(SYS_sched_getaffinity, 0, length, mask);
    if (result < 0)
        result = linux_host_error();
    else if (linux_copy_out(process, args[2], mask, (size_t)result))
        result = -EFAULT;
    g_free(mask);
    return result;
}

void linux_register_thread(linux_handler *table)
{
    table[SYS_clone3] = sys_clone3;
    table[SYS_exit] = sys_exit;
    table[SYS_sched_getaffinity] = sys_sched_getaffinity;
}
