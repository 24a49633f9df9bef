/*
 * monitor/fork.c — the monitor's side of guest processes (struct linux_host):
 * a fork gives the child a VM of its own, an execve starts a new monitor.
 *
 * fork: guest RAM is a private anonymous mapping, so the host fork already
 * gives the child a copy-on-write copy of it. What does not carry across a
 * host fork is a KVM VM (its fds belong to the parent's mm), so the child
 * builds its own VM over the same host mapping; a tcg engine is memory, and
 * the child goes on with its copy of the forking thread's (adopt_after_fork).
 * Either way the vCPU state of the fork syscall is put in it. Only
 * the forking vCPU thread exists in the child: it goes on running the guest
 * without the parent's main loop (see monitor/run.c).
 *
 * execve: a host execve of this same binary with hidden options that carry
 * the monitor's own options and the personality's state (--exec-state).
 */
#include "config.h"
#include "monitor/guest.h"
#include "monitor/debug.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

__thread struct accel *guest_forking_accel;
__thread bool guest_forked_child;

/* In the child: the forking vCPU becomes the child's VM where the backend
 * allows (tcg), else the parent's accelerator is replaced by one of its own.
 * The parent's other vCPUs are left as they are (their threads did not come
 * across; their host resources go with the child). */
static void rebuild_vm_in_child(struct guest *guest, const struct cpu_state *state,
                                const struct cpu_fpu_state *fpu)
{
    char *error = NULL;
    struct accel *parent_accel = guest_forking_accel;
    struct accel *accel = guest->accel_ops->adopt_after_fork
                              ? guest->accel_ops->adopt_after_fork(parent_accel)
                              : NULL;
    bool adopted = accel != NULL;
    if (!adopted)
        accel = guest->accel_ops->create(guest->memory, &error);
    int result = accel ? accel->ops->set_state(accel, state, CPU_STATE_ALL) : -1;
    if (result == 0)
        result = accel->ops->set_fpu(accel, fpu);
    if (result != 0) {
        /* The parent hears of it as fork's EAGAIN (monitor_guest_fork); the
         * reason is the monitor's, told with -v. */
        if (guest->options->verbose)
            fprintf(stderr, "hermitux-run: fork: the child cannot build its VM: %s\n",
                    error ? error : strerror(-result));
        _exit(127);
    }
    guest->accel = accel;
    guest->accel_ops = accel->ops;
    guest_forking_accel = accel;
    if (!adopted)
        parent_accel->ops->destroy(parent_accel);
}

/* The parent's side: the child says it has a VM that runs (one byte) or dies
 * without a word; then, as when the host refuses the fork, EAGAIN. */
static long fork_wait_ready(int ready_fd, pid_t child)
{
    char byte;
    ssize_t got;
    do
        got = read(ready_fd, &byte, 1);
    while (got < 0 && errno == EINTR);
    close(ready_fd);
    if (got == 1)
        return child;
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    return -EAGAIN;
}

long monitor_guest_fork(void *opaque, uint64_t child_stack)
{
    struct guest *guest = opaque;
    struct accel *caller = guest_forking_accel;
    struct cpu_state state;
    struct cpu_fpu_state fpu;
    /* Read while the parent's vCPU can still be asked. */
    if (!caller || guest->accel_ops->get_state(caller, &state, CPU_STATE_ALL) < 0 ||
        guest->accel_ops->get_fpu(caller, &fpu) < 0)
        return -EAGAIN;
    /* Signals the parent's main loop handles take their default action in
     * the child (nobody reads glib's signal pipe there); one sent to the
     * child before that is held back, not lost in the pipe. */
    sigset_t stop_signals, saved;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &saved);
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) {
        int error = errno;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        return -error;
    }
    /* Under gdb with fork events the child waits for gdb's word. */
    debugger_fork_prepare(guest->debugger);
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) {
        int error = errno;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        close(ready[1]);
        if (pid < 0)
            close(ready[0]);
        long result = pid < 0 ? -error : fork_wait_ready(ready[0], pid);
        debugger_fork_parent(guest->debugger, result);
        return result;
    }
    close(ready[0]);
    /* The parent's forwarder is not this process's: a signal numbered like
     * the kick, and any the routing handler catches, wait for the child's
     * own (accel_signal_take_held). */
    accel_set_kick_sink(0);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (child_stack)
        state.rsp = child_stack;
    state.rax = 0;
    rebuild_vm_in_child(guest, &state, &fpu);
    if (write(ready[1], "", 1) != 1)
        _exit(127);
    close(ready[1]);
    guest_vclock_forget_keeper(guest);
    guest->forked_child = true;
    guest_forked_child = true;
    return 0;
}

/* The program's environment for the new monitor (options.c reads it):
 * each entry with its NUL, in a memfd it inherits. The fd, or a negative
 * errno. */
/* An inheritable memfd holding data, read from its start by the monitor
 * the execve starts: fd or -errno. */
