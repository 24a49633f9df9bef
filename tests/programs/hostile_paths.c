/* hostile_paths DIR: probes fds 3..63, which a fresh process does not have,
 * through symlinks in DIR that lead into /proc/self, /dev/fd and
 * /proc/PID, with the calls that take a path but open nothing (stat, lstat,
 * readlink, access, getxattr, statfs). Natively every probe fails;
 * under hermitux-run none may reach the monitor's own fds. Prints how many
 * succeeded per call and spelling. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#define FIRST_FD 3
#define LAST_FD  63

static char dir[4096];

/* Symlinks: DIR/self -> /proc/self, DIR/devfd -> /dev/fd, DIR/pid -> /proc/PID,
 * and DIR/fdN -> /proc/self/fd/N for each N. */
static void make_links(void)
{
    char link[4200], target[64];
    snprintf(link, sizeof link, "%s/self", dir);
    if (symlink("/proc/self", link) != 0)
        perror("symlink self");
    snprintf(link, sizeof link, "%s/devfd", dir);
    if (symlink("/dev/fd", link) != 0)
        perror("symlink devfd");
    snprintf(link, sizeof link, "%s/pid", dir);
    snprintf(target, sizeof target, "/proc/%d", getpid());
    if (symlink(target, link) != 0)
        perror("symlink pid");
    for (int fd = FIRST_FD; fd <= LAST_FD; fd++) {
        snprintf(link, sizeof link, "%s/fd%d", dir, fd);
        snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
        if (symlink(target, link) != 0)
            perror("symlink fd");
    }
}

static int try_call(const char *call, const char *path)
{
    struct stat st;
    char buffer[256];
    if (strcmp(call, "stat") == 0)
        return stat(path, &st);
    if (strcmp(call, "lstat") == 0)
        return lstat(path, &st);
    if (strcmp(call, "readlink") == 0)
        return readlink(path, buffer, sizeof buffer) < 0 ? -1 : 0;
    if (strcmp(call, "access") == 0)
        return access(path, F_OK);
    if (strcmp(call, "getxattr") == 0)
        return getxattr(path, "user.x", buffer, sizeof buffer) < 0 && errno != ENODATA &&
                       errno != ENOTSUP
                   ? -1
                   : 0;
    if (strcmp(call, "statfs") == 0) {
        struct statfs fs;
        return statfs(path, &fs);
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hostile_paths DIR\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    /* Whatever the caller left open: natively too, none of 3..63 is open. */
    for (int fd = FIRST_FD; fd <= LAST_FD; fd++)
        close(fd);
    make_links();
    static const char *const calls[] = {"stat",   "lstat",    "readlink",
                                        "access", "getxattr", "statfs"};
    static const char *const spellings[] = {"%s/fd%d", "%s/self/fd/%d", "%s/devfd/%d",
                                            "%s/pid/fd/%d", "%s/self/fdinfo/%d"};
    for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
        for (size_t s = 0; s < sizeof spellings / sizeof spellings[0]; s++) {
            int reached = 0;
            for (int fd = FIRST_FD; fd <= LAST_FD; fd++) {
                char path[4200];
                snprintf(path, sizeof path, spellings[s], dir, fd);
                if (try_call(calls[c], path) == 0)
                    reached++;
            }
            printf("%s %s: %d of fds %d-%d\n", calls[c], spellings[s] + 3, reached, FIRST_FD,
                   LAST_FD);
        }
    }
    /* The program's own fd through the same spellings works. */
    char path[4200];
    snprintf(path, sizeof path, "%s/self/fd/1", dir);
    struct stat st;
    printf("own fd 1 through a symlink: %s\n", stat(path, &st) == 0 ? "found" : strerror(errno));
    return 0;
}
