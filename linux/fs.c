/*
 * linux/fs.c — calls that name files: open, stat, directories, links,
 * permissions. Relative paths resolve against the host cwd, which the
 * program shares with the monitor; a dirfd is a guest fd translated to its
 * host fd.
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GUEST_AT_FDCWD (-100)

/* A guest (dirfd, path) made ready for a host *at call. */
struct host_path {
    int dirfd;
    char path[LINUX_PATH_MAX + 64];
};

static bool starts_with(const char *text, const char *prefix, const char **rest)
{
    size_t len = strlen(prefix);
    if (strncmp(text, prefix, len) != 0)
        return false;
    *rest = text + len;
    return true;
}

/*
 * The /proc and /dev names of fds would reach the monitor's fds of the same
 * numbers: they are rewritten to the host fd behind the guest fd. The
 * program is pid 1 to itself, so /proc/1 means /proc/self. (Paths reaching
 * /proc through a dirfd or a symlink other than /dev/fd are not rewritten.)
 */
static long rewrite_special(const struct linux_process *process, char *path, size_t size)
{
    const char *rest;
    char *copy = NULL;
    if (starts_with(path, "/proc/1/", &rest) || starts_with(path, "/proc/thread-self/", &rest)) {
        copy = g_strconcat("/proc/self/", rest, NULL);
    } else if (strcmp(path, "/dev/stdin") == 0 || strcmp(path, "/dev/stdout") == 0 ||
               strcmp(path, "/dev/stderr") == 0) {
        static const char *const names[] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
        for (int fd = 0; fd < 3; fd++) {
            if (strcmp(path, names[fd]) == 0)
                copy = g_strdup_printf("/dev/fd/%d", fd);
        }
    }
    if (copy) {
        g_strlcpy(path, copy, size);
        g_free(copy);
    }
    const char *prefixes[] = {"/proc/self/fd/", "/proc/self/fdinfo/", "/dev/fd/"};
    for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
        if (!starts_with(path, prefixes[i], &rest) || !g_ascii_isdigit(*rest))
            continue;
        char *end;
        unsigned long guest_fd = strtoul(rest, &end, 10);
        int host_fd = guest_fd < LINUX_MAX_FDS ? linux_fd_host(process, guest_fd) : -1;
        if (host_fd < 0)
            return -ENOENT;
        char *rewritten = g_strdup_printf(
            "%s%d%s", i == 1 ? "/proc/self/fdinfo/" : "/proc/self/fd/", host_fd, end);
        if (strlen(rewritten) >= size) {
            g_free(rewritten);
            return -ENAMETOOLONG;
        }
        strcpy(path, rewritten);
        g_free(rewritten);
        break;
    }
    return 0;
}

static long resolve_dirfd(const struct linux_process *process, uint64_t dirfd, const char *path,
                          int *host_dirfd)
{
    if (path[0] == '/' || (int32_t)dirfd == GUEST_AT_FDCWD) {
        *host_dirfd = AT_FDCWD;
        return 0;
    }
    *host_dirfd = linux_fd_host(process, dirfd);
    return *host_dirfd < 0 ? -EBADF : 0;
}

static long resolve(struct linux_process *process, uint64_t dirfd, uint64_t address,
                    bool allow_empty, struct host_path *out)
{
    long error = linux_read_path(process, address, out->path, allow_empty);
    if (error)
        return error;
    error = rewrite_special(process, out->path, sizeof(out->path));
    if (error)
        return error;
    return resolve_dirfd(process, dirfd, out->path, &out->dirfd);
}

static bool is_exe_link(const char *path)
{
    return strcmp(path, "/proc/self/exe") == 0 || strcmp(path, "/proc/1/exe") == 0 ||
           strcmp(path, "/proc/thread-self/exe") == 0;
}

/* ---- open ---------------------------------------------------------------- */

