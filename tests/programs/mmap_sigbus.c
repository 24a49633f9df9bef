/*
 * mmap_sigbus.c — file mappings past the end of the file, as Linux gives
 * them: the part of the last page past EOF reads zeros, a page wholly past
 * EOF raises SIGBUS (BUS_ADRERR, si_addr the address touched), for
 * MAP_PRIVATE and MAP_SHARED, reads and writes, also for pages a later
 * ftruncate cut off. A syscall given such a page fails with EFAULT.
 *
 * mmap_sigbus DIR    every case, with a SIGBUS handler (exit 0)
 * mmap_sigbus        touches a page past EOF with no handler: dies of SIGBUS
 */
#include "check.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
        printf("%s: reads %s\n", what, value == 0 ? "0" : value == 'f' ? "'f'" : "other");
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

/* Set before the fatal touch, for a debugger to compare with si_addr. */
volatile char *volatile fatal_address;

/* A 100-byte file in /tmp (unlinked at once) mapped over two pages; the
 * second is read with no handler: the program dies of SIGBUS there. */
static int fatal(void)
{
    char path[] = "/tmp/mmap_sigbus.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 2;
    }
    unlink(path);
    if (write(fd, "f", 1) != 1 || ftruncate(fd, 100) != 0) {
        perror("write");
        return 2;
    }
    volatile char *map = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    printf("byte 99 reads %d; touching the page past EOF\n", map[99]);
    fatal_address = map + PAGE + 1;
    printf("read %d\n", *fatal_address);
    return 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return fatal();
    struct sigaction action = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, NULL);
    past_end(argv[1], MAP_PRIVATE, "private");
    past_end(argv[1], MAP_SHARED, "shared");
    after_truncate(argv[1], MAP_PRIVATE, "private");
    after_truncate(argv[1], MAP_SHARED, "shared");
    return failures ? 1 : 0;
}
