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
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <utime.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GUEST_AT_FDCWD LINUX_AT_FDCWD

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* Reads and decides a guest (dirfd, path) for an open (linux_path_open
 * applies the rules on the way). allow_empty: AT_EMPTY_PATH, an empty path
 * names dirfd itself. follow: a final /proc link is followed. */
static long decide_path(struct linux_process *process, uint64_t dirfd, uint64_t address,
                        bool allow_empty, bool follow, struct linux_path *out)
{
    char path[LINUX_PATH_MAX];
    long error = linux_read_path(process, address, path, allow_empty);
    if (error)
        return error;
    if (!path[0])
        return linux_path_of_fd(process, (int32_t)dirfd, out);
    return linux_path_resolve(process, (int32_t)dirfd, path, follow, out);
}

/* As decide_path, for any other call: the host's own lookup of the path
 * (which would cross symlinks into the monitor's /proc, or out of --root)
 * is replaced by an anchor opened by the open rules. follow: the last
 * component is followed too (stat), else only its directory (lstat). */
static long resolve_path(struct linux_process *process, uint64_t dirfd, uint64_t address,
                         bool allow_empty, bool follow, struct linux_path *out)
{
    long error = decide_path(process, dirfd, address, allow_empty, follow, out);
    return error ? error : linux_path_anchor(process, out, follow);
}

/* As resolve_path, following a final /proc link (what most calls do). */
static long resolve(struct linux_process *process, uint64_t dirfd, uint64_t address,
                    bool allow_empty, struct linux_path *out)
{
    return resolve_path(process, dirfd, address, allow_empty, true, out);
}

/* For calls that change the file system: a virtual /proc object refuses
 * them as Linux's read-only /proc does. */
static long resolve_host(struct linux_process *process, uint64_t dirfd, uint64_t address,
                         bool allow_empty, bool follow, long refusal, struct linux_path *out)
{
    long error = resolve_path(process, dirfd, address, allow_empty, follow, out);
    if (!error && out->kind != LINUX_PATH_HOST)
        return refusal;
    return error;
}

/* One absolute host path for calls without an *at form (truncate, statfs):
 * a dirfd-relative path goes through the monitor's own /proc/self/fd. */
static void host_absolute(const struct linux_path *path, char *out, size_t size)
{
    if (path->path[0] == '/' || path->dirfd == AT_FDCWD) {
        g_strlcpy(out, path->path, size);
        return;
    }
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "/proc/self/fd/%d%s", path->dirfd, path->path[0] ? "/" : "");
    g_strlcpy(out, prefix, size);
    g_strlcat(out, path->path, size);
}

/* ---- open ---------------------------------------------------------------- */

static long do_openat(struct linux_process *process, uint64_t dirfd, uint64_t address,
                      uint64_t flags, uint64_t mode)
{
    struct linux_path path;
    long error = decide_path(process, dirfd, address, false, !(flags & O_NOFOLLOW), &path);
    if (error)
        return error;
    return linux_path_open(process, &path, (int)flags, (mode_t)mode);
}

/* openat2's struct open_how and what Linux accepts in it. */
struct guest_open_how {
    uint64_t flags, mode, resolve;
};
#define GUEST_RESOLVE_ALL                                                                          \
    (RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |             \
     RESOLVE_IN_ROOT | RESOLVE_CACHED)
#define GUEST_OPEN_FLAGS                                                                           \
    (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |         \
     O_SYNC | O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME |            \
     O_CLOEXEC | O_PATH | O_TMPFILE)

static long read_open_how(struct linux_process *process, uint64_t address, uint64_t size,
                          struct guest_open_how *how)
{
    if (size < sizeof(*how))
        return -EINVAL;
    if (size > GUEST_PAGE_SIZE)
        return -E2BIG;
    if (linux_copy_in(process, address, how, sizeof(*how)) != 0)
        return -EFAULT;
    /* A larger struct from a newer libc: its extra bytes must be zero. */
    for (uint64_t at = sizeof(*how); at < size; at++) {
        uint8_t byte;
        if (linux_copy_in(process, address + at, &byte, 1) != 0)
            return -EFAULT;
        if (byte)
            return -E2BIG;
    }
    bool creates = (how->flags & O_CREAT) || (how->flags & O_TMPFILE) == O_TMPFILE;
    if ((how->flags & ~(uint64_t)GUEST_OPEN_FLAGS) || (how->mode & ~07777ULL) ||
        (how->mode && !creates) || (how->resolve & ~(uint64_t)GUEST_RESOLVE_ALL) ||
        ((how->resolve & RESOLVE_BENEATH) && (how->resolve & RESOLVE_IN_ROOT)))
        return -EINVAL;
    return 0;
}