static long do_openat(struct linux_process *process, uint64_t dirfd, uint64_t address,
                      uint64_t flags, uint64_t mode)
{
    struct host_path host;
    long error = resolve(process, dirfd, address, false, &host);
    if (error)
        return error;
    /* The program's executable, not the monitor's. */
    if (strcmp(host.path, "/proc/self/exe") == 0)
        g_strlcpy(host.path, process->exe_path, sizeof(host.path));
    int host_fd = openat(host.dirfd, host.path, (int)flags | O_CLOEXEC, (mode_t)mode);
    if (host_fd < 0)
        return linux_host_error();
    return linux_fd_install(process, host_fd, 0, flags & O_CLOEXEC);
}

static long sys_open(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return do_openat(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], args[2]);
}

static long sys_openat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return do_openat(process, args[0], args[1], args[2], args[3]);
}

static long sys_creat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return do_openat(process, (uint64_t)GUEST_AT_FDCWD, args[0], O_CREAT | O_WRONLY | O_TRUNC,
                     args[1]);
}

/* ---- stat ------------------------------------------------------------------ */

/* The host is x86-64 Linux too: its struct stat is the kernel's. */
G_STATIC_ASSERT(sizeof(struct stat) == 144);

static long stat_at(struct linux_process *process, uint64_t dirfd, uint64_t address,
                    uint64_t buffer, int flags)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
        return -EINVAL;
    struct host_path host;
    long error = resolve(process, dirfd, address, flags & AT_EMPTY_PATH, &host);
    if (error)
        return error;
    if (strcmp(host.path, "/proc/self/exe") == 0 && !(flags & AT_SYMLINK_NOFOLLOW))
        g_strlcpy(host.path, process->exe_path, sizeof(host.path));
    struct stat st;
    if (fstatat(host.dirfd, host.path, &st, flags) != 0)
        return linux_host_error();
    return linux_copy_out(process, buffer, &st, sizeof(st)) ? -EFAULT : 0;
}

static long sys_stat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return stat_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], 0);
}

static long sys_lstat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return stat_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], AT_SYMLINK_NOFOLLOW);
}

static long sys_newfstatat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return stat_at(process, args[0], args[1], args[2], (int)args[3]);
}

static long sys_fstat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    struct stat st;
    if (fstat(host_fd, &st) != 0)
        return linux_host_error();
    return linux_copy_out(process, args[1], &st, sizeof(st)) ? -EFAULT : 0;
}

static long sys_statx(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int flags = (int)args[2];
    struct host_path host;
    long error = resolve(process, args[0], args[1], flags & AT_EMPTY_PATH, &host);
    if (error)
        return error;
    struct statx stx;
    if (statx(host.dirfd, host.path, flags, (unsigned int)args[3], &stx) != 0)
        return linux_host_error();
    return linux_copy_out(process, args[4], &stx, sizeof(stx)) ? -EFAULT : 0;
}

static long statfs_out(struct linux_process *process, int result, const struct statfs *st,
                       uint64_t buffer)
{
    if (result != 0)
        return linux_host_error();
    return linux_copy_out(process, buffer, st, sizeof(*st)) ? -EFAULT : 0;
}

static long sys_statfs(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct host_path host;
    long error = resolve(process, (uint64_t)GUEST_AT_FDCWD, args[0], false, &host);
    if (error)
        return error;
    struct statfs st;
    return statfs_out(process, statfs(host.path, &st), &st, args[1]);
}

static long sys_fstatfs(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    struct statfs st;
    return statfs_out(process, fstatfs(host_fd, &st), &st, args[1]);
}

/* ---- access ---------------------------------------------------------------- */

static long access_at(struct linux_process *process, uint64_t dirfd, uint64_t address,
                      uint64_t mode, int flags, bool with_flags)
{
    if (mode & ~(uint64_t)(R_OK | W_OK | X_OK))
        return -EINVAL;
    struct host_path host;
    long error = resolve(process, dirfd, address, flags & AT_EMPTY_PATH, &host);
    if (error)
        return error;
    if (strcmp(host.path, "/proc/self/exe") == 0)
        g_strlcpy(host.path, process->exe_path, sizeof(host.path));
    if (!with_flags)
        return linux_host_result(syscall(SYS_faccessat, host.dirfd, host.path, (int)mode));
    long result = syscall(SYS_faccessat2, host.dirfd, host.path, (int)mode, flags);
    if (result < 0 && errno == ENOSYS) /* an older host kernel: libc emulates */
        result = faccessat(host.dirfd, host.path, (int)mode, flags);
    return linux_host_result(result);
}

