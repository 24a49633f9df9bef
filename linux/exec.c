/*
 * linux/exec.c — execve and execveat: the program is replaced in place.
 *
 * The monitor replaces itself (struct linux_host's exec: a host execve of
 * hermitux-run with the new program), so the pid stays. What Linux keeps
 * across an exec travels with it: fds without FD_CLOEXEC stay open on the
 * host and are named in the carried state at their guest numbers, with the
 * signal mask, ignored signals (handled ones are reset to the default, as
 * Linux does), resource limits and nice value; the umask is the host
 * process's own and survives by itself, and the new monitor starts in the
 * program's cwd (proc.c keeps it apart from the monitor's). Everything that can fail
 * (the file, its format, `#!` interpreters, argument sizes) is checked
 * before the old program is given up, so errors reach the caller.
 */
#include "linux/internal.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXEC_STATE_MAGIC   0x48584543u /* "HXEC" */
#define EXEC_STATE_VERSION 8
/* Linux's limits: one string (MAX_ARG_STRLEN), all of them (a quarter of the
 * default 8 MiB stack), the `#!` line (BINPRM_BUF_SIZE), interpreters of
 * interpreters. */
#define EXEC_MAX_STRING  (32 * 4096)
#define EXEC_MAX_TOTAL   (2 << 20)
#define EXEC_HEADER_SIZE 256
#define EXEC_MAX_DEPTH   4
/* AT_FDCWD as the program passes it. */
#define EXEC_AT_FDCWD (-100)

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

struct exec_state_header {
    uint32_t magic, version;
    uint32_t umask, fd_count;
    uint64_t signal_mask;
    uint64_t ignored; /* bit N-1: signal N is SIG_IGN */
    struct rlimit limits[RLIM_NLIMITS];
    int32_t nice;
    uint32_t persona;       /* personality(2) */
    int32_t sched_policy;   /* the calling thread's, which the new program's main thread keeps */
    uint32_t strace_prefix; /* the trace names pids already (strace -f's [pid N]) */
    uint32_t no_new_privs;  /* the program's PR_SET_NO_NEW_PRIVS */
    int32_t fd_table_size;
    uint32_t signal_count; /* struct linux_exec_signal entries after the fds */
    struct itimerspec itimers[3];
    /* A cwd inside /proc (its guest path, "" for none): the host has no
     * directory to start the new monitor in. */
    char cwd_virtual[LINUX_PATH_MAX];
};

struct exec_state_fd {
    int32_t guest_fd, host_fd;
    uint8_t regular;
    uint8_t is_signalfd; /* its host fd is the signalfd's eventfd */
    uint64_t signalfd_mask;
};

/* ---- reading the arguments ---------------------------------------------------- */

/* One NUL-terminated guest string of at most EXEC_MAX_STRING bytes. */
static long read_string(struct linux_process *process, uint64_t address, GString *out)
{
    g_string_truncate(out, 0);
    char chunk[256];
    for (;;) {
        /* Never read past the page holding the string's end. */
        size_t length = GUEST_PAGE_SIZE - (address & (GUEST_PAGE_SIZE - 1));
        length = MIN(length, sizeof(chunk));
        if (linux_copy_in(process, address, chunk, length))
            return -EFAULT;
        const char *end = memchr(chunk, 0, length);
        g_string_append_len(out, chunk, end ? end - chunk : (gssize)length);
        if (out->len >= EXEC_MAX_STRING)
            return -E2BIG;
        if (end)
            return 0;
        address += length;
    }
}

/* A guest NULL-terminated array of strings (NULL: empty) appended to out. */
static long read_strings(struct linux_process *process, uint64_t address, GPtrArray *out,
                         size_t *total)
{
    GString *text = g_string_new(NULL);
    long error = 0;
    for (uint64_t index = 0; address; index++) {
        uint64_t pointer;
        if (linux_copy_in(process, address + index * 8, &pointer, sizeof(pointer))) {
            error = -EFAULT;
            break;
        }
        if (!pointer)
            break;
        error = read_string(process, pointer, text);
        if (error)
            break;
        *total += text->len + 1 + sizeof(char *);
        if (*total > EXEC_MAX_TOTAL) {
            error = -E2BIG;
            break;
        }
        g_ptr_array_add(out, g_strdup(text->str));
    }
    g_string_free(text, TRUE);
    return error;
}

