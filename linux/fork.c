/*
 * linux/fork.c — processes: fork, vfork and clone without CLONE_VM, the wait
 * family, process identity, process groups and sessions, credentials.
 *
 * A guest process is a host process: fork is a host fork of the monitor
 * (the monitor rebuilds its VM in the child, see struct linux_host), so the
 * guest pid is the monitor's host pid and the wait family, reparenting,
 * zombies, process groups and sessions are the host's own.
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <grp.h>
#include <linux/futex.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

int linux_pid(void)
{
    return (int)getpid();
}

bool linux_is_self(int64_t pid)
{
    return pid == 0 || pid == linux_pid();
}

bool linux_is_other_process(int64_t pid)
{
    if (pid <= 0 || pid > INT32_MAX || pid == linux_pid())
        return false;
    /* tgkill with no signal: is it a thread of this host process? */
    return syscall(SYS_tgkill, getpid(), (pid_t)pid, 0) != 0;
}

/* ---- fork ------------------------------------------------------------------- */

/* The child's side of a fork, before it returns to the program: its own
 * identity. A process that is itself a vfork child keeps its parent waiting
 * through inherited_vfork_fd: its own child must not hold that up. */
static void child_after_fork(struct linux_thread *thread, int inherited_vfork_fd)
{
    thread->tid = linux_pid();
    thread->host_tid = 0; /* the forking host thread, the child's first */
    linux_signal_after_fork_child(thread);
    linux_fd_table_after_fork(thread->process);
    linux_proc_serve_after_fork(thread->process);
    if (inherited_vfork_fd >= 0)
        close(inherited_vfork_fd);
}

/*
 * vfork: the parent sleeps until the child has called execve or exited. The
 * child holds the write end of a close-on-exec pipe; the host closes it at
 * either event, and the parent's read returns then.
 *
 * The child has a copy of the memory, not the parent's: what it writes is
 * lost, where Linux's vfork child writes the parent's own memory. What
 * programs rely on lies in the parent's stack above its rsp (glibc's
 * posix_spawn puts the failed exec's errno there; a vfork child may set the
 * caller's locals), so an exiting child sends back what it changed in that
 * range, at most VFORK_SHARE_MAX, through the pipe: runs of {start, length}
 * then the bytes, ended by a {0, 0}. Only the bytes it changed: the parent's
 * other threads run meanwhile, and a worker's range reaches into its
 * thread descriptor (musl puts it above the stack), which they update; the
 * whole range written back undid that (musl's pthread_exit then crashed,
 * 1 run in 5 of a vfork from a worker).
 */
#define VFORK_SHARE_MAX (256 * 1024)

struct vfork_share {
    uint64_t start, length;
};

static void wait_for_vfork_child(struct linux_process *process, int read_fd)
{
    struct vfork_share share;
    uint8_t *bytes = g_malloc(VFORK_SHARE_MAX);
    while (linux_host_read_all(read_fd, &share, sizeof(share)) && share.length &&
           share.length <= VFORK_SHARE_MAX && linux_host_read_all(read_fd, bytes, share.length))
        linux_copy_out(process, share.start, bytes, share.length);
    g_free(bytes);
    char byte;
    while (read(read_fd, &byte, 1) < 0 && errno == EINTR)
        ;
    close(read_fd);
}

void linux_vfork_child_exit(struct linux_process *process)
{
    int fd = process->vfork_done_fd;
    if (fd < 0)
        return;
    process->vfork_done_fd = -1;
    uint64_t length = process->vfork_share_end - process->vfork_share_start;
    uint8_t *now = g_malloc(length ? length : 1);
    const uint8_t *before = process->vfork_share_before;
    if (before && linux_copy_in(process, process->vfork_share_start, now, length) == 0) {
        sigset_t old_mask;
        linux_pipe_guard_begin(&old_mask);
        bool sent = true;
        for (uint64_t at = 0; at < length && sent;) {
            if (now[at] == before[at]) {
                at++;
                continue;
            }
            uint64_t end = at;
            while (end < length && now[end] != before[end])
                end++;
            struct vfork_share run = {process->vfork_share_start + at, end - at};
            sent = linux_host_write_all(fd, &run, sizeof(run)) &&
                   linux_host_write_all(fd, now + at, end - at);
            at = end;
        }
        struct vfork_share last = {0, 0};
        if (sent)
            linux_host_write_all(fd, &last, sizeof(last));
        linux_pipe_guard_end(&old_mask);
    }
    g_free(now);
    g_free(process->vfork_share_before);
    process->vfork_share_before = NULL;
    close(fd);
}