/*
 * openat2. RESOLVE_BENEATH and RESOLVE_IN_ROOT are the host's own, relative
 * to the real directory the dirfd (or the program's cwd) names; the other
 * RESOLVE_* flags are added to the host open of the decided path.
 */
static long sys_openat2(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    struct guest_open_how how;
    long error = read_open_how(process, args[2], args[3], &how);
    if (error)
        return error;
    struct linux_path path;
    if (how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) {
        error = linux_path_of_fd(process, (int32_t)args[0], &path);
        if (!error && path.kind != LINUX_PATH_HOST)
            error = -EXDEV;
        if (!error)
            error = linux_read_path(process, args[1], path.path, false);
    } else {
        error = decide_path(process, args[0], args[1], false, !(how.flags & O_NOFOLLOW), &path);
    }
    if (error)
        return error;
    path.resolve |= how.resolve;
    return linux_path_open(process, &path, (int)how.flags, (mode_t)how.mode);
}

/* name_to_handle_at: file handles are not given out (open_by_handle_at, the
 * only use, needs CAP_DAC_READ_SEARCH and is refused below), as on a file
 * system that cannot export them. */
static long sys_name_to_handle_at(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_path path;
    long error = resolve_path(thread->process, args[0], args[1], args[4] & AT_EMPTY_PATH,
                              args[4] & AT_SYMLINK_FOLLOW, &path);
    return error ? error : -EOPNOTSUPP;
}

static long sys_open_by_handle_at(struct linux_thread *thread, const uint64_t *args)
{
    (void)args;
    return linux_fd_host(thread->process, args[0]) < 0 && (int32_t)args[0] != GUEST_AT_FDCWD
               ? -EBADF
               : -EPERM;
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
    struct linux_path path;
    long error = resolve_path(process, dirfd, address, flags & AT_EMPTY_PATH,
                              !(flags & AT_SYMLINK_NOFOLLOW), &path);
    if (error)
        return error;
    struct stat st;
    if (path.kind != LINUX_PATH_HOST)
        linux_proc_stat(&path, &st);
    else if (fstatat(path.dirfd, path.path, &st, flags | (path.path[0] ? 0 : AT_EMPTY_PATH)) != 0)
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
    struct linux_path path;
    long error = linux_path_of_fd(process, (int32_t)args[0], &path);
    if (error || (int32_t)args[0] == GUEST_AT_FDCWD)
        return error ? error : -EBADF;
    struct stat st;
    if (path.kind != LINUX_PATH_HOST)
        linux_proc_stat(&path, &st);
    else if (fstat(path.dirfd, &st) != 0)
        return linux_host_error();
    return linux_copy_out(process, args[1], &st, sizeof(st)) ? -EFAULT : 0;
}

/* A virtual object's statx, from its stat. */
static void statx_of(const struct stat *st, struct statx *stx)
{
    memset(stx, 0, sizeof(*stx));
    stx->stx_mask = STATX_BASIC_STATS;
    stx->stx_blksize = (uint32_t)st->st_blksize;
    stx->stx_nlink = (uint32_t)st->st_nlink;
    stx->stx_uid = st->st_uid;
    stx->stx_gid = st->st_gid;
    stx->stx_mode = (uint16_t)st->st_mode;
    stx->stx_ino = st->st_ino;
    struct statx_timestamp time = {st->st_ctim.tv_sec, (uint32_t)st->st_ctim.tv_nsec, 0};
    stx->stx_atime = stx->stx_btime = stx->stx_ctime = stx->stx_mtime = time;
    stx->stx_dev_major = major(st->st_dev);
    stx->stx_dev_minor = minor(st->st_dev);
}

