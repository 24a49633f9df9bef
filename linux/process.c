/*
 * linux/process.c — the process state's life and the syscall dispatcher.
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Built once; handlers are plain functions, so sharing it between processes
 * (tests create many) is safe. */
static linux_handler syscall_table[LINUX_SYSCALL_TABLE_SIZE];

static void build_table_once(void)
{
    static gsize built;
    if (g_once_init_enter(&built)) {
        linux_register_fd(syscall_table);
        linux_register_io(syscall_table);
        linux_register_fs(syscall_table);
        linux_register_mm(syscall_table);
        linux_register_misc(syscall_table);
        linux_register_net(syscall_table);
        linux_register_poll(syscall_table);
        linux_register_fork(syscall_table);
        linux_register_exec(syscall_table);
        linux_register_thread(syscall_table);
        linux_register_futex(syscall_table);
        linux_register_signalfd(syscall_table);
        linux_register_ipc(syscall_table);
        linux_register_signal(syscall_table);
        g_once_init_leave(&built, 1);
    }
}

static void init_limits(struct linux_process *process)
{
    for (int resource = 0; resource < RLIM_NLIMITS; resource++) {
        if (getrlimit(resource, &process->limits[resource]) != 0)
            process->limits[resource].rlim_cur = process->limits[resource].rlim_max = RLIM_INFINITY;
    }
    /* What a freshly logged-in Linux process sees, whatever limits the
     * monitor itself runs under. RLIMIT_CORE is the host's, as a native
     * program inherits `ulimit -c`: the monitor writes the program's core
     * where it allows one (monitor/core_file.c). */
    process->limits[RLIMIT_STACK].rlim_cur = 8ULL << 20;
    process->limits[RLIMIT_STACK].rlim_max = RLIM_INFINITY;
    /* The host's, within the fd table; the monitor's own soft limit is
     * raised to the hard one, so that the host fds behind the program's are
     * never what runs out first. */
    struct rlimit *files = &process->limits[RLIMIT_NOFILE];
    files->rlim_cur = MIN(files->rlim_cur, LINUX_MAX_FDS);
    files->rlim_max = MIN(files->rlim_max, LINUX_MAX_FDS);
    struct rlimit host;
    if (getrlimit(RLIMIT_NOFILE, &host) == 0 && host.rlim_cur < host.rlim_max) {
        host.rlim_cur = host.rlim_max;
        setrlimit(RLIMIT_NOFILE, &host);
    }
    process->limits[RLIMIT_AS].rlim_cur = process->limits[RLIMIT_AS].rlim_max = RLIM_INFINITY;
    process->limits[RLIMIT_DATA].rlim_cur = process->limits[RLIMIT_DATA].rlim_max = RLIM_INFINITY;
}

/* Makes host_fd (a copy of it, close-on-exec for the host) the program's
 * fd: one the program was started with. 0, or -1 with *error (a closed
 * host_fd stays closed for the program, as it would be for a process
 * started that way: 0). */
static int install_started_fd(struct linux_process *process, int fd, int host_fd, char **error)
{
    int copy = fcntl(host_fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) {
        if (errno == EBADF)
            return 0;
        *error =
            g_strdup_printf("linux: cannot duplicate host fd %d: %s", host_fd, g_strerror(errno));
        return -1;
    }
    struct stat st;
    process->fds[fd].regular = fstat(copy, &st) == 0 && S_ISREG(st.st_mode);
    linux_fd_set(process, fd, copy);
    return 0;
}