/* ---- what the file is ------------------------------------------------------------ */

/* The interpreter line of a `#!` script, split as Linux splits it: the
 * interpreter, then everything after it (trimmed) as one optional argument. */
static long parse_script(const char *header, size_t length, char **interpreter, char **argument)
{
    const char *line = header + 2, *end = memchr(line, '\n', length - 2);
    if (!end)
        end = header + length;
    while (line < end && (*line == ' ' || *line == '\t'))
        line++;
    while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\0'))
        end--;
    if (line == end)
        return -ENOEXEC;
    const char *name_end = line;
    while (name_end < end && *name_end != ' ' && *name_end != '\t')
        name_end++;
    *interpreter = g_strndup(line, name_end - line);
    while (name_end < end && (*name_end == ' ' || *name_end == '\t'))
        name_end++;
    *argument = name_end < end ? g_strndup(name_end, end - name_end) : NULL;
    return 0;
}

/* An ELF file this monitor can run: 64-bit little-endian x86-64. */
static bool runnable_elf(const unsigned char *header, size_t length)
{
    if (length < sizeof(Elf64_Ehdr))
        return false;
    const Elf64_Ehdr *ehdr = (const Elf64_Ehdr *)header;
    return ehdr->e_ident[EI_CLASS] == ELFCLASS64 && ehdr->e_ident[EI_DATA] == ELFDATA2LSB &&
           ehdr->e_machine == EM_X86_64 && (ehdr->e_type == ET_EXEC || ehdr->e_type == ET_DYN);
}

/* The first bytes of an executable regular file, or the errno Linux gives. */
static long read_header(const char *path, unsigned char *header, size_t *length)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return linux_host_error();
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return linux_host_error();
    }
    if (!S_ISREG(st.st_mode) || faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) != 0) {
        close(fd);
        return -EACCES;
    }
    ssize_t got = read(fd, header, EXEC_HEADER_SIZE);
    close(fd);
    if (got < 0)
        return linux_host_error();
    *length = (size_t)got;
    return 0;
}

/*
 * Follows `#!` lines down to an ELF file: *path becomes the file to run and
 * argv its arguments (interpreter, its argument, the script's name as given,
 * then the script's arguments after argv[0]).
 */
static long follow_scripts(struct linux_process *process, const char *root, char **path,
                           GPtrArray *argv)
{
    for (int depth = 0;; depth++) {
        unsigned char header[EXEC_HEADER_SIZE];
        size_t length = 0;
        long error = read_header(*path, header, &length);
        if (error)
            return error;
        if (length >= 4 && memcmp(header, ELFMAG, SELFMAG) == 0)
            return runnable_elf(header, length) ? 0 : -ENOEXEC;
        if (length < 2 || header[0] != '#' || header[1] != '!')
            return -ENOEXEC;
        if (depth == EXEC_MAX_DEPTH)
            return -ELOOP;
        char *interpreter, *argument;
        error = parse_script((const char *)header, length, &interpreter, &argument);
        if (error)
            return error;
        if (argv->len > 0)
            g_ptr_array_remove_index(argv, 0);
        g_ptr_array_insert(argv, 0, *path);
        if (argument)
            g_ptr_array_insert(argv, 0, argument);
        g_ptr_array_insert(argv, 0, g_strdup(interpreter));
        *path = interpreter;
        if (process) {
            error = linux_root_host_path(process, path, true);
        } else if (root) {
            int root_error = 0;
            char *inside = linux_root_resolve(root, interpreter, &root_error);
            g_free(*path);
            *path = inside;
            error = inside ? 0 : -root_error;
        }
        if (error)
            return error;
    }
}

static long resolve_program(struct linux_process *process, char **path, GPtrArray *argv)
{
    return follow_scripts(process, NULL, path, argv);
}