static long sys_statx(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int flags = (int)args[2];
    struct linux_path path;
    long error = resolve_path(process, args[0], args[1], flags & AT_EMPTY_PATH,
                              !(flags & AT_SYMLINK_NOFOLLOW), &path);
    if (error)
        return error;
    if ((unsigned int)args[3] & STATX__RESERVED)
        return -EINVAL;
    struct statx stx;
    if (path.kind != LINUX_PATH_HOST) {
        struct stat st;
        linux_proc_stat(&path, &st);
        statx_of(&st, &stx);
    } else if (statx(path.dirfd, path.path, flags | (path.path[0] ? 0 : AT_EMPTY_PATH),
                     (unsigned int)args[3], &stx) != 0) {
        return linux_host_error();
    }
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
    struct linux_path path;
    long error = resolve(process, (uint64_t)GUEST_AT_FDCWD, args[0], false, &path);
    if (error)
        return error;
    char host[LINUX_PATH_MAX + 64];
    host_absolute(&path, host, sizeof(host));
    struct statfs st;
    return statfs_out(process, statfs(path.kind == LINUX_PATH_HOST ? host : "/proc", &st), &st,
                      args[1]);
}

static long sys_fstatfs(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    struct statfs st;
    if (process->fds[(uint32_t)args[0]].proc)
        return statfs_out(process, statfs("/proc", &st), &st, args[1]);
    return statfs_out(process, fstatfs(host_fd, &st), &st, args[1]);
}

/* ---- access ---------------------------------------------------------------- */

/* access(2) on a virtual object: what its mode allows the owner. */
static long proc_access(const struct linux_path *path, uint64_t mode)
{
    struct stat st;
    linux_proc_stat(path, &st);
    if (((mode & R_OK) && !(st.st_mode & S_IRUSR)) || ((mode & W_OK) && !(st.st_mode & S_IWUSR)) ||
        ((mode & X_OK) && !(st.st_mode & S_IXUSR)))
        return -EACCES;
    return 0;
}

