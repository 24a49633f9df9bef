/* linux/debugger_files.c — the program's files as a debugger asks for them
 * (gdb's vFile packets): paths decided as the program's own open() and
 * readlink() decide them, its cwd and its /proc view included. */
#include "config.h"
#include "linux/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int linux_debugger_open(struct linux_process *process, const char *path, int flags, mode_t mode)
{
    struct linux_path resolved;
    long result = linux_path_resolve(process, LINUX_AT_FDCWD, path, true, &resolved);
    if (result < 0)
        return (int)result;
    /* Opened as the program would (a virtual /proc file gets its text),
     * then moved out of its fd table: the debugger's fds are the monitor's,
     * as gdbserver's are its own and not the inferior's. */
    long guest_fd = linux_path_open(process, &resolved, flags | O_CLOEXEC, mode);
    if (guest_fd < 0)
        return (int)guest_fd;
    int host_fd = fcntl(linux_fd_host(process, (uint64_t)guest_fd), F_DUPFD_CLOEXEC, 3);
    int error = errno;
    linux_fd_release(process, (int)guest_fd);
    return host_fd < 0 ? -error : host_fd;
}

long linux_debugger_readlink(struct linux_process *process, const char *path, char *out,
                             size_t size)
{
    struct linux_path resolved;
    long result = linux_path_resolve(process, LINUX_AT_FDCWD, path, false, &resolved);
    if (result == 0)
        result = linux_path_anchor(process, &resolved, false);
    if (result < 0)
        return result;
    if (resolved.kind == LINUX_PATH_PROC_LINK)
        return linux_proc_readlink(process, &resolved, out, size);
    if (resolved.kind != LINUX_PATH_HOST)
        return -EINVAL;
    ssize_t length = readlinkat(resolved.dirfd, resolved.path, out, size);
    return length < 0 ? -errno : length;
}
