/*
 * file_calls: the less common file calls real programs make (openat2,
 * close_range, memfd_create and its seals, utime/utimes/futimesat, the xattr family,
 * O_NOFOLLOW, the FICLONE, FICLONERANGE and FIEMAP ioctls of cp --reflink and filefrag),
 * with Linux's results and errnos. Usage: file_calls SCRATCH_DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

/* From linux/openat2.h and linux/close_range.h, which musl's headers lack. */
struct open_how {
    unsigned long long flags, mode, resolve;
};
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "ok" : "WRONG");
    if (!ok)
        failures++;
}

static long openat2_call(int dirfd, const char *path, struct open_how *how, size_t size)
{
    return syscall(SYS_openat2, dirfd, path, how, size);
}

static void test_openat2(const char *dir)
{
    int root = open(dir, O_RDONLY | O_DIRECTORY);
    struct open_how how = {.flags = O_RDONLY};
    check(openat2_call(root, "inside", &how, sizeof(how)) >= 0, "openat2 plain");
    errno = 0;
    check(openat2_call(root, "inside", &how, 8) < 0 && errno == EINVAL,
          "openat2 short how: EINVAL");
    how.resolve = RESOLVE_BENEATH;
    errno = 0;
    check(openat2_call(root, "../", &how, sizeof(how)) < 0 && errno == EXDEV,
          "RESOLVE_BENEATH ..: EXDEV");
    how.resolve = RESOLVE_IN_ROOT;
    check(openat2_call(root, "/inside", &how, sizeof(how)) >= 0, "RESOLVE_IN_ROOT /inside");
    how.resolve = 0;
    how.mode = 0644;
    errno = 0;
    check(openat2_call(root, "inside", &how, sizeof(how)) < 0 && errno == EINVAL,
          "mode without O_CREAT: EINVAL");
    close(root);
}

static void test_close_range(void)
{
    int first = dup(1);
    for (int i = 0; i < 4; i++)
        dup(1);
    check(syscall(SYS_close_range, first + 2, ~0U, CLOSE_RANGE_CLOEXEC) == 0 &&
              fcntl(first + 2, F_GETFD) == FD_CLOEXEC && fcntl(first, F_GETFD) == 0,
          "close_range CLOEXEC marks only the range");
    check(syscall(SYS_close_range, first, ~0U, 0) == 0 && fcntl(first, F_GETFD) < 0 &&
              fcntl(first + 4, F_GETFD) < 0,
          "close_range closes the range");
    errno = 0;
    check(syscall(SYS_close_range, 5, 4, 0) < 0 && errno == EINVAL, "close_range first > last");
}

static void test_memfd(void)
{
    int fd = memfd_create("scratch", MFD_CLOEXEC);
    char buffer[16] = {0}, link[64], target[64] = {0};
    check(fd >= 0 && write(fd, "memfd", 5) == 5 && pread(fd, buffer, 5, 0) == 5 &&
              strcmp(buffer, "memfd") == 0,
          "memfd_create write and read");
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    check(readlink(link, target, sizeof(target) - 1) > 0 &&
              strcmp(target, "/memfd:scratch (deleted)") == 0,
          "its /proc/self/fd link names it");
    check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "MFD_CLOEXEC");
    close(fd);
    char long_name[300];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    errno = 0;
    check(memfd_create(long_name, 0) < 0 && errno == EINVAL, "a 299-byte name: EINVAL");
}

/* File seals (F_ADD_SEALS, F_GET_SEALS) on a memfd, with Linux's errnos. */
static void test_memfd_seals(void)
{
    int fd = memfd_create("sealed", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    check(fd >= 0 && write(fd, "seal", 4) == 4 && fcntl(fd, F_GET_SEALS) == 0,
          "MFD_ALLOW_SEALING: no seal yet");
    check(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_WRITE) == 0 &&
              fcntl(fd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_WRITE),
          "F_ADD_SEALS, F_GET_SEALS reports them");
    errno = 0;
    check(write(fd, "more", 4) < 0 && errno == EPERM, "write after F_SEAL_WRITE: EPERM");
    errno = 0;
    check(ftruncate(fd, 0) < 0 && errno == EPERM, "ftruncate after F_SEAL_SHRINK: EPERM");
    errno = 0;
    check(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED &&
              errno == EPERM,
          "writable shared mmap after F_SEAL_WRITE: EPERM");
    char buffer[8] = {0};
    check(pread(fd, buffer, 4, 0) == 4 && strcmp(buffer, "seal") == 0, "reads still work");
    errno = 0;
    check(fcntl(fd, F_ADD_SEALS, 0x4000) < 0 && errno == EINVAL, "an unknown seal: EINVAL");
    check(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == 0, "F_SEAL_SEAL");
    errno = 0;
    check(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) < 0 && errno == EPERM, "then F_ADD_SEALS: EPERM");
    close(fd);

    fd = memfd_create("mapped", MFD_ALLOW_SEALING);
    char *map = fd >= 0 && ftruncate(fd, 4096) == 0
                    ? mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                    : MAP_FAILED;
    errno = 0;
    check(map != MAP_FAILED && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EBUSY,
          "F_SEAL_WRITE while mapped writable: EBUSY");
    check(map != MAP_FAILED && munmap(map, 4096) == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0,
          "F_SEAL_WRITE once unmapped");
    close(fd);

    fd = memfd_create("unsealable", 0);
    check(fcntl(fd, F_GET_SEALS) == F_SEAL_SEAL, "without MFD_ALLOW_SEALING: F_SEAL_SEAL");
    errno = 0;
    check(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM,
          "without MFD_ALLOW_SEALING F_ADD_SEALS: EPERM");
    close(fd);
    errno = 0;
    check(fcntl(1, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EINVAL,
          "F_ADD_SEALS on what is not a memfd: EINVAL");
}