static long access_at(struct linux_process *process, uint64_t dirfd, uint64_t address,
                      uint64_t mode, int flags, bool with_flags)
{
    if (mode & ~(uint64_t)(R_OK | W_OK | X_OK))
        return -EINVAL;
    if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct linux_path path;
    long error = resolve_path(process, dirfd, address, flags & AT_EMPTY_PATH,
                              !(flags & AT_SYMLINK_NOFOLLOW), &path);
    if (error)
        return error;
    if (path.kind != LINUX_PATH_HOST)
        return proc_access(&path, mode);
    if (!path.path[0])
        flags |= AT_EMPTY_PATH;
    if (!with_flags && !(flags & AT_EMPTY_PATH))
        return linux_host_result(syscall(SYS_faccessat, path.dirfd, path.path, (int)mode));
    long result = syscall(SYS_faccessat2, path.dirfd, path.path, (int)mode, flags);
    if (result < 0 && errno == ENOSYS) /* an older host kernel: libc emulates */
        result = faccessat(path.dirfd, path.path, (int)mode, flags);
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

/* The program's current directory is its own: the monitor's never moves, so
 * relative paths the monitor owns (--core, --gdb unix:) keep their meaning. */
static long sys_getcwd(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    char buffer[LINUX_PATH_MAX];
    long len = linux_cwd_path(process, buffer, sizeof(buffer));
    if (len < 0)
        return len;
    if ((uint64_t)len + 1 > args[1])
        return -ERANGE;
    return linux_copy_out(process, args[0], buffer, (size_t)len + 1) ? -EFAULT : len + 1;
}

/* One lock for every cwd_virtual of this monitor: chdir is rare, and a
 * reader only copies the string. */
static GMutex cwd_virtual_lock;

bool linux_fs_cwd_virtual(const struct linux_fs *fs, char *out, size_t size)
{
    g_mutex_lock(&cwd_virtual_lock);
    bool set = fs->cwd_virtual != NULL;
    if (set)
        g_strlcpy(out, fs->cwd_virtual, size);
    g_mutex_unlock(&cwd_virtual_lock);
    return set;
}

void linux_fs_set_cwd_virtual(struct linux_fs *fs, char *path)
{
    g_mutex_lock(&cwd_virtual_lock);
    char *old = fs->cwd_virtual;
    fs->cwd_virtual = path;
    g_mutex_unlock(&cwd_virtual_lock);
    g_free(old);
}

/* Makes a host directory fd (any open mode, O_PATH included) the cwd. */
static long change_directory(struct linux_process *process, int host_fd, const char *virtual_path)
{
    if (virtual_path) {
        linux_fs_set_cwd_virtual(linux_fs(process), g_strdup(virtual_path));
        return 0;
    }
    struct stat st;
    if (fstat(host_fd, &st) != 0)
        return linux_host_error();
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    /* chdir needs search permission, which looking up "." checks. */
    if (faccessat(host_fd, ".", X_OK, 0) != 0)
        return linux_host_error();
    int copy = fcntl(host_fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0)
        return linux_host_error();
    struct statfs fs;
    /* The new directory takes the old one's number in one step: another
     * thread (the peer server, a thread sharing the cwd) using the number
     * meanwhile gets one directory or the other, never a closed or reused
     * fd. */
    int old = linux_fs(process)->cwd_fd;
    if (old >= 0 && dup3(copy, old, O_CLOEXEC) == old) {
        close(copy);
        copy = old;
    } else if (old >= 0) {
        close(old);
    }
    linux_fs(process)->cwd_fd = copy;
    linux_fs(process)->cwd_on_proc = fstatfs(copy, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
    linux_fs_set_cwd_virtual(linux_fs(process), NULL);
    return 0;
}

/* The directory at the guest path `address`, opened O_PATH as a slot of
 * the fd table (the caller releases it), or -errno as chdir gives them. */
static long open_directory(struct linux_process *process, uint64_t address)
{
    struct linux_path path;
    long error = resolve(process, (uint64_t)GUEST_AT_FDCWD, address, false, &path);
    if (error)
        return error;
    return linux_path_open(process, &path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}

static long sys_chdir(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    long fd = open_directory(process, args[0]);
    if (fd < 0)
        return fd;
    const struct linux_proc_fd *proc = process->fds[fd].proc;
    long error =
        change_directory(process, linux_fd_entry_host(&process->fds[fd]), proc ? proc->path : NULL);
    linux_fd_release(process, (int)fd);
    return error;
}

static long sys_fchdir(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    const struct linux_proc_fd *proc = process->fds[(uint32_t)args[0]].proc;
    if (proc && !proc->dir)
        return -ENOTDIR;
    return change_directory(process, host_fd, proc ? proc->path : NULL);
}

/* chroot: the program's root is the one --root gave it, for good (every
 * path the personality resolves, its forks and its execs start there). A
 * chroot to that same directory changes nothing and succeeds, as daemons
 * configured without a jail make it; any other is EPERM (what Linux answers
 * without CAP_SYS_CHROOT), logged with -v, after the path's own errors. */
static long sys_chroot(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    long fd = open_directory(process, args[0]);
    if (fd < 0)
        return fd;
    struct stat there, root;
    bool same = !process->fds[fd].proc &&
                fstat(linux_fd_entry_host(&process->fds[fd]), &there) == 0 &&
                (process->root_fd >= 0 ? fstat(process->root_fd, &root) : stat("/", &root)) == 0 &&
                there.st_dev == root.st_dev && there.st_ino == root.st_ino;
    linux_fd_release(process, (int)fd);
    if (same)
        return 0;
    (void)linux_sys_unsupported(process, SYS_chroot);
    return -EPERM;
}

/* ---- links ------------------------------------------------------------------ */

static long readlink_at(struct linux_process *process, uint64_t dirfd, uint64_t address,
                        uint64_t buffer, uint64_t size)
{
    if ((int)size <= 0)
        return -EINVAL;
    struct linux_path path;
    long error =
        resolve_path(process, dirfd, address, (int32_t)dirfd != GUEST_AT_FDCWD, false, &path);
    if (error)
        return error;
    char target[LINUX_PATH_MAX];
    long len;
    if (path.kind != LINUX_PATH_HOST) {
        len = linux_proc_readlink(process, &path, target, sizeof(target));
        if (len >= (long)sizeof(target))
            len = sizeof(target) - 1;
    } else {
        len = readlinkat(path.dirfd, path.path, target, sizeof(target));
        if (len < 0)
            len = linux_host_error();
    }
    if (len < 0)
        return len;
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
    struct linux_path path;
    error = resolve_host(process, dirfd, address, false, false, -EACCES, &path);
    if (error)
        return error == -EACCES ? -EEXIST : error;
    return linux_host_result(symlinkat(target, path.dirfd, path.path));
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
    struct linux_path *from = g_new(struct linux_path, 1), *to = g_new(struct linux_path, 1);
    long result = resolve_host(process, old_dirfd, old_address, flags & AT_EMPTY_PATH,
                               flags & AT_SYMLINK_FOLLOW, -EPERM, from);
    if (!result)
        result = resolve_host(process, new_dirfd, new_address, false, false, -EACCES, to);
    if (!result)
        result = linux_host_result(linkat(from->dirfd, from->path, to->dirfd, to->path,
                                          flags | (from->path[0] ? 0 : AT_EMPTY_PATH)));
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
    struct linux_path *from = g_new(struct linux_path, 1), *to = g_new(struct linux_path, 1);
    long result = resolve_host(process, old_dirfd, old_address, false, false, -EACCES, from);
    if (!result)
        result = resolve_host(process, new_dirfd, new_address, false, false, -EACCES, to);
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
    struct linux_path path;
    long error = resolve_host(process, dirfd, address, false, false, -EEXIST, &path);
    if (error)
        return error;
    return linux_host_result(mkdirat(path.dirfd, path.path, (mode_t)mode));
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

static long mknod_at(struct linux_process *process, uint64_t dirfd, uint64_t address, uint64_t mode,
                     uint64_t device)
{
    struct linux_path path;
    long error = resolve_host(process, dirfd, address, false, false, -EEXIST, &path);
    if (error)
        return error;
    return linux_host_result(mknodat(path.dirfd, path.path, (mode_t)mode, (dev_t)(uint32_t)device));
}

static long sys_mknod(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return mknod_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], args[2]);
}

static long sys_mknodat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return mknod_at(process, args[0], args[1], args[2], args[3]);
}

static long unlink_at(struct linux_process *process, uint64_t dirfd, uint64_t address, int flags)
{
    if (flags & ~AT_REMOVEDIR)
        return -EINVAL;
    struct linux_path path;
    long error = resolve_host(process, dirfd, address, false, false, -EACCES, &path);
    if (error)
        return error;
    return linux_host_result(unlinkat(path.dirfd, path.path, flags));
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
    struct linux_path path;
    long error =
        resolve_host(process, (uint64_t)GUEST_AT_FDCWD, args[0], false, true, -EACCES, &path);
    if (error)
        return error;
    char host[LINUX_PATH_MAX + 64];
    host_absolute(&path, host, sizeof(host));
    long result = linux_host_result(truncate(host, (off_t)args[1]));
    if (result == 0)
        linux_mm_file_truncated(process, -1, host);
    return result;
}

#define FD_CALL(name, expression)                                                                  \
    static long sys_##name(struct linux_thread *thread, const uint64_t *args)                      \
    {                                                                                              \
        int host_fd = linux_fd_host(thread->process, args[0]);                                     \
        if (host_fd < 0)                                                                           \
            return -EBADF;                                                                         \
        return linux_host_result(expression);                                                      \
    }

static long sys_ftruncate(struct linux_thread *thread, const uint64_t *args)
{
    int host_fd = linux_fd_host(thread->process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    long result = linux_host_result(ftruncate(host_fd, (off_t)args[1]));
    if (result == 0)
        linux_mm_file_truncated(thread->process, host_fd, NULL);
    return result;
}

FD_CALL(fsync, fsync(host_fd))
FD_CALL(fdatasync, fdatasync(host_fd))
FD_CALL(fchmod, fchmod(host_fd, (mode_t)args[1]))
FD_CALL(fchown, fchown(host_fd, (uid_t)args[1], (gid_t)args[2]))
FD_CALL(syncfs, syncfs(host_fd))

/* flock: Linux judges the operation before the fd. */
static long sys_flock(struct linux_thread *thread, const uint64_t *args)
{
    int operation = (int)args[1] & ~LOCK_NB;
    if (operation != LOCK_SH && operation != LOCK_EX && operation != LOCK_UN)
        return -EINVAL;
    int host_fd = linux_fd_host(thread->process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    return linux_host_result(flock(host_fd, (int)args[1]));
}
FD_CALL(fallocate, fallocate(host_fd, (int)args[1], (off_t)args[2], (off_t)args[3]))
FD_CALL(sync_file_range,
        sync_file_range(host_fd, (off64_t)args[1], (off64_t)args[2], (unsigned int)args[3]))

static long sys_sync(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    (void)args;
    sync();
    return 0;
}

static long sys_fadvise64(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    int host_fd = linux_fd_host(process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    /* posix_fadvise returns the error instead of setting errno. */
    return -(long)posix_fadvise(host_fd, (off_t)args[1], (off_t)args[2], (int)args[3]);
}

/* readahead: the host's page cache is the guest's, so the host does it. */
static long sys_readahead(struct linux_thread *thread, const uint64_t *args)
{
    int host_fd = linux_fd_host(thread->process, args[0]);
    if (host_fd < 0)
        return -EBADF;
    return linux_host_result(readahead(host_fd, (off64_t)args[1], (size_t)args[2]));
}

static long chmod_at(struct linux_process *process, uint64_t dirfd, uint64_t address, uint64_t mode,
                     int flags)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct linux_path path;
    long error = resolve_host(process, dirfd, address, flags & AT_EMPTY_PATH,
                              !(flags & AT_SYMLINK_NOFOLLOW), -EPERM, &path);
    if (error)
        return error;
    if (!path.path[0])
        return linux_host_result(fchmod(path.dirfd, (mode_t)mode));
    long result = syscall(SYS_fchmodat2, path.dirfd, path.path, (mode_t)mode, flags);
    if (result < 0 && errno == ENOSYS && !flags)
        result = fchmodat(path.dirfd, path.path, (mode_t)mode, 0);
    return linux_host_result(result);
}

static long sys_chmod(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return chmod_at(process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], 0);
}

static long sys_fchmodat(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return chmod_at(process, args[0], args[1], args[2], 0);
}

static long sys_fchmodat2(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    return chmod_at(process, args[0], args[1], args[2], (int)args[3]);
}

static long chown_at(struct linux_process *process, uint64_t dirfd, uint64_t address,
                     uint64_t owner, uint64_t group, int flags)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct linux_path path;
    long error = resolve_host(process, dirfd, address, flags & AT_EMPTY_PATH,
                              !(flags & AT_SYMLINK_NOFOLLOW), -EPERM, &path);
    if (error)
        return error;
    return linux_host_result(fchownat(path.dirfd, path.path, (uid_t)owner, (gid_t)group,
                                      flags | (path.path[0] ? 0 : AT_EMPTY_PATH)));
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
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct linux_path path;
    long error;
    if (args[1])
        error = resolve_host(process, args[0], args[1], flags & AT_EMPTY_PATH,
                             !(flags & AT_SYMLINK_NOFOLLOW), -EPERM, &path);
    else if ((int32_t)args[0] == GUEST_AT_FDCWD)
        return -EFAULT; /* futimens(AT_FDCWD): Linux has no file to name */
    else
        error = linux_path_of_fd(process, (int32_t)args[0], &path);
    if (error)
        return error;
    if (path.kind != LINUX_PATH_HOST)
        return -EPERM;
    /* No path: the times of the file dirfd names (futimens). */
    return linux_host_result(syscall(SYS_utimensat, path.dirfd, path.path[0] ? path.path : NULL,
                                     args[2] ? times : NULL, flags));
}

/* utime, utimes and futimesat: utimensat with microseconds or seconds. */
static long utimes_common(struct linux_process *process, uint64_t dirfd, uint64_t address,
                          uint64_t times_address, bool seconds_only)
{
    struct timespec times[2];
    if (times_address) {
        if (seconds_only) {
            struct utimbuf old;
            if (linux_copy_in(process, times_address, &old, sizeof(old)) != 0)
                return -EFAULT;
            times[0] = (struct timespec){old.actime, 0};
            times[1] = (struct timespec){old.modtime, 0};
        } else {
            struct timeval tv[2];
            if (linux_copy_in(process, times_address, tv, sizeof(tv)) != 0)
                return -EFAULT;
            for (int i = 0; i < 2; i++) {
                if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
                    return -EINVAL;
                times[i] = (struct timespec){tv[i].tv_sec, tv[i].tv_usec * 1000};
            }
        }
    }
    struct linux_path path;
    long error = resolve_host(process, dirfd, address, false, true, -EPERM, &path);
    if (error)
        return error;
    return linux_host_result(utimensat(path.dirfd, path.path, times_address ? times : NULL, 0));
}

static long sys_utime(struct linux_thread *thread, const uint64_t *args)
{
    return utimes_common(thread->process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], true);
}