static long sys_access(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return access_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], 0, false);
}

static long sys_faccessat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return access_at(process, args[0], args[1], args[2], 0, false);
}

static long sys_faccessat2(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return access_at(process, args[0], args[1], args[2], (int)args[3], true);
}

/* ---- cwd ------------------------------------------------------------------ */

static long sys_getcwd(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    size_t size = MIN(args[1], (uint64_t)LINUX_PATH_MAX);
    char buffer[LINUX_PATH_MAX];
    long len = syscall(SYS_getcwd, buffer, size);
    if (len < 0)
        return linux_host_error();
    return linux_copy_out(process, args[0], buffer, (size_t)len) ? -EFAULT : len;
}

static long sys_chdir(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct host_path host;
    long error = resolve(process, (uint64_t)GUEST_AT_FDCWD, args[0], false, &host);
    if (error)
        return error;
    return linux_host_result(chdir(host.path));
}

static long sys_fchdir(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    return linux_host_result(fchdir(host_fd));
}

/* ---- links ------------------------------------------------------------------ */

static long readlink_at(struct linux_process *process, uint64_t dirfd, uint64_t address,
                        uint64_t buffer, uint64_t size)
{
    if ((int)size <= 0)
        return -EINVAL;
    struct host_path host;
    long error = linux_read_path(process, address, host.path, true);
    if (error)
        return error;
    char target[LINUX_PATH_MAX];
    long len;
    if (is_exe_link(host.path)) {
        len = (long)MIN(strlen(process->exe_path), sizeof(target));
        memcpy(target, process->exe_path, (size_t)len);
    } else {
        error = rewrite_special(process, host.path, sizeof(host.path));
        if (!error)
            error = resolve_dirfd(process, dirfd, host.path, &host.dirfd);
        if (error)
            return error;
        len = readlinkat(host.dirfd, host.path, target, sizeof(target));
        if (len < 0)
            return linux_host_error();
    }
    len = MIN(len, (long)(int)size);
    return linux_copy_out(process, buffer, target, (size_t)len) ? -EFAULT : len;
}

static long sys_readlink(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return readlink_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], args[2]);
}

static long sys_readlinkat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return readlink_at(process, args[0], args[1], args[2], args[3]);
}

static long symlink_at(struct linux_process *process, uint64_t target_address, uint64_t dirfd,
                       uint64_t address)
{
    /* The target is stored as text, never resolved here. */
    char target[LINUX_PATH_MAX];
    long error = linux_read_path(process, target_address, target, false);
    if (error)
        return error;
    struct host_path host;
    error = resolve(process, dirfd, address, false, &host);
    if (error)
        return error;
    return linux_host_result(symlinkat(target, host.dirfd, host.path));
}

static long sys_symlink(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return symlink_at(process, args[0], (uint64_t)GUEST_AT_FDCWD, args[1]);
}

static long sys_symlinkat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return symlink_at(process, args[0], args[1], args[2]);
}

static long link_at(struct linux_process *process, uint64_t old_dirfd, uint64_t old_address,
                    uint64_t new_dirfd, uint64_t new_address, int flags)
{
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct host_path *from = g_new(struct host_path, 1), *to = g_new(struct host_path, 1);
    long result = resolve(process, old_dirfd, old_address, flags & AT_EMPTY_PATH, from);
    if (!result)
        result = resolve(process, new_dirfd, new_address, false, to);
    if (!result)
        result = linux_host_result(linkat(from->dirfd, from->path, to->dirfd, to->path, flags));
    g_free(from);
    g_free(to);
    return result;
}

static long sys_link(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return link_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], (uint64_t)GUEST_AT_FDCWD, args[1],
                   0);
}

static long sys_linkat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return link_at(process, args[0], args[1], args[2], args[3], (int)args[4]);
}

