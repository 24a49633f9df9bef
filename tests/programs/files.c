/* files: the file system calls of an ordinary program, in a scratch directory.
 *   files DIR   (an empty writable directory; the runner replaces its path by @TMP@)
 * Every step prints what it sees; every error case checks the exact errno. Exits 1 if
 * anything differs from Linux's documented behaviour. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "check.h"

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_directory(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir) {
        check("opendir", 0);
        return;
    }
    char *names[64];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) && count < 64)
        names[count++] = strdup(entry->d_name);
    closedir(dir);
    qsort(names, count, sizeof names[0], compare_names);
    printf("listing of %s (%d entries):", path, count);
    for (int i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void print_stat(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("stat %s: %s\n", path, errno_name(errno));
        failures++;
        return;
    }
    printf("stat %s: size %lld mode %04o %s nlink %lu\n", path, (long long)st.st_size,
           (unsigned)(st.st_mode & 07777),
           S_ISREG(st.st_mode)   ? "regular"
           : S_ISDIR(st.st_mode) ? "directory"
                                 : "other",
           (unsigned long)(S_ISDIR(st.st_mode) ? 0 : st.st_nlink));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: files DIR\n");
        return 2;
    }
    umask(022);
    char start[4096], cwd[4096];
    check("getcwd at start", getcwd(start, sizeof start) != NULL);
    check("chdir DIR", chdir(argv[1]) == 0);
    check("getcwd after chdir", getcwd(cwd, sizeof cwd) != NULL);
    printf("cwd: %s\n", cwd);

    /* create, write, read back */
    const char text[] = "first line\nsecond line\n";
    int fd = open("a.txt", O_WRONLY | O_CREAT | O_EXCL, 0640);
    check("open a.txt O_CREAT|O_EXCL", fd >= 3);
    check("write 23 bytes", write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    check("close", close(fd) == 0);
    errno = 0;
    check_errno(open("a.txt", O_WRONLY | O_CREAT | O_EXCL, 0640), EEXIST, "open O_EXCL existing");
    char buffer[256] = {0};
    fd = open("a.txt", O_RDONLY);
    ssize_t got = read(fd, buffer, sizeof buffer);
    printf("read back %zd bytes: \"%.*s\"\n", got, (int)(got > 0 ? got - 1 : 0), buffer);
    check("contents match", got == (ssize_t)strlen(text) && memcmp(buffer, text, got) == 0);
    check("read at EOF returns 0", read(fd, buffer, sizeof buffer) == 0);
    check_errno(write(fd, "x", 1), EBADF, "write to an O_RDONLY fd");
    close(fd);
    print_stat("a.txt");

    /* lseek, pread, pwrite, ftruncate, O_APPEND */
    fd = open("b.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
    check("open b.bin O_RDWR|O_CREAT|O_TRUNC", fd >= 0);
    char block[1000];
    for (int i = 0; i < 1000; i++)
        block[i] = (char)('a' + i % 26);
    check("write 1000 bytes", write(fd, block, 1000) == 1000);
    check("lseek SEEK_CUR is 1000", lseek(fd, 0, SEEK_CUR) == 1000);
    check("lseek SEEK_SET 100", lseek(fd, 100, SEEK_SET) == 100);
    check("read 5 at 100", read(fd, buffer, 5) == 5 && memcmp(buffer, "wxyza", 5) == 0);
    check("lseek SEEK_END -10", lseek(fd, -10, SEEK_END) == 990);
    check("write past EOF at 4096", lseek(fd, 4096, SEEK_SET) == 4096 && write(fd, "Z", 1) == 1);
    check("pwrite 6 at 10", pwrite(fd, "PWRITE", 6, 10) == 6);
    check("pwrite leaves the offset alone", lseek(fd, 0, SEEK_CUR) == 4097);
    memset(buffer, 0, sizeof buffer);
    check("pread 8 at 9", pread(fd, buffer, 8, 9) == 8 && memcmp(buffer, "jPWRITEq", 8) == 0);
    check("the gap reads as zero bytes",
          pread(fd, buffer, 10, 2000) == 10 && buffer[0] == 0 && buffer[9] == 0);
    check_errno(lseek(fd, -1, SEEK_SET), EINVAL, "lseek to -1");
    check("ftruncate to 500", ftruncate(fd, 500) == 0);
    struct stat st;
    check("fstat size is 500", fstat(fd, &st) == 0 && st.st_size == 500);
    close(fd);
    print_stat("b.bin");
    fd = open("a.txt", O_WRONLY | O_APPEND);
    check("append a line", write(fd, "third\n", 6) == 6);
    close(fd);
    print_stat("a.txt");

    /* dup, dup2, fcntl */
    fd = open("a.txt", O_RDONLY);
    int copy = dup(fd);
    check("dup returns a higher fd", copy > fd);
    check("dup shares the offset", read(fd, buffer, 6) == 6 && lseek(copy, 0, SEEK_CUR) == 6);
    check("dup2 to 20", dup2(fd, 20) == 20);
    check("dup2 clears FD_CLOEXEC", fcntl(20, F_GETFD) == 0);
    check("F_SETFD FD_CLOEXEC",
          fcntl(20, F_SETFD, FD_CLOEXEC) == 0 && fcntl(20, F_GETFD) == FD_CLOEXEC);
    int low = fcntl(fd, F_DUPFD, 30);
    check("F_DUPFD 30 gives 30", low == 30);
    check("F_GETFL says O_RDONLY", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    check("F_SETFL O_APPEND sticks",
          fcntl(fd, F_SETFL, O_APPEND) == 0 && (fcntl(fd, F_GETFL) & O_APPEND));
    close(fd);
    close(copy);
    close(20);
    close(30);
    check_errno(close(30), EBADF, "close a closed fd");
    check_errno(read(77, buffer, 1), EBADF, "read from a never-opened fd");
    check_errno(fcntl(77, F_GETFD), EBADF, "fcntl on a never-opened fd");

    /* pipe */
    int pipe_fds[2];
    check("pipe", pipe(pipe_fds) == 0);
    check("write to the pipe", write(pipe_fds[1], "through the pipe", 16) == 16);
    memset(buffer, 0, sizeof buffer);
    check("read from the pipe", read(pipe_fds[0], buffer, sizeof buffer) == 16 &&
                                    strcmp(buffer, "through the pipe") == 0);
    check_errno(lseek(pipe_fds[0], 0, SEEK_SET), ESPIPE, "lseek on a pipe");
    close(pipe_fds[1]);
    check("read after the writer closed is EOF", read(pipe_fds[0], buffer, sizeof buffer) == 0);
    close(pipe_fds[0]);

    /* rename, mkdir, readdir, rmdir, unlink */
    check("rename a.txt renamed.txt", rename("a.txt", "renamed.txt") == 0);
    check_errno(open("a.txt", O_RDONLY), ENOENT, "open the old name");
    check_errno(rename("renamed.txt", "nodir/x"), ENOENT, "rename into a missing directory");
    check("mkdir sub", mkdir("sub", 0755) == 0);
    check_errno(mkdir("sub", 0755), EEXIST, "mkdir an existing directory");
    fd = open("sub/inner", O_WRONLY | O_CREAT, 0644);
    close(fd);
    check("mkdir sub/deeper", mkdir("sub/deeper", 0700) == 0);
    print_stat("sub");
    print_stat("sub/deeper");
    list_directory(".");
    list_directory("sub");
    check_errno(rmdir("sub"), ENOTEMPTY, "rmdir a non-empty directory");
    check_errno(unlink("sub"), EISDIR, "unlink a directory");
    check_errno(open("sub", O_WRONLY), EISDIR, "open a directory for writing");
    check_errno(chdir("renamed.txt"), ENOTDIR, "chdir to a file");
    check_errno(open("renamed.txt/x", O_RDONLY), ENOTDIR, "open through a file");
    check_errno(stat("missing", &st), ENOENT, "stat a missing file");
    check_errno(access("missing", F_OK), ENOENT, "access a missing file");
    check("access renamed.txt R_OK|W_OK", access("renamed.txt", R_OK | W_OK) == 0);
    int dirfd = open("sub", O_RDONLY | O_DIRECTORY);
    check("open sub O_DIRECTORY", dirfd >= 0);
    check_errno(openat(dirfd, "nothing", O_RDONLY), ENOENT, "openat a missing name");
    fd = openat(dirfd, "inner", O_RDONLY);
    check("openat sub/inner", fd >= 0);
    close(fd);
    close(dirfd);

    check("chdir sub", chdir("sub") == 0);
    check("getcwd in sub", getcwd(buffer, sizeof buffer) != NULL);
    printf("cwd: %s\n", buffer);
    check("chdir ..", chdir("..") == 0);
    check("back where we were", getcwd(buffer, sizeof buffer) && strcmp(buffer, cwd) == 0);

    check("unlink sub/inner", unlink("sub/inner") == 0);
    check("rmdir sub/deeper", rmdir("sub/deeper") == 0);
    check("rmdir sub", rmdir("sub") == 0);
    check("unlink the files", unlink("renamed.txt") == 0 && unlink("b.bin") == 0);
    check_errno(unlink("renamed.txt"), ENOENT, "unlink again");
    list_directory(".");
    check("chdir back to the start", chdir(start) == 0);
    printf("%s\n", failures ? "files FAILED" : "files ok");
    return failures != 0;
}