static void test_times(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/inside", dir);
    struct stat st;
    struct utimbuf old = {1000, 2000};
    check(utime(path, &old) == 0 && stat(path, &st) == 0 && st.st_mtime == 2000, "utime");
    struct timeval tv[2] = {{3000, 5}, {4000, 6}};
    check(utimes(path, tv) == 0 && stat(path, &st) == 0 && st.st_mtime == 4000 &&
              st.st_mtim.tv_nsec == 6000,
          "utimes");
    int root = open(dir, O_RDONLY | O_DIRECTORY);
    tv[1].tv_sec = 5000;
    check(futimesat(root, "inside", tv) == 0 && stat(path, &st) == 0 && st.st_mtime == 5000,
          "futimesat");
    tv[1].tv_usec = 1000000;
    errno = 0;
    check(utimes(path, tv) < 0 && errno == EINVAL, "utimes usec 1000000: EINVAL");
    close(root);
}

static void test_xattr(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/inside", dir);
    int set = setxattr(path, "user.hermitux", "value", 5, 0);
    if (set != 0) {
        printf("user xattrs not supported here (%s)\n", strerror(errno));
        return;
    }
    char value[16] = {0}, list[64];
    check(getxattr(path, "user.hermitux", value, sizeof(value)) == 5 && strcmp(value, "value") == 0,
          "getxattr");
    check(getxattr(path, "user.hermitux", NULL, 0) == 5, "getxattr size query");
    ssize_t n = listxattr(path, list, sizeof(list));
    check(n > 0 && memmem(list, (size_t)n, "user.hermitux", 14) != NULL, "listxattr");
    errno = 0;
    check(getxattr(path, "user.hermitux", value, 2) < 0 && errno == ERANGE, "small buffer: ERANGE");
    int fd = open(path, O_RDONLY);
    check(fgetxattr(fd, "user.hermitux", value, sizeof(value)) == 5, "fgetxattr");
    check(fremovexattr(fd, "user.hermitux") == 0, "fremovexattr");
    errno = 0;
    check(lgetxattr(path, "user.hermitux", value, sizeof(value)) < 0 && errno == ENODATA,
          "gone: ENODATA");
    errno = 0;
    check(getxattr("/proc/self/status", "user.x", value, sizeof(value)) < 0, "/proc has none");
    close(fd);
}

/* O_NOFOLLOW on a symlink: ELOOP, and the file behind it untouched (a
 * writer given the link must not write through it); O_PATH opens the link. */