static long rename_at(struct linux_process *process, uint64_t old_dirfd, uint64_t old_address,
                      uint64_t new_dirfd, uint64_t new_address, unsigned int flags)
{
    struct host_path *from = g_new(struct host_path, 1), *to = g_new(struct host_path, 1);
    long result = resolve(process, old_dirfd, old_address, false, from);
    if (!result)
        result = resolve(process, new_dirfd, new_address, false, to);
    if (!result)
        result = linux_host_result(
            syscall(SYS_renameat2, from->dirfd, from->path, to->dirfd, to->path, flags));
    g_free(from);
    g_free(to);
    return result;
}

static long sys_rename(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return rename_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], (uint64_t)GUEST_AT_FDCWD, args[1],
                     0);
}

static long sys_renameat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return rename_at(process, args[0], args[1], args[2], args[3], 0);
}

static long sys_renameat2(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return rename_at(process, args[0], args[1], args[2], args[3], (unsigned int)args[4]);
}

/* ---- directories and unlink ------------------------------------------------ */

static long mkdir_at(struct linux_process *process, uint64_t dirfd, uint64_t address, uint64_t mode)
{
    struct host_path host;
    long error = resolve(process, dirfd, address, false, &host);
    if (error)
        return error;
    return linux_host_result(mkdirat(host.dirfd, host.path, (mode_t)mode));
}

static long sys_mkdir(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return mkdir_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1]);
}

static long sys_mkdirat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return mkdir_at(process, args[0], args[1], args[2]);
}

static long unlink_at(struct linux_process *process, uint64_t dirfd, uint64_t address, int flags)
{
    if (flags & ~AT_REMOVEDIR)
        return -EINVAL;
    struct host_path host;
    long error = resolve(process, dirfd, address, false, &host);
    if (error)
        return error;
    return linux_host_result(unlinkat(host.dirfd, host.path, flags));
}

static long sys_rmdir(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return unlink_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], AT_REMOVEDIR);
}

static long sys_unlink(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return unlink_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], 0);
}

static long sys_unlinkat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return unlink_at(process, args[0], args[1], (int)args[2]);
}

/* ---- file contents and metadata -------------------------------------------- */

static long sys_truncate(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct host_path host;
    long error = resolve(process, (uint64_t)GUEST_AT_FDCWD, args[0], false, &host);
    if (error)
        return error;
    return linux_host_result(truncate(host.path, (off_t)args[1]));
}

#define FD_CALL(name, expression)                                                                  \
    static long sys_##name(struct linux_thread *thread, const uint64_t *args)                      \
    {                                                                                              \
        int host_fd = linux_fd_host(thread->process, args[0]);                                     \
        if (host_fd < 0)                                                                           \
            return -EBADF;                                                                         \
        return linux_host_result(expression);                                                      \
    }

FD_CALL(ftruncate, ftruncate(host_fd, (off_t)args[1]))
FD_CALL(fsync, fsync(host_fd))
FD_CALL(fdatasync, fdatasync(host_fd))
FD_CALL(fchmod, fchmod(host_fd, (mode_t)args[1]))
FD_CALL(fchown, fchown(host_fd, (uid_t)args[1], (gid_t)args[2]))
FD_CALL(flock, flock(host_fd, (int)args[1]))
FD_CALL(syncfs, syncfs(host_fd))
FD_CALL(fallocate, fallocate(host_fd, (int)args[1], (off_t)args[2], (off_t)args[3]))

static long sys_fadvise64(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    /* posix_fadvise returns the error instead of setting errno. */
    return -(long)posix_fadvise(host_fd, (off_t)args[1], (off_t)args[2], (int)args[3]);
}

static long chmod_at(struct linux_process *process, uint64_t dirfd, uint64_t address, uint64_t mode)
{
    struct host_path host;
    long error = resolve(process, dirfd, address, false, &host);
    if (error)
        return error;
    return linux_host_result(fchmodat(host.dirfd, host.path, (mode_t)mode, 0));
}

static long sys_chmod(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return chmod_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1]);
}

static long sys_fchmodat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return chmod_at(process, args[0], args[1], args[2]);
}