static long sys_utimes(struct linux_thread *thread, const uint64_t *args)
{
    return utimes_common(thread->process, (uint64_t)GUEST_AT_FDCWD, args[0], args[1], false);
}

static long sys_futimesat(struct linux_thread *thread, const uint64_t *args)
{
    return utimes_common(thread->process, args[0], args[1], args[2], false);
}

/* ---- extended attributes ------------------------------------------------------- */

/* Linux's limits: a name (XATTR_NAME_MAX), a value or list (XATTR_SIZE_MAX). */
#define XATTR_NAME_LIMIT 255
#define XATTR_SIZE_LIMIT 65536

/* Where an xattr call acts: a guest fd's host fd, or a host path (dirfd-
 * relative ones through the monitor's /proc/self/fd). */
struct xattr_target {
    int fd; /* >= 0: the f*xattr form */
    bool follow;
    char path[LINUX_PATH_MAX + 64];
    bool proc; /* a virtual /proc object: no attributes */
};

static long xattr_target(struct linux_process *process, uint64_t first, bool is_fd, bool follow,
                         struct xattr_target *target)
{
    target->fd = -1;
    target->follow = follow;
    target->proc = false;
    if (is_fd) {
        target->fd = linux_fd_host(process, first);
        if (target->fd < 0)
            return -EBADF;
        target->proc = process->fds[(uint32_t)first].proc != NULL;
        return 0;
    }
    struct linux_path path;
    long error = resolve_path(process, (uint64_t)GUEST_AT_FDCWD, first, false, follow, &path);
    if (error)
        return error;
    target->proc = path.kind != LINUX_PATH_HOST;
    host_absolute(&path, target->path, sizeof(target->path));
    return 0;
}