static int carried_fd(const char *name, const void *data, size_t size)
{
    int fd = memfd_create(name, 0);
    if (fd < 0)
        return -errno;
    for (size_t done = 0; done < size;) {
        ssize_t written = write(fd, (const char *)data + done, size - done);
        if (written < 0) {
            int error = errno;
            close(fd);
            return -error;
        }
        done += (size_t)written;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

static int environment_fd(char *const envp[])
{
    GByteArray *entries = g_byte_array_new();
    for (char *const *entry = envp; *entry; entry++)
        g_byte_array_append(entries, (const guint8 *)*entry, (guint)strlen(*entry) + 1);
    int fd = carried_fd("hermitux-exec-env", entries->data, entries->len);
    g_byte_array_free(entries, TRUE);
    return fd;
}

/* What the accelerator learnt from the host (accel.h's carry_save), for
 * the next monitor: an fd, or -1 when there is nothing (or no memfd: the
 * next monitor asks the host again). */
static int accel_carry_fd(const struct guest *guest)
{
    size_t size = 0;
    void *data = guest->accel_ops->carry_save ? guest->accel_ops->carry_save(&size) : NULL;
    int fd = data ? carried_fd("hermitux-exec-accel", data, size) : -1;
    g_free(data);
    return fd < 0 ? -1 : fd;
}

/* The hidden options that make a new monitor what this one is. */
static GPtrArray *exec_arguments(const struct guest *guest, const char *path, char *const argv[],
                                 int env_fd, int state_fd, int strace_fd, int accel_fd,
                                 const char *gdb_session)
{
    const struct monitor_options *options = guest->options;
    GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(args, g_strdup("hermitux-run"));
    g_ptr_array_add(args, g_strdup_printf("--accel=%s", guest->accel_ops->name));
    g_ptr_array_add(
        args, g_strdup_printf("--memory=%lluK", (unsigned long long)(options->memory_size >> 10)));
    if (options->kernel_path)
        g_ptr_array_add(args, g_strdup_printf("--kernel=%s", options->kernel_path));
    if (options->verbose)
        g_ptr_array_add(args, g_strdup("--verbose"));
    if (options->core_path)
        g_ptr_array_add(args, g_strdup_printf("--core=%s", options->core_path));
    /* The trace goes on: to stderr, or to the FILE as an open fd (opening
     * it again would truncate it). */
    if (strace_fd >= 0)
        g_ptr_array_add(args, g_strdup_printf("--exec-strace-fd=%d", strace_fd));
    else if (options->strace)
        g_ptr_array_add(args, g_strdup("--strace"));
    if (options->timeout > 0)
        g_ptr_array_add(args, g_strdup_printf("--timeout=%g", options->timeout));
    if (options->root_path)
        g_ptr_array_add(args, g_strdup_printf("--root=%s", options->root_path));
    if (options->syscall_ring_always)
        g_ptr_array_add(args, g_strdup("--syscall-ring=always"));
    else if (options->syscall_ring_us != MONITOR_DEFAULT_RING_US)
        g_ptr_array_add(args, options->syscall_ring_us
                                  ? g_strdup_printf("--syscall-ring=%u", options->syscall_ring_us)
                                  : g_strdup("--syscall-ring=off"));
    if (!options->sandbox_strict) /* the filter is inherited; the option says so again */
        g_ptr_array_add(args, g_strdup("--sandbox=deny"));
    g_ptr_array_add(args, g_strdup_printf("--exec-state=%d", state_fd));
    if (gdb_session)
        g_ptr_array_add(args, g_strdup_printf("--exec-gdb=%s", gdb_session));
    g_ptr_array_add(args, g_strdup_printf("--exec-path=%s", path));
    g_ptr_array_add(args, g_strdup_printf("--exec-env-fd=%d", env_fd));
    if (accel_fd >= 0)
        g_ptr_array_add(args, g_strdup_printf("--exec-accel-fd=%d", accel_fd));
    g_ptr_array_add(args, g_strdup("--"));
    for (char *const *arg = argv; *arg; arg++)
        g_ptr_array_add(args, g_strdup(*arg));
    g_ptr_array_add(args, NULL);
    return args;
}

long monitor_guest_exec(void *opaque, const char *path, char *const argv[], char *const envp[],
                        int state_fd)
{
    struct guest *guest = opaque;
    /* A debugger stays attached across the execve, as under gdbserver. */
    char *gdb_session =
        guest->exec_handover ? guest->exec_handover(guest->exec_handover_opaque, false) : NULL;
    int env_fd = environment_fd(envp);
    if (env_fd < 0) {
        long error = env_fd;
        if (gdb_session)
            g_free(guest->exec_handover(guest->exec_handover_opaque, true));
        g_free(gdb_session);
        return error;
    }
    /* A trace into a file: an inheritable copy of its fd (stderr is inherited). */
    int strace_fd = -1;
    if (guest->strace_file && guest->strace_file != stderr) {
        fflush(guest->strace_file);
        strace_fd = dup(fileno(guest->strace_file));
    }
    int accel_fd = accel_carry_fd(guest);
    GPtrArray *args =
        exec_arguments(guest, path, argv, env_fd, state_fd, strace_fd, accel_fd, gdb_session);
    /* The signals forwarded to the program stay blocked across the execve
     * (they are already in this thread): one sent now stays pending and
     * the new monitor's forwarder gives it to the new program, as Linux
     * keeps a pending signal across execve. Unblocked, its host default
     * action ended the monitor, or an ignored one was lost. The kick is
     * blocked too: one sent to this thread just before (a SIGCHLD's
     * delivery kicks the vCPU) stays pending across execve, where its
     * default action would end the new monitor (1 run in 8 of a shell whose
     * subshell exited before its exec); blocked, the new monitor takes it
     * for the kick it is. */
    sigset_t kick, saved;
    sigemptyset(&kick);
    sigaddset(&kick, ACCEL_KICK_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &kick, &saved);
    fflush(NULL);
    extern char **environ;
    execve("/proc/self/exe", (char *const *)args->pdata, environ);
    long error = -errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    g_ptr_array_free(args, TRUE);
    close(env_fd);
    if (accel_fd >= 0)
        close(accel_fd);
    if (strace_fd >= 0)
        close(strace_fd);
    if (gdb_session)
        g_free(guest->exec_handover(guest->exec_handover_opaque, true));
    g_free(gdb_session);
    return error;
}

void monitor_guest_hold_signals(void *opaque, bool hold)
{
    struct guest *guest = opaque;
    if (guest->hold_signals)
        guest->hold_signals(guest->hold_signals_opaque, hold);
}

static bool shared_outside(const struct guest_region *region, void *opaque)
{
    uint64_t dev, ino, offset;
    bool shared;
    if (guest_region_file(region, &dev, &ino, &offset, &shared) && shared)
        *(bool *)opaque = true;
    return !*(bool *)opaque;
}

bool monitor_teardown_may_be_left(const struct guest *guest)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    const bool sanitized = true;
#else
    const bool sanitized = false;
#endif
    bool shared = false;
    if (!sanitized)
        guest_region_foreach(guest->memory, shared_outside, &shared);
    return !sanitized && !shared;
}

/* The teardown process: it shares the monitor's memory, so the kernel frees
 * neither that nor the VM (the vCPUs' mapped run structures hold it) while
 * it lives. It waits for the end of a pipe only the monitor can write, the
 * monitor's exit, and exits, the last user of the memory. Raw calls only:
 * the monitor's threads and libc state are not its own. */
static int teardown_main(void *arg)
{
    int gone[2];
    memcpy(gone, arg, sizeof(gone));
    syscall(SYS_close, gone[1]);
    char byte;
    while (syscall(SYS_read, gone[0], &byte, 1) < 0)
        continue; /* EINTR only: every signal is blocked, but a stop's resume */
    syscall(SYS_exit, 0);
    return 0;
}

/* Starts the teardown process. Every fd of the monitor is closed first, so
 * whatever the program had open (pipes, locks, sockets) is let go before
 * the parent's wait returns, as natively, and the teardown process holds
 * none of it; every signal is blocked in it (a Ctrl-C at that instant must
 * not run the monitor's handlers there). On any failure the monitor's own
 * exit does the work, as before. */
static void leave_teardown(void)
{
    static char stack[16384] __attribute__((aligned(16)));
    static int gone[2];
    syscall(SYS_close_range, 0, ~0U, 0);
    if (pipe2(gone, O_CLOEXEC) != 0)
        return;
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t pid = clone(teardown_main, stack + sizeof(stack), CLONE_VM | CLONE_FS, gone);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    /* Our read end goes; the write end stays open until our exit. */
    close(gone[0]);
    if (pid < 0)
        close(gone[1]);
}

void monitor_exit_as_program(int status, int signal, uint64_t core_limit, bool teardown_left)
{
    fflush(NULL);
    if (teardown_left)
        leave_teardown();
    if (signal > 0 && signal != SIGSTOP && signal != SIGTSTP && signal != SIGTTIN &&
        signal != SIGTTOU) {
        /* The monitor dies of the program's signal, so the parent's wait
         * sees what it would natively, but never dumps: its core would be
         * the monitor's, written over the program's (core_file.c), or
         * handed to a core_pattern program, which RLIMIT_CORE does not
         * stop. Not dumpable, nothing is written, whatever the pattern. */
        (void)core_limit;
        prctl(PR_SET_DUMPABLE, 0);
        struct sigaction action = {.sa_handler = SIG_DFL};
        sigaction(signal, &action, NULL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, signal);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        raise(signal);
    }
    _exit(status);
}
