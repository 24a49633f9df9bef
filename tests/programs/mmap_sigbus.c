/*
 * mmap_sigbus.c — file mappings past the end of the file, as Linux gives
 * them: the part of the last page past EOF reads zeros, a page wholly past
 * EOF raises SIGBUS (BUS_ADRERR, si_addr the address touched), for
 * MAP_PRIVATE and MAP_SHARED, reads and writes, also for pages a later
 * ftruncate cut off. A syscall given such a page fails with EFAULT.
 *
 * The same when ANOTHER process cuts the file short (and grows it back):
 * private copies of the pages cut off go too, and the pages are the file's
 * again when it grows. Under hermitux-run the other process is a forked
 * child (a monitor of its own): the program's monitor learns of the
 * truncation only from the host.
 *
 * mmap_sigbus DIR              every case of this process's own truncations,
 *                              with a SIGBUS handler (exit 0)
 * mmap_sigbus DIR elsewhere    every case of another process's
 * mmap_sigbus DIR codes        SIGSEGV or SIGBUS, and their si_code, where
 *                              the mapping does not allow the access
 * mmap_sigbus DIR mremap       mremap growth of file mappings past EOF
 * mmap_sigbus DIR host         a file cut short and grown back by the host
 *                              (the test runs truncate(1) at each "ready:"
 *                              line, then writes a line to stdin)
 * mmap_sigbus                  touches a page past EOF with no handler: dies
 *                              of SIGBUS
 * mmap_sigbus - elsewhere      the same, the page cut off by another process
 */
#define _GNU_SOURCE /* fallocate */
#include "check.h"

#include <fcntl.h>
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 1
#endif
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static sigjmp_buf recover;
static volatile sig_atomic_t caught;
static volatile int caught_code;
static void *volatile caught_address;

static void on_sigbus(int signal, siginfo_t *info, void *context)
{
    (void)context;
    caught = signal;
    caught_code = info->si_code;
    caught_address = info->si_addr;
    siglongjmp(recover, 1);
}

/* A file of size bytes, all 'f', in dir; returns an fd open for reading and writing. */
static int make_file(const char *dir, const char *name, size_t size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        exit(2);
    }
    char *buffer = malloc(size + 1);
    memset(buffer, 'f', size);
    if (write(fd, buffer, size) != (ssize_t)size) {
        perror("write");
        exit(2);
    }
    free(buffer);
    return fd;
}

static const char *code_name(int code)
{
    switch (code) {
    case BUS_ADRALN:
        return "BUS_ADRALN";
    case BUS_ADRERR:
        return "BUS_ADRERR";
    case BUS_OBJERR:
        return "BUS_OBJERR";
    default:
        return "other";
    }
}

/* Touches address (a read, or a write of 'w'); prints what happened. */
static void touch(const char *what, volatile char *address, int write_it)
{
    caught = 0;
    caught_address = NULL;
    volatile int value = -1;
    if (sigsetjmp(recover, 1) == 0) {
        if (write_it)
            *address = 'w';
        else
            value = *address;
    }
    if (caught)
        printf("%s: SIGBUS %s, si_addr %s\n", what, code_name(caught_code),
               caught_address == (void *)address ? "is the address" : "DIFFERS");
    else if (write_it)
        printf("%s: written\n", what);
    else
        printf("%s: reads %s\n", what,
               value == 0     ? "0"
               : value == 'f' ? "'f'"
               : value == 'p' ? "'p'"
               : value == 'w' ? "'w'"
                              : "other");
}

/* Another process sets the file at path to size bytes (truncate(2) by
 * path: it shares nothing with this one but the file). */
