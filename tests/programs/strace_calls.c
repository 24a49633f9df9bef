/* strace_calls: ordinary file and memory calls whose arguments strace decodes, between
 * two marker writes, so that `hermitux-run --strace` can be compared with strace's own
 * trace of the same run.
 *   strace_calls DIR   (an empty writable directory) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void say(const char *text)
{
    if (write(1, text, strlen(text)) < 0)
        _exit(2);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 1;
    char file[4096], dir[4096], moved[4096];
    snprintf(file, sizeof(file), "%s/a.txt", argv[1]);
    snprintf(dir, sizeof(dir), "%s/sub", argv[1]);
    snprintf(moved, sizeof(moved), "%s/b.txt", argv[1]);
    say("BEGIN\n");

    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    const char binary[] = "bytes\001\002\377 and text";
    if (fd < 0 || write(fd, binary, sizeof(binary) - 1) < 0)
        return 1;
    const char line[] = "a line long enough that strace cuts it after thirty-two bytes\n";
    struct iovec iov[2] = {{(void *)"two ", 4}, {(void *)line, sizeof(line) - 1}};
    if (writev(fd, iov, 2) < 0)
        return 1;
    close(fd);

    fd = open(file, O_RDONLY);
    char buffer[256];
    if (read(fd, buffer, 5) != 5 || lseek(fd, 0, SEEK_END) < 0)
        return 1;
    struct stat st;
    if (fstat(fd, &st) != 0 || pread(fd, buffer, sizeof(buffer), 0) <= 0)
        return 1;
    close(fd);
    close(fd); /* EBADF */

    if (open("/nonexistent/file", O_RDONLY) >= 0 || access(file, R_OK | W_OK) != 0)
        return 1;
    if (mkdir(dir, 0755) != 0 || rmdir(dir) != 0 || rename(file, moved) != 0 || unlink(moved))
        return 1;
    void *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED || mprotect(page, 4096, PROT_READ) != 0 || munmap(page, 8192) != 0)
        return 1;
    struct timespec nap = {0, 1000};
    nanosleep(&nap, NULL);
    if (dup2(1, 7) != 7 || close(7) != 0)
        return 1;
    say("END\n");
    return 0;
}