static long read_xattr_name(struct linux_process *process, uint64_t address, char *name)
{
    long len = guest_read_string(process->memory, address, name, XATTR_NAME_LIMIT + 1,
                                 GUEST_ACCESS_USER_READ);
    if (len == -ENAMETOOLONG)
        return -ERANGE;
    if (len < 0)
        return len;
    return len == 0 ? -ERANGE : 0;
}

/* getxattr family (name != 0) and listxattr family (name == 0). */
static long xattr_read(struct linux_process *process, const uint64_t *args, bool is_fd, bool follow,
                       bool is_get)
{
    struct xattr_target target;
    long error = xattr_target(process, args[0], is_fd, follow, &target);
    char name[XATTR_NAME_LIMIT + 1];
    if (!error && is_get)
        error = read_xattr_name(process, args[1], name);
    if (error)
        return error;
    uint64_t buffer = is_get ? args[2] : args[1], size = is_get ? args[3] : args[2];
    if (target.proc)
        return is_get ? -ENODATA : 0;
    size = MIN(size, (uint64_t)XATTR_SIZE_LIMIT);
    char *value = size ? g_malloc(size) : NULL;
    ssize_t n;
    if (is_get)
        n = target.fd >= 0 ? fgetxattr(target.fd, name, value, size)
            : follow       ? getxattr(target.path, name, value, size)
                           : lgetxattr(target.path, name, value, size);
    else
        n = target.fd >= 0 ? flistxattr(target.fd, value, size)
            : follow       ? listxattr(target.path, value, size)
                           : llistxattr(target.path, value, size);
    long result = n < 0 ? linux_host_error() : n;
    if (n > 0 && size && linux_copy_out(process, buffer, value, (size_t)n) != 0)
        result = -EFAULT;
    g_free(value);
    return result;
}