static void resize_elsewhere(const char *path, off_t size)
{
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        exit(2);
    }
    if (child == 0)
        _exit(truncate(path, size) == 0 ? 0 : 1);
    int status = 0;
    check("the other process resized the file",
          waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* touch() with what prefixed by the mapping's type. */
static void touch_as(const char *type_name, const char *what, volatile char *address, int write_it)
{
    char line[128];
    snprintf(line, sizeof(line), "%s %s", type_name, what);
    touch(line, address, write_it);
}

/* The file's byte at offset, through read(2). */
static void file_byte(int fd, const char *type_name, off_t offset)
{
    char byte = 0;
    ssize_t got = pread(fd, &byte, 1, offset);
    printf("%s the file's byte at %lld: %s\n", type_name, (long long)offset,
           got != 1      ? "none"
           : byte == 'w' ? "'w'"
           : byte == 0   ? "0"
           : byte == 'f' ? "'f'"
                         : "other");
}

/* A 3-page file mapped whole; another process cuts it to 1.5 pages, then
 * to nothing, then makes it 3 pages again. */
static void cut_elsewhere(const char *dir, int type, int write_first, const char *type_name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, type_name);
    int fd = make_file(dir, type_name, 3 * PAGE);
    volatile char *map = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, type, fd, 0);
    check("mmap", map != MAP_FAILED);
    if (map == MAP_FAILED)
        return;
    touch_as(type_name, "before, read page 2", map + 2 * PAGE + 5, 0);
    if (write_first) {
        /* Private copies: page 1 keeps its copy (the file still has the
         * page), page 2's goes with the page. */
        map[PAGE + 10] = 'p';
        map[2 * PAGE + 5] = 'p';
    }
    resize_elsewhere(path, PAGE + PAGE / 2);
    touch_as(type_name, "cut to 1.5 pages, read page 0", map + 10, 0);
    touch_as(type_name, "cut to 1.5 pages, read page 1", map + PAGE + 10, 0);
    touch_as(type_name, "cut to 1.5 pages, read page 1 past the end", map + PAGE + PAGE / 2 + 10,
             0);
    touch_as(type_name, "cut to 1.5 pages, read page 2", map + 2 * PAGE + 5, 0);
    touch_as(type_name, "cut to 1.5 pages, write page 2", map + 2 * PAGE + 7, 1);
    touch_as(type_name, "cut to 1.5 pages, read page 2 again", map + 2 * PAGE + 6, 0);
    /* The kernel's own access to such a page: EFAULT, no signal. */
    int pipe_fds[2];
    check("pipe", pipe(pipe_fds) == 0);
    ssize_t written = write(pipe_fds[1], (const char *)map + 2 * PAGE, 16);
    printf("%s write(2) from page 2: %s\n", type_name,
           written < 0 ? errno_name(errno) : "succeeded");
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    resize_elsewhere(path, 0);
    touch_as(type_name, "cut to nothing, read page 0", map + 10, 0);
    touch_as(type_name, "cut to nothing, write page 0", map + 11, 1);
    resize_elsewhere(path, 3 * PAGE);
    touch_as(type_name, "grown back, read page 0", map + 10, 0);
    touch_as(type_name, "grown back, read page 2 where the write failed", map + 2 * PAGE + 7, 0);
    touch_as(type_name, "grown back, write page 2", map + 2 * PAGE + 8, 1);
    file_byte(fd, type_name, 2 * PAGE + 8);
    munmap((void *)map, 3 * PAGE);
    close(fd);
}

/* The file grows (truncate(path), or ftruncate(fd) when path is NULL) to
 * end with page `page` of map: reads there give the file's zeros and a
 * write reaches the file when the mapping is shared. */
static void grow_over(int fd, const char *path, char *map, int page, const char *type_name)
{
    char what[128];
    if (path)
        check("truncate up", truncate(path, (page + 1) * PAGE) == 0);
    else
        check("ftruncate up", ftruncate(fd, (page + 1) * PAGE) == 0);
    snprintf(what, sizeof(what), "%s after growing read page %d", type_name, page);
    touch(what, map + page * PAGE + 5, 0);
    snprintf(what, sizeof(what), "%s after growing write page %d", type_name, page);
    touch(what, map + page * PAGE + 7, 1);
    char byte = 0;
    check("pread", pread(fd, &byte, 1, page * PAGE + 7) == 1);
    printf("%s the file's byte there: %s\n", type_name,
           byte == 'w' ? "'w'"
           : byte == 0 ? "0"
                       : "other");
}