static void test_nofollow(const char *dir)
{
    int root = open(dir, O_RDONLY | O_DIRECTORY);
    int target = openat(root, "target", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    close(target);
    symlinkat("target", root, "link");
    errno = 0;
    check(openat(root, "link", O_RDONLY | O_NOFOLLOW) < 0 && errno == ELOOP,
          "O_NOFOLLOW on a symlink: ELOOP");
    errno = 0;
    check(openat(root, "link", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644) < 0 &&
              errno == ELOOP,
          "O_NOFOLLOW|O_CREAT on a symlink: ELOOP");
    struct stat st;
    check(fstatat(root, "target", &st, 0) == 0 && st.st_size == 0, "the target untouched");
    int link = openat(root, "link", O_PATH | O_NOFOLLOW);
    check(link >= 0 && fstat(link, &st) == 0 && S_ISLNK(st.st_mode),
          "O_PATH|O_NOFOLLOW opens the link");
    close(link);
    int self = open("/proc/self/cwd", O_RDONLY | O_NOFOLLOW);
    check(self < 0 && errno == ELOOP, "O_NOFOLLOW on a magic link: ELOOP");
    unlinkat(root, "link", 0);
    unlinkat(root, "target", 0);
    close(root);
}

/* From linux/fs.h and linux/fiemap.h, which musl's headers lack. */
struct clone_range {
    long long src_fd;
    unsigned long long src_offset, src_length, dest_offset;
};
struct extent {
    unsigned long long logical, physical, length, reserved64[2];
    unsigned int flags, reserved[3];
};
struct extent_map {
    unsigned long long start, length;
    unsigned int flags, mapped_extents, extent_count, reserved;
    struct extent extents[];
};
#define LINUX_FICLONE        0x40049409UL
#define LINUX_FICLONERANGE   0x4020940dUL
#define LINUX_FS_IOC_FIEMAP  0xc020660bUL
#define LINUX_FIEMAP_SYNC    1U
#define LINUX_FIEMAP_LAST    1U
#define LINUX_FIEMAP_UNKNOWN 2U

/* The result of a call as a line: "0", or the error (what the file
 * system gives: reflinks are EOPNOTSUPP on ext4, EXDEV across file systems). */
static void show(const char *what, long result)
{
    printf("%s: %s\n", what, result < 0 ? strerror(errno) : "0");
}

/* An extent map in pages (two of them); unwritable: its extents start at
 * the second page, made PROT_NONE. */
static struct extent_map *extent_map_at(char *pages, int unwritable)
{
    if (!unwritable)
        return (struct extent_map *)pages;
    mprotect(pages + 4096, 4096, PROT_NONE);
    return (struct extent_map *)(pages + 4096 - sizeof(struct extent_map));
}

static long fiemap(int fd, struct extent_map *map, unsigned count)
{
    memset(map, 0, sizeof(*map));
    map->length = ~0ULL;
    map->flags = LINUX_FIEMAP_SYNC;
    map->extent_count = count;
    return ioctl(fd, LINUX_FS_IOC_FIEMAP, map);
}

static void test_clone_fiemap(const char *dir)
{
    char path[4096], block[4096];
    memset(block, 'x', sizeof(block));
    snprintf(path, sizeof(path), "%s/clone-source", dir);
    int source = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    for (int i = 0; i < 3; i++)
        (void)!write(source, block, sizeof(block));
    fsync(source);
    snprintf(path, sizeof(path), "%s/clone-target", dir);
    int target = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    show("FICLONE", ioctl(target, LINUX_FICLONE, source));
    check(ioctl(target, LINUX_FICLONE, 999) < 0 && errno == EBADF,
          "FICLONE from a closed fd: EBADF");
    struct clone_range range = {source, 0, 4096, 0};
    show("FICLONERANGE", ioctl(target, LINUX_FICLONERANGE, &range));
    range.src_fd = 999;
    check(ioctl(target, LINUX_FICLONERANGE, &range) < 0 && errno == EBADF,
          "FICLONERANGE from a closed fd: EBADF");
    check(ioctl(target, LINUX_FICLONERANGE, (void *)16) < 0 && errno == EFAULT,
          "FICLONERANGE at 16: EFAULT");

    char *pages = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct extent_map *map = extent_map_at(pages, 0);
    /* A file system without FIEMAP (tmpfs) says so before anything else. */
    long counted = fiemap(source, map, 0);
    show("FIEMAP, counting", counted);
    show("FIEMAP at 16", ioctl(source, LINUX_FS_IOC_FIEMAP, (void *)16));
    if (counted == 0) {
        printf("FIEMAP counts %u extent(s)\n", map->mapped_extents);
        if (fiemap(source, map, 4) == 0 && map->mapped_extents > 0) {
            const struct extent *last = &map->extents[map->mapped_extents - 1];
            printf("FIEMAP maps %u extent(s), the last at %llu, %llu bytes, %s\n",
                   map->mapped_extents, last->logical, last->length,
                   (last->flags & LINUX_FIEMAP_LAST) ? "marked last" : "not marked last");
        }
        check(fiemap(source, map, 0xffffffffU) < 0 && errno == EINVAL,
              "FIEMAP for 2^32-1 extents: EINVAL");
        /* The extents the file has cannot be written. */
        map = extent_map_at(pages, 1);
        check(fiemap(source, map, 4) < 0 && errno == EFAULT,
              "FIEMAP into an unwritable array: EFAULT");
    }
    munmap(pages, 2 * 4096);
    int pipes[2];
    (void)!pipe(pipes);
    show("FIEMAP of a pipe", ioctl(pipes[0], LINUX_FS_IOC_FIEMAP, extent_map_at(block, 0)));
    show("FICLONE of a pipe", ioctl(target, LINUX_FICLONE, pipes[0]));
    close(pipes[0]);
    close(pipes[1]);
    close(source);
    close(target);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: file_calls SCRATCH_DIR\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/inside", argv[1]);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    close(fd);
    test_openat2(argv[1]);
    test_close_range();
    test_memfd();
    test_memfd_seals();
    test_times(argv[1]);
    test_xattr(argv[1]);
    test_nofollow(argv[1]);
    test_clone_fiemap(argv[1]);
    return failures ? 1 : 0;
}