/* setxattr family (value != NULL) and removexattr family. */
static long xattr_write(struct linux_process *process, const uint64_t *args, bool is_fd,
                        bool follow, bool is_set)
{
    struct xattr_target target;
    long error = xattr_target(process, args[0], is_fd, follow, &target);
    char name[XATTR_NAME_LIMIT + 1];
    if (!error)
        error = read_xattr_name(process, args[1], name);
    if (error)
        return error;
    if (is_set && args[3] > XATTR_SIZE_LIMIT)
        return -E2BIG;
    if (target.proc)
        return -EPERM;
    size_t size = is_set ? (size_t)args[3] : 0;
    char *value = g_malloc(size ? size : 1);
    long result = 0;
    if (size && linux_copy_in(process, args[2], value, size) != 0)
        result = -EFAULT;
    else if (is_set)
        result =
            linux_host_result(target.fd >= 0 ? fsetxattr(target.fd, name, value, size, (int)args[4])
                              : follow ? setxattr(target.path, name, value, size, (int)args[4])
                                       : lsetxattr(target.path, name, value, size, (int)args[4]));
    else
        result = linux_host_result(target.fd >= 0 ? fremovexattr(target.fd, name)
                                   : follow       ? removexattr(target.path, name)
                                                  : lremovexattr(target.path, name));
    g_free(value);
    return result;
}