long linux_exec_follow_scripts(const char *root, char **path, char ***argv)
{
    GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
    for (char **arg = *argv; *arg; arg++)
        g_ptr_array_add(args, g_strdup(*arg));
    char *followed = g_strdup(*path);
    long error = follow_scripts(NULL, root, &followed, args);
    if (error) {
        g_free(followed);
        g_ptr_array_free(args, TRUE);
        return error;
    }
    g_free(*path);
    *path = followed;
    g_strfreev(*argv);
    g_ptr_array_add(args, NULL);
    *argv = (char **)g_ptr_array_free(args, FALSE);
    return 0;
}

/* Whether a guest fd goes on in the new program: open, not close-on-exec
 * (a signalfd too: its mask comes across, linux_signalfd_adopt). */
static bool exec_keeps(const struct linux_process *process, int fd)
{
    return linux_fd_entry_host(&process->fds[fd]) >= 0 && !process->fds[fd].cloexec;
}

/* ---- the carried state ------------------------------------------------------------- */

/* Writes the state into a memfd the new monitor inherits (no FD_CLOEXEC). */
static int write_state(struct linux_thread *thread)
{
    struct linux_process *process = thread->process;
    struct exec_state_header header = {
        .magic = EXEC_STATE_MAGIC,
        .version = EXEC_STATE_VERSION,
        .umask = process->fs.umask,
        .signal_mask = thread->signal_mask,
        .nice = process->nice,
        .persona = process->persona,
        .sched_policy = thread->sched_policy,
        .strace_prefix = __atomic_load_n(&process->strace_prefix, __ATOMIC_RELAXED),
        .no_new_privs = process->no_new_privs,
        .fd_table_size = atomic_load(&process->fd_table_size),
    };
    memcpy(header.limits, process->limits, sizeof(header.limits));
    linux_fs_cwd_virtual(&process->fs, header.cwd_virtual, sizeof(header.cwd_virtual));
    for (int signal = 1; signal <= LINUX_NSIG; signal++) {
        if (process->actions[signal].handler == (uint64_t)(uintptr_t)SIG_IGN)
            header.ignored |= 1ULL << (signal - 1);
    }
    GArray *fds = g_array_new(FALSE, TRUE, sizeof(struct exec_state_fd));
    for (int fd = 0; fd < linux_fd_scan_end(process); fd++) {
        if (!exec_keeps(process, fd))
            continue;
        const struct linux_fd *kept = &process->fds[fd];
        struct exec_state_fd entry = {fd, linux_fd_entry_host(kept), kept->regular,
                                      kept->signalfd != NULL,
                                      kept->signalfd ? linux_signalfd_mask(kept->signalfd) : 0};
        g_array_append_val(fds, entry);
    }
    header.fd_count = fds->len;
    GArray *signals = linux_signal_exec_pending(thread);
    header.signal_count = signals->len;
    linux_signal_exec_itimers(process, header.itimers);
    int state_fd = memfd_create("hermitux-exec-state", 0);
    bool written =
        state_fd >= 0 && linux_host_write_all(state_fd, &header, sizeof(header)) &&
        linux_host_write_all(state_fd, fds->data, fds->len * sizeof(struct exec_state_fd)) &&
        linux_host_write_all(state_fd, signals->data,
                             signals->len * sizeof(struct linux_exec_signal)) &&
        lseek(state_fd, 0, SEEK_SET) == 0;
    int saved = errno;
    g_array_free(fds, TRUE);
    g_array_free(signals, TRUE);
    if (!written) {
        if (state_fd >= 0)
            close(state_fd);
        errno = saved;
        return -1;
    }
    return state_fd;
}

/* The host fds the new program keeps lose (on != false) or get back their
 * FD_CLOEXEC. */
static void set_kept_fds_inheritable(struct linux_process *process, bool on)
{
    for (int fd = 0; fd < linux_fd_scan_end(process); fd++) {
        if (exec_keeps(process, fd))
            fcntl(linux_fd_entry_host(&process->fds[fd]), F_SETFD, on ? 0 : FD_CLOEXEC);
    }
}