/* In the vfork child, before it runs: the range as the parent left it. */
static void vfork_share_snapshot(struct linux_process *process)
{
    uint64_t length = process->vfork_share_end - process->vfork_share_start;
    g_free(process->vfork_share_before);
    process->vfork_share_before = g_malloc(length ? length : 1);
    if (linux_copy_in(process, process->vfork_share_start, process->vfork_share_before, length)) {
        g_free(process->vfork_share_before);
        process->vfork_share_before = NULL;
    }
}

/* The range a vfork child hands back: the parent's stack from rsp up. */
static void vfork_share_range(struct linux_thread *thread)
{
    struct linux_process *process = thread->process;
    process->vfork_share_start = process->vfork_share_end = 0;
    struct linux_regs regs;
    if (!thread->has_cpu || !thread->cpu.get_regs ||
        thread->cpu.get_regs(thread->cpu.opaque, &regs) < 0)
        return;
    g_mutex_lock(&process->mm_lock);
    const struct guest_region *region = guest_region_lookup(process->memory, regs.rsp);
    if (region) {
        process->vfork_share_start = regs.rsp;
        process->vfork_share_end = MIN(region->end, regs.rsp + VFORK_SHARE_MAX);
    }
    g_mutex_unlock(&process->mm_lock);
}

/*
 * The copy of the process: flags are clone's (exit signal in the low byte).
 * stack is the child's rsp (0: the parent's). Returns as fork() does, on
 * the parent's and on the child's side.
 */
static long fork_process(struct linux_thread *thread, uint64_t flags, uint64_t stack)
{
    struct linux_process *process = thread->process;
    const struct linux_host *host = &process->config.host;
    /* The host fork copies the monitor, whose memory is the program's: a
     * process sharing it has none of its own to copy. */
    if (!host->fork || linux_vm_child_refuses(thread, "fork"))
        return linux_sys_unsupported(process, SYS_fork);
    int vfork_pipe[2] = {-1, -1};
    if ((flags & CLONE_VFORK) && pipe2(vfork_pipe, O_CLOEXEC) != 0)
        return linux_host_error();
    if (flags & CLONE_VFORK)
        vfork_share_range(thread);
    /* Every lock of the personality is held across the host fork (in the
     * order the other paths take them), so the child's copies are free and
     * what they guard whole: another thread inside mmap or exiting at that
     * instant left the child a lock nobody would ever release. */
    linux_peer_server_hold(process->peer_server); /* it takes the locks below */
    g_mutex_lock(&process->mm_lock);
    guest_memory_lock(process->memory); /* first touches take no mm_lock */
    g_mutex_lock(&process->fd_lock);
    linux_signal_fork_prepare(process);
    g_mutex_lock(&process->misc_lock);
    long pid = host->fork(host->opaque, stack);
    g_mutex_unlock(&process->misc_lock);
    linux_signal_fork_done(process);
    g_mutex_unlock(&process->fd_lock);
    guest_memory_unlock(process->memory, pid == 0);
    g_mutex_unlock(&process->mm_lock);
    if (pid != 0)
        linux_peer_server_release(process->peer_server);
    /* As strace -f: once there are two processes, lines name theirs. */
    if (pid >= 0)
        process->strace_prefix = true;
    if (pid == 0) {
        child_after_fork(thread, process->vfork_done_fd);
        process->vfork_done_fd = vfork_pipe[1];
        if (vfork_pipe[1] >= 0)
            vfork_share_snapshot(process);
        if (vfork_pipe[0] >= 0)
            close(vfork_pipe[0]);
        return 0;
    }
    if (vfork_pipe[1] >= 0)
        close(vfork_pipe[1]);
    if (pid < 0) {
        if (vfork_pipe[0] >= 0)
            close(vfork_pipe[0]);
        return pid;
    }
    /* A debugger hears of the child (gdb's fork/vfork events). */
    const struct linux_debug_hooks *hooks = &process->debug_hooks;
    if (hooks->forked)
        hooks->forked(hooks->opaque, thread, (int)pid, vfork_pipe[0] >= 0);
    if (vfork_pipe[0] >= 0) {
        wait_for_vfork_child(process, vfork_pipe[0]);
        if (hooks->vfork_done)
            hooks->vfork_done(hooks->opaque, thread);
    }
    return pid;
}