#define XATTR_CALLS(prefix, is_fd, follow)                                                         \
    static long sys_##prefix##getxattr(struct linux_thread *thread, const uint64_t *args)          \
    {                                                                                              \
        return xattr_read(thread->process, args, is_fd, follow, true);                             \
    }                                                                                              \
    static long sys_##prefix##listxattr(struct linux_thread *thread, const uint64_t *args)         \
    {                                                                                              \
        return xattr_read(thread->process, args, is_fd, follow, false);                            \
    }                                                                                              \
    static long sys_##prefix##setxattr(struct linux_thread *thread, const uint64_t *args)          \
    {                                                                                              \
        return xattr_write(thread->process, args, is_fd, follow, true);                            \
    }                                                                                              \
    static long sys_##prefix##removexattr(struct linux_thread *thread, const uint64_t *args)       \
    {                                                                                              \
        return xattr_write(thread->process, args, is_fd, follow, false);                           \
    }

XATTR_CALLS(, false, true)
XATTR_CALLS(l, false, false)
XATTR_CALLS(f, true, true)

void linux_register_fs(linux_handler *table)
{
    table[SYS_open] = sys_open;
    table[SYS_openat] = sys_openat;
    table[SYS_creat] = sys_creat;
    table[SYS_openat2] = sys_openat2;
    table[SYS_utime] = sys_utime;
    table[SYS_utimes] = sys_utimes;
    table[SYS_futimesat] = sys_futimesat;
    table[SYS_getxattr] = sys_getxattr;
    table[SYS_lgetxattr] = sys_lgetxattr;
    table[SYS_fgetxattr] = sys_fgetxattr;
    table[SYS_listxattr] = sys_listxattr;
    table[SYS_llistxattr] = sys_llistxattr;
    table[SYS_flistxattr] = sys_flistxattr;
    table[SYS_setxattr] = sys_setxattr;
    table[SYS_lsetxattr] = sys_lsetxattr;
    table[SYS_fsetxattr] = sys_fsetxattr;
    table[SYS_removexattr] = sys_removexattr;
    table[SYS_lremovexattr] = sys_lremovexattr;
    table[SYS_fremovexattr] = sys_fremovexattr;
    table[SYS_name_to_handle_at] = sys_name_to_handle_at;
    table[SYS_open_by_handle_at] = sys_open_by_handle_at;
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
    table[SYS_chroot] = sys_chroot;
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
    table[SYS_readahead] = sys_readahead;
    table[SYS_chmod] = sys_chmod;
    table[SYS_fchmodat] = sys_fchmodat;
    table[SYS_fchmodat2] = sys_fchmodat2;
    table[SYS_mknod] = sys_mknod;
    table[SYS_mknodat] = sys_mknodat;
    table[SYS_sync] = sys_sync;
    table[SYS_sync_file_range] = sys_sync_file_range;
    table[SYS_chown] = sys_chown;
    table[SYS_lchown] = sys_lchown;
    table[SYS_fchownat] = sys_fchownat;
    table[SYS_utimensat] = sys_utimensat;
}