/* A 2.5-page file mapped over 4 pages: pages 0-1 whole, 2 half, 3 none. */
static void past_end(const char *dir, int type, const char *type_name)
{
    int fd = make_file(dir, type_name, 2 * PAGE + PAGE / 2);
    char *map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, type, fd, 0);
    check("mmap", map != MAP_FAILED);
    if (map == MAP_FAILED)
        return;
    char what[128];
    struct {
        const char *name;
        size_t offset;
    } spots[] = {
        {"first byte", 0},
        {"last byte of the file", 2 * PAGE + PAGE / 2 - 1},
        {"first byte past EOF (same page)", 2 * PAGE + PAGE / 2},
        {"last byte of the last page", 3 * PAGE - 1},
        {"page wholly past EOF", 3 * PAGE + 100},
    };
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        snprintf(what, sizeof(what), "%s read %s", type_name, spots[i].name);
        touch(what, map + spots[i].offset, 0);
    }
    snprintf(what, sizeof(what), "%s write page wholly past EOF", type_name);
    touch(what, map + 3 * PAGE + 8, 1);
    snprintf(what, sizeof(what), "%s write first byte past EOF", type_name);
    touch(what, map + 2 * PAGE + PAGE / 2, 1);
    /* The kernel's own access: EFAULT, not a signal. */
    ssize_t written = write(fd, map + 3 * PAGE, 16);
    printf("%s write(2) from the page past EOF: %s\n", type_name,
           written < 0 ? errno_name(errno) : "succeeded");
    /* The file did not grow from the write past EOF. */
    struct stat st;
    fstat(fd, &st);
    printf("%s file size after: %lld\n", type_name, (long long)st.st_size);
    /* The file grows to cover the page (by its path): the file's from then on. */
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, type_name);
    grow_over(fd, path, map, 3, type_name);
    munmap(map, 4 * PAGE);
    close(fd);
}

/* A 3-page file mapped whole, then cut to 1.5 pages. */
static void after_truncate(const char *dir, int type, const char *type_name)
{
    char name[64];
    snprintf(name, sizeof(name), "%s-truncated", type_name);
    int fd = make_file(dir, name, 3 * PAGE);
    char *map = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, type, fd, 0);
    check("mmap", map != MAP_FAILED);
    if (map == MAP_FAILED)
        return;
    char what[128];
    snprintf(what, sizeof(what), "%s before ftruncate read page 2", type_name);
    touch(what, map + 2 * PAGE + 5, 0);
    /* A private copy of page 2 does not survive the truncation either. */
    map[2 * PAGE + 6] = 'p';
    check("ftruncate", ftruncate(fd, PAGE + PAGE / 2) == 0);
    snprintf(what, sizeof(what), "%s after ftruncate read page 0", type_name);
    touch(what, map + 10, 0);
    snprintf(what, sizeof(what), "%s after ftruncate read past EOF in page 1", type_name);
    touch(what, map + PAGE + PAGE / 2 + 10, 0);
    snprintf(what, sizeof(what), "%s after ftruncate read page 2", type_name);
    touch(what, map + 2 * PAGE + 5, 0);
    snprintf(what, sizeof(what), "%s after ftruncate write page 2", type_name);
    touch(what, map + 2 * PAGE + 7, 1);
    /* Grown again: the pages are the file's (zeros) once more. */
    grow_over(fd, NULL, map, 2, type_name);
    /* open(O_TRUNC) cuts it all off. */
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int again = open(path, O_WRONLY | O_TRUNC);
    check("open O_TRUNC", again >= 0);
    close(again);
    snprintf(what, sizeof(what), "%s after O_TRUNC read page 0", type_name);
    touch(what, map + 10, 0);
    munmap(map, 3 * PAGE);
    close(fd);
}

/* A 1-page file mapped over 4 pages grows by the program's own calls:
 * pwrite past the end, write(2) at an offset past it, fallocate (not with
 * FALLOC_FL_KEEP_SIZE, which leaves the size). Each page past EOF that
 * raised SIGBUS is the file's once the file covers it. */