int linux_exec_state_load(struct linux_process *process, int state_fd, char **error)
{
    struct exec_state_header header;
    int result = -1;
    if (!linux_host_read_all(state_fd, &header, sizeof(header)) ||
        header.magic != EXEC_STATE_MAGIC || header.version != EXEC_STATE_VERSION ||
        header.fd_count > LINUX_MAX_FDS) {
        *error = g_strdup("linux: the state carried across execve is unreadable");
        goto out;
    }
    for (uint32_t i = 0; i < header.fd_count; i++) {
        struct exec_state_fd entry;
        if (!linux_host_read_all(state_fd, &entry, sizeof(entry)) || entry.guest_fd < 0 ||
            entry.guest_fd >= LINUX_MAX_FDS || entry.host_fd < 0) {
            *error = g_strdup("linux: the fd table carried across execve is unreadable");
            goto out;
        }
        /* The monitor's copy is close-on-exec again, as every other. */
        fcntl(entry.host_fd, F_SETFD, FD_CLOEXEC);
        process->fds[entry.guest_fd].regular = entry.regular;
        linux_fd_set(process, entry.guest_fd, entry.host_fd);
        if (entry.is_signalfd &&
            linux_signalfd_adopt(process, entry.guest_fd, entry.signalfd_mask) != 0) {
            *error = g_strdup("linux: a signalfd carried across execve cannot be rebuilt");
            goto out;
        }
    }
    process->fs.umask = header.umask;
    if (header.cwd_virtual[0] == '/')
        linux_fs_set_cwd_virtual(&process->fs,
                                 g_strndup(header.cwd_virtual, sizeof(header.cwd_virtual) - 1));
    process->main_thread->signal_mask = header.signal_mask;
    memcpy(process->limits, header.limits, sizeof(process->limits));
    process->nice = header.nice;
    process->persona = header.persona;
    process->main_thread->sched_policy = header.sched_policy;
    process->strace_prefix = header.strace_prefix != 0;
    process->no_new_privs = header.no_new_privs != 0;
    /* Linux keeps the table across execve. */
    atomic_store(&process->fd_table_size, CLAMP(header.fd_table_size, 64, LINUX_MAX_FDS));
    for (int signal = 1; signal <= LINUX_NSIG; signal++) {
        if (header.ignored & (1ULL << (signal - 1)))
            process->actions[signal].handler = (uint64_t)(uintptr_t)SIG_IGN;
    }
    for (uint32_t i = 0; i < header.signal_count; i++) {
        struct linux_exec_signal pending;
        if (!linux_host_read_all(state_fd, &pending, sizeof(pending))) {
            *error = g_strdup("linux: the signals pending across execve are unreadable");
            goto out;
        }
        linux_signal_exec_restore(process, &pending);
    }
    if (linux_signal_exec_restore_itimers(process, header.itimers) != 0) {
        *error = g_strdup("linux: the interval timers carried across execve cannot be set");
        goto out;
    }
    result = 0;
out:
    close(state_fd);
    return result;
}

/* ---- execve ------------------------------------------------------------------------ */

/* The host path for a guest (dirfd, path) pair, as execveat resolves it. */
static long host_path_for(struct linux_process *process, uint64_t dirfd, const char *path,
                          bool empty_path, char **out)
{
    if (strcmp(path, "/proc/self/exe") == 0) {
        *out = g_strdup(process->exe_path);
        linux_root_strip(process, *out); /* the guest's view, as the other paths */
        return 0;
    }
    if (path[0] == '/') {
        *out = g_strdup(path);
        return 0;
    }
    if (!empty_path && (int32_t)dirfd == EXEC_AT_FDCWD) {
        /* The program's cwd is its own (proc.c), not the monitor's. */
        char cwd[LINUX_PATH_MAX];
        long len = linux_cwd_path(process, cwd, sizeof(cwd));
        if (len < 0)
            return len;
        *out = g_build_filename(cwd, path, NULL);
        return 0;
    }
    int host_fd = linux_fd_host(process, dirfd);
    if (host_fd < 0)
        return -EBADF;
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", host_fd);
    char *directory = g_file_read_link(link, NULL);
    if (!directory)
        return -ENOENT;
    linux_root_strip(process, directory);
    *out = empty_path ? directory : g_build_filename(directory, path, NULL);
    if (!empty_path)
        g_free(directory);
    return 0;
}

