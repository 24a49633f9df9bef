/* rw_flags: preadv2 and pwritev2 with their RWF_* flags, readahead and mlock2, on a file
 * in DIR and on a pipe; then calls whose arguments Linux judges in an order of its own
 * (flock's operation, inotify's mask, splice and tee of nothing, mlock's range and
 * mlockall's flags before the fd or the memory); prints each result (a count or an
 * errno) and the file's content at the end.
 *   rw_flags DIR */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* Linux's values (musl's headers have none of them). */
#ifndef RWF_HIPRI
#define RWF_HIPRI  0x01
#define RWF_DSYNC  0x02
#define RWF_NOWAIT 0x08
#define RWF_APPEND 0x10
#endif

static void show(const char *what, long result)
{
    if (result < 0)
        printf("%s: errno %d\n", what, errno);
    else
        printf("%s: %ld\n", what, result);
}

/* The raw call, so that the C library's fallbacks do not hide what the kernel says. */
static long rw2(int number, int fd, struct iovec *iov, int count, long offset, int flags)
{
    return syscall(number, fd, iov, count, offset, 0L, flags);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/rw_flags.txt", argv[1]);
    /* Marks for the strace comparison (tests/integration/70-strace.sh). */
    if (write(1, "BEGIN\n", 6) != 6)
        return 1;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 1;
    char hello[] = "hello ", world[] = "world", tail[] = "!\n";
    struct iovec out[] = {{hello, 6}, {world, 5}};
    show("pwritev2 at 0, no flags", rw2(SYS_pwritev2, fd, out, 2, 0, 0));
    struct iovec bang = {tail, 2};
    show("pwritev2 RWF_APPEND at 0", rw2(SYS_pwritev2, fd, &bang, 1, 0, RWF_APPEND));
    show("pwritev2 RWF_DSYNC at 0", rw2(SYS_pwritev2, fd, out, 1, 0, RWF_DSYNC));
    show("pwritev2 unknown flag", rw2(SYS_pwritev2, fd, out, 1, 0, 0x4000));
    show("pwritev2 offset -2", rw2(SYS_pwritev2, fd, out, 1, -2, 0));
    char buffer[32] = {0};
    struct iovec in = {buffer, sizeof(buffer) - 1};
    show("preadv2 at 6, RWF_HIPRI", rw2(SYS_preadv2, fd, &in, 1, 6, RWF_HIPRI));
    printf("read: %s", buffer);
    lseek(fd, 0, SEEK_SET);
    memset(buffer, 0, sizeof(buffer));
    in.iov_len = 5;
    show("preadv2 at the position (-1)", rw2(SYS_preadv2, fd, &in, 1, -1, 0));
    printf("read: %s, position now %ld\n", buffer, (long)lseek(fd, 0, SEEK_CUR));
    show("preadv2 bad fd", rw2(SYS_preadv2, 999, &in, 1, 0, 0));
    show("readahead of the file", syscall(SYS_readahead, fd, 0L, 4096L));
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return 1;
    show("readahead of a pipe", syscall(SYS_readahead, pipe_fds[0], 0L, 4096L));
    show("readahead bad fd", syscall(SYS_readahead, 999, 0L, 4096L));
    show("pwritev2 RWF_NOWAIT to an empty pipe",
         rw2(SYS_pwritev2, pipe_fds[1], out, 1, -1, RWF_NOWAIT));
    show("preadv2 RWF_NOWAIT from the pipe", rw2(SYS_preadv2, pipe_fds[0], &in, 1, -1, RWF_NOWAIT));
    show("preadv2 RWF_NOWAIT from the empty pipe",
         rw2(SYS_preadv2, pipe_fds[0], &in, 1, -1, RWF_NOWAIT));
    static char page[4096] __attribute__((aligned(4096)));
    show("mlock2 MLOCK_ONFAULT", syscall(SYS_mlock2, page, sizeof(page), 1));
    show("mlock2 unknown flag", syscall(SYS_mlock2, page, sizeof(page), 2));
    show("flock of a bad fd with no operation", flock(999, 0));
    show("flock LOCK_EX|LOCK_NB", flock(fd, LOCK_EX | LOCK_NB));
    show("inotify_add_watch, bad fd, empty mask", syscall(SYS_inotify_add_watch, 999, path, 0));
    show("splice of nothing between bad fds", syscall(SYS_splice, 998, 0L, 999, 0L, 0L, 0));
    show("splice, unknown flag", syscall(SYS_splice, 998, 0L, 999, 0L, 1L, 0x100));
    show("tee of nothing between bad fds", syscall(SYS_tee, 998, 999, 0L, 0));
    show("mlock of a hole", syscall(SYS_mlock, 4096L, 4096L));
    show("mlock wrapping past the top", syscall(SYS_mlock, -4096L, 8192L));
    show("munlock of nothing", syscall(SYS_munlock, 4096L, 0L));
    show("mlock of part of a page", syscall(SYS_mlock, page + 100, 10L));
    show("mlockall(0)", syscall(SYS_mlockall, 0));
    show("mlockall(MCL_ONFAULT) alone", syscall(SYS_mlockall, MCL_ONFAULT));
    show("mlockall(MCL_CURRENT)", syscall(SYS_mlockall, MCL_CURRENT));
    show("munlockall", syscall(SYS_munlockall));
    lseek(fd, 0, SEEK_SET);
    memset(buffer, 0, sizeof(buffer));
    show("read of the whole file", read(fd, buffer, sizeof(buffer) - 1));
    printf("file: %s", buffer);
    unlink(path);
    fflush(stdout);
    return write(1, "END\n", 4) == 4 ? 0 : 1;
}