static void grow_by_calls(const char *dir, int type, const char *type_name)
{
    char name[64];
    snprintf(name, sizeof(name), "%s-grown", type_name);
    int fd = make_file(dir, name, PAGE);
    volatile char *map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, type, fd, 0);
    check("mmap", map != MAP_FAILED);
    if (map == MAP_FAILED)
        return;
    touch_as(type_name, "before growing, read page 1", map + PAGE + 5, 0);
    check("pwrite past the end", pwrite(fd, "w", 1, PAGE + 5) == 1);
    touch_as(type_name, "after pwrite, read page 1 at the byte written", map + PAGE + 5, 0);
    touch_as(type_name, "after pwrite, read page 1 past the new end", map + PAGE + 6, 0);
    touch_as(type_name, "after pwrite, read page 2", map + 2 * PAGE + 3, 0);
    check("lseek", lseek(fd, 2 * PAGE + 3, SEEK_SET) == 2 * PAGE + 3);
    check("write past the end", write(fd, "w", 1) == 1);
    touch_as(type_name, "after write, read page 2 at the byte written", map + 2 * PAGE + 3, 0);
    touch_as(type_name, "after write, read page 1 (a hole now)", map + PAGE + 100, 0);
    touch_as(type_name, "after write, write page 1", map + PAGE + 101, 1);
    file_byte(fd, type_name, PAGE + 101);
    int kept = fallocate(fd, FALLOC_FL_KEEP_SIZE, 3 * PAGE, PAGE);
    printf("%s fallocate KEEP_SIZE: %s\n", type_name, kept == 0 ? "0" : errno_name(errno));
    touch_as(type_name, "after fallocate KEEP_SIZE, read page 3", map + 3 * PAGE + 9, 0);
    int grown = fallocate(fd, 0, 3 * PAGE, PAGE);
    printf("%s fallocate: %s\n", type_name, grown == 0 ? "0" : errno_name(errno));
    touch_as(type_name, "after fallocate, read page 3", map + 3 * PAGE + 9, 0);
    touch_as(type_name, "after fallocate, write page 3", map + 3 * PAGE + 10, 1);
    file_byte(fd, type_name, 3 * PAGE + 10);
    struct stat st;
    fstat(fd, &st);
    printf("%s file size after: %lld\n", type_name, (long long)st.st_size);
    munmap((void *)map, 4 * PAGE);
    close(fd);
}

/* Prints what the host must do now and waits for its line on stdin. */
static void wait_for_host(const char *what)
{
    char line[16];
    printf("ready: %s\n", what);
    if (!fgets(line, sizeof(line), stdin)) {
        printf("stdin ended\n");
        exit(3);
    }
}

/* DIR/host-cut, 3 pages, mapped shared and private; the host (truncate(1)
 * run by the test) cuts it to nothing, then makes it 3 pages again. */
static void cut_by_host(const char *dir)
{
    int fd = make_file(dir, "host-cut", 3 * PAGE);
    volatile char *shared = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    volatile char *private = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check("mmap", shared != MAP_FAILED && private != MAP_FAILED);
    if (shared == MAP_FAILED || private == MAP_FAILED)
        exit(2);
    touch("shared before, read page 2", shared + 2 * PAGE + 1, 0);
    touch("private before, read page 2", private + 2 * PAGE + 1, 0);
    wait_for_host("cut host-cut to nothing");
    touch("shared cut by the host, read page 0", shared + 3, 0);
    touch("shared cut by the host, write page 2", shared + 2 * PAGE + 4, 1);
    touch("private cut by the host, read page 2", private + 2 * PAGE + 5, 0);
    touch("private cut by the host, write page 0", private + 6, 1);
    wait_for_host("make host-cut 3 pages");
    touch("shared grown by the host, read page 2", shared + 2 * PAGE + 4, 0);
    touch("shared grown by the host, write page 2", shared + 2 * PAGE + 7, 1);
    touch("private grown by the host, read page 0", private + 6, 0);
    file_byte(fd, "shared", 2 * PAGE + 7);
    close(fd);
}

/* fd's first page mapped at a place where the two pages after it are free
 * (growth in place possible), or, with blocked, where they are not. */
static volatile char *map_one_page(int fd, int type, off_t offset, int blocked)
{
    char *reserve = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserve == MAP_FAILED)
        return MAP_FAILED;
    char *map = mmap(reserve, PAGE, PROT_READ | PROT_WRITE, type | MAP_FIXED, fd, offset);
    if (!blocked)
        munmap(reserve + PAGE, 2 * PAGE);
    return map;
}

/* mremap growth of a file mapping, as Linux does it: the new pages are the
 * file's next pages (past-EOF ones raise SIGBUS), in place or moved. */
