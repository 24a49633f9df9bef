/*
 * linux/root.c — `--root DIR`: the program sees DIR as /.
 *
 * Every host path the personality resolves for the program starts at an
 * O_PATH fd of DIR with openat2's RESOLVE_IN_ROOT (proc.c), so "..", and
 * symlinks absolute or relative, stay inside it as in a chroot; calls without
 * RESOLVE_* flags go through anchors opened that way (linux_path_anchor).
 * Paths the program reads back (getcwd, /proc/self/cwd, fd/N, exe) are
 * turned into its view here. /proc stays the program's own /proc (and the
 * host's for the rest), as a container mounts one.
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* openat2(2) leaves the retry to its caller; a few rounds are plenty for
 * a race with another process's renames, and bound a hostile one. */
#define OPENAT2_TRIES 64

int linux_host_openat2(int dirfd, const char *path, const struct open_how *how)
{
    int fd = -1;
    for (int round = 0; round < OPENAT2_TRIES; round++) {
        fd = (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
        if (fd >= 0 || errno != EAGAIN || !(how->resolve & (RESOLVE_IN_ROOT | RESOLVE_BENEATH)))
            break;
    }
    return fd;
}

static int root_open_in(int root_fd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    return linux_host_openat2(root_fd, path, &how);
}

/* The host path of what `path` names inside root_fd, or NULL and *error. */
static char *resolve_in(int root_fd, const char *path, int flags, int *error)
{
    int fd = root_open_in(root_fd, path, O_PATH | flags);
    *error = errno;
    if (fd < 0)
        return NULL;
    char resolved[LINUX_PATH_MAX];
    long len = linux_host_fd_path(fd, resolved, sizeof(resolved));
    close(fd);
    if (len < 0 || resolved[0] != '/') {
        *error = len < 0 ? (int)-len : ENOENT;
        return NULL;
    }
    return g_strdup(resolved);
}

char *linux_root_resolve(const char *root, const char *path, int *error)
{
    int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        *error = errno;
        return NULL;
    }
    char *resolved = resolve_in(root_fd, path, 0, error);
    close(root_fd);
    return resolved;
}

long linux_root_host_path(struct linux_process *process, char **path, bool follow)
{
    if (process->root_fd < 0)
        return 0;
    int error;
    char *host = resolve_in(process->root_fd, *path, follow ? 0 : O_NOFOLLOW, &error);
    if (!host)
        return -error;
    g_free(*path);
    *path = host;
    return 0;
}

int linux_root_open(struct linux_process *process, const char *root, char **error)
{
    if (!root)
        return 0;
    process->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    char resolved[LINUX_PATH_MAX];
    if (process->root_fd < 0 ||
        linux_host_fd_path(process->root_fd, resolved, sizeof(resolved)) < 0 ||
        resolved[0] != '/') {
        *error = g_strdup_printf("--root %s: %s", root, g_strerror(errno));
        return -1;
    }
    process->root_path = g_strdup(resolved);
    return 0;
}

bool linux_root_strip(const struct linux_process *process, char *path)
{
    if (process->root_fd < 0)
        return true;
    size_t len = strlen(process->root_path);
    /* The host's root as the root: every path is already the guest's. */
    if (strcmp(process->root_path, "/") == 0)
        return true;
    if (strncmp(path, process->root_path, len) != 0 || (path[len] != '\0' && path[len] != '/'))
        return false;
    if (path[len] == '\0')
        strcpy(path, "/");
    else
        memmove(path, path + len, strlen(path + len) + 1);
    return true;
}