struct linux_process *linux_process_create(struct guest_memory *memory,
                                           const struct linux_config *config,
                                           const struct linux_cpu *cpu, char **error)
{
    if (!memory || !config) {
        *error = g_strdup("linux: no guest memory or configuration");
        return NULL;
    }
    if ((config->brk_start & ~GUEST_PAGE_MASK) || (config->mmap_low & ~GUEST_PAGE_MASK) ||
        (config->mmap_high & ~GUEST_PAGE_MASK) || config->mmap_low >= config->mmap_high ||
        config->mmap_high > GUEST_USER_TOP) {
        *error = g_strdup_printf("linux: bad address layout (brk 0x%" G_GINT64_MODIFIER
                                 "x, mmap 0x%" G_GINT64_MODIFIER "x-0x%" G_GINT64_MODIFIER "x)",
                                 config->brk_start, config->mmap_low, config->mmap_high);
        return NULL;
    }
    build_table_once();

    struct linux_process *process = g_new0(struct linux_process, 1);
    process->memory = memory;
    process->config = *config;
    process->exe_path = g_strdup(config->exe_path ? config->exe_path : "");
    process->config.exe_path = process->exe_path;
    struct linux_thread *thread = g_new0(struct linux_thread, 1);
    thread->process = process;
    thread->tid = linux_pid();
    if (cpu) {
        thread->cpu = *cpu;
        thread->has_cpu = true;
    }
    thread->altstack_flags = SS_DISABLE;
    process->main_thread = thread;
    /* The host's nice value the monitor was started with (nice(1)). */
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    process->nice = errno ? 0 : nice;
    /* no_new_privs as the monitor was started (before its sandbox sets it
     * on the host): a program run under it has it too, one run without
     * has not until it asks (a monitor started by execve gets the
     * program's own from the carried state). */
    process->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
    linux_signal_init(process);
    atomic_init(&process->fd_table_size, linux_fd_table_host_size());
    process->vfork_done_fd = -1;
    process->fs.cwd_fd = -1;
    process->root_fd = -1;
    process->logged_unsupported = g_hash_table_new(g_int64_hash, g_int64_equal);
    g_mutex_init(&process->misc_lock);
    g_mutex_init(&process->fd_lock);
    g_mutex_init(&process->threads_lock);
    g_mutex_init(&process->mm_lock);
    g_mutex_init(&process->timer_lock);
    process->threads = g_ptr_array_new();
    g_ptr_array_add(process->threads, thread);
    process->strace_file = config->strace_file;
    init_limits(process);
    mode_t mask = umask(022);
    umask(mask);
    process->fs.umask = mask;
    char *base = g_path_get_basename(config->started_as ? config->started_as : process->exe_path);
    g_strlcpy(thread->comm, base, sizeof(thread->comm));
    g_free(base);

    /* The program starts in the monitor's directory (in its root with
     * --root, as chroot(1) does; an execve's new monitor starts in the
     * program's), then keeps its own. */
    if (linux_root_open(process, config->root, error) != 0) {
        linux_process_destroy(process);
        return NULL;
    }
    if (process->root_fd >= 0 && !config->has_exec_state)
        process->fs.cwd_fd = fcntl(process->root_fd, F_DUPFD_CLOEXEC, 3);
    else
        process->fs.cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (process->fs.cwd_fd < 0)
        process->fs.cwd_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    linux_proc_init(process, config->initial_stack, config->auxv, config->auxv_length);
    if (config->has_exec_state) {
        if (linux_exec_state_load(process, config->exec_state_fd, error) != 0) {
            linux_process_destroy(process);
            return NULL;
        }
        linux_signal_sync_child_reaping(process);
        linux_mm_init(process);
        if (config->serve_peers)
            linux_proc_serve_start(process);
        return process;
    }
    const int standard[3] = {config->stdin_fd, config->stdout_fd, config->stderr_fd};
    for (int fd = 0; fd < 3; fd++) {
        if (standard[fd] >= 0 && install_started_fd(process, fd, standard[fd], error) < 0) {
            linux_process_destroy(process);
            return NULL;
        }
    }
    for (size_t i = 0; i < config->inherited_count; i++) {
        int fd = config->inherited_fds[i];
        if (fd >= LINUX_MAX_FDS) {
            if (config->verbose)
                fprintf(stderr, "hermitux-run: inherited fd %d is beyond the program's %d\n", fd,
                        LINUX_MAX_FDS);
            continue;
        }
        if (install_started_fd(process, fd, fd, error) < 0) {
            linux_process_destroy(process);
            return NULL;
        }
        close(fd);
    }
    linux_signal_sync_child_reaping(process);
    linux_mm_init(process);
    if (config->serve_peers)
        linux_proc_serve_start(process);
    return process;
}

void linux_process_destroy(struct linux_process *process)
{
    if (!process)
        return;
    linux_proc_serve_stop(process);
    for (int fd = 0; fd < linux_fd_scan_end(process); fd++) {
        if (linux_fd_entry_host(&process->fds[fd]) >= 0)
            linux_fd_release(process, fd);
    }
    if (process->fs.cwd_fd >= 0)
        close(process->fs.cwd_fd);
    if (process->root_fd >= 0)
        close(process->root_fd);
    g_free(process->root_path);
    g_free(process->fs.cwd_virtual);
    g_free(process->proc_info.auxv);
    GList *keys = g_hash_table_get_keys(process->logged_unsupported);
    g_hash_table_destroy(process->logged_unsupported);
    g_list_free_full(keys, g_free);
    if (process->unix_names)
        g_hash_table_destroy(process->unix_names);
    if (process->file_paths)
        g_hash_table_destroy(process->file_paths);
    g_free(process->exe_path);
    linux_signal_destroy(process);
    linux_signal_thread_destroy(process->main_thread);
    g_free(process->main_thread);
    g_ptr_array_free(process->threads, TRUE);
    linux_vm_children_free(process);
    if (process->vm_children)
        g_ptr_array_free(process->vm_children, TRUE);
    g_mutex_clear(&process->misc_lock);
    g_mutex_clear(&process->fd_lock);
    g_mutex_clear(&process->threads_lock);
    g_mutex_clear(&process->timer_lock);
    g_mutex_clear(&process->mm_lock);
    g_free(process);
}