static void grow_by_mremap(const char *dir, int type, const char *type_name)
{
    char name[64];
    snprintf(name, sizeof(name), "%s-mremap", type_name);
    int fd = make_file(dir, name, PAGE + PAGE / 2);
    for (int moved = 0; moved < 2; moved++) {
        volatile char *map = map_one_page(fd, type, 0, moved);
        check("mmap", map != MAP_FAILED);
        if (map == MAP_FAILED)
            return;
        map[1] = 'p';
        volatile char *grown = mremap((void *)map, PAGE, 3 * PAGE, moved ? MREMAP_MAYMOVE : 0);
        check("mremap", grown != MAP_FAILED);
        if (grown == MAP_FAILED)
            return;
        char what[128];
        const char *how = moved ? "moved" : "in place";
        printf("%s grown %s: %s\n", type_name, how, grown == map ? "same address" : "moved");
        snprintf(what, sizeof(what), "%s grown %s, read page 0 where written", type_name, how);
        touch(what, grown + 1, 0);
        snprintf(what, sizeof(what), "%s grown %s, read page 1", type_name, how);
        touch(what, grown + PAGE + 10, 0);
        snprintf(what, sizeof(what), "%s grown %s, read page 1 past EOF", type_name, how);
        touch(what, grown + PAGE + PAGE / 2 + 10, 0);
        snprintf(what, sizeof(what), "%s grown %s, read page 2", type_name, how);
        touch(what, grown + 2 * PAGE + 10, 0);
        snprintf(what, sizeof(what), "%s grown %s, write page 1", type_name, how);
        touch(what, grown + PAGE + 20 + moved, 1);
        file_byte(fd, type_name, PAGE + 20 + moved);
        /* Shrunk and grown again: the file's pages once more. */
        check("mremap shrink", mremap((void *)grown, 3 * PAGE, PAGE, 0) == grown);
        volatile char *again = mremap((void *)grown, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
        check("mremap grow again", again != MAP_FAILED);
        snprintf(what, sizeof(what), "%s shrunk and grown %s, read page 1", type_name, how);
        touch(what, again + PAGE + 20 + moved, 0);
        munmap((void *)again, 2 * PAGE);
    }
    /* From an offset: the second page is the file's third, past EOF. */
    volatile char *map = map_one_page(fd, type, PAGE, 0);
    volatile char *grown = mremap((void *)map, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
    check("mremap at an offset", map != MAP_FAILED && grown != MAP_FAILED);
    char what[128];
    snprintf(what, sizeof(what), "%s at offset 1 grown, read page 0", type_name);
    touch(what, grown + 10, 0);
    snprintf(what, sizeof(what), "%s at offset 1 grown, read page 1", type_name);
    touch(what, grown + PAGE + 10, 0);
    munmap((void *)grown, 2 * PAGE);
    close(fd);
}

/* Anonymous memory grown by mremap: private reads zeros; shared (shmem of
 * the first size) raises SIGBUS past that size, as on Linux. */
static void grow_anonymous_by_mremap(int type, const char *type_name)
{
    volatile char *map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, type | MAP_ANONYMOUS, -1, 0);
    check("mmap", map != MAP_FAILED);
    map[5] = 'w';
    volatile char *grown = mremap((void *)map, PAGE, 3 * PAGE, MREMAP_MAYMOVE);
    check("mremap", grown != MAP_FAILED);
    char what[128];
    snprintf(what, sizeof(what), "anonymous %s grown, read page 0", type_name);
    touch(what, grown + 5, 0);
    snprintf(what, sizeof(what), "anonymous %s grown, read page 2", type_name);
    touch(what, grown + 2 * PAGE + 5, 0);
    snprintf(what, sizeof(what), "anonymous %s grown, write page 1", type_name);
    touch(what, grown + PAGE + 5, 1);
    munmap((void *)grown, 3 * PAGE);
}

/* What an access (0 read, 1 write, 2 call) at address raises: signal and
 * si_code by name, and whether si_addr is the address. */
static void attempt(const char *what, volatile char *address, int kind)
{
    caught = 0;
    caught_address = NULL;
    if (sigsetjmp(recover, 1) == 0) {
        if (kind == 1)
            *address = 'w';
        else if (kind == 2)
            ((void (*)(void))address)();
        else
            (void)*address;
    }
    const char *code = caught == SIGBUS             ? code_name(caught_code)
                       : caught_code == SEGV_MAPERR ? "SEGV_MAPERR"
                       : caught_code == SEGV_ACCERR ? "SEGV_ACCERR"
                                                    : "other";
    printf("%s: %s %s, si_addr %s\n", what,
           caught == SIGBUS    ? "SIGBUS"
           : caught == SIGSEGV ? "SIGSEGV"
                               : "no signal",
           caught ? code : "-", caught_address == (void *)address ? "is the address" : "DIFFERS");
}

/* SIGSEGV or SIGBUS, and which si_code, for pages past EOF of mappings
 * that do not allow the access, and the like, as Linux (x86) decides:
 * the mapping's rights first (SEGV_ACCERR inside a mapping, SEGV_MAPERR
 * outside any), then the file (BUS_ADRERR). */
static void codes(const char *dir)
{
    int fd = make_file(dir, "codes", 100);
    volatile char *ro = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    volatile char *none = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_SHARED, fd, 0);
    volatile char *rw = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    volatile char *anon = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap", ro != MAP_FAILED && none != MAP_FAILED && rw != MAP_FAILED && anon != MAP_FAILED);
    attempt("read-only, write past EOF", ro + PAGE + 1, 1);
    attempt("read-only, read past EOF", ro + PAGE + 1, 0);
    attempt("read-only, write in the file", ro + 1, 1);
    attempt("read-only, call past EOF", ro + PAGE + 8, 2);
    attempt("PROT_NONE, read past EOF", none + PAGE + 1, 0);
    attempt("PROT_NONE, read in the file", none + 1, 0);
    attempt("read-write, call past EOF", rw + PAGE + 8, 2);
    attempt("read-write, call in the file", rw + 8, 2);
    attempt("anonymous PROT_NONE, read", anon + 1, 0);
    attempt("anonymous PROT_NONE, write", anon + 1, 1);
    munmap((void *)anon, PAGE);
    attempt("unmapped, read", anon + 1, 0);
    close(fd);
}

