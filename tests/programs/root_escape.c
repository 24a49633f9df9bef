/* root_escape: run with a tree as its root (chroot natively, hermitux-run
 * --root in the VM) where /etc/hostname says "inside" and /sub/abs ->
 * /etc/hostname, /sub/rel -> ../../../../../etc/hostname. Tries every way
 * out: "..", absolute and relative symlinks, /proc/self/root, cwd and fd
 * links, dirfd-relative opens, chdir past the root, metadata calls. Prints
 * what each reads; natively (chroot) every one stays inside. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *how, int fd)
{
    char buffer[64] = {0};
    if (fd < 0) {
        printf("%-40s %s\n", how, strerror(errno));
        return;
    }
    ssize_t got = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    if (got > 0 && buffer[got - 1] == '\n')
        buffer[got - 1] = '\0';
    printf("%-40s %s\n", how, got < 0 ? strerror(errno) : buffer);
}

static void show_path(const char *path)
{
    show(path, open(path, O_RDONLY));
}

/* With "proc": only the ways through /proc (a chroot without /proc mounted
 * has none natively; each must read "inside"). */
static int proc_probes(void)
{
    show_path("/proc/self/root/etc/hostname");
    show_path("/proc/self/root/../../etc/hostname");
    int sub = open("/sub", O_RDONLY | O_DIRECTORY);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d/../../../etc/hostname", sub);
    show("/proc/self/fd/SUB/../../../etc/hostname", open(link, O_RDONLY));
    snprintf(link, sizeof link, "/dev/fd/%d/../../../etc/hostname", sub);
    show("/dev/fd/SUB/../../../etc/hostname", open(link, O_RDONLY));
    if (chdir("/sub") != 0)
        perror("chdir /sub");
    show_path("/proc/self/cwd/../../../etc/hostname");
    char cwd[256];
    ssize_t n = readlink("/proc/self/cwd", cwd, sizeof cwd - 1);
    cwd[n > 0 ? n : 0] = '\0';
    printf("%-40s %s\n", "readlink /proc/self/cwd", cwd);
    n = readlink("/proc/self/exe", cwd, sizeof cwd - 1);
    cwd[n > 0 ? n : 0] = '\0';
    printf("%-40s %s\n", "readlink /proc/self/exe", cwd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "proc") == 0)
        return proc_probes();
    show_path("/etc/hostname");
    show_path("/../../../../etc/hostname");
    show_path("/sub/abs");
    show_path("/sub/rel");
    show_path("/sub/../../../etc/hostname");

    int sub = open("/sub", O_RDONLY | O_DIRECTORY);
    show("openat(/sub, ../../../etc/hostname)", openat(sub, "../../../etc/hostname", O_RDONLY));
    show("openat(/sub, abs)", openat(sub, "abs", O_RDONLY));

    if (chdir("/sub") != 0)
        perror("chdir /sub");
    for (int i = 0; i < 8; i++) {
        if (chdir("..") != 0)
            perror("chdir ..");
    }
    char cwd[256];
    printf("%-40s %s\n", "getcwd after chdir(..) x8", getcwd(cwd, sizeof cwd) ? cwd : "error");
    show_path("etc/hostname");
    if (chdir("/sub") != 0)
        perror("chdir /sub");
    show_path("../../etc/hostname");
    ssize_t n;

    struct stat root, above;
    stat("/", &root);
    stat("/../..", &above);
    printf("%-40s %s\n", "stat / == stat /../..",
           root.st_ino == above.st_ino && root.st_dev == above.st_dev ? "yes" : "no");
    struct stat through;
    printf("%-40s %s\n", "stat /sub/abs (size)",
           stat("/sub/abs", &through) == 0 && through.st_size == 7 ? "inside's" : "other");
    printf("%-40s %s\n", "access /sub/rel", access("/sub/rel", R_OK) == 0 ? "ok" : strerror(errno));
    n = readlink("/sub/abs", cwd, sizeof cwd - 1);
    cwd[n > 0 ? n : 0] = '\0';
    printf("%-40s %s\n", "readlink /sub/abs", cwd);

    DIR *dir = opendir("/..");
    int entries = 0, has_sub = 0;
    for (struct dirent *entry; dir && (entry = readdir(dir));) {
        entries++;
        has_sub |= strcmp(entry->d_name, "sub") == 0;
    }
    printf("%-40s %s\n", "opendir /.. lists the root", has_sub ? "yes" : "no");
    if (dir)
        closedir(dir);
    (void)entries;

    /* Created through an escape attempt: lands inside. */
    int made = open("/sub/../../tmp/made", O_CREAT | O_WRONLY, 0600);
    printf("%-40s %s\n", "create /sub/../../tmp/made", made >= 0 ? "ok" : strerror(errno));
    if (made >= 0)
        close(made);
    printf("%-40s %s\n", "made is /tmp/made",
           access("/tmp/made", F_OK) == 0 ? "yes" : strerror(errno));
    unlink("/tmp/made");
    return 0;
}