static long sys_fork(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    return fork_process(thread, SIGCHLD, 0);
}

/* vfork runs as a fork (the child gets a copy, not the parent's memory), and
 * the parent waits, as Linux makes it, until the child execs or exits. */
static long sys_vfork(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    return fork_process(thread, CLONE_VFORK | SIGCHLD, 0);
}

/* Flags a host process copy can honour, or that change nothing here. */
#define CLONE_PROCESS_FLAGS                                                                        \
    (0xffULL | CLONE_VFORK | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID |     \
     CLONE_SETTLS | CLONE_SYSVSEM | CLONE_PTRACE | CLONE_UNTRACED | CLONE_IO)

/*
 * clone: without CLONE_VM, a fork; CLONE_VM together with CLONE_VFORK (what
 * posix_spawn does in glibc and musl: the child only execs or exits) runs as
 * a vfork with the child on its own stack. CLONE_VM alone makes a thread.
 */
long linux_clone_process(struct linux_thread *thread, uint64_t flags, uint64_t stack,
                         uint64_t parent_tid, uint64_t child_tid, uint64_t tls,
                         uint64_t pidfd_address)
{
    struct linux_process *process = thread->process;
    if (flags & ~(CLONE_PROCESS_FLAGS | CLONE_VM | CLONE_PIDFD)) {
        if (process->config.verbose)
            fprintf(stderr, "hermitux-run: clone flags %#" G_GINT64_MODIFIER "x unsupported\n",
                    (uint64_t)(flags & ~(CLONE_PROCESS_FLAGS | CLONE_VM | CLONE_PIDFD)));
        return -EINVAL;
    }
    if ((flags & 0xff) != SIGCHLD && (flags & 0xff) != 0 && process->config.verbose)
        fprintf(stderr, "hermitux-run: clone exit signal %d: the child signals SIGCHLD\n",
                (int)(flags & 0xff));
    /* Linux stores the pidfd before the child exists: a place it cannot
     * write fails the call with no child made. */
    int32_t pidfd = -1;
    if ((flags & CLONE_PIDFD) && linux_copy_out(process, pidfd_address, &pidfd, sizeof(pidfd)))
        return -EFAULT;
    long pid = fork_process(thread, flags, stack);
    if (pid < 0)
        return pid;
    if (pid > 0) {
        int32_t value = (int32_t)pid;
        /* Linux too returns the pid when this write faults. */
        if (flags & CLONE_PARENT_SETTID)
            (void)linux_copy_out(process, parent_tid, &value, sizeof(value));
        /* The child is a host process whose end only this process reaps:
         * its pidfd can be had now. */
        int host_fd;
        if ((flags & CLONE_PIDFD) && linux_pidfd_open_host(process, value, 0, &host_fd) == 0) {
            long fd = linux_fd_install(process, host_fd, 0, true);
            if (fd < 0)
                close(host_fd);
            pidfd = (int32_t)fd;
        }
        if (flags & CLONE_PIDFD)
            (void)linux_copy_out(process, pidfd_address, &pidfd, sizeof(pidfd));
        return pid;
    }
    int32_t self = linux_pid();
    /* The child has no robust list until it sets one (Linux's
     * copy_process): the parent's locks are not its own. */
    thread->robust_list_head = 0;
    if (flags & CLONE_SETTLS) {
        thread->fs_base = tls;
        if (thread->has_cpu)
            thread->cpu.set_fs_base(thread->cpu.opaque, tls);
    }
    if (flags & CLONE_CHILD_SETTID)
        (void)linux_copy_out(process, child_tid, &self, sizeof(self));
    if (flags & CLONE_CHILD_CLEARTID)
        thread->clear_child_tid = child_tid;
    return 0;
}

