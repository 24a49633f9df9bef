/* strace_fs: the calls strace decodes whole (futex by its operation, getdents64's count
 * of entries, statx, fstatfs, extended attributes, uname, groups, CPU affinity, fadvise,
 * copy_file_range, FICLONE, fcntl's flag results) between two marker writes, so that
 * `hermitux-run --strace` can be compared with strace's own trace of the same run. The
 * calls are made with syscall() so that glibc and musl make the same ones; every value
 * printed is the same in every run (files of fixed sizes in DIR, a pipe's file system).
 * Results do not matter (an xattr may be unsupported where DIR is): the trace does.
 *   strace_fs DIR   (an empty writable directory) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* musl's toolchain has no kernel headers: the numbers used here. */
#define FUTEX_WAIT           0
#define FUTEX_WAKE           1
#define FUTEX_CMP_REQUEUE    4
#define FUTEX_WAKE_OP        5
#define FUTEX_WAIT_BITSET    9
#define FUTEX_PRIVATE_FLAG   128
#define FUTEX_CLOCK_REALTIME 256
#define FICLONE              0x40049409
#ifndef STATX_BASIC_STATS
#define STATX_BASIC_STATS 0x7ffu
#endif
#ifndef AT_STATX_DONT_SYNC
#define AT_STATX_DONT_SYNC 0x4000
#endif

static void say(const char *text)
{
    if (write(1, text, strlen(text)) < 0)
        _exit(2);
}

static void futex_calls(void)
{
    static uint32_t word = 5, other = 0;
    struct timespec brief = {0, 1000};
    syscall(SYS_futex, &word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0);
    /* The value differs: EAGAIN at once. */
    syscall(SYS_futex, &word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 4, &brief, NULL, 0);
    syscall(SYS_futex, &word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 4,
            NULL, NULL, 0xffffffffu);
    syscall(SYS_futex, &word, FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 1, 1, &other,
            (1u << 28) | (1u << 12) | (4u << 24) | 0);
    syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE, 1, 2, &other, 5);
    syscall(SYS_futex, &word, 99, 1, NULL, NULL, 0x10);
}

static void file_calls(const char *dir)
{
    char path[4096], copy[4096];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/f%d", dir, i);
        int fd = syscall(SYS_creat, path, 0640);
        if (fd >= 0) {
            if (write(fd, "0123456789", 10 + i) < 0)
                _exit(2);
            close(fd);
        }
    }
    int directory = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char entries[4096];
    syscall(SYS_getdents64, directory, entries, sizeof(entries));
    syscall(SYS_getdents64, directory, entries, sizeof(entries));
    syscall(SYS_fcntl, directory, F_GETFL);
    syscall(SYS_fcntl, directory, F_GETFD);
    close(directory);

    snprintf(path, sizeof(path), "%s/f1", dir);
    char statx_buffer[256];
    syscall(SYS_statx, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_BASIC_STATS,
            statx_buffer);
    syscall(SYS_statx, AT_FDCWD, "/nonexistent", 0, 0x202u, statx_buffer);
    chmod(path, 06751);
    syscall(SYS_statx, AT_FDCWD, path, 0, 0x2u, statx_buffer);
    chmod(path, 0640);

    char value[64] = "";
    syscall(SYS_setxattr, path, "user.hermitux", "strace\0", 7, 1);
    syscall(SYS_getxattr, path, "user.hermitux", NULL, 0);
    syscall(SYS_getxattr, path, "user.hermitux", value, sizeof(value));
    syscall(SYS_lgetxattr, path, "user.nothing.here", value, sizeof(value));
    syscall(SYS_listxattr, path, value, sizeof(value));
    syscall(SYS_removexattr, path, "user.hermitux");
    struct timespec times[2] = {{1577934245, 500000000}, {0, (1l << 30) - 2}};
    syscall(SYS_utimensat, AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
    times[1].tv_nsec = (1l << 30) - 1;
    syscall(SYS_utimensat, AT_FDCWD, path, times, 0);
    syscall(SYS_utimensat, AT_FDCWD, path, NULL, 0);

    int fd = open(path, O_RDWR);
    snprintf(copy, sizeof(copy), "%s/copy", dir);
    int out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int64_t from = 2;
    syscall(SYS_fadvise64, fd, 0, 0, 2);
    syscall(SYS_copy_file_range, fd, &from, out, NULL, 5, 0);
    syscall(SYS_ioctl, out, FICLONE, fd);
    close(out);
    close(fd);

    int pipe_fds[2];
    char statfs_buffer[256];
    if (pipe(pipe_fds) == 0) {
        syscall(SYS_fstatfs, pipe_fds[0], statfs_buffer);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
    }
    syscall(SYS_statfs, "/nonexistent", statfs_buffer);
}

