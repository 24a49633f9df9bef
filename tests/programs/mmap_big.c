/* mmap_big: the memory-mapping calls a large program relies on.
 *   mmap_big DIR   (a writable directory for the file-backed mapping)
 * 64 MiB anonymous mapping touched page by page; mremap grow with MREMAP_MAYMOVE keeping
 * the data; munmap of a middle part and MAP_FIXED into the hole; mprotect read-only and
 * back; MAP_FIXED inside a PROT_NONE reservation; a private mapping of a file it wrote,
 * whose changes must not reach the file. Prints one stable line per check. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB  (1024UL * 1024)
#define PAGE 4096UL

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAIL");
    if (!ok)
        failures++;
}

static uint64_t page_value(size_t page)
{
    return page * 0x9e3779b97f4a7c15ULL + 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mmap_big DIR\n");
        return 2;
    }
    size_t size = 64 * MIB, pages = size / PAGE;
    unsigned char *area =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(area != MAP_FAILED, "mmap 64 MiB anonymous");
    if (area == MAP_FAILED)
        return 1;
    check(((uintptr_t)area & (PAGE - 1)) == 0, "mapping is page aligned");
    int zero = 1;
    for (size_t p = 0; p < pages; p++) {
        uint64_t *word = (uint64_t *)(area + p * PAGE);
        zero &= word[0] == 0 && word[511] == 0;
        word[0] = page_value(p);
        word[511] = ~page_value(p);
    }
    check(zero, "fresh anonymous pages read as zero");
    int kept = 1;
    for (size_t p = 0; p < pages; p++) {
        uint64_t *word = (uint64_t *)(area + p * PAGE);
        kept &= word[0] == page_value(p) && word[511] == ~page_value(p);
    }
    check(kept, "every page keeps what was written");

    size_t grown = 128 * MIB;
    unsigned char *moved = mremap(area, size, grown, MREMAP_MAYMOVE);
    check(moved != MAP_FAILED, "mremap grow 64 -> 128 MiB with MREMAP_MAYMOVE");
    if (moved == MAP_FAILED)
        return 1;
    kept = 1;
    for (size_t p = 0; p < pages; p++)
        kept &= ((uint64_t *)(moved + p * PAGE))[0] == page_value(p);
    check(kept, "mremap kept the old contents");
    zero = 1;
    for (size_t p = pages; p < grown / PAGE; p++) {
        uint64_t *word = (uint64_t *)(moved + p * PAGE);
        zero &= word[0] == 0;
        word[0] = page_value(p);
    }
    check(zero, "the grown part reads as zero");
    area = moved;

    /* Unmap 16 MiB in the middle, then map it again with MAP_FIXED: it must be fresh. */
    unsigned char *hole = area + 32 * MIB;
    check(munmap(hole, 16 * MIB) == 0, "munmap 16 MiB in the middle");
    unsigned char *refill = mmap(hole, 16 * MIB, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check(refill == hole, "MAP_FIXED into the hole returns the asked address");
    zero = 1;
    for (size_t off = 0; off < 16 * MIB; off += PAGE)
        zero &= ((uint64_t *)(hole + off))[0] == 0;
    check(zero, "the refilled hole reads as zero");
    kept = ((uint64_t *)(area + 32 * MIB - PAGE))[0] == page_value(32 * MIB / PAGE - 1) &&
           ((uint64_t *)(area + 48 * MIB))[0] == page_value(48 * MIB / PAGE);
    check(kept, "pages around the hole are untouched");

    check(mprotect(area, 4 * MIB, PROT_READ) == 0, "mprotect 4 MiB read-only");
    check(((uint64_t *)area)[0] == page_value(0), "read-only pages still readable");
    check(mprotect(area, 4 * MIB, PROT_READ | PROT_WRITE) == 0, "mprotect back to read-write");
    ((uint64_t *)area)[0] = 12345;
    check(((uint64_t *)area)[0] == 12345, "writable again after mprotect");
    check(munmap(area, grown) == 0, "munmap the whole 128 MiB");

    /* MAP_FIXED inside a PROT_NONE reservation. */
    unsigned char *reserve = mmap(NULL, 4 * MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(reserve != MAP_FAILED, "reserve 4 MiB PROT_NONE");
    unsigned char *fixed = mmap(reserve + MIB, MIB, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check(fixed == reserve + MIB, "MAP_FIXED 1 MiB inside the reservation");
    memset(fixed, 0xa5, MIB);
    check(fixed[0] == 0xa5 && fixed[MIB - 1] == 0xa5, "MAP_FIXED mapping is writable");
    check(munmap(reserve, 4 * MIB) == 0, "munmap the reservation");

    errno = 0;
    check(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED &&
              errno == EINVAL,
          "mmap of length 0 fails with EINVAL");
    errno = 0;
    check(munmap((void *)(uintptr_t)4097, PAGE) == -1 && errno == EINVAL,
          "munmap of an unaligned address fails with EINVAL");

    /* A private mapping of a file written here. */
    char path[4096];
    snprintf(path, sizeof path, "%s/mmap_big.data", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    check(fd >= 0, "create the data file");
    if (fd < 0)
        return 1;
    size_t file_size = 3 * PAGE + 100;
    unsigned char *buffer = malloc(file_size);
    for (size_t i = 0; i < file_size; i++)
        buffer[i] = (unsigned char)(i * 13 + 1);
    check(write(fd, buffer, file_size) == (ssize_t)file_size, "write the data file");
    unsigned char *mapped = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check(mapped != MAP_FAILED, "mmap the file MAP_PRIVATE");
    if (mapped == MAP_FAILED)
        return 1;
    check(memcmp(mapped, buffer, file_size) == 0, "mapping shows the file contents");
    zero = 1;
    for (size_t i = file_size; i < 4 * PAGE; i++)
        zero &= mapped[i] == 0;
    check(zero, "the tail of the last page reads as zero");
    unsigned char *second = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 2 * PAGE);
    check(second != MAP_FAILED && memcmp(second, buffer + 2 * PAGE, PAGE) == 0,
          "mmap at file offset 8192 shows the right page");
    mapped[0] ^= 0xff;
    mapped[file_size - 1] ^= 0xff;
    unsigned char first_byte = 0, last_byte = 0;
    check(pread(fd, &first_byte, 1, 0) == 1 && pread(fd, &last_byte, 1, file_size - 1) == 1 &&
              first_byte == buffer[0] && last_byte == buffer[file_size - 1],
          "private changes do not reach the file");
    check(munmap(mapped, file_size) == 0 && munmap(second, PAGE) == 0, "munmap the file mappings");
    close(fd);
    check(unlink(path) == 0, "remove the data file");
    free(buffer);
    printf("%s\n", failures ? "mmap_big FAILED" : "mmap_big ok");
    return failures != 0;
}