void linux_process_exit(struct linux_process *process, int status, int signal)
{
    linux_vfork_child_exit(process);
    g_mutex_lock(&process->misc_lock);
    if (!atomic_load(&process->exited)) {
        process->exit_signal = signal;
        process->exit_status = signal ? 128 + signal : status & 0xff;
        atomic_store(&process->exited, true);
    }
    g_mutex_unlock(&process->misc_lock);
}

static long unsupported(struct linux_process *process, uint64_t number)
{
    if (!process->config.verbose)
        return -ENOSYS;
    g_mutex_lock(&process->misc_lock);
    bool first = !g_hash_table_contains(process->logged_unsupported, &number);
    if (first)
        g_hash_table_add(process->logged_unsupported, g_memdup2(&number, sizeof(number)));
    g_mutex_unlock(&process->misc_lock);
    if (first) {
        const char *name = linux_syscall_name(number);
        fprintf(stderr, "hermitux-run: unsupported syscall %" G_GUINT64_FORMAT " (%s)\n", number,
                name ? name : "unknown");
    }
    return -ENOSYS;
}

struct linux_thread *linux_main_thread(struct linux_process *process)
{
    return process->main_thread;
}

struct linux_process *linux_thread_process(struct linux_thread *thread)
{
    return thread->process;
}

/* The syscalls that change the memory map (under mm_lock). */
static bool changes_map(uint64_t number)
{
    switch (number) {
    case SYS_mmap:
    case SYS_munmap:
    case SYS_mprotect:
    case SYS_mremap:
    case SYS_brk:
    case SYS_madvise:
    case SYS_shmat:
    case SYS_shmdt:
    case SYS_truncate: /* pages past the new end of a mapped file */
    case SYS_ftruncate:
        return true;
    default:
        return false;
    }
}

/* Other threads may run on translations the change removed: the monitor
 * makes them go before the frames can be reused. One thread: its vCPU
 * flushes before it runs again anyway. */
static void memory_changed(struct linux_thread *thread)
{
    struct linux_process *process = thread->process;
    if (!process->have_thread_host || !process->thread_host.memory_changed)
        return;
    g_mutex_lock(&process->threads_lock);
    bool alone = process->threads->len <= 1;
    g_mutex_unlock(&process->threads_lock);
    if (!alone)
        process->thread_host.memory_changed(process->thread_host.opaque, thread);
}

enum linux_outcome linux_syscall(struct linux_thread *thread, const struct linux_syscall *call,
                                 uint64_t *result)
{
    struct linux_process *process = thread->process;
    long value;
    if (process->exited) {
        *result = 0;
        return LINUX_EXIT;
    }
    if (thread->vm_child && !thread->vm_child->fs_unshared)
        linux_vm_child_enter(thread);
    linux_signal_syscall_begin(thread);
    __atomic_store_n(&thread->in_syscall, 1, __ATOMIC_RELAXED);
    if (process->strace_file)
        linux_strace_syscall_entry(thread, call);
    if (call->number < LINUX_SYSCALL_TABLE_SIZE && syscall_table[call->number]) {
        int saved_errno = errno;
        bool mm = changes_map(call->number);
        uint64_t generation = 0;
        if (mm) {
            g_mutex_lock(&process->mm_lock);
            generation = guest_memory_generation(process->memory);
        }
        value = syscall_table[call->number](thread, call->args);
        linux_path_release_anchors();
        if (mm) {
            if (guest_memory_generation(process->memory) != generation)
                memory_changed(thread);
            g_mutex_unlock(&process->mm_lock);
        }
        errno = saved_errno;
    } else {
        value = unsupported(process, call->number);
    }
    __atomic_store_n(&thread->in_syscall, 0, __ATOMIC_RELAXED);
    /* The trace line comes before the signals the call's end delivers. */
    thread->syscall_value = linux_signal_interrupted_value(call->number, value);
    linux_strace_syscall(thread, call, thread->syscall_value, !process->exited);
    /* A process sharing memory ended by its exit or exit_group: after the
     * call's line, as strace -f shows it. */
    if (thread->vm_child && thread->exited)
        linux_strace_thread_end(thread, (int)call->args[0] & 0xff, 0);
    enum linux_outcome outcome = LINUX_CONTINUE;
    if (!process->exited && !thread->exited)
        outcome = linux_signal_syscall_end(thread, call->number, &value);
    *result = (uint64_t)value;
    if (process->exited)
        return LINUX_EXIT;
    return thread->exited ? LINUX_THREAD_EXIT : outcome;
}