static long sys_clone(struct linux_thread *thread, const uint64_t *args)
{
    uint64_t flags = args[0];
    if ((flags & CLONE_VM) && !(flags & CLONE_VFORK))
        return linux_clone_thread(thread, args);
    /* The legacy call stores the pidfd where parent_tid points: not both. */
    if ((flags & CLONE_PIDFD) && (flags & CLONE_PARENT_SETTID))
        return -EINVAL;
    return linux_clone_process(thread, flags, args[1], args[2], args[3], args[4], args[2]);
}

/* ---- the wait family ---------------------------------------------------------- */

#define WAIT4_OPTIONS (WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL)

/* Until a process sharing memory ends (its count moves past seen), a kick,
 * or, when host children may end too (whose end wakes nothing here), a
 * short slice. -EINTR when kicked. */
static long wait_for_vm_child(struct linux_process *process, uint32_t seen, bool host_children)
{
    struct timespec slice = {0, 20 * 1000 * 1000};
    long result = syscall(SYS_futex, &process->vm_child_events, FUTEX_WAIT_PRIVATE, seen,
                          host_children ? &slice : NULL, NULL, 0);
    return result < 0 && errno == EINTR ? -EINTR : 0;
}

static long wait4_result(struct linux_process *process, const uint64_t *args, long pid, int status,
                         const struct rusage *usage)
{
    if (pid > 0 && args[1] && linux_copy_out(process, args[1], &status, sizeof(status)))
        return -EFAULT;
    if (pid > 0 && args[3] && linux_copy_out(process, args[3], usage, sizeof(*usage)))
        return -EFAULT;
    return pid;
}

/* A host wait without the process sharing memory: its result as the call
 * returns it (>0 or 0 with WNOHANG when a host child was or was not
 * found), having written the program's outputs. */
typedef long (*host_wait)(struct linux_thread *thread, const uint64_t *args, int options);

/*
 * The processes sharing memory (thread.c) are threads of this monitor, so
 * the host's waits cannot see them: the wait family looks at them first,
 * then at the host's children (a process sharing memory has none: the fork
 * that makes them is refused there), and sleeps until one of either ends.
 * *own: the result is the process sharing memory in *found.
 */
static long wait_children(struct linux_thread *thread, const uint64_t *args, int64_t pid,
                          int options, host_wait host, struct linux_vm_child *found, bool *own)
{
    struct linux_process *process = thread->process;
    bool keep = (options & WNOWAIT) != 0;
    *own = false;
    for (;;) {
        uint32_t seen = __atomic_load_n(&process->vm_child_events, __ATOMIC_SEQ_CST);
        long result = linux_vm_child_wait(thread, pid, options, keep, found);
        if (result > 0) {
            *own = true;
            return 0;
        }
        if (result < 0)
            return thread->vm_child ? -ECHILD : host(thread, args, options);
        result = thread->vm_child ? -ECHILD : host(thread, args, options | WNOHANG);
        if (result != 0 && result != -ECHILD)
            return result;
        if (options & WNOHANG)
            return 0;
        /* Interrupted: one that ended meanwhile is still reaped first, as
         * Linux rescans before it gives up (do_wait). */
        if (wait_for_vm_child(process, seen, result == 0) < 0) {
            *own = linux_vm_child_wait(thread, pid, options, keep, found) > 0;
            return *own ? 0 : -EINTR;
        }
    }
}

static long host_wait4(struct linux_thread *thread, const uint64_t *args, int options)
{
    int status = 0;
    struct rusage usage;
    long pid = wait4((pid_t)args[0], &status, options, &usage);
    if (pid < 0)
        return linux_host_error();
    return wait4_result(thread->process, args, pid, status, &usage);
}

