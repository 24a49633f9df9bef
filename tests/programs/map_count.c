/* map_count: the limit on the number of mappings (vm.max_map_count, 65,530 by
 * default) and the cost of many mappings.
 *   map_count [PAGES]   (default 70000)
 * 1. mmap one page at a time, alternating PROT_READ and PROT_NONE so that no two
 *    neighbours merge, until mmap fails: prints the errno and how many mappings
 *    /proc/self/maps lists then ([vsyscall] left out: Linux does not count it).
 * 2. munmap them all; one PROT_NONE block of PAGES pages, then mprotect its pages
 *    one after the other, alternating read and read-write, each call splitting
 *    one page off the rest of the block, until mprotect fails: errno and count.
 * 3. munmap of a page in the middle of a mapping needs a split too: errno.
 * 4. After freeing the block, mmap works again.
 * Counts are printed relative to vm.max_map_count (as /proc/sys/vm says): a
 * process starts with a different number of mappings natively and in the VM
 * ([vvar_vclock], RELRO, bss), but meets the limit at the same count. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL

/* Mappings /proc/self/maps lists, [vsyscall] excluded. Reads with a static
 * buffer: at the limit, nothing that allocates (and so maps) can be used. */
static long count_maps(void)
{
    static char buffer[1 << 16];
    static const char vsyscall[] = "[vsyscall]";
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0) {
        perror("/proc/self/maps");
        exit(1);
    }
    long count = 0;
    size_t matched = 0; /* characters of "[vsyscall]" seen in a row */
    ssize_t got;
    while ((got = read(fd, buffer, sizeof(buffer))) > 0)
        for (ssize_t i = 0; i < got; i++) {
            if (buffer[i] == '\n')
                count++;
            matched = buffer[i] == vsyscall[matched] ? matched + 1 : buffer[i] == '[';
            if (matched == sizeof(vsyscall) - 1) {
                count--;
                matched = 0;
            }
        }
    close(fd);
    return count;
}

static long map_limit(void)
{
    FILE *file = fopen("/proc/sys/vm/max_map_count", "r");
    long limit = 0;
    if (!file || fscanf(file, "%ld", &limit) != 1) {
        perror("/proc/sys/vm/max_map_count");
        exit(1);
    }
    fclose(file);
    return limit;
}

static const char *errno_name(int error)
{
    return error == ENOMEM ? "ENOMEM" : error == 0 ? "none" : strerror(error);
}

int main(int argc, char **argv)
{
    long pages = argc > 1 ? atol(argv[1]) : 70000;
    long limit = map_limit();
    char **single = calloc((size_t)pages, sizeof(*single));
    if (!single || pages < 2)
        return 1;
    /* stdio's buffer is allocated now, while allocating still works. */
    printf("pages: %ld\n", pages);
    fflush(stdout);

    /* 1. One mapping per mmap. */
    long made = 0;
    int error = 0;
    for (; made < pages; made++) {
        int prot = made % 2 ? PROT_NONE : PROT_READ;
        void *page = mmap(NULL, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED) {
            error = errno;
            break;
        }
        single[made] = page;
    }
    printf("mmap: stopped with %s", errno_name(error));
    printf(error ? ", mappings listed: limit %+ld\n" : "\n", count_maps() - limit);
    for (long i = 0; i < made; i++)
        if (munmap(single[i], PAGE) != 0) {
            perror("munmap");
            return 1;
        }
    free(single);
    long base = count_maps();

    /* 2. Splits by mprotect. */
    char *block = mmap(NULL, pages * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) {
        perror("mmap block");
        return 1;
    }
    long split = 0;
    error = 0;
    for (; split < pages - 1; split++) {
        int prot = split % 2 ? PROT_READ | PROT_WRITE : PROT_READ;
        if (mprotect(block + split * PAGE, PAGE, prot) != 0) {
            error = errno;
            break;
        }
    }
    long listed = count_maps();
    printf("mprotect: stopped with %s", errno_name(error));
    printf(error ? ", mappings listed: limit %+ld\n" : "\n", listed - limit);
    /* The pages made accessible are there and zero. */
    if (split > 0 && (block[0] != 0 || block[(split - 1) * PAGE] != 0))
        printf("page content: FAIL\n");

    /* 3. A hole in the middle of the rest of the block needs one more mapping. */
    char *rest = block + (split + 1) * PAGE;
    if (split + 3 < pages) {
        int status = munmap(rest + PAGE, PAGE);
        printf("munmap inside a mapping at the limit: %s\n",
               status == 0 ? "ok" : errno_name(errno));
    }

    /* 4. Freeing gives the room back. */
    if (munmap(block, pages * PAGE) != 0) {
        perror("munmap block");
        return 1;
    }
    void *again = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap after freeing: %s\n", again == MAP_FAILED ? errno_name(errno) : "ok");
    printf("mappings at the end: %ld more than before the block\n", count_maps() - base);
    return 0;
}