static void system_calls(void)
{
    struct {
        uint32_t version;
        int pid;
    } header = {0x20080522, 0};
    uint32_t capabilities[6];
    syscall(SYS_capget, &header, capabilities);
    syscall(SYS_capget, NULL, NULL);
    static char area[3 * 4096] __attribute__((aligned(4096)));
    syscall(SYS_madvise, area, sizeof(area), 4);
    syscall(SYS_madvise, area, sizeof(area), 77);
    syscall(SYS_close_range, 1000, 1001, 4);
    syscall(SYS_close_range, 1000, ~0u, 0);

    /* prctl by option: names, signals, the dumpable state, a capability, raw others. */
    char name[32] = "";
    int value = -1;
    syscall(SYS_prctl, 15 /* PR_SET_NAME */, "strace-fs-thread-name", 0, 0, 0);
    syscall(SYS_prctl, 16 /* PR_GET_NAME */, name, 0, 0, 0);
    syscall(SYS_prctl, 1 /* PR_SET_PDEATHSIG */, SIGTERM, 0, 0, 0);
    syscall(SYS_prctl, 2 /* PR_GET_PDEATHSIG */, &value, 0, 0, 0);
    syscall(SYS_prctl, 1 /* PR_SET_PDEATHSIG */, 0, 0, 0, 0);
    syscall(SYS_prctl, 3 /* PR_GET_DUMPABLE */, 0, 0, 0, 0);
    syscall(SYS_prctl, 37 /* PR_GET_CHILD_SUBREAPER */, &value, 0, 0, 0);
    syscall(SYS_prctl, 23 /* PR_CAPBSET_READ */, 21 /* CAP_SYS_ADMIN */, 0, 0, 0);
    syscall(SYS_prctl, 39 /* PR_GET_NO_NEW_PRIVS */, 0, 0, 0, 0);
    syscall(SYS_prctl, 9999, 1, 2, 3, 4);

    /* A POSIX timer that never fires: its values stay zero. */
    struct {
        uint64_t value;
        int signo, notify;
        char pad[48];
    } event = {0, SIGALRM, 1 /* SIGEV_NONE */, {0}};
    int timer = -1;
    struct itimerspec zero = {{0, 0}, {0, 0}}, old_value;
    syscall(SYS_timer_create, CLOCK_MONOTONIC, &event, &timer);
    syscall(SYS_timer_settime, timer, 1, &zero, &old_value);
    syscall(SYS_timer_gettime, timer, &old_value);
    syscall(SYS_timer_delete, timer);
    syscall(SYS_timer_gettime, 12345, &old_value);
    char cwd[4096];
    syscall(SYS_getcwd, cwd, sizeof(cwd));
    mode_t old = umask(027);
    umask(old);
    char names[6 * 65];
    syscall(SYS_uname, names);
    uint32_t groups[64];
    long count = syscall(SYS_getgroups, 0, NULL);
    syscall(SYS_getgroups, count < 64 ? count : 64, groups);
    uint64_t cpus[16];
    syscall(SYS_sched_getaffinity, 0, sizeof(cpus), cpus);
    syscall(SYS_sched_getaffinity, 0, 1, cpus);
    /* What a lone thread owns needs no unsharing; "/" is already the root. */
    syscall(SYS_unshare, 0);
    syscall(SYS_unshare, CLONE_FS | CLONE_FILES | CLONE_SYSVSEM);
    syscall(SYS_unshare, 0x1);
    syscall(SYS_chroot, "/");
    syscall(SYS_chroot, "/nonexistent-strace-fs");
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 1;
    say("BEGIN\n");
    futex_calls();
    file_calls(argv[1]);
    system_calls();
    say("END\n");
    return 0;
}