/* Set before the fatal touch, for a debugger to compare with si_addr. */
volatile char *volatile fatal_address;

/* A 100-byte file in /tmp mapped over two pages; the second is read with
 * no handler: the program dies of SIGBUS there. elsewhere: the file is
 * two pages until another process cuts it to 100 bytes. */
static int fatal(int elsewhere)
{
    char path[] = "/tmp/mmap_sigbus.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 2;
    }
    if (write(fd, "f", 1) != 1 || ftruncate(fd, elsewhere ? 2 * PAGE : 100) != 0) {
        perror("write");
        return 2;
    }
    volatile char *map = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    if (elsewhere) {
        printf("byte %d reads %d; another process cuts the file\n", PAGE + 1, map[PAGE + 1]);
        resize_elsewhere(path, 100);
    }
    unlink(path);
    printf("byte 99 reads %d; touching the page past EOF\n", map[99]);
    fatal_address = map + PAGE + 1;
    printf("read %d\n", *fatal_address);
    return 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int elsewhere = argc > 2 && strcmp(argv[2], "elsewhere") == 0;
    int by_host = argc > 2 && strcmp(argv[2], "host") == 0;
    int by_mremap = argc > 2 && strcmp(argv[2], "mremap") == 0;
    int signal_codes = argc > 2 && strcmp(argv[2], "codes") == 0;
    if (argc < 2 || strcmp(argv[1], "-") == 0)
        return fatal(elsewhere);
    struct sigaction action = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, NULL);
    if (signal_codes) {
        sigaction(SIGSEGV, &action, NULL);
        codes(argv[1]);
        return failures ? 1 : 0;
    }
    if (by_mremap) {
        grow_by_mremap(argv[1], MAP_PRIVATE, "private");
        grow_by_mremap(argv[1], MAP_SHARED, "shared");
        grow_anonymous_by_mremap(MAP_PRIVATE, "private");
        grow_anonymous_by_mremap(MAP_SHARED, "shared");
        return failures ? 1 : 0;
    }
    if (by_host) {
        cut_by_host(argv[1]);
        return failures ? 1 : 0;
    }
    if (elsewhere) {
        cut_elsewhere(argv[1], MAP_SHARED, 0, "shared");
        cut_elsewhere(argv[1], MAP_PRIVATE, 0, "private");
        cut_elsewhere(argv[1], MAP_PRIVATE, 1, "private-written");
        return failures ? 1 : 0;
    }
    past_end(argv[1], MAP_PRIVATE, "private");
    past_end(argv[1], MAP_SHARED, "shared");
    after_truncate(argv[1], MAP_PRIVATE, "private");
    after_truncate(argv[1], MAP_SHARED, "shared");
    grow_by_calls(argv[1], MAP_PRIVATE, "private");
    grow_by_calls(argv[1], MAP_SHARED, "shared");
    return failures ? 1 : 0;
}