/* Whether a host fd is of type (S_IFREG: reading or writing it never waits
 * for another process). */
static bool host_fd_is(const struct linux_process *process, uint64_t guest_fd, mode_t type)
{
    int host = linux_fd_host(process, guest_fd);
    struct stat st;
    return host >= 0 && fstat(host, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

/* As host_fd_is(S_IFREG) without its fstat, a host call that cost ~8 %
 * of a 4 KiB read through the ring: an open file's type never changes,
 * and install_at recorded it before publishing the host fd. */
static bool fd_is_regular(const struct linux_process *process, uint64_t guest_fd)
{
    return linux_fd_host(process, guest_fd) >= 0 && process->fds[(uint32_t)guest_fd].regular;
}

bool linux_ring_allowed(struct linux_thread *thread, const struct linux_syscall *call)
{
    const struct linux_process *process = thread->process;
    if (process->exited || thread->exited || thread->vm_child || process->strace_file)
        return false;
    switch (call->number) {
    case SYS_getpid:
    case SYS_getppid:
    case SYS_gettid:
    case SYS_getuid:
    case SYS_geteuid:
    case SYS_getgid:
    case SYS_getegid:
    case SYS_lseek:
    case SYS_fstat:
        return true;
    case SYS_read:
    case SYS_write:
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_readv:
    case SYS_writev:
        return fd_is_regular(process, call->args[0]);
    case SYS_sendfile: /* from a file into a pipe (`cat file | ...`), made without waiting */
        return fd_is_regular(process, call->args[1]) && host_fd_is(process, call->args[0], S_IFIFO);
    default:
        return false;
    }
}

void linux_map_lock(struct linux_thread *thread)
{
    g_mutex_lock(&thread->process->mm_lock);
}

void linux_map_unlock(struct linux_thread *thread)
{
    g_mutex_unlock(&thread->process->mm_lock);
}

bool linux_ring_syscall(struct linux_thread *thread, const struct linux_syscall *call,
                        uint64_t *result)
{
    __atomic_store_n(&thread->in_syscall, 1, __ATOMIC_RELAXED);
    int saved_errno = errno;
    bool no_wait = call->number == SYS_sendfile;
    long value = no_wait ? linux_sendfile_briefly(thread->process, call->args)
                         : syscall_table[call->number](thread, call->args);
    linux_path_release_anchors();
    errno = saved_errno;
    __atomic_store_n(&thread->in_syscall, 0, __ATOMIC_RELAXED);
    /* It would have waited, or failed (nothing moved): the doorbell makes
     * it again, with the waiting, errno and signal linux_syscall gives. */
    if (no_wait && value < 0)
        return false;
    thread->syscall_value = value;
    *result = (uint64_t)value;
    return true;
}

bool linux_syscall_implemented(uint64_t number)
{
    return number < LINUX_SYSCALL_TABLE_SIZE && syscall_table[number];
}

int linux_exit_status(const struct linux_process *process)
{
    g_mutex_lock((GMutex *)&process->misc_lock);
    int status = process->exit_status;
    g_mutex_unlock((GMutex *)&process->misc_lock);
    return status;
}

int linux_exit_signal(const struct linux_process *process)
{
    g_mutex_lock((GMutex *)&process->misc_lock);
    int signal = process->exit_signal;
    g_mutex_unlock((GMutex *)&process->misc_lock);
    return signal;
}

uint64_t linux_core_limit(const struct linux_process *process)
{
    return process->limits[RLIMIT_CORE].rlim_cur;
}

void linux_heap_range(const struct linux_process *process, uint64_t *start, uint64_t *end)
{
    *start = process->brk_start;
    *end = process->brk;
}

/* Handler for syscalls that exist but cannot work here (fork, exec...):
 * -ENOSYS, logged like an unknown number so the user learns why. */
long linux_sys_unsupported(struct linux_process *process, uint64_t number)
{
    return unsupported(process, number);
}