static long chown_at(struct linux_process *process, uint64_t dirfd, uint64_t address,
                     uint64_t owner, uint64_t group, int flags)
{
    struct host_path host;
    long error = resolve(process, dirfd, address, flags & AT_EMPTY_PATH, &host);
    if (error)
        return error;
    return linux_host_result(fchownat(host.dirfd, host.path, (uid_t)owner, (gid_t)group, flags));
}

static long sys_chown(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return chown_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], args[2], 0);
}

static long sys_lchown(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return chown_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], args[2],
                    AT_SYMLINK_NOFOLLOW);
}

static long sys_fchownat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return chown_at(process, args[0], args[1], args[2], args[3], (int)args[4]);
}

static long sys_utimensat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct timespec times[2];
    if (args[2] && linux_copy_in(process, args[2], times, sizeof(times)) != 0)
        return -EFAULT;
    int flags = (int)args[3];
    struct host_path host;
    const char *path = NULL;
    int host_dirfd;
    if (args[1]) {
        long error = resolve(process, args[0], args[1], flags & AT_EMPTY_PATH, &host);
        if (error)
            return error;
        path = host.path;
        host_dirfd = host.dirfd;
    } else if ((int32_t)args[0] == GUEST_AT_FDCWD) {
        host_dirfd = AT_FDCWD;
    } else {
        /* No path: the times of the file dirfd names (futimens). */
        host_dirfd = linux_fd_host(process, args[0]);
        if (host_dirfd < 0)
            return -EBADF;
    }
    return linux_host_result(
        syscall(SYS_utimensat, host_dirfd, path, args[2] ? times : NULL, flags));
}

void linux_register_fs(linux_handler *table)
{
    table[SYS_open] = sys_open;
    table[SYS_openat] = sys_openat;
    table[SYS_creat] = sys_creat;
    table[SYS_stat] = sys_stat;
    table[SYS_lstat] = sys_lstat;
    table[SYS_fstat] = sys_fstat;
    table[SYS_newfstatat] = sys_newfstatat;
    table[SYS_statx] = sys_statx;
    table[SYS_statfs] = sys_statfs;
    table[SYS_fstatfs] = sys_fstatfs;
    table[SYS_access] = sys_access;
    table[SYS_faccessat] = sys_faccessat;
    table[SYS_faccessat2] = sys_faccessat2;
    table[SYS_getcwd] = sys_getcwd;
    table[SYS_chdir] = sys_chdir;
    table[SYS_fchdir] = sys_fchdir;
    table[SYS_readlink] = sys_readlink;
    table[SYS_readlinkat] = sys_readlinkat;
    table[SYS_symlink] = sys_symlink;
    table[SYS_symlinkat] = sys_symlinkat;
    table[SYS_link] = sys_link;
    table[SYS_linkat] = sys_linkat;
    table[SYS_rename] = sys_rename;
    table[SYS_renameat] = sys_renameat;
    table[SYS_renameat2] = sys_renameat2;
    table[SYS_mkdir] = sys_mkdir;
    table[SYS_mkdirat] = sys_mkdirat;
    table[SYS_rmdir] = sys_rmdir;
    table[SYS_unlink] = sys_unlink;
    table[SYS_unlinkat] = sys_unlinkat;
    table[SYS_truncate] = sys_truncate;
    table[SYS_ftruncate] = sys_ftruncate;
    table[SYS_fsync] = sys_fsync;
    table[SYS_fdatasync] = sys_fdatasync;
    table[SYS_fchmod] = sys_fchmod;
    table[SYS_fchown] = sys_fchown;
    table[SYS_flock] = sys_flock;
    table[SYS_syncfs] = sys_syncfs;
    table[SYS_fallocate] = sys_fallocate;
    table[SYS_fadvise64] = sys_fadvise64;
    table[SYS_chmod] = sys_chmod;
    table[SYS_fchmodat] = sys_fchmodat;
    table[SYS_chown] = sys_chown;
    table[SYS_lchown] = sys_lchown;
    table[SYS_fchownat] = sys_fchownat;
    table[SYS_utimensat] = sys_utimensat;
}