static long sys_wait4(struct linux_thread *thread, const uint64_t *args)
{
    int options = (int)args[2];
    if (options & ~WAIT4_OPTIONS)
        return -EINVAL;
    struct linux_vm_child found;
    bool own;
    long result = wait_children(thread, args, (int32_t)args[0], options, host_wait4, &found, &own);
    if (own)
        return wait4_result(thread->process, args, found.pid, found.wait_status, &found.usage);
    return result;
}

/* waitid's siginfo and rusage out: 0, or -EFAULT. */
static long waitid_result(struct linux_process *process, const uint64_t *args,
                          const siginfo_t *info, const struct rusage *usage)
{
    if (args[2] && linux_copy_out(process, args[2], info, sizeof(*info)))
        return -EFAULT;
    if (args[4] && linux_copy_out(process, args[4], usage, sizeof(*usage)))
        return -EFAULT;
    return 0;
}

/* 1 when a host child was found, 0 (its zeroed siginfo written, as Linux
 * writes it under WNOHANG) when not. */
static long host_waitid(struct linux_thread *thread, const uint64_t *args, int options)
{
    siginfo_t info = {0};
    struct rusage usage = {0};
    long result = syscall(SYS_waitid, (int)args[0], (int)args[1], &info, options, &usage);
    if (result < 0)
        return linux_host_error();
    result = waitid_result(thread->process, args, &info, &usage);
    return result < 0 ? result : info.si_pid != 0;
}

/* The pid a waitid of idtype and id means to wait4; false: only the host's
 * (P_PIDFD) or invalid, which the host decides. */
static bool waitid_pid(int idtype, int32_t id, int64_t *pid)
{
    switch (idtype) {
    case P_ALL:
        *pid = -1;
        return true;
    case P_PID:
        *pid = id;
        return id > 0;
    case P_PGID:
        *pid = id ? -(int64_t)id : 0;
        return id >= 0;
    default:
        return false;
    }
}

static long sys_waitid(struct linux_thread *thread, const uint64_t *args)
{
    int options = (int)args[3];
    int64_t pid;
    /* A pidfd is a guest fd: the host waits on the host fd it names. */
    uint64_t translated[6];
    if ((int)args[0] == P_PIDFD) {
        int host_fd = linux_fd_host(thread->process, args[1]);
        if (host_fd < 0)
            return -EBADF;
        memcpy(translated, args, sizeof(translated));
        translated[1] = (uint64_t)host_fd;
        args = translated;
    }
    if (!(options & WEXITED) || !waitid_pid((int)args[0], (int32_t)args[1], &pid)) {
        long host = thread->vm_child ? -ECHILD : host_waitid(thread, args, options);
        return host < 0 ? host : 0;
    }
    struct linux_vm_child found;
    bool own;
    long result = wait_children(thread, args, pid, options, host_waitid, &found, &own);
    if (!own)
        return result < 0 ? result : 0;
    siginfo_t info = {.si_signo = SIGCHLD};
    bool killed = WIFSIGNALED(found.wait_status);
    info.si_code = killed ? CLD_KILLED : CLD_EXITED;
    info.si_pid = found.pid;
    info.si_uid = getuid();
    info.si_status = killed ? WTERMSIG(found.wait_status) : WEXITSTATUS(found.wait_status);
    return waitid_result(thread->process, args, &info, &found.usage);
}

/* ---- identity, groups, sessions ------------------------------------------------------ */

static long sys_getpid(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    return linux_thread_tgid(thread);
}

static long sys_gettid(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    return thread->tid;
}

int linux_thread_ppid(const struct linux_thread *thread)
{
    /* A process sharing memory: the one that reaps it, or init once
     * orphaned. */
    if (thread->vm_child) {
        int parent = __atomic_load_n(&thread->vm_child->parent_pid, __ATOMIC_RELAXED);
        return parent ? parent : 1;
    }
    return (int)getppid();
}

static long sys_getppid(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    return linux_thread_ppid(thread);
}

static long sys_getpgid(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return linux_host_result(getpgid((pid_t)args[0]));
}

static long sys_getpgrp(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    (void)args;
    return getpgrp();
}

