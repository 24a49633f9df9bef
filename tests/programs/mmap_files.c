/* mmap_files: file mappings as ld.so and programs use them.
 *   mmap_files DIR   (a writable directory)
 * MAP_PRIVATE read/write/exec-style use with a later mprotect (RELRO), MAP_SHARED
 * read-only seeing the file's later changes, MAP_SHARED writable whose writes reach the
 * file at once, after msync and after munmap, a mapping at a file offset, MAP_FIXED of a
 * file over part of an anonymous mapping, the zero tail of the last page, and the errors
 * Linux gives for a read-only fd. Prints one stable line per check. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096L

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAIL");
    if (!ok)
        failures++;
}

/* A file of `pages` pages, page i filled with 'a' + i, and a short tail. */
static int make_file(const char *path, int pages, long tail)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    char buffer[PAGE];
    for (int i = 0; i < pages; i++) {
        memset(buffer, 'a' + i, sizeof(buffer));
        if (write(fd, buffer, sizeof(buffer)) != (ssize_t)sizeof(buffer))
            return -1;
    }
    memset(buffer, 'z', (size_t)tail);
    if (tail && write(fd, buffer, (size_t)tail) != tail)
        return -1;
    return fd;
}

static char byte_at(int fd, off_t offset)
{
    char c = 0;
    if (pread(fd, &c, 1, offset) != 1)
        return 0;
    return c;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mmap_files DIR\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/mapped", argv[1]);
    int fd = make_file(path, 3, 100);
    if (fd < 0) {
        perror("make_file");
        return 2;
    }

    /* MAP_PRIVATE: written privately, then made read-only as ld.so does RELRO. */
    char *private_map = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check(private_map != MAP_FAILED, "private mapping");
    check(private_map[0] == 'a' && private_map[PAGE] == 'b' && private_map[2 * PAGE] == 'c',
          "private mapping has the file's bytes");
    private_map[PAGE] = 'X';
    check(byte_at(fd, PAGE) == 'b', "private write does not reach the file");
    check(mprotect(private_map, PAGE * 2, PROT_READ) == 0, "mprotect read-only (RELRO)");
    check(private_map[PAGE] == 'X', "private write kept after mprotect");

    /* MAP_SHARED read-only: sees what is written to the file later. */
    char *shared_ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    check(shared_ro != MAP_FAILED && shared_ro[10] == 'a', "shared read-only mapping");
    check(pwrite(fd, "Q", 1, 10) == 1 && shared_ro[10] == 'Q', "shared mapping sees pwrite");

    /* MAP_SHARED writable: writes are the file's at once, and after msync and munmap. */
    char *shared = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
    check(shared != MAP_FAILED && shared[0] == 'b' && shared[PAGE] == 'c',
          "shared mapping at a file offset");
    shared[5] = 'W';
    check(byte_at(fd, PAGE + 5) == 'W', "shared write seen by pread at once");
    shared[PAGE + 7] = 'V';
    check(msync(shared, 2 * PAGE, MS_SYNC) == 0 && byte_at(fd, 2 * PAGE + 7) == 'V', "msync");
    shared[9] = 'U';
    check(munmap(shared, 2 * PAGE) == 0 && byte_at(fd, PAGE + 9) == 'U', "write before munmap");

    /* The last page: the file's tail, then zeros. */
    char *last = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 3 * PAGE);
    check(last != MAP_FAILED && last[99] == 'z' && last[100] == 0 && last[PAGE - 1] == 0,
          "last page: tail then zeros");

    /* MAP_FIXED of a file page over the middle of an anonymous mapping. */
    char *anon = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(anon, '-', 3 * PAGE);
    char *fixed = mmap(anon + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 2 * PAGE);
    check(fixed == anon + PAGE, "MAP_FIXED over part of a mapping");
    check(anon[PAGE - 1] == '-' && anon[PAGE] == 'c' && anon[2 * PAGE] == '-',
          "neighbours kept, file page in the middle");

    /* Unmapped and mapped again: fresh pages, nothing of the old file mapping. */
    check(munmap(anon, 3 * PAGE) == 0, "munmap");
    char *again = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int zero = again != MAP_FAILED;
    for (long i = 0; zero && i < 3 * PAGE; i++)
        zero = again[i] == 0;
    check(zero, "fresh anonymous memory reads zero");

    /* A read-only fd: no shared writable mapping; private and shared read-only are fine. */
    int ro = open(path, O_RDONLY);
    void *bad = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    check(bad == MAP_FAILED && errno == EACCES, "shared writable of a read-only fd: EACCES");
    char *ro_private = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    check(ro_private != MAP_FAILED && ro_private[10] == 'Q', "private writable of a read-only fd");
    ro_private[0] = '!';
    check(byte_at(fd, 0) == 'a', "that private write stays private");

    /* MADV_DONTNEED: a written private file page reads the file again,
     * anonymous memory zeros; shared memory (file or anonymous) keeps its
     * contents. */
    check(madvise(ro_private, PAGE, MADV_DONTNEED) == 0 && ro_private[0] == 'a',
          "MADV_DONTNEED: private file page reads the file again");
    char *anon_private =
        mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *anon_shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *file_shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    anon_private[1] = anon_shared[1] = 'p';
    file_shared[1] = 'F';
    check(madvise(anon_private, PAGE, MADV_DONTNEED) == 0 && anon_private[1] == 0,
          "MADV_DONTNEED: anonymous memory reads zero");
    check(madvise(anon_shared, PAGE, MADV_DONTNEED) == 0 && anon_shared[1] == 'p',
          "MADV_DONTNEED: shared anonymous memory keeps its contents");
    check(madvise(file_shared, PAGE, MADV_DONTNEED) == 0 && file_shared[1] == 'F' &&
              byte_at(fd, 1) == 'F',
          "MADV_DONTNEED: shared file page keeps the file's contents");

    close(ro);
    close(fd);
    /* Mappings outlive their fd. */
    check(shared_ro[10] == 'Q' && private_map[2 * PAGE] == 'c', "mappings outlive the fd");
    unlink(path);
    return failures ? 1 : 0;
}
