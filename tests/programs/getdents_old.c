/* getdents_old: the getdents call that came before getdents64 (AddressSanitizer's
 * runtime lists /proc/self/task with it) gives the same names and types as
 * getdents64, on a real directory and on /proc's. Exits non-zero when a
 * check fails. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

/* Every entry as "name/type" lines, sorted, read with one call or the other. */
static char *listing(const char *path, int old)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return NULL;
    char buffer[512]; /* small: several calls per directory */
    char *entries[4096];
    int count = 0;
    for (;;) {
        long n = syscall(old ? SYS_getdents : SYS_getdents64, fd, buffer, sizeof(buffer));
        if (n <= 0)
            break;
        for (long at = 0; at < n && count < 4096;) {
            unsigned short length;
            memcpy(&length, buffer + at + 16, sizeof(length));
            const char *name = old ? buffer + at + 18 : buffer + at + 19;
            int type = old ? buffer[at + length - 1] : buffer[at + 18];
            if (asprintf(&entries[count], "%s/%d", name, type) > 0)
                count++;
            at += length;
        }
    }
    close(fd);
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++)
            if (strcmp(entries[j], entries[i]) < 0) {
                char *swap = entries[i];
                entries[i] = entries[j];
                entries[j] = swap;
            }
    size_t size = 1;
    for (int i = 0; i < count; i++)
        size += strlen(entries[i]) + 1;
    char *all = calloc(1, size);
    for (int i = 0; i < count; i++) {
        strcat(all, entries[i]);
        strcat(all, "\n");
        free(entries[i]);
    }
    return all;
}

static void same(const char *path)
{
    char *old = listing(path, 1), *new = listing(path, 0);
    char line[128];
    snprintf(line, sizeof(line), "getdents lists %s as getdents64 does", path);
    check(line, old && new &&strlen(new) > 0 && strcmp(old, new) == 0);
    free(old);
    free(new);
}

int main(void)
{
    same("/");
    same("/dev");
    same("/proc/self/task");
    same("/proc/self/fd");
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    char small[8];
    check_errno(syscall(SYS_getdents, fd, small, sizeof(small)), EINVAL, "a buffer too small");
    check_errno(syscall(SYS_getdents, 1000, small, sizeof(small)), EBADF, "a closed fd");
    close(fd);
    return failures ? 1 : 0;
}