static long sys_setpgid(struct linux_thread *thread, const uint64_t *args)
{
    /* A process sharing memory is a thread of the monitor: its process
     * group and session are the monitor's, which it cannot change alone. */
    if (linux_vm_child_refuses(thread, "setpgid"))
        return linux_sys_unsupported(thread->process, SYS_setpgid);
    return linux_host_result(setpgid((pid_t)args[0], (pid_t)args[1]));
}

static long sys_getsid(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return linux_host_result(getsid((pid_t)args[0]));
}

static long sys_setsid(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    if (linux_vm_child_refuses(thread, "setsid"))
        return linux_sys_unsupported(thread->process, SYS_setsid);
    return linux_host_result(setsid());
}

/* ---- credentials: the monitor's own (a guest process is a host process) ---- */

/* The ids are uid_t/gid_t in the kernel: -1 (as 32 bits) means "unchanged". */
static uid_t id_argument(uint64_t value)
{
    return (uid_t)(uint32_t)value;
}

static long sys_setuid(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return linux_host_result(setuid(id_argument(args[0])));
}

static long sys_setgid(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return linux_host_result(setgid(id_argument(args[0])));
}

static long sys_setreuid(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return linux_host_result(setreuid(id_argument(args[0]), id_argument(args[1])));
}

static long sys_setregid(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return linux_host_result(setregid(id_argument(args[0]), id_argument(args[1])));
}

static long sys_setresuid(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return linux_host_result(
        setresuid(id_argument(args[0]), id_argument(args[1]), id_argument(args[2])));
}

static long sys_setresgid(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    return linux_host_result(
        setresgid(id_argument(args[0]), id_argument(args[1]), id_argument(args[2])));
}

/* getresuid and getresgid: three ids out. */
static long copy_out_ids(struct linux_process *process, const uint64_t *args, const uint32_t ids[3])
{
    for (int i = 0; i < 3; i++) {
        if (linux_copy_out(process, args[i], &ids[i], sizeof(ids[i])))
            return -EFAULT;
    }
    return 0;
}

static long sys_getresuid(struct linux_thread *thread, const uint64_t *args)
{
    uid_t ids[3];
    if (getresuid(&ids[0], &ids[1], &ids[2]) != 0)
        return linux_host_error();
    const uint32_t out[3] = {ids[0], ids[1], ids[2]};
    return copy_out_ids(thread->process, args, out);
}

static long sys_getresgid(struct linux_thread *thread, const uint64_t *args)
{
    gid_t ids[3];
    if (getresgid(&ids[0], &ids[1], &ids[2]) != 0)
        return linux_host_error();
    const uint32_t out[3] = {ids[0], ids[1], ids[2]};
    return copy_out_ids(thread->process, args, out);
}

static long sys_setgroups(struct linux_thread *thread, const uint64_t *args)
{
    int64_t count = (int32_t)args[0];
    if (count < 0 || count > 65536)
        return -EINVAL;
    gid_t *groups = g_new(gid_t, count ? count : 1);
    long result =
        count && linux_copy_in(thread->process, args[1], groups, (size_t)count * sizeof(gid_t))
            ? -EFAULT
            : linux_host_result(setgroups((size_t)count, groups));
    g_free(groups);
    return result;
}

long linux_kill_other(int64_t pid, int signal)
{
    if (signal < 0 || signal > LINUX_NSIG)
        return -EINVAL;
    return linux_host_result(kill((pid_t)pid, signal));
}

/* ---- pidfds ----------------------------------------------------------------- */

/*
 * A pidfd the program holds is a host pidfd: the program is this monitor
 * and another process is a host one (its children are monitors), so
 * poll, waitid(P_PIDFD) and pidfd_send_signal on it are the host's, as
 * its exit is. Linux makes every pidfd close-on-exec.
 */