/* strace shows a successful execve's line, "= 0", before the new program's
 * first call: the line is written now, the call never returning here. */
static void trace_exec(struct linux_thread *thread, const struct linux_syscall *call)
{
    if (thread->process->strace_file)
        linux_strace_syscall(thread, call, 0, true);
}

static long do_execve(struct linux_thread *thread, const struct linux_syscall *call, uint64_t dirfd,
                      uint64_t path_address, uint64_t argv_address, uint64_t envp_address,
                      uint64_t flags)
{
    struct linux_process *process = thread->process;
    const struct linux_host *host = &process->config.host;
    /* The host execve replaces the whole monitor, so every process sharing
     * memory in it would go, where Linux lets them run on. */
    if (!host->exec || linux_vm_sharing(thread, "execve"))
        return linux_sys_unsupported(process, SYS_execve);
    if (flags & ~(uint64_t)(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
        return -EINVAL;
    char guest_path[LINUX_PATH_MAX];
    bool empty_path = flags & AT_EMPTY_PATH;
    long error = linux_read_path(process, path_address, guest_path, empty_path);
    if (error)
        return error;
    empty_path = empty_path && guest_path[0] == '\0';

    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *envp = g_ptr_array_new_with_free_func(g_free);
    char *path = NULL;
    int state_fd = -1;
    size_t total = 0;
    error = read_strings(process, argv_address, argv, &total);
    if (!error)
        error = read_strings(process, envp_address, envp, &total);
    if (!error)
        error = host_path_for(process, dirfd, guest_path, empty_path, &path);
    if (!error) /* --root: the file inside it */
        error = linux_root_host_path(process, &path, !(flags & AT_SYMLINK_NOFOLLOW));
    if (!error && (flags & AT_SYMLINK_NOFOLLOW)) {
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
            error = -ELOOP;
    }
    if (!error)
        error = resolve_program(process, &path, argv);
    bool held = !error && host->hold_signals;
    if (held)
        host->hold_signals(host->opaque, true);
    if (!error) {
        state_fd = write_state(thread);
        if (state_fd < 0)
            error = linux_host_error();
    }
    if (!error) {
        g_ptr_array_add(argv, NULL);
        g_ptr_array_add(envp, NULL);
        set_kept_fds_inheritable(process, true);
        /* The new monitor starts in the program's cwd, which it takes as
         * the program's; the monitor's own is back if the exec fails. */
        int monitor_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (!process->fs.cwd_virtual && fchdir(process->fs.cwd_fd) != 0)
            error = linux_host_error();
        if (!error)
            trace_exec(thread, call);
        /* Past the point where Linux's exec can fail: the old program's
         * robust locks are abandoned (an exec that still fails on the
         * host leaves them so). */
        if (!error)
            linux_thread_exec_robust_lists(thread);
        if (!error)
            error = host->exec(host->opaque, path, (char *const *)argv->pdata,
                               (char *const *)envp->pdata, state_fd);
        /* Still here: the exec failed and the program goes on. */
        if (monitor_cwd >= 0) {
            if (fchdir(monitor_cwd) != 0)
                error = error ? error : linux_host_error();
            close(monitor_cwd);
        }
        set_kept_fds_inheritable(process, false);
    }
    if (held) /* still here: the exec failed */
        host->hold_signals(host->opaque, false);
    if (state_fd >= 0)
        close(state_fd);
    g_free(path);
    g_ptr_array_free(argv, TRUE);
    g_ptr_array_free(envp, TRUE);
    return error;
}

static long sys_execve(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_syscall call = {SYS_execve, {args[0], args[1], args[2], 0, 0, 0}};
    return do_execve(thread, &call, (uint64_t)EXEC_AT_FDCWD, args[0], args[1], args[2], 0);
}

static long sys_execveat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_syscall call = {SYS_execveat, {args[0], args[1], args[2], args[3], args[4], 0}};
    return do_execve(thread, &call, args[0], args[1], args[2], args[3], args[4]);
}

void linux_register_exec(linux_handler *table)
{
    table[SYS_execve] = sys_execve;
    table[SYS_execveat] = sys_execveat;
}