long linux_pidfd_open_host(struct linux_process *process, int32_t pid, unsigned int flags,
                           int *host_fd)
{
    if (pid <= 0 || (flags & ~(unsigned int)(LINUX_PIDFD_NONBLOCK | LINUX_PIDFD_THREAD)))
        return -EINVAL;
    /* A process sharing the memory is a thread of this monitor, not a
     * host process of its own: no host pidfd names it. */
    if (linux_vm_child_thread(process, pid)) {
        if (process->config.verbose)
            fprintf(stderr, "hermitux-run: pidfd of a process sharing memory (CLONE_VM): "
                            "unsupported\n");
        return -EINVAL;
    }
    /* The monitor's own threads that run none of the program's. */
    if (!linux_is_own_thread(process, pid) && !linux_is_other_process(pid))
        return -ESRCH;
    long fd = syscall(SYS_pidfd_open, (pid_t)pid, flags);
    if (fd < 0)
        return linux_host_error();
    *host_fd = (int)fd;
    return 0;
}

static long sys_pidfd_open(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd;
    long result = linux_pidfd_open_host(process, (int32_t)args[0], (unsigned int)args[1], &host_fd);
    if (result < 0)
        return result;
    result = linux_fd_install(process, host_fd, 0, true);
    if (result < 0)
        close(host_fd);
    return result;
}

long linux_pidfd_target(struct linux_process *process, uint64_t fd, int32_t *pid, int *host_fd_out)
{
    int host_fd = linux_fd_host(process, fd);
    if (host_fd < 0)
        return -EBADF;
    if (host_fd_out)
        *host_fd_out = host_fd;
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", host_fd);
    FILE *info = fopen(path, "re");
    if (!info)
        return -EBADF;
    long result = -EBADF; /* no Pid: line, not a pidfd */
    while (fgets(line, sizeof(line), info)) {
        if (strncmp(line, "Pid:", 4) == 0) {
            *pid = (int32_t)strtol(line + 4, NULL, 10);
            /* -1: the process has ended (0: another pid namespace). */
            result = *pid > 0 ? 0 : -ESRCH;
            break;
        }
    }
    fclose(info);
    return result;
}

/* pidfd_getfd takes a file from another process where ptrace could attach,
 * and ptrace is refused here (see linux/misc.c): EPERM, logged with -v,
 * after Linux's own checks of the flags and the pidfd. setns joins a
 * namespace, which the VM does not have to offer: EPERM after the fd's
 * check, as for a process without CAP_SYS_ADMIN. */
static long sys_pidfd_getfd(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    if (args[2])
        return -EINVAL;
    int32_t pid;
    long error = linux_pidfd_target(process, args[0], &pid, NULL);
    if (error)
        return error;
    (void)linux_sys_unsupported(process, SYS_pidfd_getfd);
    return -EPERM;
}

static long sys_setns(struct linux_thread *thread, const uint64_t *args)
{
    if (linux_fd_host(thread->process, args[0]) < 0)
        return -EBADF;
    (void)linux_sys_unsupported(thread->process, SYS_setns);
    return -EPERM;
}

void linux_register_fork(linux_handler *table)
{
    table[SYS_pidfd_getfd] = sys_pidfd_getfd;
    table[SYS_setns] = sys_setns;
    table[SYS_fork] = sys_fork;
    table[SYS_vfork] = sys_vfork;
    table[SYS_clone] = sys_clone;
    table[SYS_wait4] = sys_wait4;
    table[SYS_waitid] = sys_waitid;
    table[SYS_pidfd_open] = sys_pidfd_open;
    table[SYS_getpid] = sys_getpid;
    table[SYS_gettid] = sys_gettid;
    table[SYS_getppid] = sys_getppid;
    table[SYS_getpgid] = sys_getpgid;
    table[SYS_getpgrp] = sys_getpgrp;
    table[SYS_setpgid] = sys_setpgid;
    table[SYS_getsid] = sys_getsid;
    table[SYS_setsid] = sys_setsid;
    table[SYS_setuid] = sys_setuid;
    table[SYS_setgid] = sys_setgid;
    table[SYS_setreuid] = sys_setreuid;
    table[SYS_setregid] = sys_setregid;
    table[SYS_setresuid] = sys_setresuid;
    table[SYS_setresgid] = sys_setresgid;
    table[SYS_getresuid] = sys_getresuid;
    table[SYS_getresgid] = sys_getresgid;
    table[SYS_setgroups] = sys_setgroups;
}
